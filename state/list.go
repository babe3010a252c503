package state

import (
	"reflect"

	"github.com/runnel-io/runnel/codec"
)

// listEntry is a list state's entry: the elements and, with TTL, the time of
// each element's last access (ts is nil without TTL).
type listEntry[V any] struct {
	vs []V
	ts []int64
}

type listState[K, N comparable, V any] struct {
	base[K, N, listEntry[V]]
	codec   codec.Codec[V]
	scratch []V // Get's result when it must differ from the storage
}

// GetListState returns the backend's list state declared by d, in
// namespaces of type N, registering it on first use; see GetValueState for
// what a second call returns and for the errors.
//
// Add costs one map lookup and an append. Without TTL, Get costs one map
// lookup and returns the storage itself; with TTL it also checks (and may
// refresh) each element's timestamp.
func GetListState[N, K comparable, V any](b *KeyedBackend[K], d ListDescriptor[V]) (NamespacedListState[N, V], error) {
	return getOrRegister(b, d.core, kindList, kindName[N]("ListState", reflect.TypeFor[V]()),
		func(m stateMeta) (*listState[K, N, V], error) {
			bs, err := newBase[K, N, listEntry[V]](b, m, d.core)
			if err != nil {
				return nil, err
			}
			c, err := resolveCodec(d.codec, m.name, "element")
			if err != nil {
				return nil, err
			}
			s := &listState[K, N, V]{base: bs, codec: c}
			if s.ttl != nil {
				s.keep = s.dropExpired
			}
			return s, nil
		})
}

// dropExpired removes the expired elements of e, keeping the order of the
// others, and reports whether any are left.
func (s *listState[K, N, V]) dropExpired(e *listEntry[V], now int64) bool {
	n := 0
	for i, ts := range e.ts {
		if !s.ttl.expired(ts, now) {
			e.vs[n], e.ts[n] = e.vs[i], ts
			n++
		}
	}
	clear(e.vs[n:]) // drop references for the garbage collector
	e.vs, e.ts = e.vs[:n], e.ts[:n]
	return n > 0
}

// Get implements ListState.
func (s *listState[K, N, V]) Get() ([]V, error) {
	now, err := s.begin()
	if err != nil {
		return nil, err
	}
	i, e := s.t.find(s.b.kgi, s.key(s.ns))
	if e == nil {
		return nil, nil
	}
	if s.ttl == nil {
		return e.vs[:len(e.vs):len(e.vs)], nil
	}
	expired := false
	for _, ts := range e.ts {
		if s.ttl.expired(ts, now) {
			expired = true
			break
		}
	}
	out := e.vs
	if expired {
		if s.ttl.returnExpired {
			s.scratch = append(s.scratch[:0], e.vs...)
			out = s.scratch
		}
		if !s.dropExpired(e, now) {
			s.t.removeAt(s.b.kgi, i)
			if !s.ttl.returnExpired {
				return nil, nil
			}
			return out[:len(out):len(out)], nil
		}
		if !s.ttl.returnExpired {
			out = e.vs
		}
	}
	if s.ttl.updateOnRead {
		for j := range e.ts {
			e.ts[j] = now
		}
	}
	return out[:len(out):len(out)], nil
}

// Add implements ListState.
func (s *listState[K, N, V]) Add(v V) error {
	now, err := s.begin()
	if err != nil {
		return err
	}
	k := s.key(s.ns)
	_, e := s.t.find(s.b.kgi, k)
	if e == nil {
		e = s.t.insert(s.b.kgi, k, listEntry[V]{})
	}
	e.vs = append(e.vs, v)
	if s.ttl != nil {
		e.ts = append(e.ts, now)
	}
	return nil
}

// AddAll implements ListState.
func (s *listState[K, N, V]) AddAll(vs []V) error {
	now, err := s.begin()
	if err != nil || len(vs) == 0 {
		return err
	}
	k := s.key(s.ns)
	_, e := s.t.find(s.b.kgi, k)
	if e == nil {
		e = s.t.insert(s.b.kgi, k, listEntry[V]{})
	}
	e.vs = append(e.vs, vs...)
	if s.ttl != nil {
		for range vs {
			e.ts = append(e.ts, now)
		}
	}
	return nil
}

// Update implements ListState.
func (s *listState[K, N, V]) Update(vs []V) error {
	now, err := s.begin()
	if err != nil {
		return err
	}
	k := s.key(s.ns)
	if len(vs) == 0 {
		s.t.remove(s.b.kgi, k)
		return nil
	}
	_, e := s.t.find(s.b.kgi, k)
	if e == nil {
		e = s.t.insert(s.b.kgi, k, listEntry[V]{})
	}
	old := len(e.vs)
	e.vs = append(e.vs[:0], vs...) // vs may alias e.vs (a Get result): append copies with memmove
	if old > len(vs) {
		clear(e.vs[len(vs):old])
	}
	if s.ttl != nil {
		e.ts = e.ts[:0]
		for range vs {
			e.ts = append(e.ts, now)
		}
	}
	return nil
}

// MergeNamespaces implements Merging.
func (s *listState[K, N, V]) MergeNamespaces(target N, sources []N) error {
	if _, err := s.begin(); err != nil {
		return err
	}
	g := s.b.kgi
	var merged listEntry[V]
	have := false
	if old, ok := s.t.remove(g, s.key(target)); ok {
		merged, have = old, true
	}
	for i, src := range sources {
		if src == target || isRepeat(sources, i) {
			continue
		}
		e, ok := s.t.remove(g, s.key(src))
		if !ok {
			continue
		}
		if !have {
			merged, have = e, true // take over its storage
			continue
		}
		merged.vs = append(merged.vs, e.vs...)
		merged.ts = append(merged.ts, e.ts...)
	}
	if have && len(merged.vs) > 0 {
		s.t.insert(g, s.key(target), merged)
	}
	return nil
}
