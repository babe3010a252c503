package state

import "reflect"

type valueState[K, N comparable, V any] struct {
	single[K, N, V]
}

// GetValueState returns the backend's value state declared by d, in
// namespaces of type N, registering it on first use. Type arguments after N
// are inferred: GetValueState[state.VoidNamespace](b, d).
//
// Asking again with the same name returns the same state. It returns an
// error wrapping ErrIncompatibleState if the name is registered as another
// kind of state, with other types or another TTL configuration, and one
// wrapping ErrInvalidDescriptor if d is invalid (see the descriptor docs).
// Codecs are resolved here, once. If the backend was restored, the state's
// restored entries are decoded here too, with errors as KeyedBackend.Restore
// describes.
//
// Per access, the state costs one map lookup and allocates nothing for an
// existing entry; with TTL it also reads the clock once.
func GetValueState[N, K comparable, V any](b *KeyedBackend[K], d ValueDescriptor[V]) (NamespacedValueState[N, V], error) {
	return getOrRegister(b, d.core, kindValue, kindName[N]("ValueState", reflect.TypeFor[V]()),
		func(m stateMeta) (*valueState[K, N, V], error) {
			s, err := newSingle[K, N, V](b, m, d.core)
			if err != nil {
				return nil, err
			}
			c, err := resolveCodec(d.codec, m.name, "value")
			if err != nil {
				return nil, err
			}
			s.vc = c
			return &valueState[K, N, V]{single: s}, nil
		})
}

// Value implements ValueState.
func (s *valueState[K, N, V]) Value() (V, bool, error) { return s.current() }

// Update implements ValueState.
func (s *valueState[K, N, V]) Update(v V) error {
	now, err := s.begin()
	if err != nil {
		return err
	}
	s.write(s.ns, v, now)
	return nil
}
