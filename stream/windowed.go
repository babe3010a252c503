package stream

import (
	"context"
	"errors"
	"fmt"
	"math"
	"time"

	"github.com/runnel-io/runnel/runtime/operator"
	"github.com/runnel-io/runnel/state"
	"github.com/runnel-io/runnel/stream/window"
)

// WindowedStream is a keyed stream cut into windows by an assigner, to be
// evaluated by a window function (WindowReduce, WindowAggregate,
// WindowProcess and their combinations). Its semantics are Flink's
// WindowOperator: see the package doc of stream/window for assigners,
// triggers and evictors.
type WindowedStream[K comparable, T any, W window.Window] struct {
	ks       KeyedStream[K, T]
	assigner window.Assigner[T, W]
	trigger  window.Trigger[T, W]
	evictor  window.Evictor[T, W]
	lateness time.Duration
	lateTag  string
}

// Window cuts a keyed stream into the windows of assigner.
func Window[K comparable, T any, W window.Window](ks KeyedStream[K, T], assigner window.Assigner[T, W]) WindowedStream[K, T, W] {
	ws := WindowedStream[K, T, W]{ks: ks, assigner: assigner}
	if assigner == nil {
		ks.env.errorf("stream: Window: nil assigner")
		return ws
	}
	if err := window.Validate(assigner); err != nil {
		ks.env.errorf("stream: Window: %w", err)
	}
	ws.trigger = assigner.DefaultTrigger()
	return ws
}

// CountWindow cuts a keyed stream into windows of size records per key,
// evaluated when full (Flink's countWindow(size)).
func CountWindow[K comparable, T any](ks KeyedStream[K, T], size int64) WindowedStream[K, T, window.GlobalWindow] {
	return Window(ks, window.GlobalWindows[T]()).
		Trigger(window.PurgingTrigger(window.CountTrigger[T, window.GlobalWindow](size)))
}

// CountWindowSliding evaluates the last size records of a key every slide
// records (Flink's countWindow(size, slide)).
func CountWindowSliding[K comparable, T any](ks KeyedStream[K, T], size, slide int64) WindowedStream[K, T, window.GlobalWindow] {
	return Window(ks, window.GlobalWindows[T]()).
		Evictor(window.CountEvictor[T, window.GlobalWindow](int(size), false)).
		Trigger(window.CountTrigger[T, window.GlobalWindow](slide))
}

// Trigger replaces the assigner's default trigger.
func (ws WindowedStream[K, T, W]) Trigger(t window.Trigger[T, W]) WindowedStream[K, T, W] {
	if err := window.Validate(t); err != nil || t == nil {
		ws.ks.env.errorf("stream: Trigger: %v", errors.Join(err, nilErr(t == nil, "trigger")))
	}
	ws.trigger = t
	return ws
}

// Evictor removes records from a window before or after its function sees
// them; a window with an evictor keeps every record until it is evaluated.
func (ws WindowedStream[K, T, W]) Evictor(e window.Evictor[T, W]) WindowedStream[K, T, W] {
	if err := window.Validate(e); err != nil || e == nil {
		ws.ks.env.errorf("stream: Evictor: %v", errors.Join(err, nilErr(e == nil, "evictor")))
	}
	ws.evictor = e
	return ws
}

// AllowedLateness keeps event-time windows (and their state) for d after
// the watermark passed their end: records arriving meanwhile are added and
// fire the window again (late firings). Later records are dropped, or go
// to the side output of SideOutputLateData.
func (ws WindowedStream[K, T, W]) AllowedLateness(d time.Duration) WindowedStream[K, T, W] {
	if d < 0 || d%time.Millisecond != 0 {
		ws.ks.env.errorf("stream: AllowedLateness(%v): want a non-negative whole number of milliseconds", d)
	}
	ws.lateness = d
	return ws
}

// SideOutputLateData sends the records that arrive too late for every window
// they belong to to the side output tag (get it with SideOutput).
func (ws WindowedStream[K, T, W]) SideOutputLateData(tag OutputTag[T]) WindowedStream[K, T, W] {
	ws.lateTag = tag.id
	return ws
}

