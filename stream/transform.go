package stream

import (
	"context"

	"github.com/runnel-io/runnel/runtime/operator"
)

// base is what every operator built here shares: its context and the
// lifecycle hooks of its user function.
type base struct {
	c  *operator.Context
	fn any // the user function, checked for Opener and Closer
}

func (b *base) Open(ctx context.Context) (err error) {
	defer operator.Guard(b.c, &err)
	if o, ok := b.fn.(Opener); ok {
		return b.c.Fail(o.Open(ctx, runtimeContext(b.c)))
	}
	return nil
}

func (b *base) Finish() error { return nil }

func (b *base) Close() (err error) {
	defer operator.Guard(b.c, &err)
	if c, ok := b.fn.(Closer); ok {
		return b.c.Fail(c.Close())
	}
	return nil
}

// oneInput builds the factory of a one-input operator whose instance is its
// own input.
func oneInput[In, Out any](make func(c *operator.Context, out operator.Output[Out]) (interface {
	operator.Operator
	operator.Output[In]
}, error)) operator.Factory {
	return operator.FactoryFunc(func(c *operator.Context, out any) (operator.Operator, []any, error) {
		o, err := operator.OutputAs[Out](c, out)
		if err != nil {
			return nil, nil, err
		}
		op, err := make(c, o)
		if err != nil {
			return nil, nil, err
		}
		return op, []any{operator.Output[In](op)}, nil
	})
}

// Map applies fn to every record.
func Map[T, U any](s DataStream[T], fn func(T) (U, error)) DataStream[U] {
	f := oneInput[T, U](func(c *operator.Context, out operator.Output[U]) (interface {
		operator.Operator
		operator.Output[T]
	}, error) {
		return &mapOp[T, U]{base: base{c: c, fn: fn}, Forward: operator.Forward[U]{Out: out}, fn: fn}, nil
	})
	return streamOf[U](s.env, newNode[U](s.env, "Map", "Map", f, s.ports))
}

type mapOp[T, U any] struct {
	base
	operator.Forward[U]
	fn func(T) (U, error)
}

func (o *mapOp[T, U]) Collect(v T, ts int64) (err error) {
	defer operator.Guard(o.c, &err)
	u, err := o.fn(v)
	if err != nil {
		return o.c.Fail(err)
	}
	return o.Out.Collect(u, ts)
}

// Filter keeps the records for which fn returns true.
func (s DataStream[T]) Filter(fn func(T) (bool, error)) DataStream[T] {
	f := oneInput[T, T](func(c *operator.Context, out operator.Output[T]) (interface {
		operator.Operator
		operator.Output[T]
	}, error) {
		return &filterOp[T]{base: base{c: c, fn: fn}, Forward: operator.Forward[T]{Out: out}, fn: fn}, nil
	})
	return streamOf[T](s.env, newNode[T](s.env, "Filter", "Filter", f, s.ports))
}

type filterOp[T any] struct {
	base
	operator.Forward[T]
	fn func(T) (bool, error)
}

func (o *filterOp[T]) Collect(v T, ts int64) (err error) {
	defer operator.Guard(o.c, &err)
	keep, err := o.fn(v)
	if err != nil {
		return o.c.Fail(err)
	}
	if !keep {
		return nil
	}
	return o.Out.Collect(v, ts)
}

// FlatMap calls fn for every record; fn emits any number of records.
func FlatMap[T, U any](s DataStream[T], fn func(T, Collector[U]) error) DataStream[U] {
	f := oneInput[T, U](func(c *operator.Context, out operator.Output[U]) (interface {
		operator.Operator
		operator.Output[T]
	}, error) {
		return &flatMapOp[T, U]{base: base{c: c, fn: fn}, Forward: operator.Forward[U]{Out: out}, fn: fn, col: collector[U]{out: out}}, nil
	})
	return streamOf[U](s.env, newNode[U](s.env, "FlatMap", "FlatMap", f, s.ports))
}

type flatMapOp[T, U any] struct {
	base
	operator.Forward[U]
	fn  func(T, Collector[U]) error
	col collector[U]
}

func (o *flatMapOp[T, U]) Collect(v T, ts int64) (err error) {
	defer operator.Guard(o.c, &err)
	o.col.ts = ts
	return o.col.result(o.c, o.fn(v, &o.col))
}

// Process calls fn for every record, with the record's context.
//
// Every subtask calls the same fn, from its own goroutine: a function that
// writes fields of its own must guard them, or be given with ProcessEach.
func Process[T, U any](s DataStream[T], fn ProcessFunction[T, U]) DataStream[U] {
	return ProcessEach(s, func() ProcessFunction[T, U] { return fn })
}

// ProcessEach is Process with a function of its own for every subtask, made
// by newFn when the subtask starts: the way to keep per-subtask fields (as
// every Flink function instance is a copy of its own).
func ProcessEach[T, U any](s DataStream[T], newFn func() ProcessFunction[T, U]) DataStream[U] {
	f := oneInput[T, U](func(c *operator.Context, out operator.Output[U]) (interface {
		operator.Operator
		operator.Output[T]
	}, error) {
		fn := newFn()
		return &processOp[T, U]{base: base{c: c, fn: fn}, Forward: operator.Forward[U]{Out: out}, fn: fn, col: collector[U]{out: out}, ctx: newContext(c)}, nil
	})
	return streamOf[U](s.env, newNode[U](s.env, "Process", "Process", f, s.ports))
}

type processOp[T, U any] struct {
	base
	operator.Forward[U]
	fn  ProcessFunction[T, U]
	col collector[U]
	ctx Context
}

func (o *processOp[T, U]) Collect(v T, ts int64) (err error) {
	defer operator.Guard(o.c, &err)
	o.ctx.ts, o.col.ts = ts, ts
	return o.ctx.result(o.c, &o.col, o.fn.ProcessElement(&o.ctx, v, &o.col))
}

// EmitWatermark records the watermark for Context.CurrentWatermark and
// passes it on.
func (o *processOp[T, U]) EmitWatermark(wm int64) error {
	o.ctx.watermark = wm
	return o.Out.EmitWatermark(wm)
}

func (o *processOp[T, U]) Finish() error { return finish(o.c, o.fn, &o.col, &o.ctx) }
