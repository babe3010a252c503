package state

import (
	"fmt"
	"reflect"
)

type aggregatingState[K, N comparable, IN, ACC, OUT any] struct {
	single[K, N, ACC]
	agg  AggregateFunction[IN, ACC, OUT]
	fold func(a, b ACC) (ACC, error) // agg.Merge, for merge
}

// GetAggregatingState returns the backend's aggregating state declared by
// d, in namespaces of type N, registering it on first use; see
// GetValueState for what a second call returns and for the errors. A nil
// AggregateFunction is an invalid descriptor.
//
// Per Add, the state costs one map lookup and a call of the
// AggregateFunction's Add (and of CreateAccumulator for a new entry).
func GetAggregatingState[N, K comparable, IN, ACC, OUT any](b *KeyedBackend[K], d AggregatingDescriptor[IN, ACC, OUT]) (NamespacedAggregatingState[N, IN, OUT], error) {
	kind := kindName[N]("AggregatingState", reflect.TypeFor[IN](), reflect.TypeFor[ACC](), reflect.TypeFor[OUT]())
	return getOrRegister(b, d.core, kindAggregating, kind,
		func(m stateMeta) (*aggregatingState[K, N, IN, ACC, OUT], error) {
			if d.agg == nil {
				return nil, fmt.Errorf("%w: state %q: nil AggregateFunction", ErrInvalidDescriptor, m.name)
			}
			s, err := newSingle[K, N, ACC](b, m, d.core)
			if err != nil {
				return nil, err
			}
			c, err := resolveCodec(d.codec, m.name, "accumulator")
			if err != nil {
				return nil, err
			}
			s.vc = c
			agg := d.agg
			return &aggregatingState[K, N, IN, ACC, OUT]{
				single: s, agg: agg,
				fold: func(a, b ACC) (ACC, error) { return agg.Merge(a, b), nil },
			}, nil
		})
}

// Get implements AggregatingState.
func (s *aggregatingState[K, N, IN, ACC, OUT]) Get() (OUT, bool, error) {
	now, err := s.begin()
	if err != nil {
		var zero OUT
		return zero, false, err
	}
	acc, ok := s.read(s.ns, now)
	if !ok {
		var zero OUT
		return zero, false, nil
	}
	return s.agg.Result(acc), true, nil
}

// Add implements AggregatingState.
func (s *aggregatingState[K, N, IN, ACC, OUT]) Add(v IN) error {
	now, err := s.begin()
	if err != nil {
		return err
	}
	k := s.key(s.ns)
	_, e := s.t.find(s.b.kgi, k)
	switch {
	case e == nil:
		s.t.insert(s.b.kgi, k, ttlValue[ACC]{v: s.agg.Add(v, s.agg.CreateAccumulator()), ts: now})
	case s.ttl != nil && !s.ttl.returnExpired && s.ttl.expired(e.ts, now):
		e.v, e.ts = s.agg.Add(v, s.agg.CreateAccumulator()), now
	default:
		e.v, e.ts = s.agg.Add(v, e.v), now
	}
	return nil
}

// MergeNamespaces implements Merging.
func (s *aggregatingState[K, N, IN, ACC, OUT]) MergeNamespaces(target N, sources []N) error {
	return s.merge(target, sources, s.fold)
}
