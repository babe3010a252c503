package operator

import (
	"context"
	"fmt"
	"reflect"

	"github.com/runnel-io/runnel/codec"
	"github.com/runnel-io/runnel/runtime/network"
	"github.com/runnel-io/runnel/runtime/partition"
)

// Writer is the type-erased handle of a RecordWriter.
type Writer interface {
	Flush() error
	SendEvent(b network.Buffer) error
	Release()
}

// Reader is the type-erased handle of a RecordReader.
type Reader interface {
	Read(seg []byte) error
}

// Type is what the runtime can do with the records of one stream without
// naming their Go type. A Type is immutable and safe for concurrent use.
type Type interface {
	// String names the Go type, for messages.
	String() string
	// NewWriter returns an Output[T] that serializes into targets, routed by
	// sel, which must be a network.Selector[T]. With flushAlways, out sends
	// every record, watermark and status at once (a buffer timeout of 0);
	// otherwise a segment leaves when it is full or w is flushed.
	NewWriter(ctx context.Context, sel any, targets []network.Sender, pool *network.Pool, flushAlways bool) (out any, w Writer, err error)
	// NewReader returns a Reader of the given gate channel that delivers
	// records to in, an Output[T], and watermarks and statuses to ev.
	NewReader(in any, channel int, ev network.EventHandler) (Reader, error)
	// FanOut returns one Output[T] that passes each record to every one of
	// outs, each an Output[T].
	FanOut(outs []any) (any, error)
	// Discard returns an Output[T] that drops every record.
	Discard() any
	// WatermarksTo returns an Output[T] that drops every record and passes
	// watermarks and statuses on to w.
	WatermarksTo(w WatermarkOutput) any
	// Partitioner returns the key-less partitioner of kind k for T.
	Partitioner(k partition.Kind) partition.Partitioner
}

// TypeOf returns the Type of T with codec c. c may be nil for a type whose
// records never cross a task boundary; the graph checks that before any
// writer or reader is built.
func TypeOf[T any](c codec.Codec[T]) Type { return typeOf[T]{codec: c} }

type typeOf[T any] struct{ codec codec.Codec[T] }

func typeName[T any]() string { return reflect.TypeFor[T]().String() }

func (t typeOf[T]) String() string { return typeName[T]() }

func (t typeOf[T]) NewWriter(ctx context.Context, sel any, targets []network.Sender, pool *network.Pool, flushAlways bool) (any, Writer, error) {
	s, ok := sel.(network.Selector[T])
	if !ok {
		return nil, nil, fmt.Errorf("operator: internal: selector %T does not route %s", sel, t)
	}
	w := network.NewRecordWriter(ctx, t.codec, s, targets, pool)
	if flushAlways {
		return w.FlushingOutput(), w, nil
	}
	return Output[T](w), w, nil
}

func (t typeOf[T]) NewReader(in any, channel int, ev network.EventHandler) (Reader, error) {
	o, ok := in.(Output[T])
	if !ok {
		return nil, fmt.Errorf("operator: internal: input %T does not take %s", in, t)
	}
	return network.NewRecordReader(t.codec, o, channel, ev), nil
}

func (t typeOf[T]) FanOut(outs []any) (any, error) {
	typed := make([]Output[T], len(outs))
	for i, o := range outs {
		to, ok := o.(Output[T])
		if !ok {
			return nil, fmt.Errorf("operator: internal: output %T does not take %s", o, t)
		}
		typed[i] = to
	}
	if len(typed) == 1 {
		return typed[0], nil
	}
	return Output[T](fanOut[T](typed)), nil
}

func (t typeOf[T]) Discard() any { return Output[T](discard[T]{}) }

func (t typeOf[T]) WatermarksTo(w WatermarkOutput) any { return Output[T](watermarksTo[T]{w}) }

func (t typeOf[T]) Partitioner(k partition.Kind) partition.Partitioner { return partition.Of[T](k) }

type fanOut[T any] []Output[T]

func (f fanOut[T]) Collect(v T, ts int64) error {
	for _, o := range f {
		if err := o.Collect(v, ts); err != nil {
			return err
		}
	}
	return nil
}

func (f fanOut[T]) EmitWatermark(wm int64) error {
	for _, o := range f {
		if err := o.EmitWatermark(wm); err != nil {
			return err
		}
	}
	return nil
}

func (f fanOut[T]) EmitWatermarkStatus(idle bool) error {
	for _, o := range f {
		if err := o.EmitWatermarkStatus(idle); err != nil {
			return err
		}
	}
	return nil
}

type discard[T any] struct{}

func (discard[T]) Collect(T, int64) error         { return nil }
func (discard[T]) EmitWatermark(int64) error      { return nil }
func (discard[T]) EmitWatermarkStatus(bool) error { return nil }

// WatermarkOutput is the part of an Output[T] that does not depend on T.
type WatermarkOutput interface {
	EmitWatermark(wm int64) error
	EmitWatermarkStatus(idle bool) error
}

type watermarksTo[T any] struct{ w WatermarkOutput }

func (watermarksTo[T]) Collect(T, int64) error                { return nil }
func (o watermarksTo[T]) EmitWatermark(wm int64) error        { return o.w.EmitWatermark(wm) }
func (o watermarksTo[T]) EmitWatermarkStatus(idle bool) error { return o.w.EmitWatermarkStatus(idle) }

// Forward passes watermarks and statuses on to Out unchanged: embed it in
// an operator whose input does nothing special with them.
type Forward[T any] struct {
	Out Output[T]
}

// EmitWatermark forwards wm.
func (f Forward[T]) EmitWatermark(wm int64) error { return f.Out.EmitWatermark(wm) }

// EmitWatermarkStatus forwards the status.
func (f Forward[T]) EmitWatermarkStatus(idle bool) error { return f.Out.EmitWatermarkStatus(idle) }
