package stream

import (
	"cmp"

	"github.com/runnel-io/runnel/codec"
	"github.com/runnel-io/runnel/runtime/operator"
	"github.com/runnel-io/runnel/runtime/partition"
	"github.com/runnel-io/runnel/state"
	"github.com/runnel-io/runnel/state/keygroup"
)

// KeyedStream is a stream partitioned by a key: every record of one key goes
// to the same subtask of the next operator, the one that owns the key's key
// group. It embeds the partitioned DataStream, so any transformation can
// follow; the keyed operations below keep state per key.
type KeyedStream[K comparable, T any] struct {
	DataStream[T]
	key      func(T) K
	keyCodec codec.Codec[K]
}

// KeyBy partitions s by key(record). The key's codec (codec.For[K]) must be
// deterministic: its encoding is hashed into the key's key group.
func KeyBy[T any, K comparable](s DataStream[T], key func(T) K) KeyedStream[K, T] {
	kc, err := codec.For[K]()
	if err != nil {
		s.env.errorf("stream: KeyBy: %w", err)
	}
	return KeyByCodec(s, key, kc)
}

// KeyByCodec is KeyBy with an explicit key codec.
func KeyByCodec[T any, K comparable](s DataStream[T], key func(T) K, kc codec.Codec[K]) KeyedStream[K, T] {
	return KeyedStream[K, T]{DataStream: s.partitioned(partition.ByKey(key, kc)), key: key, keyCodec: kc}
}

// Key returns the key of a record.
func (k KeyedStream[K, T]) Key(v T) K { return k.key(v) }

// Reduce combines each record with the previous result of its key and emits
// the new result (a rolling reduce). The first record of a key is emitted as
// it is. In Batch mode only the final result of each key is emitted.
func (k KeyedStream[K, T]) Reduce(fn func(acc, v T) (T, error)) DataStream[T] {
	return rolling(k, "Reduce", func(acc, v *T) error {
		r, err := fn(*acc, *v)
		if err != nil {
			return err
		}
		*acc = r
		return nil
	})
}

// Number is what Sum adds up.
type Number interface {
	~int | ~int8 | ~int16 | ~int32 | ~int64 | ~uint | ~uint8 | ~uint16 | ~uint32 | ~uint64 | ~float32 | ~float64
}

// Sum keeps a rolling sum of one field per key: the emitted record is the
// key's first record with the field replaced by the sum so far. field
// returns a pointer to the field of the record it is given.
func Sum[K comparable, T any, N Number](k KeyedStream[K, T], field func(*T) *N) DataStream[T] {
	return rolling(k, "Sum", func(acc, v *T) error {
		*field(acc) += *field(v)
		return nil
	})
}

// Min keeps a rolling minimum of one field per key: the emitted record is the
// key's first record with the field replaced by the minimum so far (Flink's
// min; MinBy keeps the whole record).
func Min[K comparable, T any, N cmp.Ordered](k KeyedStream[K, T], field func(*T) *N) DataStream[T] {
	return rolling(k, "Min", func(acc, v *T) error {
		if f := field(v); *f < *field(acc) {
			*field(acc) = *f
		}
		return nil
	})
}

// Max is Min for the maximum.
func Max[K comparable, T any, N cmp.Ordered](k KeyedStream[K, T], field func(*T) *N) DataStream[T] {
	return rolling(k, "Max", func(acc, v *T) error {
		if f := field(v); *f > *field(acc) {
			*field(acc) = *f
		}
		return nil
	})
}

// MinBy emits, per key, the record with the smallest field so far (the
// earliest of equal ones).
func MinBy[K comparable, T any, N cmp.Ordered](k KeyedStream[K, T], field func(*T) *N) DataStream[T] {
	return rolling(k, "MinBy", func(acc, v *T) error {
		if *field(v) < *field(acc) {
			*acc = *v
		}
		return nil
	})
}

// MaxBy emits, per key, the record with the largest field so far (the
// earliest of equal ones).
func MaxBy[K comparable, T any, N cmp.Ordered](k KeyedStream[K, T], field func(*T) *N) DataStream[T] {
	return rolling(k, "MaxBy", func(acc, v *T) error {
		if *field(v) > *field(acc) {
			*acc = *v
		}
		return nil
	})
}

// rolling adds a keyed rolling aggregation: combine folds v into acc.
func rolling[K comparable, T any](k KeyedStream[K, T], kind string, combine func(acc, v *T) error) DataStream[T] {
	batch := k.env.mode == Batch
	f := oneInput[T, T](func(c *operator.Context, out operator.Output[T]) (interface {
		operator.Operator
		operator.Output[T]
	}, error) {
		r := keygroup.RangeFor(c.MaxParallelism, c.Parallelism, c.Subtask)
		b := state.NewKeyedBackend(k.keyCodec, c.MaxParallelism, r, c.Clock)
		if err := restoreKeyed(c, b); err != nil {
			return nil, err
		}
		acc, err := state.GetValueState[state.VoidNamespace](b, state.Value[T](rollingState))
		if err != nil {
			return nil, c.Fail(err)
		}
		return &rollingOp[K, T]{base: base{c: c}, Forward: operator.Forward[T]{Out: out}, key: k.key, combine: combine, batch: batch, backend: b, acc: acc}, nil
	})
	return streamOf[T](k.env, newNode[T](k.env, kind, kind, f, k.ports))
}

// rollingState names the accumulator of a rolling aggregation.
const rollingState = "rolling"

// rollingOp keeps one accumulator per key of its key groups, in keyed
// value state, so that it is part of every checkpoint.
type rollingOp[K comparable, T any] struct {
	base
	operator.Forward[T]
	key     func(T) K
	combine func(acc, v *T) error
	batch   bool
	backend *state.KeyedBackend[K]
	acc     state.ValueState[T]
	scratch T // the current record, addressable without escaping
}

func (o *rollingOp[K, T]) Collect(v T, ts int64) (err error) {
	defer operator.Guard(o.c, &err)
	o.backend.SetCurrentKey(o.key(v))
	acc, ok, err := o.acc.Value()
	if err != nil {
		return o.c.Fail(err)
	}
	if ok {
		o.scratch = v
		if err := o.combine(&acc, &o.scratch); err != nil {
			return o.c.Fail(err)
		}
	} else {
		acc = v
	}
	if err := o.acc.Update(acc); err != nil {
		return o.c.Fail(err)
	}
	if o.batch {
		return nil
	}
	return o.Out.Collect(acc, ts)
}

func (o *rollingOp[K, T]) Finish() error {
	if !o.batch {
		return nil
	}
	return o.backend.ForEachKey(rollingState, func(K) error {
		acc, _, err := o.acc.Value()
		if err != nil {
			return o.c.Fail(err)
		}
		return o.Out.Collect(acc, operator.NoTimestamp)
	})
}