func nilErr(isNil bool, what string) error {
	if isNil {
		return fmt.Errorf("nil %s", what)
	}
	return nil
}

// WindowContext is passed to a ProcessWindowFunction. It is reused: a
// function must not keep it beyond the call.
type WindowContext[K comparable, W window.Window] struct {
	*Context
	op interface {
		currentKey() K
		processingTime() int64
	}
	window W
}

// Window returns the window being evaluated.
func (c *WindowContext[K, W]) Window() W { return c.window }

// CurrentKey returns the key of the window.
func (c *WindowContext[K, W]) CurrentKey() K { return c.op.currentKey() }

// CurrentProcessingTime returns the operator's processing time.
func (c *WindowContext[K, W]) CurrentProcessingTime() int64 { return c.op.processingTime() }

// ProcessWindowFunction evaluates a window with all its contents (or, after
// WindowReduceProcess or WindowAggregateProcess, with the one pre-aggregated
// value). It may also implement Opener, Closer.
type ProcessWindowFunction[K comparable, In, Out any, W window.Window] interface {
	Process(ctx *WindowContext[K, W], elements []In, out Collector[Out]) error
}

// ProcessWindowFunc adapts a function to ProcessWindowFunction.
type ProcessWindowFunc[K comparable, In, Out any, W window.Window] func(ctx *WindowContext[K, W], elements []In, out Collector[Out]) error

// Process implements ProcessWindowFunction.
func (f ProcessWindowFunc[K, In, Out, W]) Process(ctx *WindowContext[K, W], elements []In, out Collector[Out]) error {
	return f(ctx, elements, out)
}

// WindowReduce reduces each window incrementally with fn and emits the
// result when the window fires, with the window's last timestamp.
func WindowReduce[K comparable, T any, W window.Window](ws WindowedStream[K, T, W], fn func(a, b T) (T, error)) DataStream[T] {
	return windowOp[K, T, T, T, W](ws, "WindowReduce", reducingContents[K, T, W](fn), nil)
}

// WindowReduceProcess reduces each window incrementally and passes the
// result to pwf with the window's metadata.
func WindowReduceProcess[K comparable, T, Out any, W window.Window](ws WindowedStream[K, T, W], fn func(a, b T) (T, error), pwf ProcessWindowFunction[K, T, Out, W]) DataStream[Out] {
	return windowOp[K, T, T, Out, W](ws, "WindowReduce", reducingContents[K, T, W](fn), pwf)
}

// WindowAggregate aggregates each window incrementally with agg and emits
// its result when the window fires.
func WindowAggregate[K comparable, T, ACC, V any, W window.Window](ws WindowedStream[K, T, W], agg state.AggregateFunction[T, ACC, V]) DataStream[V] {
	return windowOp[K, T, V, V, W](ws, "WindowAggregate", aggregatingContents[K, T, ACC, V, W](agg), nil)
}

// WindowAggregateProcess aggregates each window incrementally and passes the
// result to pwf with the window's metadata.
func WindowAggregateProcess[K comparable, T, ACC, V, Out any, W window.Window](ws WindowedStream[K, T, W], agg state.AggregateFunction[T, ACC, V], pwf ProcessWindowFunction[K, V, Out, W]) DataStream[Out] {
	return windowOp[K, T, V, Out, W](ws, "WindowAggregate", aggregatingContents[K, T, ACC, V, W](agg), pwf)
}

// WindowProcess keeps every record of each window and passes them all to
// pwf when the window fires.
func WindowProcess[K comparable, T, Out any, W window.Window](ws WindowedStream[K, T, W], pwf ProcessWindowFunction[K, T, Out, W]) DataStream[Out] {
	return windowOp[K, T, T, Out, W](ws, "WindowProcess", listContents[K, T, W](), pwf)
}

// contents holds the records of the windows of one key: a list, or an
// incremental reduction or aggregation. V is what a window yields when it
// fires.
type contents[T, V any, W window.Window] interface {
	setNamespace(w W)
	add(v T, ts int64) error
	// get returns the window's values and false if it is empty.
	get() ([]V, bool, error)
	clear() error
	merge(target W, sources []W) error
}

