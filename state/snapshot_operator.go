package state

import (
	"bytes"
	"fmt"
	"reflect"
	"slices"
)

// This file snapshots, restores and redistributes operator state.

// Snapshot returns a copy of the backend's operator state: every
// registered state in registration order, each element (or broadcast
// entry) encoded on its own with the state's codecs, followed by the
// states restored and not registered since, unchanged, in the order of the
// restored snapshot. A broadcast state's entries are in increasing byte
// order of their encodings, so that equal maps give equal snapshots.
//
// Like KeyedBackend.Snapshot, it is synchronous, must be called on the
// goroutine that owns the backend, and returns a snapshot that is the
// caller's and immutable; elements of states that were passed through are
// shared with the snapshot they were restored from, which is immutable too.
// It fails only if a codec fails (panics with an error), naming the state.
func (b *OperatorBackend) Snapshot() (snap *OperatorSnapshot, err error) {
	current := ""
	defer func() {
		if p := recover(); p != nil {
			perr := codecPanic(p)
			if perr == nil {
				panic(p)
			}
			snap, err = nil, fmt.Errorf("state: snapshot of operator state %q: %w", current, perr)
		}
	}()
	snap = &OperatorSnapshot{States: make([]OperatorStateData, 0, len(b.order)+len(b.restored))}
	for _, s := range b.order {
		m := s.meta()
		current = m.name
		snap.States = append(snap.States, OperatorStateData{Name: m.name, Distribution: m.dist, Elements: s.snapshot()})
	}
	for _, name := range b.restoredOrder {
		if raw, ok := b.restored[name]; ok {
			snap.States = append(snap.States, OperatorStateData{Name: name, Distribution: raw.Distribution, Elements: slices.Clone(raw.Elements)})
		}
	}
	return snap, nil
}

// Restore loads the backend's states from s, typically one of the results
// of RedistributeOperatorState; a nil s restores nothing. It must be
// called once at most, before any state is registered. Each state is
// decoded when a getter registers it, with that getter's codecs; a state
// restored and never registered is passed through to every later
// Snapshot. Restore keeps references into s until then, so s must not be
// modified.
//
// Restore fails, changing nothing, if it is called late or twice, or with
// an error wrapping ErrCorruptSnapshot if s is malformed. A getter then
// returns an error wrapping ErrIncompatibleState if its distribution (list,
// union list or broadcast state) is not the restored state's, or if the
// restored elements do not decode with its codecs.
func (b *OperatorBackend) Restore(s *OperatorSnapshot) error {
	switch {
	case b.restoreDone:
		return fmt.Errorf("state: Restore was called twice on the operator backend")
	case len(b.states) > 0:
		return fmt.Errorf("state: Restore must be called before any operator state is registered")
	}
	if s != nil {
		if err := s.validate(); err != nil {
			return err
		}
		b.restored = make(map[string]*OperatorStateData, len(s.States))
		for i := range s.States {
			st := &s.States[i]
			b.restored[st.Name] = st
			b.restoredOrder = append(b.restoredOrder, st.Name)
		}
	}
	b.restoreDone = true
	return nil
}

