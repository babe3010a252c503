package state

import (
	"bytes"
	"cmp"
	"encoding/binary"
	"fmt"
	"reflect"
	"slices"

	"github.com/runnel-io/runnel/codec"
	"github.com/runnel-io/runnel/state/keygroup"
)

// This file snapshots and restores keyed state in the format that
// snapshot.go describes.

// Snapshot returns a copy of the backend's keyed state: every entry of
// every state and every timer of every registered timer queue, by key
// group, in the canonical format (see KeyedSnapshot), and the undecoded
// entries of states restored and not registered since, unchanged. Expired
// TTL values are kept, with their timestamps: they expire after a restore
// as they would have without one.
//
// Snapshot is synchronous: it reads the state on the goroutine that owns
// the backend, which must call it between records, and the operator may
// change the state as soon as it returns. The snapshot shares no memory
// with the backend; it is the caller's, and immutable, so it can be
// written out by another goroutine while the operator goes on.
//
// It fails if a codec fails (a type's marshaling method, through
// codec.For, panics with an error: Snapshot returns it, naming the state),
// or if a timer's key is outside the backend's key groups.
func (b *KeyedBackend[K]) Snapshot() (snap *KeyedSnapshot, err error) {
	current := "" // the state being encoded, for errors
	defer func() {
		if p := recover(); p != nil {
			perr := codecPanic(p)
			if perr == nil {
				panic(p)
			}
			snap, err = nil, fmt.Errorf("state: snapshot of %q: %w", current, perr)
		}
	}()
	type source struct {
		name string
		kind stateKind
		ttl  bool
		enc  func(w *entryWriter, g int) // nil for a restored state
		raw  [][]byte                    // a restored state's section bodies
	}
	srcs := make([]source, 0, len(b.states)+len(b.timers)+len(b.restored))
	for _, s := range b.order {
		m := s.meta()
		srcs = append(srcs, source{name: m.name, kind: m.tag, ttl: m.hasTTL, enc: s.encodeGroup})
	}
	for name, t := range b.timers {
		current = name
		enc, err := t.prepare()
		if err != nil {
			return nil, err
		}
		srcs = append(srcs, source{name: name, kind: kindTimers, enc: enc})
	}
	for name, r := range b.restored {
		srcs = append(srcs, source{name: name, kind: r.kind, ttl: r.ttl, raw: r.groups})
	}
	slices.SortFunc(srcs, func(a, b source) int { return cmp.Compare(a.name, b.name) })

	snap = &KeyedSnapshot{MaxParallelism: b.maxParallelism, KeyGroups: b.groups}
	var (
		w   entryWriter
		out []byte
	)
	for g := range b.groups.Len() {
		out = out[:0]
		for i := range srcs {
			src := &srcs[i]
			if src.enc == nil {
				if body := src.raw[g]; body != nil {
					out = appendSectionHeader(out, src.name, src.kind, src.ttl, len(body))
					out = append(out, body...)
				}
				continue
			}
			current = src.name
			src.enc(&w, g)
			out = w.appendSection(out, src.name, src.kind, src.ttl)
		}
		if len(out) > 0 {
			snap.Groups = append(snap.Groups, KeyGroupData{Group: b.groups.Start + g, Data: bytes.Clone(out)})
		}
	}
	return snap, nil
}

