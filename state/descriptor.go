package state

import (
	"fmt"
	"reflect"

	"github.com/runnel-io/runnel/codec"
	"github.com/runnel-io/runnel/runtime/clock"
)

// descriptorCore is what every descriptor has.
type descriptorCore struct {
	name   string
	ttl    TTLConfig
	hasTTL bool
}

func (d descriptorCore) check() error {
	if d.name == "" {
		return fmt.Errorf("%w: a state needs a name", ErrInvalidDescriptor)
	}
	if d.hasTTL {
		return d.ttl.validate(d.name)
	}
	return nil
}

// ttlOf returns the descriptor's TTL policy, or nil without TTL.
func (d descriptorCore) ttlOf(clk clock.Clock) *ttlPolicy {
	if !d.hasTTL {
		return nil
	}
	return newTTLPolicy(d.ttl, clk)
}

// resolveCodec returns c, or the default codec of T if c is nil. what names
// the codec's role in errors ("value", "map key").
func resolveCodec[T any](c codec.Codec[T], state, what string) (codec.Codec[T], error) {
	if c != nil {
		return c, nil
	}
	c, err := codec.For[T]()
	if err != nil {
		return nil, fmt.Errorf("%w: state %q: no default codec for its %s type %v (give one to the descriptor): %w",
			ErrInvalidDescriptor, state, what, reflect.TypeFor[T](), err)
	}
	return c, nil
}

// ValueDescriptor declares a ValueState holding a V.
type ValueDescriptor[V any] struct {
	core  descriptorCore
	codec codec.Codec[V]
}

// Value declares a ValueState called name.
func Value[V any](name string) ValueDescriptor[V] {
	return ValueDescriptor[V]{core: descriptorCore{name: name}}
}

// Name returns the state's name.
func (d ValueDescriptor[V]) Name() string { return d.core.name }

// TTL returns the TTL configuration and true, or false without TTL.
func (d ValueDescriptor[V]) TTL() (TTLConfig, bool) { return d.core.ttl, d.core.hasTTL }

// WithTTL returns a copy of d whose values expire as c says.
func (d ValueDescriptor[V]) WithTTL(c TTLConfig) ValueDescriptor[V] {
	d.core.ttl, d.core.hasTTL = c, true
	return d
}

// WithCodec returns a copy of d that snapshots its values with c instead of
// codec.For[V]().
func (d ValueDescriptor[V]) WithCodec(c codec.Codec[V]) ValueDescriptor[V] {
	d.codec = c
	return d
}

// ListDescriptor declares a ListState of V elements. Operator state uses it
// too, without TTL.
type ListDescriptor[V any] struct {
	core  descriptorCore
	codec codec.Codec[V]
}

// List declares a ListState called name.
func List[V any](name string) ListDescriptor[V] {
	return ListDescriptor[V]{core: descriptorCore{name: name}}
}

// Name returns the state's name.
func (d ListDescriptor[V]) Name() string { return d.core.name }

// TTL returns the TTL configuration and true, or false without TTL.
func (d ListDescriptor[V]) TTL() (TTLConfig, bool) { return d.core.ttl, d.core.hasTTL }

// WithTTL returns a copy of d whose elements expire as c says, each on its
// own.
func (d ListDescriptor[V]) WithTTL(c TTLConfig) ListDescriptor[V] {
	d.core.ttl, d.core.hasTTL = c, true
	return d
}

// WithCodec returns a copy of d that snapshots its elements with c instead
// of codec.For[V]().
func (d ListDescriptor[V]) WithCodec(c codec.Codec[V]) ListDescriptor[V] {
	d.codec = c
	return d
}

// MapDescriptor declares a MapState from UK to UV. Broadcast state uses it
// too, without TTL.
type MapDescriptor[UK comparable, UV any] struct {
	core       descriptorCore
	keyCodec   codec.Codec[UK]
	valueCodec codec.Codec[UV]
}

// Map declares a MapState called name.
func Map[UK comparable, UV any](name string) MapDescriptor[UK, UV] {
	return MapDescriptor[UK, UV]{core: descriptorCore{name: name}}
}

// Name returns the state's name.
func (d MapDescriptor[UK, UV]) Name() string { return d.core.name }