// newContents registers the window contents state of an operator.
type newContents[K comparable, T, V any, W window.Window] func(b *state.KeyedBackend[K], evicting bool) (contents[T, V, W], error)

const windowStateName = "window-contents"

func reducingContents[K comparable, T any, W window.Window](fn func(a, b T) (T, error)) newContents[K, T, T, W] {
	return func(b *state.KeyedBackend[K], evicting bool) (contents[T, T, W], error) {
		if evicting {
			return evictingContents[K, T, T, W](b, func(vals []T) ([]T, error) {
				acc := vals[0]
				for _, v := range vals[1:] {
					var err error
					if acc, err = fn(acc, v); err != nil {
						return nil, err
					}
				}
				return []T{acc}, nil
			})
		}
		s, err := state.GetReducingState[W](b, state.Reducing(windowStateName, state.ReduceFunc[T](fn)))
		if err != nil {
			return nil, err
		}
		return singleContents[T, T, W]{s}, nil
	}
}

func aggregatingContents[K comparable, T, ACC, V any, W window.Window](agg state.AggregateFunction[T, ACC, V]) newContents[K, T, V, W] {
	return func(b *state.KeyedBackend[K], evicting bool) (contents[T, V, W], error) {
		if evicting {
			return evictingContents[K, T, V, W](b, func(vals []T) ([]V, error) {
				acc := agg.CreateAccumulator()
				for _, v := range vals {
					acc = agg.Add(v, acc)
				}
				return []V{agg.Result(acc)}, nil
			})
		}
		s, err := state.GetAggregatingState[W](b, state.Aggregating(windowStateName, agg))
		if err != nil {
			return nil, err
		}
		return singleContents[T, V, W]{s}, nil
	}
}

func listContents[K comparable, T any, W window.Window]() newContents[K, T, T, W] {
	return func(b *state.KeyedBackend[K], evicting bool) (contents[T, T, W], error) {
		return evictingContents[K, T, T, W](b, func(vals []T) ([]T, error) { return vals, nil })
	}
}

// singleContents is a reducing or aggregating state: one value per window.
type singleContents[T, V any, W window.Window] struct {
	s interface {
		state.Namespaced[W]
		state.Merging[W]
		Add(T) error
		Get() (V, bool, error)
		Clear() error
	}
}

func (c singleContents[T, V, W]) setNamespace(w W)         { c.s.SetNamespace(w) }
func (c singleContents[T, V, W]) add(v T, _ int64) error   { return c.s.Add(v) }
func (c singleContents[T, V, W]) clear() error             { return c.s.Clear() }
func (c singleContents[T, V, W]) merge(t W, src []W) error { return c.s.MergeNamespaces(t, src) }

func (c singleContents[T, V, W]) get() ([]V, bool, error) {
	v, ok, err := c.s.Get()
	if !ok || err != nil {
		return nil, false, err
	}
	return []V{v}, true, nil
}

// listContents keeps every record with its timestamp, for WindowProcess
// and for any window with an evictor; reduce turns the kept records into
// what the window yields.
type listContentsState[T, V any, W window.Window] struct {
	s      state.NamespacedListState[W, window.TimestampedValue[T]]
	reduce func([]T) ([]V, error)
	// set by the operator when it has an evictor
	evictor window.Evictor[T, W]
	ectx    window.EvictorContext
	w       W
	vals    []T
	kept    []window.TimestampedValue[T]
}

func evictingContents[K comparable, T, V any, W window.Window](b *state.KeyedBackend[K], reduce func([]T) ([]V, error)) (contents[T, V, W], error) {
	s, err := state.GetListState[W](b, state.List[window.TimestampedValue[T]](windowStateName))
	if err != nil {
		return nil, err
	}
	return &listContentsState[T, V, W]{s: s, reduce: reduce}, nil
}

func (c *listContentsState[T, V, W]) setNamespace(w W) { c.w = w; c.s.SetNamespace(w) }

func (c *listContentsState[T, V, W]) add(v T, ts int64) error {
	return c.s.Add(window.TimestampedValue[T]{Value: v, Timestamp: ts})
}