// RedistributeOperatorState computes the operator state of each of
// newParallelism subtasks from the snapshots of the old subtasks (old[i]
// is subtask i's; nil for a subtask without operator state), as Flink's
// round-robin repartitioner does, state by state:
//
//   - DistributeSplit: the elements of all old subtasks, in subtask order,
//     are cut into newParallelism contiguous parts whose sizes differ by
//     one at most (the first parts are the longer ones), and new subtask i
//     gets part i: every element goes to exactly one subtask. If the
//     parallelism is unchanged, every subtask keeps its own elements.
//   - DistributeUnion: every new subtask gets the elements of all old
//     subtasks, in subtask order.
//   - DistributeBroadcast: every new subtask gets the entries of the first
//     old subtask that has the state (they are all equal).
//
// Every new subtask gets every state, in the order in which the states
// first appear in old (subtask by subtask), possibly with no elements. The
// results share element memory with old, and with one another, so none may
// be modified. It fails if newParallelism is below 1, or with an error
// wrapping ErrCorruptSnapshot if a snapshot is malformed or two disagree
// on a state's distribution.
func RedistributeOperatorState(old []*OperatorSnapshot, newParallelism int) ([]*OperatorSnapshot, error) {
	if newParallelism < 1 {
		return nil, fmt.Errorf("state: cannot redistribute operator state to parallelism %d", newParallelism)
	}
	type pooled struct {
		name  string
		dist  Distribution
		first int        // the first old subtask that has the state
		per   [][][]byte // per[i]: old subtask i's elements
	}
	var order []*pooled
	byName := make(map[string]*pooled)
	for i, snap := range old {
		if snap == nil {
			continue
		}
		if err := snap.validate(); err != nil {
			return nil, fmt.Errorf("%w (subtask %d)", err, i)
		}
		for _, st := range snap.States {
			p, ok := byName[st.Name]
			if !ok {
				p = &pooled{name: st.Name, dist: st.Distribution, first: i, per: make([][][]byte, len(old))}
				byName[st.Name] = p
				order = append(order, p)
			} else if p.dist != st.Distribution {
				return nil, fmt.Errorf("%w: operator state %q has distribution %v in subtask %d and %v in subtask %d",
					ErrCorruptSnapshot, st.Name, p.dist, p.first, st.Distribution, i)
			}
			p.per[i] = st.Elements
		}
	}
	out := make([]*OperatorSnapshot, newParallelism)
	for i := range out {
		out[i] = &OperatorSnapshot{States: make([]OperatorStateData, 0, len(order))}
	}
	put := func(i int, p *pooled, elems [][]byte) {
		out[i].States = append(out[i].States, OperatorStateData{Name: p.name, Distribution: p.dist, Elements: elems})
	}
	for _, p := range order {
		switch {
		case p.dist == DistributeBroadcast:
			for i := range out {
				put(i, p, p.per[p.first])
			}
		case p.dist == DistributeSplit && newParallelism == len(old):
			for i := range out {
				put(i, p, p.per[i])
			}
		default:
			all := slices.Concat(p.per...)
			if p.dist == DistributeUnion {
				for i := range out {
					put(i, p, all)
				}
				continue
			}
			size, rest := len(all)/newParallelism, len(all)%newParallelism
			off := 0
			for i := range out {
				n := size
				if i < rest {
					n++
				}
				var part [][]byte
				if n > 0 {
					part = all[off : off+n : off+n]
				}
				put(i, p, part)
				off += n
			}
		}
	}
	return out, nil
}

func (s *opListState[V]) snapshot() [][]byte {
	if len(s.vs) == 0 {
		return nil
	}
	var buf []byte
	ends := make([]int, len(s.vs))
	for i, v := range s.vs {
		buf = s.codec.Append(buf, v)
		ends[i] = len(buf)
	}
	return split(buf, ends)
}

// split cuts buf at ends into slices whose capacity ends with them.
func split(buf []byte, ends []int) [][]byte {
	out := make([][]byte, len(ends))
	start := 0
	for i, end := range ends {
		out[i] = buf[start:end:end]
		start = end
	}
	return out
}

func (s *opListState[V]) restore(elements [][]byte) error {
	vs := make([]V, len(elements))
	for i, e := range elements {
		v, err := s.codec.Decode(e)
		if err != nil {
			return fmt.Errorf("%w: state %q: a restored element does not decode as %v: %w", ErrIncompatibleState, s.m.name, reflect.TypeFor[V](), err)
		}
		vs[i] = v
	}
	if len(vs) > 0 {
		s.vs = vs
	}
	return nil
}

func (s *broadcastState[UK, UV]) snapshot() [][]byte {
	if len(s.entries) == 0 {
		return nil
	}
	var buf []byte
	ends := make([]int, 0, len(s.entries))
	for uk, uv := range s.entries {
		buf = appendBlob(buf, s.keyCodec, uk)
		buf = s.valueCodec.Append(buf, uv)
		ends = append(ends, len(buf))
	}
	out := split(buf, ends)
	slices.SortFunc(out, bytes.Compare)
	return out
}

func (s *broadcastState[UK, UV]) restore(elements [][]byte) error {
	m := make(map[UK]UV, len(elements))
	for _, e := range elements {
		r := reader{b: e}
		kb := r.blob()
		if r.err != nil {
			return fmt.Errorf("%w: broadcast state %q: %v", ErrCorruptSnapshot, s.m.name, r.err)
		}
		uk, err := s.keyCodec.Decode(kb)
		if err != nil {
			return fmt.Errorf("%w: state %q: a restored key does not decode as %v: %w", ErrIncompatibleState, s.m.name, reflect.TypeFor[UK](), err)
		}
		uv, err := s.valueCodec.Decode(r.b)
		if err != nil {
			return fmt.Errorf("%w: state %q: a restored value does not decode as %v: %w", ErrIncompatibleState, s.m.name, reflect.TypeFor[UV](), err)
		}
		if _, dup := m[uk]; dup {
			return fmt.Errorf("%w: broadcast state %q: key %v appears twice", ErrCorruptSnapshot, s.m.name, uk)
		}
		m[uk] = uv
	}
	s.entries = m
	return nil
}
