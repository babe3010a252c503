package stream

import (
	"context"
	"errors"
	"fmt"

	"github.com/runnel-io/runnel/runtime/operator"
	"github.com/runnel-io/runnel/state"
)

// Errors of broadcast state, returned wrapped (check with errors.Is) and
// naming the state.
var (
	// ErrReadOnlyBroadcastState is returned by the writes (Put, PutAll,
	// Remove, Clear) of a broadcast state got in ProcessElement or OnTimer:
	// only ProcessBroadcastElement may change broadcast state, so that it
	// stays the same on every subtask.
	ErrReadOnlyBroadcastState = errors.New("stream: broadcast state is read-only outside ProcessBroadcastElement")
	// ErrUndeclaredBroadcastState is returned by GetBroadcastState for a
	// state that the BroadcastStream did not declare.
	ErrUndeclaredBroadcastState = errors.New("stream: broadcast state not declared")
)

// BroadcastStateDescriptor declares one broadcast state of a
// BroadcastStream: a map state, from keys of one type to values of another,
// that every subtask of the operator reading the stream holds a copy of.
// Make one with BroadcastStateOf; the zero value declares nothing.
type BroadcastStateDescriptor struct {
	name     string
	register func(b *state.OperatorBackend) error
}

// BroadcastStateOf declares the broadcast state d. Broadcast states have
// no TTL: a d with one is reported when the operator opens.
func BroadcastStateOf[UK comparable, UV any](d state.MapDescriptor[UK, UV]) BroadcastStateDescriptor {
	return BroadcastStateDescriptor{name: d.Name(), register: func(b *state.OperatorBackend) error {
		_, err := state.GetBroadcastState(b, d)
		return err
	}}
}

// Name returns the name of the declared state.
func (d BroadcastStateDescriptor) Name() string { return d.name }

// BroadcastStream is a stream sent whole to every subtask of the operator
// that reads it, together with the broadcast states that operator keeps:
// Flink's BroadcastStream. Connect it to another stream with
// BroadcastProcess or KeyedBroadcastProcess.
type BroadcastStream[B any] struct {
	stream DataStream[B]
	states []BroadcastStateDescriptor
}

// Broadcast makes s a broadcast stream with the broadcast states
// descriptors declares (several, of different types, may be declared).
// Every record of s reaches every subtask of the operator reading it.
func Broadcast[B any](s DataStream[B], descriptors ...BroadcastStateDescriptor) BroadcastStream[B] {
	seen := make(map[string]bool, len(descriptors))
	for _, d := range descriptors {
		switch {
		case d.register == nil:
			s.env.errorf("stream: Broadcast: a zero BroadcastStateDescriptor (make one with BroadcastStateOf)")
		case seen[d.name]:
			s.env.errorf("stream: Broadcast: broadcast state %q is declared twice", d.name)
		}
		seen[d.name] = true
	}
	return BroadcastStream[B]{stream: s.Broadcast(), states: descriptors}
}

// BroadcastStateContext is a context that gives access to broadcast state
// through GetBroadcastState: the contexts of the broadcast process
// functions, and nothing else (it has an unexported method).
type BroadcastStateContext interface {
	broadcastStates() (*broadcastStates, bool)
}

// GetBroadcastState returns the broadcast state d, which the
// BroadcastStream must have declared (with BroadcastStateOf and the same
// types). In ProcessBroadcastElement the state is read-write; in
// ProcessElement and OnTimer it is read-only, its writes returning an
// error wrapping ErrReadOnlyBroadcastState.
//
// It returns an error wrapping ErrUndeclaredBroadcastState if the stream did
// not declare d, one wrapping state.ErrIncompatibleState if it declared it
// with other types, and one wrapping state.ErrInvalidDescriptor if d has a
// TTL. The state must be used only within the call whose context gave it:
// the state that is read-write in one call is read-only in another.
//
// Broadcast state is the same on every subtask only if every subtask
// changes it the same way: ProcessBroadcastElement must change it
// deterministically, from the broadcast record and the state alone. The
// values it holds are shared by every reader: they must not be modified
// except by putting a new value.
func GetBroadcastState[UK comparable, UV any](ctx BroadcastStateContext, d state.MapDescriptor[UK, UV]) (state.MapState[UK, UV], error) {
	bs, readOnly := ctx.broadcastStates()
	name := d.Name()
	if _, ttl := d.TTL(); ttl {
		return nil, fmt.Errorf("%w: broadcast state %q cannot have a TTL", state.ErrInvalidDescriptor, name)
	}
	cache := bs.rw
	if readOnly {
		cache = bs.ro
	}
	if s, ok := cache[name].(state.MapState[UK, UV]); ok {
		return s, nil
	}
	if !bs.declared[name] {
		return nil, fmt.Errorf("%w: %q (declare it in Broadcast with BroadcastStateOf)", ErrUndeclaredBroadcastState, name)
	}
	s, err := state.GetBroadcastState(bs.backend, d)
	if err != nil {
		return nil, err
	}
	if readOnly {
		s = readOnlyMap[UK, UV]{MapState: s, name: name}
	}
	cache[name] = s
	return s, nil
}