func (c *listContentsState[T, V, W]) clear() error             { return c.s.Clear() }
func (c *listContentsState[T, V, W]) merge(t W, src []W) error { return c.s.MergeNamespaces(t, src) }

// get evicts (before), reduces, evicts (after) and writes back what the
// evictor kept, as Flink's EvictingWindowOperator.
func (c *listContentsState[T, V, W]) get() ([]V, bool, error) {
	all, err := c.s.Get()
	if err != nil || len(all) == 0 {
		return nil, false, err
	}
	c.kept = append(c.kept[:0], all...)
	if c.evictor != nil {
		c.kept = c.evictor.EvictBefore(c.kept, c.w, c.ectx)
	}
	c.vals = c.vals[:0]
	for _, tv := range c.kept {
		c.vals = append(c.vals, tv.Value)
	}
	var out []V
	if len(c.vals) > 0 {
		if out, err = c.reduce(c.vals); err != nil {
			return nil, false, err
		}
	}
	if c.evictor != nil {
		c.kept = c.evictor.EvictAfter(c.kept, c.w, c.ectx)
		if err := c.s.Update(c.kept); err != nil {
			return nil, false, err
		}
	}
	return out, len(out) > 0, nil
}

// windowOp adds a window operator: contents made by mk, and the windows'
// values passed to pwf (or emitted as they are if pwf is nil, V = Out).
func windowOp[K comparable, T, V, Out any, W window.Window](ws WindowedStream[K, T, W], kind string, mk newContents[K, T, V, W], pwf ProcessWindowFunction[K, V, Out, W]) DataStream[Out] {
	env := ws.ks.env
	if ma, ok := ws.assigner.(window.MergingAssigner[T, W]); ok && ws.trigger != nil && !ws.trigger.CanMerge() {
		env.errorf("stream: %s: %w: the merging assigner %v needs a trigger that can merge, not %v", kind, window.ErrInvalidConfig, ma, ws.trigger)
	}
	f := oneInput[T, Out](func(c *operator.Context, out operator.Output[Out]) (interface {
		operator.Operator
		operator.Output[T]
	}, error) {
		o := &windowOperator[K, T, V, Out, W]{
			base: base{c: c, fn: pwf}, ws: ws, pwf: pwf, col: collector[Out]{out: out},
		}
		if pwf == nil {
			// Without a process function V is Out: assert the identity
			// once here rather than box every value.
			o.same = any(func(v V) V { return v }).(func(V) Out)
		}
		_, o.merging = ws.assigner.(window.MergingAssigner[T, W])
		o.eventTime = ws.assigner.IsEventTime()
		var err error
		if o.core, err = newKeyedCore[K, W](c, ws.ks.keyCodec, o.onTimer); err != nil {
			return nil, err
		}
		o.ctx = o.core.context()
		o.wctx = WindowContext[K, W]{Context: &o.ctx.Context, op: o}
		o.tctx = triggerContext[K, T, V, Out, W]{o: o}
		if o.contents, err = mk(o.core.backend, ws.evictor != nil); err != nil {
			return nil, err
		}
		if lc, ok := o.contents.(*listContentsState[T, V, W]); ok && ws.evictor != nil {
			lc.evictor, lc.ectx = ws.evictor, o
		}
		if o.merging {
			if o.sessions, err = state.GetMapState[state.VoidNamespace](o.core.backend, state.Map[W, W]("merging-window-set")); err != nil {
				return nil, err
			}
		}
		if ws.lateTag != "" {
			o.late, _ = c.SideOutputs[ws.lateTag].(operator.Output[T])
		}
		return o, nil
	})
	return streamOf[Out](env, newNode[Out](env, kind, kind, f, ws.ks.ports))
}