// Restore loads the keyed state of the key groups of the backend's range
// from snaps: typically the snapshots of every subtask of the previous run,
// whose ranges differ from this one's if the job was rescaled. It ignores
// the key groups of other ranges and nil snapshots; key groups that no
// snapshot covers restore empty. Restoring from no snapshot restores
// nothing.
//
// Restore must be called once at most, before any state or timer queue is
// registered. It only sorts the snapshots' data by state and key group:
// each state is decoded when a getter registers it (and a timer queue when
// RegisterTimers attaches it), with the codecs of that registration. A
// state restored and never registered is written unchanged into every
// later Snapshot, so nothing is lost by an operator that stops using a
// state for a while. Restore keeps references into the snapshots' data
// until then, so they must not be modified.
//
// Restore fails, changing nothing, if it is called late or twice, if a
// snapshot's max parallelism differs from the backend's (key groups
// cannot be split or merged, as in Flink), if two snapshots cover the same
// key group, or with an error wrapping ErrCorruptSnapshot if a snapshot is
// malformed. A getter (or RegisterTimers) then returns an error wrapping
// ErrIncompatibleState if the state's restored entries were snapshotted as
// another kind of state, with TTL if the descriptor has none or the other
// way round, or do not decode with its codecs or its backend's key codec
// into keys of their key groups (a type changed), and one wrapping
// ErrCorruptSnapshot if they are malformed; the restored entries are then
// kept, so a registration that fixes the mismatch can follow.
func (b *KeyedBackend[K]) Restore(snaps []*KeyedSnapshot) error {
	switch {
	case b.restoreDone:
		return fmt.Errorf("state: Restore was called twice on the keyed backend of %v", b.groups)
	case len(b.states) > 0 || len(b.timers) > 0:
		return fmt.Errorf("state: Restore must be called before any state or timer queue is registered")
	}
	owner := make([]int, b.groups.Len()) // 1 + the index of the snapshot covering each group, or 0
	restored := make(map[string]*rawState)
	for i, s := range snaps {
		if s == nil {
			continue
		}
		if s.MaxParallelism != b.maxParallelism {
			return fmt.Errorf("state: cannot restore keyed state with max parallelism %d into a backend with max parallelism %d",
				s.MaxParallelism, b.maxParallelism)
		}
		if err := s.validate(); err != nil {
			return err
		}
		for g := max(s.KeyGroups.Start, b.groups.Start); g <= min(s.KeyGroups.End, b.groups.End); g++ {
			if j := owner[g-b.groups.Start]; j != 0 {
				return fmt.Errorf("state: key group %d is in two of the snapshots to restore (%d and %d, counting from 0)", g, j-1, i)
			}
			owner[g-b.groups.Start] = i + 1
		}
		for _, gd := range s.Groups {
			if !b.groups.Contains(gd.Group) {
				continue
			}
			g := gd.Group - b.groups.Start
			err := parseSections(gd.Group, gd.Data, func(sec section) error {
				r, ok := restored[sec.name]
				if !ok {
					r = &rawState{kind: sec.kind, ttl: sec.ttl, groups: make([][]byte, b.groups.Len())}
					restored[sec.name] = r
				} else if err := checkSameKind(section{name: sec.name, kind: r.kind, ttl: r.ttl}, sec, gd.Group); err != nil {
					return err // snapshots that disagree
				}
				r.groups[g] = sec.body
				return nil
			})
			if err != nil {
				return err
			}
		}
	}
	b.restored, b.restoreDone = restored, true
	return nil
}

// rawState is a state restored from snapshots and not registered since.
type rawState struct {
	kind   stateKind
	ttl    bool
	groups [][]byte // groups[g]: the section body of key group range.Start+g, or nil
}

func describeKind(k stateKind, ttl bool) string {
	if ttl {
		return k.String() + " with TTL"
	}
	return k.String()
}

// restoreState decodes raw into s, a newly created state.
func restoreState[K comparable](s keyedState[K], raw *rawState) error {
	m := s.meta()
	if raw.kind != m.tag || raw.ttl != m.hasTTL {
		return fmt.Errorf("%w: state %q was snapshotted as a %s, asked for as a %s",
			ErrIncompatibleState, m.name, describeKind(raw.kind, raw.ttl), describeKind(m.tag, m.hasTTL)+" ("+m.kind+")")
	}
	for g, body := range raw.groups {
		if body != nil {
			if err := s.restoreGroup(g, body); err != nil {
				return err
			}
		}
	}
	return nil
}

// entryWriter collects the encoded entries of one section, the entries of
// one state (or timer queue) in one key group, and writes them out in the
// canonical order. It is reused from section to section.
type entryWriter struct {
	buf   []byte
	ents  []entrySpan
	cur   entrySpan
	order []sortKey

	// A map entry's user entries, sorted before they are appended to buf.
	sub  []byte
	subs []subSpan
}

// entrySpan locates an entry in entryWriter.buf: it is buf[start:end], its
// key's encoding buf[k0:k1] and its namespace's buf[n0:n1]. pfx is the
// first 8 bytes of the key's encoding, big-endian, padded with zeros: most
// comparisons of keys are decided by it.
type entrySpan struct {
	pfx                        uint64
	start, k0, k1, n0, n1, end int
}

// prefix returns the first 8 bytes of b as a big-endian number, padded
// with zeros. If prefix(a) < prefix(b) then a < b in byte order; if they
// are equal, nothing is known.
func prefix(b []byte) uint64 {
	if len(b) >= 8 {
		return binary.BigEndian.Uint64(b)
	}
	var p [8]byte
	copy(p[:], b)
	return binary.BigEndian.Uint64(p[:])
}