// broadcastStates holds the broadcast states of one subtask, and the
// read-write and read-only views of them handed out so far.
type broadcastStates struct {
	backend  *state.OperatorBackend
	declared map[string]bool
	rw, ro   map[string]any // name → state.MapState[UK, UV]
}

// open registers the declared states, so that each exists (empty) from
// the start and a bad descriptor fails the subtask before any record.
func (b *broadcastStates) open(c *operator.Context, descs []BroadcastStateDescriptor) error {
	b.backend = state.NewOperatorBackend()
	b.declared = make(map[string]bool, len(descs))
	b.rw, b.ro = make(map[string]any), make(map[string]any)
	for _, d := range descs {
		if err := d.register(b.backend); err != nil {
			return c.Fail(fmt.Errorf("stream: broadcast state %q: %w", d.name, err))
		}
		b.declared[d.name] = true
	}
	return nil
}

// readOnlyMap is the view of a broadcast state in ProcessElement and
// OnTimer: its writes fail.
type readOnlyMap[UK comparable, UV any] struct {
	state.MapState[UK, UV]
	name string
}

func (m readOnlyMap[UK, UV]) denied(method string) error {
	return fmt.Errorf("%w: %s on broadcast state %q", ErrReadOnlyBroadcastState, method, m.name)
}

func (m readOnlyMap[UK, UV]) Put(UK, UV) error       { return m.denied("Put") }
func (m readOnlyMap[UK, UV]) PutAll(map[UK]UV) error { return m.denied("PutAll") }
func (m readOnlyMap[UK, UV]) Remove(UK) error        { return m.denied("Remove") }
func (m readOnlyMap[UK, UV]) Clear() error           { return m.denied("Clear") }

// BroadcastContext is passed to the methods of a BroadcastProcessFunction:
// to ProcessBroadcastElement with read-write access to the broadcast state,
// to ProcessElement with read-only access (see GetBroadcastState). It is
// reused: a function must not keep it, or a state got from it, beyond the
// call.
type BroadcastContext struct {
	Context
	bs       *broadcastStates
	readOnly bool
	pts      operator.ProcessingTimeService
}

func (c *BroadcastContext) broadcastStates() (*broadcastStates, bool) { return c.bs, c.readOnly }

// CurrentProcessingTime returns the task's processing time in milliseconds.
func (c *BroadcastContext) CurrentProcessingTime() int64 { return c.pts.Now() }

// BroadcastProcessFunction processes a non-keyed stream connected to a
// broadcast stream: Flink's BroadcastProcessFunction. Every subtask sees
// every broadcast record and may keep what it learns from them in the
// broadcast state; the records of the other stream are spread over the
// subtasks and may only read it.
//
// The order in which a subtask sees the records of the two inputs is not
// defined and differs between subtasks: a broadcast record may arrive after
// records it was meant to apply to.
//
// It may also implement Opener, Closer and Finisher[Out]. One subtask's
// function is called from that subtask's goroutine, one call at a time. An
// error returned or a panic raised fails the job with an error naming the
// operator and the subtask.
type BroadcastProcessFunction[A, B, Out any] interface {
	// ProcessElement is called for each record of the non-broadcast
	// stream; the broadcast state is read-only.
	ProcessElement(ctx *BroadcastContext, v A, out Collector[Out]) error
	// ProcessBroadcastElement is called, on every subtask, for each
	// record of the broadcast stream; the broadcast state is read-write.
	ProcessBroadcastElement(ctx *BroadcastContext, v B, out Collector[Out]) error
}