// windowOperator is Flink's WindowOperator (with the evicting variant's
// behaviour when an evictor is set).
type windowOperator[K comparable, T, V, Out any, W window.Window] struct {
	base
	ws        WindowedStream[K, T, W]
	pwf       ProcessWindowFunction[K, V, Out, W]
	col       collector[Out]
	core      *keyedCore[K, W]
	ctx       KeyedContext[K]
	wctx      WindowContext[K, W]
	tctx      triggerContext[K, T, V, Out, W]
	contents  contents[T, V, W]
	merging   bool
	eventTime bool
	sessions  state.NamespacedMapState[state.VoidNamespace, W, W]
	// mws and mwsScratch are reused for every record of a merging assigner.
	mws        *window.MergingWindowSet[W]
	mwsScratch map[W]W
	late       operator.Output[T]
	assigned   []W
	same       func(V) Out // the identity, when there is no process function
}

func (o *windowOperator[K, T, V, Out, W]) currentKey() K         { return o.core.backend.CurrentKey() }
func (o *windowOperator[K, T, V, Out, W]) processingTime() int64 { return o.c.ProcessingTime.Now() }

// CurrentProcessingTime implements window.AssignerContext and
// window.EvictorContext.
func (o *windowOperator[K, T, V, Out, W]) CurrentProcessingTime() int64 { return o.processingTime() }

// CurrentWatermark implements window.EvictorContext.
func (o *windowOperator[K, T, V, Out, W]) CurrentWatermark() int64 { return o.core.watermark }

// cleanupTime is when a window's state is dropped: its end plus the allowed
// lateness in event time, its end in processing time.
func (o *windowOperator[K, T, V, Out, W]) cleanupTime(w W) int64 {
	t := w.MaxTimestamp()
	if !o.eventTime {
		return t
	}
	l := o.ws.lateness.Milliseconds()
	if t > math.MaxInt64-l {
		return math.MaxInt64
	}
	return t + l
}

func (o *windowOperator[K, T, V, Out, W]) windowLate(w W) bool {
	return o.eventTime && o.cleanupTime(w) <= o.core.watermark
}

func (o *windowOperator[K, T, V, Out, W]) Collect(v T, ts int64) (err error) {
	defer operator.Guard(o.c, &err)
	o.assigned, err = o.ws.assigner.AssignWindows(o.assigned[:0], v, ts, o)
	if err != nil {
		return o.c.Fail(err)
	}
	o.core.backend.SetCurrentKey(o.ws.ks.key(v))
	skipped := true
	var mws *window.MergingWindowSet[W]
	if o.merging {
		if mws, err = o.loadSessions(); err != nil {
			return o.c.Fail(err)
		}
	}
	for _, w := range o.assigned {
		stateWindow := w
		if mws != nil {
			if w, err = mws.AddWindow(w, o.mergeWindows); err != nil {
				return o.c.Fail(err)
			}
			if o.windowLate(w) {
				if err := mws.RetireWindow(w); err != nil {
					return o.c.Fail(err)
				}
				continue
			}
			var ok bool
			if stateWindow, ok = mws.StateWindow(w); !ok {
				return o.c.Fail(fmt.Errorf("window: no state window for %v", w))
			}
		} else if o.windowLate(w) {
			continue
		}
		skipped = false
		o.contents.setNamespace(stateWindow)
		if err := o.contents.add(v, ts); err != nil {
			return o.c.Fail(err)
		}
		o.tctx.window = w
		res, err := o.ws.trigger.OnElement(v, ts, w, &o.tctx)
		if err != nil {
			return o.c.Fail(err)
		}
		if err := o.act(res, w); err != nil {
			return err
		}
		o.registerCleanup(w)
	}
	if mws != nil {
		if err := o.saveSessions(mws); err != nil {
			return o.c.Fail(err)
		}
	}
	if skipped && o.eventTime && ts != operator.NoTimestamp && ts+o.ws.lateness.Milliseconds() <= o.core.watermark {
		if o.late != nil {
			return o.late.Collect(v, ts)
		}
	}
	return nil
}

