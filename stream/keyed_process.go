package stream

import (
	"context"

	"github.com/runnel-io/runnel/codec"
	"github.com/runnel-io/runnel/runtime/operator"
	"github.com/runnel-io/runnel/state"
	"github.com/runnel-io/runnel/state/keygroup"
)

// TimeDomain says which clock fired a timer.
type TimeDomain int

const (
	// EventTime timers fire when the watermark passes them.
	EventTime TimeDomain = iota
	// ProcessingTime timers fire when the task's clock passes them.
	ProcessingTime
)

func (d TimeDomain) String() string {
	if d == ProcessingTime {
		return "PROCESSING_TIME"
	}
	return "EVENT_TIME"
}

// TimerService registers timers for the current key. Registering a timer
// that is already registered for the key and time does nothing; times are
// milliseconds.
type TimerService interface {
	CurrentProcessingTime() int64
	CurrentWatermark() int64
	RegisterEventTimeTimer(t int64)
	RegisterProcessingTimeTimer(t int64)
	DeleteEventTimeTimer(t int64)
	DeleteProcessingTimeTimer(t int64)
}

// KeyedRuntimeContext describes the subtask of a keyed function and gives
// access to its keyed state (GetValueState and the other getters).
type KeyedRuntimeContext[K comparable] struct {
	*RuntimeContext
	backend *state.KeyedBackend[K]
}

// GetValueState returns the value state d of the current key. Get state in
// Open and keep it: a getter called again for the same descriptor returns
// the same state.
func GetValueState[K comparable, V any](rc *KeyedRuntimeContext[K], d state.ValueDescriptor[V]) (state.ValueState[V], error) {
	return state.GetValueState[state.VoidNamespace](rc.backend, d)
}

// GetListState returns the list state d of the current key.
func GetListState[K comparable, V any](rc *KeyedRuntimeContext[K], d state.ListDescriptor[V]) (state.ListState[V], error) {
	return state.GetListState[state.VoidNamespace](rc.backend, d)
}

// GetMapState returns the map state d of the current key.
func GetMapState[K, UK comparable, UV any](rc *KeyedRuntimeContext[K], d state.MapDescriptor[UK, UV]) (state.MapState[UK, UV], error) {
	return state.GetMapState[state.VoidNamespace](rc.backend, d)
}

// GetReducingState returns the reducing state d of the current key.
func GetReducingState[K comparable, V any](rc *KeyedRuntimeContext[K], d state.ReducingDescriptor[V]) (state.ReducingState[V], error) {
	return state.GetReducingState[state.VoidNamespace](rc.backend, d)
}

// GetAggregatingState returns the aggregating state d of the current key.
func GetAggregatingState[K comparable, IN, ACC, OUT any](rc *KeyedRuntimeContext[K], d state.AggregatingDescriptor[IN, ACC, OUT]) (state.AggregatingState[IN, OUT], error) {
	return state.GetAggregatingState[state.VoidNamespace](rc.backend, d)
}

// NumStateEntries is the number of entries of the subtask's keyed state,
// over all states and keys: a measure for tests that state stays bounded.
func (rc *KeyedRuntimeContext[K]) NumStateEntries() int { return rc.backend.NumEntries() }

// KeyedOpener is implemented by keyed functions that get state or set up
// per subtask: Open is called once before the first record.
type KeyedOpener[K comparable] interface {
	Open(ctx context.Context, rc *KeyedRuntimeContext[K]) error
}

// KeyedContext is passed to a keyed function with each record and timer.
// It is reused: a function must not keep it beyond the call.
type KeyedContext[K comparable] struct {
	Context
	krc    *KeyedRuntimeContext[K]
	timers TimerService
}

// CurrentKey returns the key of the record or timer being processed.
func (c *KeyedContext[K]) CurrentKey() K { return c.krc.backend.CurrentKey() }

// TimerService registers timers for the current key.
func (c *KeyedContext[K]) TimerService() TimerService { return c.timers }

// KeyedRuntime describes the subtask and gives access to keyed state.
func (c *KeyedContext[K]) KeyedRuntime() *KeyedRuntimeContext[K] { return c.krc }

// TimerContext is passed to OnTimer.
type TimerContext[K comparable] struct {
	*KeyedContext[K]
	domain TimeDomain
}

// TimeDomain says whether an event-time or a processing-time timer fired.
func (c *TimerContext[K]) TimeDomain() TimeDomain { return c.domain }

// KeyedProcessFunction processes the records of a keyed stream with keyed
// state and timers: Flink's KeyedProcessFunction. It may also implement
// KeyedTimerFunction (to be called back by its timers), KeyedOpener or
// Opener, Closer and Finisher[Out].
type KeyedProcessFunction[K comparable, In, Out any] interface {
	ProcessElement(ctx *KeyedContext[K], v In, out Collector[Out]) error
}

// KeyedTimerFunction is called when a timer of a keyed function fires, with
// the timer's key current and the timer's time; records it emits carry that
// time as their timestamp for event-time timers.
type KeyedTimerFunction[K comparable, Out any] interface {
	OnTimer(ctx *TimerContext[K], t int64, out Collector[Out]) error
}