// subSpan locates a user entry of a map in entryWriter.sub: it is
// sub[start:end], and its user key's encoding sub[k0:k1].
type subSpan struct{ start, k0, k1, end int }

// beginEntry starts an entry with its key and namespace. The caller then
// appends the rest of the entry to w.buf and calls endEntry.
func beginEntry[K, N any](w *entryWriter, kc codec.Codec[K], k K, nc codec.Codec[N], n N) {
	e := entrySpan{start: len(w.buf)}
	w.buf = appendBlob(w.buf, kc, k)
	e.k0, e.k1 = blobContent(w.buf, e.start), len(w.buf)
	e.pfx = prefix(w.buf[e.k0:e.k1])
	start := len(w.buf)
	w.buf = appendBlob(w.buf, nc, n)
	e.n0, e.n1 = blobContent(w.buf, start), len(w.buf)
	w.cur = e
}

func (w *entryWriter) endEntry() {
	w.cur.end = len(w.buf)
	w.ents = append(w.ents, w.cur)
}

// beginSub starts a user entry of a map with its user key; the caller then
// appends its value to w.sub and calls endSub.
func beginSub[UK any](w *entryWriter, kc codec.Codec[UK], uk UK) {
	start := len(w.sub)
	w.sub = appendBlob(w.sub, kc, uk)
	w.subs = append(w.subs, subSpan{start: start, k0: blobContent(w.sub, start), k1: len(w.sub)})
}

func (w *entryWriter) endSub() { w.subs[len(w.subs)-1].end = len(w.sub) }

// appendSubs appends the user entries to the current entry, in increasing
// order of their keys' encodings, and clears them.
func (w *entryWriter) appendSubs() {
	sub := w.sub
	slices.SortFunc(w.subs, func(a, b subSpan) int { return bytes.Compare(sub[a.k0:a.k1], sub[b.k0:b.k1]) })
	for _, s := range w.subs {
		w.buf = append(w.buf, sub[s.start:s.end]...)
	}
	w.sub, w.subs = w.sub[:0], w.subs[:0]
}

// appendSection appends the section of the collected entries, if any, to
// out, and clears them.
func (w *entryWriter) appendSection(out []byte, name string, kind stateKind, ttl bool) []byte {
	if len(w.ents) == 0 {
		return out
	}
	// Sort small (prefix, index) pairs rather than the spans: most
	// comparisons are then of two integers, and swaps move 16 bytes.
	buf, ents := w.buf, w.ents
	w.order = slices.Grow(w.order[:0], len(ents))
	size := uvarintLen(uint64(len(ents)))
	for i, e := range ents {
		w.order = append(w.order, sortKey{pfx: e.pfx, i: i})
		size += e.end - e.start
	}
	slices.SortFunc(w.order, func(x, y sortKey) int {
		if x.pfx != y.pfx {
			return cmp.Compare(x.pfx, y.pfx)
		}
		a, b := &ents[x.i], &ents[y.i]
		if c := bytes.Compare(buf[a.k0:a.k1], buf[b.k0:b.k1]); c != 0 {
			return c
		}
		if c := bytes.Compare(buf[a.n0:a.n1], buf[b.n0:b.n1]); c != 0 {
			return c
		}
		return bytes.Compare(buf[a.n1:a.end], buf[b.n1:b.end]) // timers: the time
	})
	out = appendSectionHeader(out, name, kind, ttl, size)
	out = binary.AppendUvarint(out, uint64(len(ents)))
	for _, o := range w.order {
		e := &ents[o.i]
		out = append(out, buf[e.start:e.end]...)
	}
	w.buf, w.ents = w.buf[:0], w.ents[:0]
	return out
}

// sortKey is an entry to sort: its key's prefix and its index in
// entryWriter.ents.
type sortKey struct {
	pfx uint64
	i   int
}

// appendSectionHeader appends what precedes a section's body of the given
// size.
func appendSectionHeader(out []byte, name string, kind stateKind, ttl bool, size int) []byte {
	out = binary.AppendUvarint(out, uint64(len(name)))
	out = append(out, name...)
	flags := byte(0)
	if ttl {
		flags = 1
	}
	out = append(out, byte(kind), flags)
	return binary.AppendUvarint(out, uint64(size))
}