// mergeWindows is the merge callback of MergingWindowSet.AddWindow.
func (o *windowOperator[K, T, V, Out, W]) mergeWindows(result W, merged []W, stateResult W, mergedState []W) error {
	if o.eventTime && o.cleanupTime(result) <= o.core.watermark {
		return fmt.Errorf("window: merging made %v end before the watermark %d", result, o.core.watermark)
	}
	o.tctx.window, o.tctx.merged = result, merged
	err := o.ws.trigger.OnMerge(result, &o.tctx)
	o.tctx.merged = nil
	if err != nil {
		return err
	}
	for _, m := range merged {
		o.tctx.window = m
		if err := o.ws.trigger.Clear(m, &o.tctx); err != nil {
			return err
		}
		o.deleteCleanup(m)
	}
	return o.contents.merge(stateResult, mergedState)
}

// act fires and/or purges window w as the trigger said; the contents'
// namespace is w's state window.
func (o *windowOperator[K, T, V, Out, W]) act(res window.Result, w W) error {
	if res.IsFire() {
		vals, ok, err := o.contents.get()
		if err != nil {
			return o.c.Fail(err)
		}
		if ok {
			if err := o.emit(w, vals); err != nil {
				return err
			}
		}
	}
	if res.IsPurge() {
		if err := o.contents.clear(); err != nil {
			return o.c.Fail(err)
		}
	}
	return nil
}

// emit evaluates window w: its values go to the process function, or out
// as they are, with the window's last timestamp.
func (o *windowOperator[K, T, V, Out, W]) emit(w W, vals []V) error {
	ts := w.MaxTimestamp()
	o.col.ts, o.ctx.ts = ts, ts
	if o.pwf == nil {
		for _, v := range vals {
			o.col.Collect(o.same(v))
		}
		return o.col.result(o.c, nil)
	}
	o.wctx.window = w
	return o.ctx.result(o.c, &o.col, o.pwf.Process(&o.wctx, vals, &o.col))
}

func (o *windowOperator[K, T, V, Out, W]) registerCleanup(w W) {
	t := o.cleanupTime(w)
	if t == math.MaxInt64 {
		return // the global window is never cleaned up
	}
	if o.eventTime {
		o.core.registerEvent(t, w)
	} else {
		o.core.registerProc(t, w)
	}
}

func (o *windowOperator[K, T, V, Out, W]) deleteCleanup(w W) {
	t := o.cleanupTime(w)
	if t == math.MaxInt64 {
		return
	}
	if o.eventTime {
		o.core.deleteEvent(t, w)
	} else {
		o.core.deleteProc(t, w)
	}
}

func (o *windowOperator[K, T, V, Out, W]) onTimer(t state.Timer[K, W], domain TimeDomain) error {
	w := t.Namespace
	o.tctx.window = w
	var mws *window.MergingWindowSet[W]
	stateWindow := w
	if o.merging {
		var err error
		if mws, err = o.loadSessions(); err != nil {
			return o.c.Fail(err)
		}
		var ok bool
		if stateWindow, ok = mws.StateWindow(w); !ok {
			return nil // the window merged away or was cleaned up
		}
	}
	o.contents.setNamespace(stateWindow)
	var res window.Result
	var err error
	if domain == EventTime {
		res, err = o.ws.trigger.OnEventTime(t.Time, w, &o.tctx)
	} else {
		res, err = o.ws.trigger.OnProcessingTime(t.Time, w, &o.tctx)
	}
	if err != nil {
		return o.c.Fail(err)
	}
	if err := o.act(res, w); err != nil {
		return err
	}
	if (domain == EventTime) == o.eventTime && t.Time == o.cleanupTime(w) {
		if err := o.contents.clear(); err != nil {
			return o.c.Fail(err)
		}
		if err := o.ws.trigger.Clear(w, &o.tctx); err != nil {
			return o.c.Fail(err)
		}
		if mws != nil {
			if err := mws.RetireWindow(w); err != nil {
				return o.c.Fail(err)
			}
		}
	}
	if mws != nil {
		return o.c.Fail(o.saveSessions(mws))
	}
	return nil
}

// loadSessions reads the current key's merging-window set from keyed
// state into the operator's reused set.
func (o *windowOperator[K, T, V, Out, W]) loadSessions() (*window.MergingWindowSet[W], error) {
	if o.mws == nil {
		o.mws = window.NewMergingWindowSet(o.ws.assigner.(window.MergingAssigner[T, W]).MergeWindows)
		o.mwsScratch = map[W]W{}
	}
	clear(o.mwsScratch)
	for k, v := range o.sessions.All() {
		o.mwsScratch[k] = v
	}
	o.mws.Restore(o.mwsScratch)
	return o.mws, nil
}

