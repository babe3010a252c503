package state

import (
	"fmt"
	"reflect"
)

type reducingState[K, N comparable, V any] struct {
	single[K, N, V]
	reduce ReduceFunc[V]
}

// GetReducingState returns the backend's reducing state declared by d, in
// namespaces of type N, registering it on first use; see GetValueState for
// what a second call returns and for the errors. A nil reduce function is
// an invalid descriptor.
//
// Per Add, the state costs one map lookup and a call of the reduce
// function, and allocates nothing for an existing entry (beyond what the
// reduce function allocates).
func GetReducingState[N, K comparable, V any](b *KeyedBackend[K], d ReducingDescriptor[V]) (NamespacedReducingState[N, V], error) {
	return getOrRegister(b, d.core, kindReducing, kindName[N]("ReducingState", reflect.TypeFor[V]()),
		func(m stateMeta) (*reducingState[K, N, V], error) {
			if d.reduce == nil {
				return nil, fmt.Errorf("%w: state %q: nil reduce function", ErrInvalidDescriptor, m.name)
			}
			s, err := newSingle[K, N, V](b, m, d.core)
			if err != nil {
				return nil, err
			}
			c, err := resolveCodec(d.codec, m.name, "value")
			if err != nil {
				return nil, err
			}
			s.vc = c
			return &reducingState[K, N, V]{single: s, reduce: d.reduce}, nil
		})
}

// Get implements ReducingState.
func (s *reducingState[K, N, V]) Get() (V, bool, error) { return s.current() }

// Add implements ReducingState.
func (s *reducingState[K, N, V]) Add(v V) error {
	now, err := s.begin()
	if err != nil {
		return err
	}
	k := s.key(s.ns)
	_, e := s.t.find(s.b.kgi, k)
	switch {
	case e == nil:
		s.t.insert(s.b.kgi, k, ttlValue[V]{v: v, ts: now})
	case s.ttl != nil && !s.ttl.returnExpired && s.ttl.expired(e.ts, now):
		e.v, e.ts = v, now // the expired value is gone: start afresh
	default:
		r, err := s.reduce(e.v, v)
		if err != nil {
			return fmt.Errorf("state %q: reduce function: %w", s.m.name, err)
		}
		e.v, e.ts = r, now
	}
	return nil
}

// MergeNamespaces implements Merging.
func (s *reducingState[K, N, V]) MergeNamespaces(target N, sources []N) error {
	return s.merge(target, sources, s.reduce)
}