// Minimum sizes of entries, for bounding counts before allocating: a blob
// is at least one byte, an int64 eight.
const (
	minKeyNS = 2 // blob(key) blob(ns)
	tsSize   = 8
)

// restoreEntries decodes the body of a section of group g: for each entry
// it reads the key and namespace, checks them, and calls rest to read the
// rest of the entry and insert it. minEntry is the smallest size of an
// entry.
func (s *base[K, N, E]) restoreEntries(g int, body []byte, minEntry int, rest func(r *reader, k nsKey[K, N]) error) error {
	kg := s.b.groups.Start + g
	r := reader{b: body}
	n := r.count(minEntry)
	s.t.reserve(g, n)
	for range n {
		kb, nb := r.blob(), r.blob()
		if r.err != nil {
			break
		}
		if got := keygroup.Of(kb, s.b.maxParallelism); got != kg {
			return fmt.Errorf("%w: state %q: a key restored into key group %d belongs to key group %d (did the key type or codec change?)",
				ErrIncompatibleState, s.m.name, kg, got)
		}
		k, err := s.b.keyCodec.Decode(kb)
		if err != nil {
			return s.undecodable(kg, "key", reflect.TypeFor[K](), err)
		}
		ns, err := s.nsCodec.Decode(nb)
		if err != nil {
			return s.undecodable(kg, "namespace", reflect.TypeFor[N](), err)
		}
		key := nsKey[K, N]{k, ns}
		if i, _ := s.t.find(g, key); i >= 0 {
			r.fail("key %v in namespace %v appears twice", k, ns)
			break
		}
		if err := rest(&r, key); err != nil {
			return err
		}
	}
	r.done()
	if r.err != nil {
		return fmt.Errorf("%w: state %q, key group %d: %v", ErrCorruptSnapshot, s.m.name, kg, r.err)
	}
	return nil
}

func (s *base[K, N, E]) undecodable(kg int, what string, t reflect.Type, err error) error {
	return fmt.Errorf("%w: state %q, key group %d: a restored %s does not decode as %v: %w",
		ErrIncompatibleState, s.m.name, kg, what, t, err)
}

func (s *single[K, N, V]) encodeGroup(w *entryWriter, g int) {
	ttl := s.m.hasTTL
	slots := s.t.groups[g].slots
	for i := range slots {
		sl := &slots[i]
		beginEntry(w, s.b.keyCodec, sl.key.k, s.nsCodec, sl.key.n)
		if ttl {
			w.buf = appendInt64(w.buf, sl.e.ts)
		}
		w.buf = appendBlob(w.buf, s.vc, sl.e.v)
		w.endEntry()
	}
}

func (s *single[K, N, V]) restoreGroup(g int, body []byte) error {
	ttl := s.m.hasTTL
	minEntry := minKeyNS + 1
	if ttl {
		minEntry += tsSize
	}
	return s.restoreEntries(g, body, minEntry, func(r *reader, k nsKey[K, N]) error {
		var ts int64
		if ttl {
			ts = r.int64()
		}
		vb := r.blob()
		if r.err != nil {
			return nil
		}
		v, err := s.vc.Decode(vb)
		if err != nil {
			return s.undecodable(s.b.groups.Start+g, "value", reflect.TypeFor[V](), err)
		}
		s.t.insert(g, k, ttlValue[V]{v: v, ts: ts})
		return nil
	})
}

func (s *listState[K, N, V]) encodeGroup(w *entryWriter, g int) {
	ttl := s.m.hasTTL
	slots := s.t.groups[g].slots
	for i := range slots {
		sl := &slots[i]
		beginEntry(w, s.b.keyCodec, sl.key.k, s.nsCodec, sl.key.n)
		w.buf = binary.AppendUvarint(w.buf, uint64(len(sl.e.vs)))
		for j, v := range sl.e.vs {
			w.buf = appendBlob(w.buf, s.codec, v)
			if ttl {
				w.buf = appendInt64(w.buf, sl.e.ts[j])
			}
		}
		w.endEntry()
	}
}