// saveSessions writes the set back if it changed.
func (o *windowOperator[K, T, V, Out, W]) saveSessions(mws *window.MergingWindowSet[W]) error {
	if !mws.Modified() {
		return nil
	}
	if err := o.sessions.Clear(); err != nil {
		return err
	}
	for w, sw := range mws.Windows() {
		if err := o.sessions.Put(w, sw); err != nil {
			return err
		}
	}
	return nil
}

func (o *windowOperator[K, T, V, Out, W]) EmitWatermark(wm int64) (err error) {
	defer operator.Guard(o.c, &err)
	o.ctx.watermark = wm
	if err := o.core.advanceWatermark(wm); err != nil {
		return err
	}
	return o.col.out.EmitWatermark(wm)
}

func (o *windowOperator[K, T, V, Out, W]) EmitWatermarkStatus(idle bool) error {
	return o.col.out.EmitWatermarkStatus(idle)
}

func (o *windowOperator[K, T, V, Out, W]) Open(ctx context.Context) error { return o.base.Open(ctx) }

func (o *windowOperator[K, T, V, Out, W]) Close() error {
	o.core.stop()
	return o.base.Close()
}

// NumStateEntries is the number of keyed state entries of the operator's
// subtask, window contents, trigger state and session bookkeeping
// together: tests assert that it stays bounded.
func (o *windowOperator[K, T, V, Out, W]) NumStateEntries() int { return o.core.backend.NumEntries() }

// triggerContext is the window.TriggerContext and window.OnMergeContext of
// the operator, for the current key and window.
type triggerContext[K comparable, T, V, Out any, W window.Window] struct {
	o      *windowOperator[K, T, V, Out, W]
	window W
	merged []W
	states map[string]state.NamespacedReducingState[W, int64]
}

func (c *triggerContext[K, T, V, Out, W]) CurrentWatermark() int64 { return c.o.core.watermark }
func (c *triggerContext[K, T, V, Out, W]) CurrentProcessingTime() int64 {
	return c.o.processingTime()
}
func (c *triggerContext[K, T, V, Out, W]) RegisterEventTimeTimer(t int64) {
	c.o.core.registerEvent(t, c.window)
}
func (c *triggerContext[K, T, V, Out, W]) DeleteEventTimeTimer(t int64) {
	c.o.core.deleteEvent(t, c.window)
}
func (c *triggerContext[K, T, V, Out, W]) RegisterProcessingTimeTimer(t int64) {
	c.o.core.registerProc(t, c.window)
}
func (c *triggerContext[K, T, V, Out, W]) DeleteProcessingTimeTimer(t int64) {
	c.o.core.deleteProc(t, c.window)
}

func (c *triggerContext[K, T, V, Out, W]) reducing(name string, reduce state.ReduceFunc[int64]) (state.NamespacedReducingState[W, int64], error) {
	s, ok := c.states[name]
	if !ok {
		var err error
		if s, err = state.GetReducingState[W](c.o.core.backend, state.Reducing("trigger-"+name, reduce)); err != nil {
			return nil, err
		}
		if c.states == nil {
			c.states = map[string]state.NamespacedReducingState[W, int64]{}
		}
		c.states[name] = s
	}
	return s, nil
}

func (c *triggerContext[K, T, V, Out, W]) Int64State(name string, reduce state.ReduceFunc[int64]) (state.ReducingState[int64], error) {
	s, err := c.reducing(name, reduce)
	if err != nil {
		return nil, err
	}
	s.SetNamespace(c.window)
	return s, nil
}

func (c *triggerContext[K, T, V, Out, W]) MergeInt64State(name string, reduce state.ReduceFunc[int64]) error {
	s, err := c.reducing(name, reduce)
	if err != nil {
		return err
	}
	return s.MergeNamespaces(c.window, c.merged)
}