// TTL returns the TTL configuration and true, or false without TTL.
func (d MapDescriptor[UK, UV]) TTL() (TTLConfig, bool) { return d.core.ttl, d.core.hasTTL }

// WithTTL returns a copy of d whose entries expire as c says, each on its
// own.
func (d MapDescriptor[UK, UV]) WithTTL(c TTLConfig) MapDescriptor[UK, UV] {
	d.core.ttl, d.core.hasTTL = c, true
	return d
}

// WithKeyCodec returns a copy of d that snapshots the map's keys with c
// instead of codec.For[UK]().
func (d MapDescriptor[UK, UV]) WithKeyCodec(c codec.Codec[UK]) MapDescriptor[UK, UV] {
	d.keyCodec = c
	return d
}

// WithValueCodec returns a copy of d that snapshots the map's values with c
// instead of codec.For[UV]().
func (d MapDescriptor[UK, UV]) WithValueCodec(c codec.Codec[UV]) MapDescriptor[UK, UV] {
	d.valueCodec = c
	return d
}

// ReduceFunc combines two values into one. It should be associative: merging
// windows may apply it in a different grouping than the values arrived in.
// It must not access state.
type ReduceFunc[V any] func(a, b V) (V, error)

// ReducingDescriptor declares a ReducingState of V.
type ReducingDescriptor[V any] struct {
	core   descriptorCore
	reduce ReduceFunc[V]
	codec  codec.Codec[V]
}

// Reducing declares a ReducingState called name that combines values with
// reduce. A state registered twice under one name keeps the function it was
// first registered with (functions cannot be compared).
func Reducing[V any](name string, reduce ReduceFunc[V]) ReducingDescriptor[V] {
	return ReducingDescriptor[V]{core: descriptorCore{name: name}, reduce: reduce}
}

// Name returns the state's name.
func (d ReducingDescriptor[V]) Name() string { return d.core.name }

// TTL returns the TTL configuration and true, or false without TTL.
func (d ReducingDescriptor[V]) TTL() (TTLConfig, bool) { return d.core.ttl, d.core.hasTTL }

// WithTTL returns a copy of d whose value expires as c says.
func (d ReducingDescriptor[V]) WithTTL(c TTLConfig) ReducingDescriptor[V] {
	d.core.ttl, d.core.hasTTL = c, true
	return d
}

// WithCodec returns a copy of d that snapshots its value with c instead of
// codec.For[V]().
func (d ReducingDescriptor[V]) WithCodec(c codec.Codec[V]) ReducingDescriptor[V] {
	d.codec = c
	return d
}

// AggregatingDescriptor declares an AggregatingState that adds IN values
// into an ACC accumulator and reads OUT results.
type AggregatingDescriptor[IN, ACC, OUT any] struct {
	core  descriptorCore
	agg   AggregateFunction[IN, ACC, OUT]
	codec codec.Codec[ACC]
}

// Aggregating declares an AggregatingState called name that aggregates with
// agg. A state registered twice under one name keeps the function it was
// first registered with.
func Aggregating[IN, ACC, OUT any](name string, agg AggregateFunction[IN, ACC, OUT]) AggregatingDescriptor[IN, ACC, OUT] {
	return AggregatingDescriptor[IN, ACC, OUT]{core: descriptorCore{name: name}, agg: agg}
}

// Name returns the state's name.
func (d AggregatingDescriptor[IN, ACC, OUT]) Name() string { return d.core.name }

// TTL returns the TTL configuration and true, or false without TTL.
func (d AggregatingDescriptor[IN, ACC, OUT]) TTL() (TTLConfig, bool) {
	return d.core.ttl, d.core.hasTTL
}

// WithTTL returns a copy of d whose accumulator expires as c says.
func (d AggregatingDescriptor[IN, ACC, OUT]) WithTTL(c TTLConfig) AggregatingDescriptor[IN, ACC, OUT] {
	d.core.ttl, d.core.hasTTL = c, true
	return d
}

// WithCodec returns a copy of d that snapshots its accumulator with c
// instead of codec.For[ACC]().
func (d AggregatingDescriptor[IN, ACC, OUT]) WithCodec(c codec.Codec[ACC]) AggregatingDescriptor[IN, ACC, OUT] {
	d.codec = c
	return d
}
