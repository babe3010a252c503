package stream

import (
	"context"
	"reflect"

	"github.com/runnel-io/runnel/codec"
	"github.com/runnel-io/runnel/runtime/operator"
	"github.com/runnel-io/runnel/state"
)

// KeyedConnectedStreams are two keyed streams, with keys of the same type,
// processed together by one keyed operator: Flink's connect of two
// KeyedStreams. Records of equal keys from either input reach the same
// subtask, and there they share the key's state and timers.
type KeyedConnectedStreams[K comparable, A, B any] struct {
	first  KeyedStream[K, A]
	second KeyedStream[K, B]
}

// ConnectKeyed connects two keyed streams. Both must encode their keys
// alike, because the encoding picks a key's subtask: KeyBy streams do (they
// use codec.For[K]); streams keyed by KeyByCodec must use codecs of the same
// type, else Execute reports the mistake.
func ConnectKeyed[K comparable, A, B any](a KeyedStream[K, A], b KeyedStream[K, B]) KeyedConnectedStreams[K, A, B] {
	checkKeyedPair("ConnectKeyed", a, b)
	return KeyedConnectedStreams[K, A, B]{first: a, second: b}
}

// checkKeyedPair records the mistakes that would send records of equal keys
// of a and b to different subtasks: streams of different environments, or
// keys encoded by codecs of different types.
func checkKeyedPair[K comparable, A, B any](what string, a KeyedStream[K, A], b KeyedStream[K, B]) {
	if a.env != b.env {
		a.env.errorf("stream: %s of streams from different environments", what)
		return
	}
	if ta, tb := reflect.TypeOf(a.keyCodec), reflect.TypeOf(b.keyCodec); ta != tb {
		a.env.errorf("stream: %s: the two streams encode their keys with codecs of different types (%v and %v), so equal keys could reach different subtasks",
			what, ta, tb)
	}
}

// KeyedCoProcessFunction processes the two inputs of keyed connected
// streams with keyed state and timers shared between them: Flink's
// KeyedCoProcessFunction. Before each call the record's key is current, so
// state got from the KeyedRuntimeContext (in Open) reads and writes that
// key's entry whichever input the record came from.
//
// It may also implement KeyedTimerFunction[K, Out] (to be called back by its
// timers), KeyedOpener[K] or Opener, Closer and Finisher[Out]. All methods
// of one subtask's function are called from that subtask's goroutine, one at
// a time; the contexts and collectors passed are reused and must not be
// kept beyond the call. An error returned or a panic raised fails the job
// with an error naming the operator and the subtask.
type KeyedCoProcessFunction[K comparable, A, B, Out any] interface {
	// ProcessElement1 is called for each record of the first input.
	ProcessElement1(ctx *KeyedContext[K], v A, out Collector[Out]) error
	// ProcessElement2 is called for each record of the second input.
	ProcessElement2(ctx *KeyedContext[K], v B, out Collector[Out]) error
}

// KeyedCoProcess processes keyed connected streams with fn. Event-time
// timers fire on the operator's event time, the minimum of the two inputs'
// watermarks (an idle input does not hold it back), before that watermark
// is passed on. Every subtask calls the same fn: keep per-key data in keyed
// state, or use KeyedCoProcessEach for a function of its own per subtask.
func KeyedCoProcess[K comparable, A, B, Out any](cs KeyedConnectedStreams[K, A, B], fn KeyedCoProcessFunction[K, A, B, Out]) DataStream[Out] {
	return KeyedCoProcessEach(cs, func() KeyedCoProcessFunction[K, A, B, Out] { return fn })
}

// KeyedCoProcessEach is KeyedCoProcess with a function of its own for every
// subtask, made by newFn when the subtask starts.
func KeyedCoProcessEach[K comparable, A, B, Out any](cs KeyedConnectedStreams[K, A, B], newFn func() KeyedCoProcessFunction[K, A, B, Out]) DataStream[Out] {
	a, b := cs.first, cs.second
	f := operator.FactoryFunc(func(c *operator.Context, out any) (operator.Operator, []any, error) {
		o, err := operator.OutputAs[Out](c, out)
		if err != nil {
			return nil, nil, err
		}
		fn := newFn()
		op := &keyedCoOp[K, A, B, Out]{fn: fn, keyA: a.key, keyB: b.key}
		if err := op.init(c, fn, a.keyCodec, o, op.onTimer); err != nil {
			return nil, nil, err
		}
		op.timerCtx = TimerContext[K]{KeyedContext: &op.ctx}
		return op, []any{operator.Output[A](keyedCoInput1[K, A, B, Out]{op}), operator.Output[B](keyedCoInput2[K, A, B, Out]{op})}, nil
	})
	return streamOf[Out](a.env, newNode[Out](a.env, "KeyedCoProcess", "KeyedCoProcess", f, a.ports, b.ports))
}

