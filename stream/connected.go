package stream

import (
	"github.com/runnel-io/runnel/runtime/operator"
)

// ConnectedStreams are two streams, possibly of different types, processed
// together by one operator that keeps shared state: Flink's connect.
type ConnectedStreams[A, B any] struct {
	first  DataStream[A]
	second DataStream[B]
}

// Connect connects two streams. If both are keyed (by keys of the same
// type), records of equal keys reach the same subtask.
func Connect[A, B any](a DataStream[A], b DataStream[B]) ConnectedStreams[A, B] {
	if a.env != b.env {
		a.env.errorf("stream: Connect of streams from different environments")
	}
	return ConnectedStreams[A, B]{first: a, second: b}
}

// CoMap maps the records of each input with its own function into one
// output stream.
func CoMap[A, B, Out any](cs ConnectedStreams[A, B], fa func(A) (Out, error), fb func(B) (Out, error)) DataStream[Out] {
	return coProcess(cs, "CoMap", sharedCo[A, B, Out](coFuncs[A, B, Out]{
		a: func(_ *Context, v A, out Collector[Out]) error {
			r, err := fa(v)
			if err == nil {
				out.Collect(r)
			}
			return err
		},
		b: func(_ *Context, v B, out Collector[Out]) error {
			r, err := fb(v)
			if err == nil {
				out.Collect(r)
			}
			return err
		},
	}))
}

// CoFlatMap is CoMap with functions that emit any number of records.
func CoFlatMap[A, B, Out any](cs ConnectedStreams[A, B], fa func(A, Collector[Out]) error, fb func(B, Collector[Out]) error) DataStream[Out] {
	return coProcess(cs, "CoFlatMap", sharedCo[A, B, Out](coFuncs[A, B, Out]{
		a: func(_ *Context, v A, out Collector[Out]) error { return fa(v, out) },
		b: func(_ *Context, v B, out Collector[Out]) error { return fb(v, out) },
	}))
}

// sharedCo returns a constructor that hands every subtask the same fn.
func sharedCo[A, B, Out any](fn CoProcessFunction[A, B, Out]) func() CoProcessFunction[A, B, Out] {
	return func() CoProcessFunction[A, B, Out] { return fn }
}

// CoProcess processes both inputs with fn, which may also implement Opener,
// Closer and Finisher[Out]. Every subtask calls the same fn: a function that
// writes fields of its own must guard them, or be given with CoProcessEach.
func CoProcess[A, B, Out any](cs ConnectedStreams[A, B], fn CoProcessFunction[A, B, Out]) DataStream[Out] {
	return coProcess(cs, "CoProcess", sharedCo(fn))
}

// CoProcessEach is CoProcess with a function of its own for every subtask,
// made by newFn when the subtask starts.
func CoProcessEach[A, B, Out any](cs ConnectedStreams[A, B], newFn func() CoProcessFunction[A, B, Out]) DataStream[Out] {
	return coProcess(cs, "CoProcess", newFn)
}

type coFuncs[A, B, Out any] struct {
	a func(*Context, A, Collector[Out]) error
	b func(*Context, B, Collector[Out]) error
}

func (f coFuncs[A, B, Out]) ProcessElement1(c *Context, v A, out Collector[Out]) error {
	return f.a(c, v, out)
}

func (f coFuncs[A, B, Out]) ProcessElement2(c *Context, v B, out Collector[Out]) error {
	return f.b(c, v, out)
}

func coProcess[A, B, Out any](cs ConnectedStreams[A, B], kind string, newFn func() CoProcessFunction[A, B, Out]) DataStream[Out] {
	env := cs.first.env
	f := operator.FactoryFunc(func(c *operator.Context, out any) (operator.Operator, []any, error) {
		o, err := operator.OutputAs[Out](c, out)
		if err != nil {
			return nil, nil, err
		}
		fn := newFn()
		op := &coOp[A, B, Out]{base: base{c: c, fn: fn}, fn: fn, col: collector[Out]{out: o}, ctx: newContext(c), wms: newTwoInputs()}
		return op, []any{operator.Output[A](coInput1[A, B, Out]{op}), operator.Output[B](coInput2[A, B, Out]{op})}, nil
	})
	return streamOf[Out](env, newNode[Out](env, kind, kind, f, cs.first.ports, cs.second.ports))
}

type coOp[A, B, Out any] struct {
	base
	fn  CoProcessFunction[A, B, Out]
	col collector[Out]
	ctx Context
	wms twoInputs
}