// KeyedProcessFunc adapts a function to KeyedProcessFunction.
type KeyedProcessFunc[K comparable, In, Out any] func(ctx *KeyedContext[K], v In, out Collector[Out]) error

// ProcessElement implements KeyedProcessFunction.
func (f KeyedProcessFunc[K, In, Out]) ProcessElement(ctx *KeyedContext[K], v In, out Collector[Out]) error {
	return f(ctx, v, out)
}

// KeyedProcess processes a keyed stream with fn. Every subtask calls the
// same fn; keep per-key data in keyed state, or use KeyedProcessEach for a
// function of its own per subtask.
func KeyedProcess[K comparable, In, Out any](ks KeyedStream[K, In], fn KeyedProcessFunction[K, In, Out]) DataStream[Out] {
	return KeyedProcessEach(ks, func() KeyedProcessFunction[K, In, Out] { return fn })
}

// KeyedProcessEach is KeyedProcess with a function of its own for every
// subtask, made by newFn when the subtask starts.
func KeyedProcessEach[K comparable, In, Out any](ks KeyedStream[K, In], newFn func() KeyedProcessFunction[K, In, Out]) DataStream[Out] {
	f := oneInput[In, Out](func(c *operator.Context, out operator.Output[Out]) (interface {
		operator.Operator
		operator.Output[In]
	}, error) {
		fn := newFn()
		o := &keyedProcessOp[K, In, Out]{base: base{c: c, fn: fn}, fn: fn, key: ks.key, col: collector[Out]{out: out}}
		var err error
		if o.core, err = newKeyedCore[K, state.VoidNamespace](c, ks.keyCodec, o.onTimer); err != nil {
			return nil, err
		}
		o.ctx = o.core.context()
		o.timerCtx = TimerContext[K]{KeyedContext: &o.ctx}
		return o, nil
	})
	return streamOf[Out](ks.env, newNode[Out](ks.env, "KeyedProcess", "KeyedProcess", f, ks.ports))
}

type keyedProcessOp[K comparable, In, Out any] struct {
	base
	fn       KeyedProcessFunction[K, In, Out]
	key      func(In) K
	col      collector[Out]
	core     *keyedCore[K, state.VoidNamespace]
	ctx      KeyedContext[K]
	timerCtx TimerContext[K]
}

func (o *keyedProcessOp[K, In, Out]) Open(ctx context.Context) error {
	return openKeyed(ctx, &o.base, o.ctx.krc)
}

// openKeyed opens the user function of a keyed operator: its KeyedOpener,
// or else its Opener.
func openKeyed[K comparable](ctx context.Context, b *base, krc *KeyedRuntimeContext[K]) (err error) {
	defer operator.Guard(b.c, &err)
	if op, ok := b.fn.(KeyedOpener[K]); ok {
		return b.c.Fail(op.Open(ctx, krc))
	}
	return b.Open(ctx)
}

func (o *keyedProcessOp[K, In, Out]) Collect(v In, ts int64) (err error) {
	defer operator.Guard(o.c, &err)
	o.core.backend.SetCurrentKey(o.key(v))
	o.ctx.ts, o.col.ts = ts, ts
	return o.ctx.result(o.c, &o.col, o.fn.ProcessElement(&o.ctx, v, &o.col))
}