// BroadcastProcess processes s together with the broadcast stream bs. The
// operator's event time is the minimum of the two inputs' watermarks, as
// for any two-input operator: a broadcast stream without watermarks holds it
// back until it ends, unless its source marks it idle. Every subtask calls
// the same fn; use BroadcastProcessEach for a function of its own per
// subtask.
func BroadcastProcess[A, B, Out any](s DataStream[A], bs BroadcastStream[B], fn BroadcastProcessFunction[A, B, Out]) DataStream[Out] {
	return BroadcastProcessEach(s, bs, func() BroadcastProcessFunction[A, B, Out] { return fn })
}

// BroadcastProcessEach is BroadcastProcess with a function of its own for
// every subtask, made by newFn when the subtask starts.
func BroadcastProcessEach[A, B, Out any](s DataStream[A], bs BroadcastStream[B], newFn func() BroadcastProcessFunction[A, B, Out]) DataStream[Out] {
	if s.env != bs.stream.env {
		s.env.errorf("stream: BroadcastProcess of streams from different environments")
	}
	f := operator.FactoryFunc(func(c *operator.Context, out any) (operator.Operator, []any, error) {
		o, err := operator.OutputAs[Out](c, out)
		if err != nil {
			return nil, nil, err
		}
		fn := newFn()
		op := &broadcastOp[A, B, Out]{base: base{c: c, fn: fn}, fn: fn, descs: bs.states, col: collector[Out]{out: o}, wms: newTwoInputs()}
		op.ctx = BroadcastContext{Context: newContext(c), bs: &op.bs, pts: c.ProcessingTime}
		return op, []any{operator.Output[A](broadcastMain[A, B, Out]{op}), operator.Output[B](broadcastSide[A, B, Out]{op})}, nil
	})
	return streamOf[Out](s.env, newNode[Out](s.env, "BroadcastProcess", "BroadcastProcess", f, s.ports, bs.stream.ports))
}

type broadcastOp[A, B, Out any] struct {
	base
	fn    BroadcastProcessFunction[A, B, Out]
	descs []BroadcastStateDescriptor
	bs    broadcastStates
	ctx   BroadcastContext
	col   collector[Out]
	wms   twoInputs
}

func (o *broadcastOp[A, B, Out]) Open(ctx context.Context) (err error) {
	defer operator.Guard(o.c, &err)
	if err := o.bs.open(o.c, o.descs); err != nil {
		return err
	}
	return o.base.Open(ctx)
}

func (o *broadcastOp[A, B, Out]) Finish() error { return finish(o.c, o.fn, &o.col, &o.ctx.Context) }

func (o *broadcastOp[A, B, Out]) watermark(i int, wm int64) error { return o.wms.onWatermark(i, wm, o) }
func (o *broadcastOp[A, B, Out]) status(i int, idle bool) error   { return o.wms.onStatus(i, idle, o) }

func (o *broadcastOp[A, B, Out]) advanceTo(wm int64) error {
	o.ctx.watermark = wm
	return o.col.out.EmitWatermark(wm)
}

func (o *broadcastOp[A, B, Out]) emitStatus(idle bool) error {
	return o.col.out.EmitWatermarkStatus(idle)
}

type broadcastMain[A, B, Out any] struct{ o *broadcastOp[A, B, Out] }

func (in broadcastMain[A, B, Out]) Collect(v A, ts int64) (err error) {
	o := in.o
	defer operator.Guard(o.c, &err)
	o.ctx.ts, o.col.ts, o.ctx.readOnly = ts, ts, true
	return o.ctx.result(o.c, &o.col, o.fn.ProcessElement(&o.ctx, v, &o.col))
}

func (in broadcastMain[A, B, Out]) EmitWatermark(wm int64) error { return in.o.watermark(0, wm) }

func (in broadcastMain[A, B, Out]) EmitWatermarkStatus(idle bool) error {
	return in.o.status(0, idle)
}

type broadcastSide[A, B, Out any] struct{ o *broadcastOp[A, B, Out] }