func (o *coOp[A, B, Out]) Finish() error { return finish(o.c, o.fn, &o.col, &o.ctx) }

func (o *coOp[A, B, Out]) watermark(input int, wm int64) error {
	return o.wms.onWatermark(input, wm, o)
}
func (o *coOp[A, B, Out]) status(input int, idle bool) error { return o.wms.onStatus(input, idle, o) }

func (o *coOp[A, B, Out]) advanceTo(wm int64) error {
	o.ctx.watermark = wm
	return o.col.out.EmitWatermark(wm)
}

func (o *coOp[A, B, Out]) emitStatus(idle bool) error { return o.col.out.EmitWatermarkStatus(idle) }

type coInput1[A, B, Out any] struct{ o *coOp[A, B, Out] }

func (in coInput1[A, B, Out]) Collect(v A, ts int64) (err error) {
	o := in.o
	defer operator.Guard(o.c, &err)
	o.ctx.ts, o.col.ts = ts, ts
	return o.ctx.result(o.c, &o.col, o.fn.ProcessElement1(&o.ctx, v, &o.col))
}

func (in coInput1[A, B, Out]) EmitWatermark(wm int64) error { return in.o.watermark(0, wm) }

func (in coInput1[A, B, Out]) EmitWatermarkStatus(idle bool) error { return in.o.status(0, idle) }

type coInput2[A, B, Out any] struct{ o *coOp[A, B, Out] }

func (in coInput2[A, B, Out]) Collect(v B, ts int64) (err error) {
	o := in.o
	defer operator.Guard(o.c, &err)
	o.ctx.ts, o.col.ts = ts, ts
	return o.ctx.result(o.c, &o.col, o.fn.ProcessElement2(&o.ctx, v, &o.col))
}

func (in coInput2[A, B, Out]) EmitWatermark(wm int64) error { return in.o.watermark(1, wm) }

func (in coInput2[A, B, Out]) EmitWatermarkStatus(idle bool) error { return in.o.status(1, idle) }

// twoInputs combines the watermarks of a two-input operator's inputs, as
// Flink's two-input operators do: the operator's event time is the minimum
// of its active inputs' watermarks, an idle input does not hold it back, and
// it never goes backwards.
type twoInputs struct {
	wm      [2]int64
	idle    [2]bool
	emitted int64
	idleOut bool
}

func newTwoInputs() twoInputs {
	return twoInputs{wm: [2]int64{operator.MinWatermark, operator.MinWatermark}, emitted: operator.MinWatermark}
}

// watermark records input i's watermark and returns the combined one if it
// advanced.
func (t *twoInputs) watermark(i int, wm int64) (int64, bool) {
	if wm > t.wm[i] {
		t.wm[i] = wm
	}
	return t.advance()
}

func (t *twoInputs) advance() (int64, bool) {
	var combined int64
	switch {
	case t.idle[0] && t.idle[1]:
		return 0, false
	case t.idle[0]:
		combined = t.wm[1]
	case t.idle[1]:
		combined = t.wm[0]
	default:
		combined = min(t.wm[0], t.wm[1])
	}
	if combined <= t.emitted {
		return 0, false
	}
	t.emitted = combined
	return combined, true
}

// eventTimeOwner is the two-input operator a twoInputs serves: it moves
// its event time to a combined watermark (firing its timers, if any, before
// passing the watermark on) and passes on status changes.
type eventTimeOwner interface {
	advanceTo(wm int64) error
	emitStatus(idle bool) error
}

// onWatermark takes input i's watermark and advances o if the combined
// watermark moved.
func (t *twoInputs) onWatermark(i int, wm int64, o eventTimeOwner) error {
	if combined, ok := t.watermark(i, wm); ok {
		return o.advanceTo(combined)
	}
	return nil
}

// onStatus takes input i's status: o becomes idle when both inputs are,
// and an input going idle may let the combined watermark advance.
func (t *twoInputs) onStatus(i int, idle bool, o eventTimeOwner) error {
	if idle, ok := t.status(i, idle); ok {
		if err := o.emitStatus(idle); err != nil {
			return err
		}
	}
	if combined, ok := t.advance(); ok {
		return o.advanceTo(combined)
	}
	return nil
}

// status records input i's status and returns the operator's status if it
// changed. An input going idle may also let the watermark advance: callers
// call advance afterwards.
func (t *twoInputs) status(i int, idle bool) (bool, bool) {
	t.idle[i] = idle
	out := t.idle[0] && t.idle[1]
	if out == t.idleOut {
		return false, false
	}
	t.idleOut = out
	return out, true
}