func (s *listState[K, N, V]) restoreGroup(g int, body []byte) error {
	ttl := s.m.hasTTL
	minElem := 1
	if ttl {
		minElem += tsSize
	}
	return s.restoreEntries(g, body, minKeyNS+1+minElem, func(r *reader, k nsKey[K, N]) error {
		m := r.count(minElem)
		if m == 0 {
			r.fail("an empty list")
			return nil
		}
		e := listEntry[V]{vs: make([]V, m)}
		if ttl {
			e.ts = make([]int64, m)
		}
		for j := range m {
			vb := r.blob()
			if ttl {
				e.ts[j] = r.int64()
			}
			if r.err != nil {
				return nil
			}
			v, err := s.codec.Decode(vb)
			if err != nil {
				return s.undecodable(s.b.groups.Start+g, "element", reflect.TypeFor[V](), err)
			}
			e.vs[j] = v
		}
		s.t.insert(g, k, e)
		return nil
	})
}

func (s *mapState[K, N, UK, UV]) encodeGroup(w *entryWriter, g int) {
	ttl := s.m.hasTTL
	slots := s.t.groups[g].slots
	for i := range slots {
		sl := &slots[i]
		beginEntry(w, s.b.keyCodec, sl.key.k, s.nsCodec, sl.key.n)
		w.buf = binary.AppendUvarint(w.buf, uint64(len(sl.e)))
		for uk, ev := range sl.e {
			beginSub(w, s.keyCodec, uk)
			w.sub = appendBlob(w.sub, s.valueCodec, ev.v)
			if ttl {
				w.sub = appendInt64(w.sub, ev.ts)
			}
			w.endSub()
		}
		w.appendSubs()
		w.endEntry()
	}
}

func (s *mapState[K, N, UK, UV]) restoreGroup(g int, body []byte) error {
	ttl := s.m.hasTTL
	minUser := 2
	if ttl {
		minUser += tsSize
	}
	return s.restoreEntries(g, body, minKeyNS+1+minUser, func(r *reader, k nsKey[K, N]) error {
		m := r.count(minUser)
		if m == 0 {
			r.fail("an empty map")
			return nil
		}
		e := make(map[UK]ttlValue[UV], m)
		for range m {
			kb, vb := r.blob(), r.blob()
			var ts int64
			if ttl {
				ts = r.int64()
			}
			if r.err != nil {
				return nil
			}
			uk, err := s.keyCodec.Decode(kb)
			if err != nil {
				return s.undecodable(s.b.groups.Start+g, "map key", reflect.TypeFor[UK](), err)
			}
			uv, err := s.valueCodec.Decode(vb)
			if err != nil {
				return s.undecodable(s.b.groups.Start+g, "map value", reflect.TypeFor[UV](), err)
			}
			if _, dup := e[uk]; dup {
				r.fail("map key %v appears twice", uk)
				return nil
			}
			e[uk] = ttlValue[UV]{v: uv, ts: ts}
		}
		s.t.insert(g, k, e)
		return nil
	})
}

// timerSource is what the backend sees of a registered timer queue.
type timerSource[K comparable] interface {
	// prepare sorts the queue's timers by key group for one snapshot and
	// returns the function that adds those of a group to a section. It
	// fails if a timer's key is outside the backend's range.
	prepare() (func(w *entryWriter, g int), error)
	queue() any
}

type timerState[K, N comparable] struct {
	name    string
	b       *KeyedBackend[K]
	q       *TimerQueue[K, N]
	nsCodec codec.Codec[N]
}

func (t *timerState[K, N]) queue() any { return t.q }

func (t *timerState[K, N]) prepare() (func(w *entryWriter, g int), error) {
	b := t.b
	all := make([]Timer[K, N], 0, t.q.Len())
	gs := make([]int32, 0, t.q.Len())
	starts := make([]int, b.groups.Len()+1)
	var scratch []byte
	for tm := range t.q.All() {
		scratch = b.keyCodec.Append(scratch[:0], tm.Key)
		kg := keygroup.Of(scratch, b.maxParallelism)
		if !b.groups.Contains(kg) {
			return nil, fmt.Errorf("state: timer queue %q holds a timer for key %v, in key group %d, outside the backend's %v",
				t.name, tm.Key, kg, b.groups)
		}
		all = append(all, tm)
		gs = append(gs, int32(kg-b.groups.Start))
		starts[kg-b.groups.Start+1]++
	}
	for g := range b.groups.Len() {
		starts[g+1] += starts[g]
	}
	sorted := make([]Timer[K, N], len(all))
	next := slices.Clone(starts[:b.groups.Len()])
	for i, tm := range all {
		sorted[next[gs[i]]] = tm
		next[gs[i]]++
	}
	return func(w *entryWriter, g int) {
		for _, tm := range sorted[starts[g]:starts[g+1]] {
			beginEntry(w, b.keyCodec, tm.Key, t.nsCodec, tm.Namespace)
			w.buf = appendInt64(w.buf, tm.Time)
			w.endEntry()
		}
	}, nil
}