func (in broadcastSide[A, B, Out]) Collect(v B, ts int64) (err error) {
	o := in.o
	defer operator.Guard(o.c, &err)
	o.ctx.ts, o.col.ts, o.ctx.readOnly = ts, ts, false
	return o.ctx.result(o.c, &o.col, o.fn.ProcessBroadcastElement(&o.ctx, v, &o.col))
}

func (in broadcastSide[A, B, Out]) EmitWatermark(wm int64) error { return in.o.watermark(1, wm) }

func (in broadcastSide[A, B, Out]) EmitWatermarkStatus(idle bool) error {
	return in.o.status(1, idle)
}

// KeyedBroadcastContext is passed to ProcessBroadcastElement of a
// KeyedBroadcastProcessFunction: read-write broadcast state, and the keyed
// state of every key of the subtask through the ApplyTo functions
// (ApplyToValueState, ...). There is no current key: keyed state got in
// Open must be used only inside an ApplyTo function, where it reads and
// writes the key being visited (outside, it would see the key of the last
// keyed record). It is reused: a function must not keep it beyond the call.
type KeyedBroadcastContext[K comparable] struct {
	BroadcastContext
	krc *KeyedRuntimeContext[K]
}

// KeyedBroadcastReadOnlyContext is passed to ProcessElement of a
// KeyedBroadcastProcessFunction: the record's key, its keyed state and
// timers (through the embedded KeyedContext), and read-only broadcast
// state. It is reused: a function must not keep it beyond the call.
type KeyedBroadcastReadOnlyContext[K comparable] struct {
	*KeyedContext[K]
	bs *broadcastStates
}

func (c *KeyedBroadcastReadOnlyContext[K]) broadcastStates() (*broadcastStates, bool) {
	return c.bs, true
}

// KeyedBroadcastTimerContext is passed to OnTimer of a
// KeyedBroadcastTimerFunction: the timer's key, its keyed state and
// timers, and read-only broadcast state. It is reused: a function must not
// keep it beyond the call.
type KeyedBroadcastTimerContext[K comparable] struct {
	*KeyedBroadcastReadOnlyContext[K]
	domain TimeDomain
}

// TimeDomain says whether an event-time or a processing-time timer fired.
func (c *KeyedBroadcastTimerContext[K]) TimeDomain() TimeDomain { return c.domain }

// KeyedBroadcastProcessFunction processes a keyed stream connected to a
// broadcast stream: Flink's KeyedBroadcastProcessFunction. As with
// BroadcastProcessFunction, every subtask sees every broadcast record, only
// ProcessBroadcastElement may change the broadcast state, and the order of
// the two inputs' records is not defined. ProcessElement sees each keyed
// record with its key current, and has keyed state and timers.
//
// It may also implement KeyedBroadcastTimerFunction[K, Out] (or
// KeyedTimerFunction[K, Out], without broadcast state) to be called back by
// its timers, KeyedOpener[K] or Opener, Closer and Finisher[Out]. One
// subtask's function is called from that subtask's goroutine, one call at a
// time. An error returned or a panic raised fails the job with an error
// naming the operator and the subtask.
type KeyedBroadcastProcessFunction[K comparable, A, B, Out any] interface {
	// ProcessElement is called for each record of the keyed stream.
	ProcessElement(ctx *KeyedBroadcastReadOnlyContext[K], v A, out Collector[Out]) error
	// ProcessBroadcastElement is called, on every subtask, for each
	// record of the broadcast stream.
	ProcessBroadcastElement(ctx *KeyedBroadcastContext[K], v B, out Collector[Out]) error
}

// KeyedBroadcastTimerFunction is called when a timer of a
// KeyedBroadcastProcessFunction fires, with the timer's key current and the
// timer's time; records it emits carry that time as their timestamp for
// event-time timers.
type KeyedBroadcastTimerFunction[K comparable, Out any] interface {
	OnTimer(ctx *KeyedBroadcastTimerContext[K], t int64, out Collector[Out]) error
}

