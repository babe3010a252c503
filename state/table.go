package state

// This file is the heap backend's storage: one table per keyed state, one
// group per key group of the backend's range.
//
// A group is a Go map from (key, namespace) to a position in a dense slice
// of slots, each slot holding its (key, namespace) and its entry:
//
//	index: map[nsKey]int32 ──► slots: [ (key₀, e₀) (key₁, e₁) ... ]
//
// so that
//   - an access costs one map lookup, after which the entry is updated in
//     place through a pointer into the slice (no second hash to write back,
//     no allocation for an existing entry);
//   - the map holds no pointers unless K or N do, and the slots none unless K,
//     N or the entry do, so the garbage collector need not scan them;
//   - a snapshot, Keys and incremental cleanup walk a key group in slice
//     order, which is deterministic and can be resumed at a position (a
//     snapshot then sorts what it encoded, so that its bytes do not depend
//     on the order);
//   - removal moves the last slot into the hole (and fixes its index), so
//     the slice stays dense.

// nsKey is the key of an entry: the record key and the namespace.
type nsKey[K, N comparable] struct {
	k K
	n N
}

type slot[K, N comparable, E any] struct {
	key nsKey[K, N]
	e   E
}

// group is one key group's entries of one state. Invariant: index[slots[i].key]
// == i for every i, and index has no other keys.
type group[K, N comparable, E any] struct {
	index map[nsKey[K, N]]int32 // nil until the first insert
	slots []slot[K, N, E]
}

// table is one keyed state's entries, by key group.
type table[K, N comparable, E any] struct {
	groups []group[K, N, E] // groups[g] is key group range.Start+g
	n      int              // entries in all groups

	// The incremental cleanup cursor: the next entry to check is
	// groups[cg].slots[ci]. Slots before it in group cg, and every slot of
	// groups before cg, have been checked in the current lap.
	cg, ci int
}

func newTable[K, N comparable, E any](numGroups int) table[K, N, E] {
	return table[K, N, E]{groups: make([]group[K, N, E], numGroups)}
}

// find returns the position of k in group g and a pointer to its entry, or
// -1 and nil. The pointer is valid until the next insert or remove in g.
func (t *table[K, N, E]) find(g int, k nsKey[K, N]) (int, *E) {
	grp := &t.groups[g]
	i, ok := grp.index[k]
	if !ok {
		return -1, nil
	}
	return int(i), &grp.slots[i].e
}

// insert adds k, which must be absent from group g, with entry e, and
// returns a pointer to the stored entry, valid until the next insert or
// remove in g.
func (t *table[K, N, E]) insert(g int, k nsKey[K, N], e E) *E {
	grp := &t.groups[g]
	if grp.index == nil {
		grp.index = make(map[nsKey[K, N]]int32)
	}
	i := len(grp.slots)
	grp.index[k] = int32(i)
	grp.slots = append(grp.slots, slot[K, N, E]{key: k, e: e})
	t.n++
	return &grp.slots[i].e
}

// reserve makes room for n entries in group g, if it is empty and has never
// held any: a restore knows how many entries it will insert.
func (t *table[K, N, E]) reserve(g, n int) {
	grp := &t.groups[g]
	if grp.index == nil && n > 0 {
		grp.index = make(map[nsKey[K, N]]int32, n)
		grp.slots = make([]slot[K, N, E], 0, n)
	}
}

// remove deletes k from group g if present, and returns its entry.
func (t *table[K, N, E]) remove(g int, k nsKey[K, N]) (E, bool) {
	i, e := t.find(g, k)
	if e == nil {
		var zero E
		return zero, false
	}
	old := *e
	t.removeAt(g, i)
	return old, true
}

// removeAt deletes the entry at position i of group g, keeping the slots
// dense and the cleanup cursor's promise: entries the current lap has
// checked stay before the cursor, and those it has not stay at or after it.
func (t *table[K, N, E]) removeAt(g, i int) {
	grp := &t.groups[g]
	last := len(grp.slots) - 1
	delete(grp.index, grp.slots[i].key)
	if g == t.cg && i < t.ci {
		// i has been checked. Fill it with the last checked slot, which stays
		// behind the cursor, and fill that one with the last slot, which has
		// not been checked (or is that slot itself) and lands at the cursor.
		p := t.ci - 1
		grp.move(p, i)
		grp.move(last, p)
		t.ci = p
	} else {
		grp.move(last, i)
	}
	var zero slot[K, N, E]
	grp.slots[last] = zero // drop references for the garbage collector
	grp.slots = grp.slots[:last]
	if c := cap(grp.slots); c > 64 && last < c/4 {
		grp.slots = append(make([]slot[K, N, E], 0, 2*last), grp.slots...)
	}
	t.n--
}

// move moves slot from to position to (a no-op if they are equal), whose
// previous occupant must already be gone from the index.
func (grp *group[K, N, E]) move(from, to int) {
	if from == to {
		return
	}
	grp.slots[to] = grp.slots[from]
	grp.index[grp.slots[to].key] = int32(to)
}

// cleanup runs budget steps of incremental cleanup. A step checks the entry
// at the cursor, or, at the end of a key group, moves the cursor to the
// start of the next one (wrapping around after the last, which starts a new
// lap). keep reports whether an entry still holds anything unexpired at now,
// after removing what expired from it; entries it rejects are removed.
func (t *table[K, N, E]) cleanup(budget int, now int64, keep func(e *E, now int64) bool) {
	for ; budget > 0 && t.n > 0; budget-- {
		grp := &t.groups[t.cg]
		if t.ci >= len(grp.slots) {
			t.cg++
			if t.cg == len(t.groups) {
				t.cg = 0
			}
			t.ci = 0
			continue
		}
		if keep(&grp.slots[t.ci].e, now) {
			t.ci++
		} else {
			t.removeAt(t.cg, t.ci) // the last slot moves to the cursor
		}
	}
}

// appendKeys appends to dst the distinct record keys of group g. seen, if
// not nil, is used (and cleared) to drop repeats of a key with several
// namespaces.
func (t *table[K, N, E]) appendKeys(dst []K, g int, seen map[K]struct{}) []K {
	slots := t.groups[g].slots
	if seen == nil {
		for i := range slots {
			dst = append(dst, slots[i].key.k)
		}
		return dst
	}
	clear(seen)
	for i := range slots {
		k := slots[i].key.k
		if _, ok := seen[k]; !ok {
			seen[k] = struct{}{}
			dst = append(dst, k)
		}
	}
	return dst
}
