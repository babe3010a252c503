package state

import (
	"fmt"
	"reflect"

	"github.com/runnel-io/runnel/codec"
)

// base is what every keyed state has: its table, its backend (for the
// current key), its current namespace and its TTL policy. E is the entry
// type the table stores.
type base[K, N comparable, E any] struct {
	m       stateMeta
	b       *KeyedBackend[K]
	t       table[K, N, E]
	ns      N
	ttl     *ttlPolicy                 // nil without TTL
	keep    func(e *E, now int64) bool // drops what expired from e; reports whether anything is left
	nsCodec codec.Codec[N]
	dedup   bool // N has more than one value, so Keys must drop repeated keys
}

func newBase[K, N comparable, E any](b *KeyedBackend[K], m stateMeta, core descriptorCore) (base[K, N, E], error) {
	nsCodec, err := codec.For[N]()
	if err != nil {
		return base[K, N, E]{}, fmt.Errorf("%w: state %q: no codec for namespace type %v: %w",
			ErrInvalidDescriptor, m.name, reflect.TypeFor[N](), err)
	}
	return base[K, N, E]{
		m:       m,
		b:       b,
		t:       newTable[K, N, E](b.groups.Len()),
		ttl:     core.ttlOf(b.clk),
		nsCodec: nsCodec,
		dedup:   reflect.TypeFor[N]().Size() > 0,
	}, nil
}

// SetNamespace implements Namespaced.
func (s *base[K, N, E]) SetNamespace(n N) { s.ns = n }

func (s *base[K, N, E]) meta() *stateMeta { return &s.m }

func (s *base[K, N, E]) numEntries() int { return s.t.n }

func (s *base[K, N, E]) appendKeys(dst []K, g int, seen map[K]struct{}) []K {
	if !s.dedup {
		seen = nil
	}
	return s.t.appendKeys(dst, g, seen)
}

// key returns the current key in namespace n.
func (s *base[K, N, E]) key(n N) nsKey[K, N] { return nsKey[K, N]{s.b.key, n} }

// begin starts an access: it fails without a current key, and with TTL it
// reads the clock and runs a step of incremental cleanup. now is 0 without
// TTL.
func (s *base[K, N, E]) begin() (now int64, err error) {
	if s.b.kgi < 0 {
		return 0, s.noKey()
	}
	if s.ttl != nil {
		now = s.ttl.now()
		if s.ttl.cleanup > 0 {
			s.t.cleanup(s.ttl.cleanup, now, s.keep)
		}
	}
	return now, nil
}

//go:noinline
func (s *base[K, N, E]) noKey() error {
	return fmt.Errorf("%w: state %q was accessed outside a keyed context (no SetCurrentKey yet)", ErrNoCurrentKey, s.m.name)
}

// Clear removes the current key's entry in the current namespace. It
// implements Clear of every keyed state.
func (s *base[K, N, E]) Clear() error {
	if _, err := s.begin(); err != nil {
		return err
	}
	s.t.remove(s.b.kgi, s.key(s.ns))
	return nil
}

// single is the base of the states that store one ttlValue per entry:
// value, reducing and aggregating.
type single[K, N comparable, V any] struct {
	base[K, N, ttlValue[V]]
	vc codec.Codec[V] // the value's (or accumulator's) codec, for snapshots
}

func newSingle[K, N comparable, V any](b *KeyedBackend[K], m stateMeta, core descriptorCore) (single[K, N, V], error) {
	bs, err := newBase[K, N, ttlValue[V]](b, m, core)
	if err != nil {
		return single[K, N, V]{}, err
	}
	if bs.ttl != nil {
		bs.keep = keepSingle[V](bs.ttl)
	}
	return single[K, N, V]{base: bs}, nil
}

// keepSingle is the cleanup check of single states.
func keepSingle[V any](p *ttlPolicy) func(e *ttlValue[V], now int64) bool {
	return func(e *ttlValue[V], now int64) bool { return !p.expired(e.ts, now) }
}

// read returns the value of the current key in namespace n, applying TTL:
// an expired value is removed (and returned only under
// ReturnExpiredIfNotCleanedUp); a returned one is refreshed under
// OnReadAndWrite.
func (s *single[K, N, V]) read(n N, now int64) (V, bool) {
	i, e := s.t.find(s.b.kgi, s.key(n))
	if e == nil {
		var zero V
		return zero, false
	}
	if s.ttl == nil {
		return e.v, true
	}
	if s.ttl.expired(e.ts, now) {
		v := e.v
		s.t.removeAt(s.b.kgi, i)
		if s.ttl.returnExpired {
			return v, true
		}
		var zero V
		return zero, false
	}
	if s.ttl.updateOnRead {
		e.ts = now
	}
	return e.v, true
}

// visible returns the value of the current key in namespace n as a write
// that builds on it sees it: without removing it, and absent if it expired
// under NeverReturnExpired.
// current returns the value of the current key and namespace, if any.
func (s *single[K, N, V]) current() (V, bool, error) {
	now, err := s.begin()
	if err != nil {
		var zero V
		return zero, false, err
	}
	v, ok := s.read(s.ns, now)
	return v, ok, nil
}

func (s *single[K, N, V]) visible(n N, now int64) (V, bool) {
	_, e := s.t.find(s.b.kgi, s.key(n))
	if e == nil || s.ttl != nil && !s.ttl.returnExpired && s.ttl.expired(e.ts, now) {
		var zero V
		return zero, false
	}
	return e.v, true
}

// write sets the value of the current key in namespace n, stamped now.
func (s *single[K, N, V]) write(n N, v V, now int64) {
	k := s.key(n)
	if _, e := s.t.find(s.b.kgi, k); e != nil {
		e.v, e.ts = v, now
		return
	}
	s.t.insert(s.b.kgi, k, ttlValue[V]{v: v, ts: now})
}

// merge implements MergeNamespaces for single states given their merge
// function: it folds target and then each distinct source into one value,
// removes the sources and writes the result to target.
func (s *single[K, N, V]) merge(target N, sources []N, fn func(a, b V) (V, error)) error {
	now, err := s.begin()
	if err != nil {
		return err
	}
	acc, have := s.visible(target, now)
	for i, src := range sources {
		if src == target || isRepeat(sources, i) {
			continue
		}
		v, ok := s.visible(src, now)
		if !ok {
			continue
		}
		if !have {
			acc, have = v, true
			continue
		}
		if acc, err = fn(acc, v); err != nil {
			return fmt.Errorf("state %q: merging namespaces: %w", s.m.name, err)
		}
	}
	for _, src := range sources {
		if src != target {
			s.t.remove(s.b.kgi, s.key(src))
		}
	}
	if have {
		s.write(target, acc, now)
	} else {
		s.t.remove(s.b.kgi, s.key(target)) // expired, if present
	}
	return nil
}

// isRepeat reports whether ns[i] occurs in ns[:i]. Merges are of a handful of
// windows, so quadratic is fine and allocates nothing.
func isRepeat[N comparable](ns []N, i int) bool {
	for _, n := range ns[:i] {
		if n == ns[i] {
			return true
		}
	}
	return false
}