// KeyedBroadcastProcess processes the keyed stream ks together with the
// broadcast stream bs. Event-time timers fire on the operator's event
// time, the minimum of the two inputs' watermarks (see BroadcastProcess).
// Every subtask calls the same fn: keep per-key data in keyed state, or use
// KeyedBroadcastProcessEach for a function of its own per subtask.
func KeyedBroadcastProcess[K comparable, A, B, Out any](ks KeyedStream[K, A], bs BroadcastStream[B], fn KeyedBroadcastProcessFunction[K, A, B, Out]) DataStream[Out] {
	return KeyedBroadcastProcessEach(ks, bs, func() KeyedBroadcastProcessFunction[K, A, B, Out] { return fn })
}

// KeyedBroadcastProcessEach is KeyedBroadcastProcess with a function of its
// own for every subtask, made by newFn when the subtask starts.
func KeyedBroadcastProcessEach[K comparable, A, B, Out any](ks KeyedStream[K, A], bs BroadcastStream[B], newFn func() KeyedBroadcastProcessFunction[K, A, B, Out]) DataStream[Out] {
	if ks.env != bs.stream.env {
		ks.env.errorf("stream: KeyedBroadcastProcess of streams from different environments")
	}
	f := operator.FactoryFunc(func(c *operator.Context, out any) (operator.Operator, []any, error) {
		o, err := operator.OutputAs[Out](c, out)
		if err != nil {
			return nil, nil, err
		}
		fn := newFn()
		op := &keyedBroadcastOp[K, A, B, Out]{fn: fn, key: ks.key, descs: bs.states}
		if err := op.init(c, fn, ks.keyCodec, o, op.onTimer); err != nil {
			return nil, nil, err
		}
		op.roCtx = KeyedBroadcastReadOnlyContext[K]{KeyedContext: &op.ctx, bs: &op.bs}
		op.rwCtx = KeyedBroadcastContext[K]{
			BroadcastContext: BroadcastContext{Context: newContext(c), bs: &op.bs, pts: c.ProcessingTime},
			krc:              op.ctx.krc,
		}
		op.timerCtx = KeyedBroadcastTimerContext[K]{KeyedBroadcastReadOnlyContext: &op.roCtx}
		return op, []any{operator.Output[A](keyedBroadcastMain[K, A, B, Out]{op}), operator.Output[B](keyedBroadcastSide[K, A, B, Out]{op})}, nil
	})
	return streamOf[Out](ks.env, newNode[Out](ks.env, "KeyedBroadcastProcess", "KeyedBroadcastProcess", f, ks.ports, bs.stream.ports))
}

type keyedBroadcastOp[K comparable, A, B, Out any] struct {
	keyedTwoInput[K, state.VoidNamespace, Out]
	fn       KeyedBroadcastProcessFunction[K, A, B, Out]
	key      func(A) K
	descs    []BroadcastStateDescriptor
	bs       broadcastStates
	roCtx    KeyedBroadcastReadOnlyContext[K]
	rwCtx    KeyedBroadcastContext[K]
	timerCtx KeyedBroadcastTimerContext[K]
}

func (o *keyedBroadcastOp[K, A, B, Out]) Open(ctx context.Context) (err error) {
	defer operator.Guard(o.c, &err)
	if err := o.bs.open(o.c, o.descs); err != nil {
		return err
	}
	return o.keyedTwoInput.Open(ctx)
}

func (o *keyedBroadcastOp[K, A, B, Out]) onTimer(t state.Timer[K, state.VoidNamespace], domain TimeDomain) error {
	ts := t.Time
	if domain == ProcessingTime {
		ts = operator.NoTimestamp
	}
	o.ctx.ts, o.col.ts = ts, ts
	switch tf := o.fn.(type) {
	case KeyedBroadcastTimerFunction[K, Out]:
		o.timerCtx.domain = domain
		return o.ctx.result(o.c, &o.col, tf.OnTimer(&o.timerCtx, t.Time, &o.col))
	case KeyedTimerFunction[K, Out]:
		tc := TimerContext[K]{KeyedContext: &o.ctx, domain: domain}
		return o.ctx.result(o.c, &o.col, tf.OnTimer(&tc, t.Time, &o.col))
	}
	return nil
}

type keyedBroadcastMain[K comparable, A, B, Out any] struct {
	o *keyedBroadcastOp[K, A, B, Out]
}