// restore decodes the restored timers of raw, all of them before
// registering any.
func (t *timerState[K, N]) restore(raw *rawState) error {
	b := t.b
	if raw.kind != kindTimers {
		return fmt.Errorf("%w: %q was snapshotted as a %s, registered as a timer queue", ErrIncompatibleState, t.name, describeKind(raw.kind, raw.ttl))
	}
	var timers []Timer[K, N]
	for g, body := range raw.groups {
		if body == nil {
			continue
		}
		kg := b.groups.Start + g
		r := reader{b: body}
		n := r.count(minKeyNS + tsSize)
		timers = slices.Grow(timers, n)
		for range n {
			kb, nb := r.blob(), r.blob()
			tm := r.int64()
			if r.err != nil {
				break
			}
			if got := keygroup.Of(kb, b.maxParallelism); got != kg {
				return fmt.Errorf("%w: timer queue %q: a key restored into key group %d belongs to key group %d (did the key type or codec change?)",
					ErrIncompatibleState, t.name, kg, got)
			}
			k, err := b.keyCodec.Decode(kb)
			if err != nil {
				return fmt.Errorf("%w: timer queue %q, key group %d: a restored key does not decode as %v: %w",
					ErrIncompatibleState, t.name, kg, reflect.TypeFor[K](), err)
			}
			ns, err := t.nsCodec.Decode(nb)
			if err != nil {
				return fmt.Errorf("%w: timer queue %q, key group %d: a restored namespace does not decode as %v: %w",
					ErrIncompatibleState, t.name, kg, reflect.TypeFor[N](), err)
			}
			timers = append(timers, Timer[K, N]{Time: tm, Key: k, Namespace: ns})
		}
		r.done()
		if r.err != nil {
			return fmt.Errorf("%w: timer queue %q, key group %d: %v", ErrCorruptSnapshot, t.name, kg, r.err)
		}
	}
	for _, tm := range timers {
		t.q.Register(tm)
	}
	return nil
}

// RegisterTimers attaches q to b under name (such as "_timer_event"), so
// that b's snapshots include its timers: each in the key group of its key,
// with its time, key and namespace (encoded by codec.For[N]). If b was
// restored, q first gets the restored timers of b's key groups that were
// snapshotted under name, registered in the order of the snapshot (by key,
// namespace and time; timers of equal time fire in that order).
//
// Timer queues and states share one set of names. Registering the same
// queue again under the same name does nothing. It returns an error
// wrapping ErrInvalidDescriptor for an empty name, a nil queue or a
// namespace type without a codec, one wrapping ErrIncompatibleState if
// name is taken by a state or another queue or was snapshotted as a state,
// or if the restored timers do not decode as K and N, and one wrapping
// ErrCorruptSnapshot if they are malformed; q is then unchanged.
func RegisterTimers[K, N comparable](b *KeyedBackend[K], name string, q *TimerQueue[K, N]) error {
	switch {
	case name == "":
		return fmt.Errorf("%w: a timer queue needs a name", ErrInvalidDescriptor)
	case q == nil:
		return fmt.Errorf("%w: timer queue %q is nil", ErrInvalidDescriptor, name)
	}
	if old, ok := b.timers[name]; ok {
		if old.queue() == any(q) {
			return nil
		}
		return fmt.Errorf("%w: timer queue %q is already registered (another queue)", ErrIncompatibleState, name)
	}
	if s, ok := b.states[name]; ok {
		return fmt.Errorf("%w: %q is a %s, registered as a timer queue", ErrIncompatibleState, name, s.meta().kind)
	}
	nc, err := codec.For[N]()
	if err != nil {
		return fmt.Errorf("%w: timer queue %q: no codec for namespace type %v: %w", ErrInvalidDescriptor, name, reflect.TypeFor[N](), err)
	}
	t := &timerState[K, N]{name: name, b: b, q: q, nsCodec: nc}
	if raw, ok := b.restored[name]; ok {
		if err := t.restore(raw); err != nil {
			return err
		}
		delete(b.restored, name)
	}
	b.timers[name] = t
	return nil
}