// keyedTwoInput is what keyed two-input operators share: the keyed core
// (state backend and timer queues) of the subtask, the KeyedContext and the
// collector handed to the user function, and the combination of the two
// inputs' watermarks, which is the event time of the timers. An operator
// embeds it, calls init, and passes its inputs' watermarks and statuses to
// watermark and status.
type keyedTwoInput[K, N comparable, Out any] struct {
	base
	core *keyedCore[K, N]
	ctx  KeyedContext[K]
	col  collector[Out]
	wms  twoInputs
}

func (o *keyedTwoInput[K, N, Out]) init(c *operator.Context, fn any, kc codec.Codec[K], out operator.Output[Out], onTimer func(state.Timer[K, N], TimeDomain) error) error {
	o.base = base{c: c, fn: fn}
	core, err := newKeyedCore[K, N](c, kc, onTimer)
	if err != nil {
		return err
	}
	o.core = core
	o.ctx = o.core.context()
	o.col = collector[Out]{out: out}
	o.wms = newTwoInputs()
	return nil
}

// Open calls the function's KeyedOpener, or else its Opener.
func (o *keyedTwoInput[K, N, Out]) Open(ctx context.Context) error {
	return openKeyed(ctx, &o.base, o.ctx.krc)
}

// watermark takes input i's watermark; if the combined watermark advances,
// it fires the event-time timers up to it and then passes it on.
func (o *keyedTwoInput[K, N, Out]) watermark(i int, wm int64) (err error) {
	defer operator.Guard(o.c, &err)
	return o.wms.onWatermark(i, wm, o)
}

// status takes input i's status.
func (o *keyedTwoInput[K, N, Out]) status(i int, idle bool) (err error) {
	defer operator.Guard(o.c, &err)
	return o.wms.onStatus(i, idle, o)
}

func (o *keyedTwoInput[K, N, Out]) emitStatus(idle bool) error {
	return o.col.out.EmitWatermarkStatus(idle)
}

func (o *keyedTwoInput[K, N, Out]) advanceTo(wm int64) error {
	o.ctx.watermark = wm
	if err := o.core.advanceWatermark(wm); err != nil {
		return err
	}
	return o.col.out.EmitWatermark(wm)
}

func (o *keyedTwoInput[K, N, Out]) Finish() error {
	return finish(o.c, o.fn, &o.col, &o.ctx.Context)
}

func (o *keyedTwoInput[K, N, Out]) Close() error {
	o.core.stop()
	return o.base.Close()
}

type keyedCoOp[K comparable, A, B, Out any] struct {
	keyedTwoInput[K, state.VoidNamespace, Out]
	fn       KeyedCoProcessFunction[K, A, B, Out]
	keyA     func(A) K
	keyB     func(B) K
	timerCtx TimerContext[K]
}

func (o *keyedCoOp[K, A, B, Out]) onTimer(t state.Timer[K, state.VoidNamespace], domain TimeDomain) error {
	tf, ok := o.fn.(KeyedTimerFunction[K, Out])
	if !ok {
		return nil
	}
	ts := t.Time
	if domain == ProcessingTime {
		ts = operator.NoTimestamp
	}
	o.ctx.ts, o.col.ts = ts, ts
	o.timerCtx.domain = domain
	return o.ctx.result(o.c, &o.col, tf.OnTimer(&o.timerCtx, t.Time, &o.col))
}

type keyedCoInput1[K comparable, A, B, Out any] struct{ o *keyedCoOp[K, A, B, Out] }

func (in keyedCoInput1[K, A, B, Out]) Collect(v A, ts int64) (err error) {
	o := in.o
	defer operator.Guard(o.c, &err)
	o.core.backend.SetCurrentKey(o.keyA(v))
	o.ctx.ts, o.col.ts = ts, ts
	return o.ctx.result(o.c, &o.col, o.fn.ProcessElement1(&o.ctx, v, &o.col))
}

func (in keyedCoInput1[K, A, B, Out]) EmitWatermark(wm int64) error { return in.o.watermark(0, wm) }

func (in keyedCoInput1[K, A, B, Out]) EmitWatermarkStatus(idle bool) error {
	return in.o.status(0, idle)
}

type keyedCoInput2[K comparable, A, B, Out any] struct{ o *keyedCoOp[K, A, B, Out] }

func (in keyedCoInput2[K, A, B, Out]) Collect(v B, ts int64) (err error) {
	o := in.o
	defer operator.Guard(o.c, &err)
	o.core.backend.SetCurrentKey(o.keyB(v))
	o.ctx.ts, o.col.ts = ts, ts
	return o.ctx.result(o.c, &o.col, o.fn.ProcessElement2(&o.ctx, v, &o.col))
}

func (in keyedCoInput2[K, A, B, Out]) EmitWatermark(wm int64) error { return in.o.watermark(1, wm) }

func (in keyedCoInput2[K, A, B, Out]) EmitWatermarkStatus(idle bool) error {
	return in.o.status(1, idle)
}