func (in keyedBroadcastMain[K, A, B, Out]) Collect(v A, ts int64) (err error) {
	o := in.o
	defer operator.Guard(o.c, &err)
	o.core.backend.SetCurrentKey(o.key(v))
	o.ctx.ts, o.col.ts = ts, ts
	return o.ctx.result(o.c, &o.col, o.fn.ProcessElement(&o.roCtx, v, &o.col))
}

func (in keyedBroadcastMain[K, A, B, Out]) EmitWatermark(wm int64) error {
	return in.o.watermark(0, wm)
}

func (in keyedBroadcastMain[K, A, B, Out]) EmitWatermarkStatus(idle bool) error {
	return in.o.status(0, idle)
}

type keyedBroadcastSide[K comparable, A, B, Out any] struct {
	o *keyedBroadcastOp[K, A, B, Out]
}

func (in keyedBroadcastSide[K, A, B, Out]) Collect(v B, ts int64) (err error) {
	o := in.o
	defer operator.Guard(o.c, &err)
	c := &o.rwCtx.BroadcastContext
	c.ts, c.watermark, o.col.ts = ts, o.ctx.watermark, ts
	return c.result(o.c, &o.col, o.fn.ProcessBroadcastElement(&o.rwCtx, v, &o.col))
}

func (in keyedBroadcastSide[K, A, B, Out]) EmitWatermark(wm int64) error {
	return in.o.watermark(1, wm)
}

func (in keyedBroadcastSide[K, A, B, Out]) EmitWatermarkStatus(idle bool) error {
	return in.o.status(1, idle)
}

// ApplyToValueState calls fn for every key of the subtask that has a value
// in the keyed value state d, with that key current, giving it the state,
// which then reads and writes that key's entry: Flink's applyToKeyedState.
// fn may update or clear the state (keys it adds may or may not be
// visited). ApplyToValueState stops at, and returns, the first error of fn;
// d's registration fails as GetValueState does.
func ApplyToValueState[K comparable, V any](ctx *KeyedBroadcastContext[K], d state.ValueDescriptor[V], fn func(key K, s state.ValueState[V]) error) error {
	s, err := GetValueState(ctx.krc, d)
	if err != nil {
		return err
	}
	return ctx.krc.backend.ForEachKey(d.Name(), func(k K) error { return fn(k, s) })
}

// ApplyToListState is ApplyToValueState for a list state.
func ApplyToListState[K comparable, V any](ctx *KeyedBroadcastContext[K], d state.ListDescriptor[V], fn func(key K, s state.ListState[V]) error) error {
	s, err := GetListState(ctx.krc, d)
	if err != nil {
		return err
	}
	return ctx.krc.backend.ForEachKey(d.Name(), func(k K) error { return fn(k, s) })
}

// ApplyToMapState is ApplyToValueState for a map state.
func ApplyToMapState[K, UK comparable, UV any](ctx *KeyedBroadcastContext[K], d state.MapDescriptor[UK, UV], fn func(key K, s state.MapState[UK, UV]) error) error {
	s, err := GetMapState(ctx.krc, d)
	if err != nil {
		return err
	}
	return ctx.krc.backend.ForEachKey(d.Name(), func(k K) error { return fn(k, s) })
}

// ApplyToReducingState is ApplyToValueState for a reducing state.
func ApplyToReducingState[K comparable, V any](ctx *KeyedBroadcastContext[K], d state.ReducingDescriptor[V], fn func(key K, s state.ReducingState[V]) error) error {
	s, err := GetReducingState(ctx.krc, d)
	if err != nil {
		return err
	}
	return ctx.krc.backend.ForEachKey(d.Name(), func(k K) error { return fn(k, s) })
}

// ApplyToAggregatingState is ApplyToValueState for an aggregating state.
func ApplyToAggregatingState[K comparable, IN, ACC, OUT any](ctx *KeyedBroadcastContext[K], d state.AggregatingDescriptor[IN, ACC, OUT], fn func(key K, s state.AggregatingState[IN, OUT]) error) error {
	s, err := GetAggregatingState(ctx.krc, d)
	if err != nil {
		return err
	}
	return ctx.krc.backend.ForEachKey(d.Name(), func(k K) error { return fn(k, s) })
}