func (o *keyedProcessOp[K, In, Out]) onTimer(t state.Timer[K, state.VoidNamespace], domain TimeDomain) error {
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

func (o *keyedProcessOp[K, In, Out]) EmitWatermark(wm int64) (err error) {
	defer operator.Guard(o.c, &err)
	o.ctx.watermark = wm
	if err := o.core.advanceWatermark(wm); err != nil {
		return err
	}
	return o.col.out.EmitWatermark(wm)
}

func (o *keyedProcessOp[K, In, Out]) EmitWatermarkStatus(idle bool) error {
	return o.col.out.EmitWatermarkStatus(idle)
}

func (o *keyedProcessOp[K, In, Out]) Finish() error { return finish(o.c, o.fn, &o.col, &o.ctx.Context) }

func (o *keyedProcessOp[K, In, Out]) Close() error {
	o.core.stop()
	return o.base.Close()
}

// keyedCore is what keyed operators share: the keyed state backend of the
// subtask's key groups and the event- and processing-time timer queues,
// whose timers carry a namespace N (VoidNamespace for process functions,
// the window for window operators).
type keyedCore[K, N comparable] struct {
	c          *operator.Context
	backend    *state.KeyedBackend[K]
	event      *state.TimerQueue[K, N]
	proc       *state.TimerQueue[K, N]
	watermark  int64
	procCancel operator.Cancel
	procAt     int64 // time of the armed processing-time callback
	onTimer    func(t state.Timer[K, N], d TimeDomain) error
}

// newKeyedCore creates the core of a keyed operator: its backend, restored
// from the subtask's keyed state if the job is restored, with the timer
// queues attached, and registered with the task for checkpoints.
func newKeyedCore[K, N comparable](c *operator.Context, keyCodec codec.Codec[K], onTimer func(state.Timer[K, N], TimeDomain) error) (*keyedCore[K, N], error) {
	r := keygroup.RangeFor(c.MaxParallelism, c.Parallelism, c.Subtask)
	k := &keyedCore[K, N]{
		c:         c,
		backend:   state.NewKeyedBackend(keyCodec, c.MaxParallelism, r, c.Clock),
		event:     state.NewTimerQueue[K, N](),
		proc:      state.NewTimerQueue[K, N](),
		watermark: operator.MinWatermark,
		onTimer:   onTimer,
	}
	if err := restoreKeyed(c, k.backend); err != nil {
		return nil, err
	}
	if err := state.RegisterTimers(k.backend, "_timers_event", k.event); err != nil {
		return nil, c.Fail(err)
	}
	if err := state.RegisterTimers(k.backend, "_timers_processing", k.proc); err != nil {
		return nil, c.Fail(err)
	}
	k.arm() // restored processing-time timers
	return k, nil
}

// restoreKeyed restores b from the subtask's keyed state, if any, and
// registers it with the task for checkpoints.
func restoreKeyed[K comparable](c *operator.Context, b *state.KeyedBackend[K]) error {
	if c.RestoredKeyedState != nil {
		if err := b.Restore(c.RestoredKeyedState); err != nil {
			return c.Fail(err)
		}
	}
	c.KeyedState = b
	return nil
}

// context returns the KeyedContext of an operator built on the core, with
// a timer service for the current key.
func (k *keyedCore[K, N]) context() KeyedContext[K] {
	return KeyedContext[K]{
		Context: newContext(k.c),
		krc:     &KeyedRuntimeContext[K]{RuntimeContext: runtimeContext(k.c), backend: k.backend},
		timers:  keyTimers[K, N]{k},
	}
}

// advanceWatermark fires the event-time timers at or before wm, in order.
func (k *keyedCore[K, N]) advanceWatermark(wm int64) error {
	k.watermark = wm
	for {
		t, ok := k.event.PopUntil(wm)
		if !ok {
			return nil
		}
		k.backend.SetCurrentKey(t.Key)
		if err := k.onTimer(t, EventTime); err != nil {
			return err
		}
	}
}

func (k *keyedCore[K, N]) registerEvent(t int64, ns N) {
	k.event.Register(state.Timer[K, N]{Time: t, Key: k.backend.CurrentKey(), Namespace: ns})
}

func (k *keyedCore[K, N]) deleteEvent(t int64, ns N) {
	k.event.Delete(state.Timer[K, N]{Time: t, Key: k.backend.CurrentKey(), Namespace: ns})
}

func (k *keyedCore[K, N]) registerProc(t int64, ns N) {
	if k.proc.Register(state.Timer[K, N]{Time: t, Key: k.backend.CurrentKey(), Namespace: ns}) {
		k.arm()
	}
}

func (k *keyedCore[K, N]) deleteProc(t int64, ns N) {
	k.proc.Delete(state.Timer[K, N]{Time: t, Key: k.backend.CurrentKey(), Namespace: ns})
}

// arm makes the processing-time service call back at the earliest
// processing-time timer.
func (k *keyedCore[K, N]) arm() {
	head, ok := k.proc.Peek()
	if !ok || (k.procCancel != nil && k.procAt <= head.Time) {
		return
	}
	if k.procCancel != nil {
		k.procCancel()
	}
	k.procAt = head.Time
	k.procCancel = k.c.ProcessingTime.Register(head.Time, k.fireProc)
}

func (k *keyedCore[K, N]) fireProc(now int64) (err error) {
	defer operator.Guard(k.c, &err)
	k.procCancel = nil
	for {
		t, ok := k.proc.PopUntil(now)
		if !ok {
			break
		}
		k.backend.SetCurrentKey(t.Key)
		if err := k.onTimer(t, ProcessingTime); err != nil {
			return err
		}
	}
	k.arm()
	return nil
}

func (k *keyedCore[K, N]) stop() {
	if k.procCancel != nil {
		k.procCancel()
		k.procCancel = nil
	}
}

// keyTimers is the TimerService of a keyed function: timers in the void
// namespace of the current key.
type keyTimers[K, N comparable] struct{ k *keyedCore[K, N] }

func (s keyTimers[K, N]) CurrentProcessingTime() int64 { return s.k.c.ProcessingTime.Now() }
func (s keyTimers[K, N]) CurrentWatermark() int64      { return s.k.watermark }

func (s keyTimers[K, N]) RegisterEventTimeTimer(t int64) {
	var ns N
	s.k.registerEvent(t, ns)
}

func (s keyTimers[K, N]) RegisterProcessingTimeTimer(t int64) {
	var ns N
	s.k.registerProc(t, ns)
}

func (s keyTimers[K, N]) DeleteEventTimeTimer(t int64) {
	var ns N
	s.k.deleteEvent(t, ns)
}

func (s keyTimers[K, N]) DeleteProcessingTimeTimer(t int64) {
	var ns N
	s.k.deleteProc(t, ns)
}
