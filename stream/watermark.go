package stream

import (
	"context"
	"fmt"
	"time"

	"github.com/runnel-io/runnel/runtime/operator"
)

// WatermarkGenerator makes watermarks from the timestamps of records, as
// Flink's WatermarkGenerator. Each subtask (and each source split) has an
// instance of its own, called from one goroutine.
type WatermarkGenerator interface {
	// OnEvent is called for every record, with its timestamp.
	OnEvent(ts int64, out WatermarkOutput)
	// OnPeriodicEmit is called every auto-watermark interval
	// (Environment.SetAutoWatermarkInterval).
	OnPeriodicEmit(out WatermarkOutput)
}

// WatermarkOutput takes the watermarks of a generator.
type WatermarkOutput interface {
	// EmitWatermark emits wm; a watermark not above the last one is
	// ignored. It also ends idleness.
	EmitWatermark(wm int64)
	// MarkIdle says that no records come for now: downstream operators stop
	// waiting for this stream's watermark until it emits again.
	MarkIdle()
	// MarkActive ends idleness without a watermark.
	MarkActive()
}

// WatermarkStrategy says how a stream gets timestamps and watermarks:
// Flink's WatermarkStrategy. The zero value assigns no watermarks.
type WatermarkStrategy[T any] struct {
	newGenerator func() WatermarkGenerator
	assigner     func(v T, recordTs int64) int64
	idleness     time.Duration
	err          error
}

// NoWatermarks is the strategy of a stream without event time (it may still
// assign timestamps with WithTimestampAssigner).
func NoWatermarks[T any]() WatermarkStrategy[T] { return WatermarkStrategy[T]{} }

// ForMonotonousTimestamps is for streams whose timestamps never decrease:
// the watermark is the largest timestamp seen minus 1 ms, emitted
// periodically.
func ForMonotonousTimestamps[T any]() WatermarkStrategy[T] {
	return ForBoundedOutOfOrderness[T](0)
}

// ForBoundedOutOfOrderness is for streams whose records arrive at most
// maxDelay late: the watermark is the largest timestamp seen minus maxDelay
// minus 1 ms, emitted periodically.
func ForBoundedOutOfOrderness[T any](maxDelay time.Duration) WatermarkStrategy[T] {
	if maxDelay < 0 {
		return WatermarkStrategy[T]{err: fmt.Errorf("stream: ForBoundedOutOfOrderness(%v): the delay must not be negative", maxDelay)}
	}
	d := maxDelay.Milliseconds()
	return ForGenerator[T](func() WatermarkGenerator { return NewBoundedOutOfOrderness(d) })
}

// ForGenerator is the strategy of a custom generator; newGenerator is
// called once per subtask and source split.
func ForGenerator[T any](newGenerator func() WatermarkGenerator) WatermarkStrategy[T] {
	return WatermarkStrategy[T]{newGenerator: newGenerator}
}

// WithTimestampAssigner sets the function that gives each record its event
// timestamp in milliseconds; recordTs is the timestamp the record has (or
// math.MinInt64). Without one, records keep their timestamps.
func (s WatermarkStrategy[T]) WithTimestampAssigner(fn func(v T, recordTs int64) int64) WatermarkStrategy[T] {
	s.assigner = fn
	return s
}

// WithIdleness marks the stream idle when no record arrived for timeout of
// processing time, so that it does not hold back the event time of the
// operators downstream; the next record makes it active again. Idleness is
// checked every auto-watermark interval.
func (s WatermarkStrategy[T]) WithIdleness(timeout time.Duration) WatermarkStrategy[T] {
	if timeout <= 0 {
		s.err = fmt.Errorf("stream: WithIdleness(%v): the timeout must be positive", timeout)
	}
	s.idleness = timeout
	return s
}

// BoundedOutOfOrderness is Flink's BoundedOutOfOrdernessWatermarks: it
// tracks the largest timestamp and periodically emits it minus the delay
// minus 1.
type BoundedOutOfOrderness struct {
	delay, max int64
}

// NewBoundedOutOfOrderness returns the generator for a delay in
// milliseconds.
func NewBoundedOutOfOrderness(delayMillis int64) *BoundedOutOfOrderness {
	return &BoundedOutOfOrderness{delay: delayMillis, max: operator.MinWatermark + delayMillis + 1}
}

// OnEvent implements WatermarkGenerator.
func (g *BoundedOutOfOrderness) OnEvent(ts int64, _ WatermarkOutput) { g.max = max(g.max, ts) }

// OnPeriodicEmit implements WatermarkGenerator.
func (g *BoundedOutOfOrderness) OnPeriodicEmit(out WatermarkOutput) {
	out.EmitWatermark(g.max - g.delay - 1)
}

// AssignTimestampsAndWatermarks gives the records of s timestamps and
// watermarks by strategy. Watermarks from upstream are dropped, except the
// final one of bounded input.
func (s DataStream[T]) AssignTimestampsAndWatermarks(strategy WatermarkStrategy[T]) DataStream[T] {
	if strategy.err != nil {
		s.env.errs = append(s.env.errs, strategy.err)
	}
	f := oneInput[T, T](func(c *operator.Context, out operator.Output[T]) (interface {
		operator.Operator
		operator.Output[T]
	}, error) {
		return &timestampsOp[T]{c: c, out: out, strategy: strategy}, nil
	})
	return streamOf[T](s.env, newNode[T](s.env, "Timestamps/Watermarks", "Timestamps/Watermarks", f, s.ports))
}

// timestampsOp assigns timestamps and generates watermarks.
type timestampsOp[T any] struct {
	c        *operator.Context
	out      operator.Output[T]
	strategy WatermarkStrategy[T]
	gen      *generated
}

func (o *timestampsOp[T]) Open(context.Context) error {
	o.gen = newGenerated(o.c, o.strategy.newGenerator, o.strategy.idleness, o.out)
	o.gen.start()
	return nil
}

func (o *timestampsOp[T]) Collect(v T, ts int64) (err error) {
	defer operator.Guard(o.c, &err)
	if o.strategy.assigner != nil {
		ts = o.strategy.assigner(v, ts)
	}
	if err := o.gen.event(ts); err != nil {
		return err
	}
	return o.out.Collect(v, ts)
}

func (o *timestampsOp[T]) EmitWatermark(wm int64) error {
	if wm == operator.MaxWatermark {
		return o.gen.emit(wm)
	}
	return nil
}

func (o *timestampsOp[T]) EmitWatermarkStatus(bool) error { return nil }
func (o *timestampsOp[T]) Finish() error                  { return nil }

func (o *timestampsOp[T]) Close() error {
	o.gen.stop()
	return nil
}

// watermarkSink is where watermarks go: an Output of any type, or a split's
// slot in a source's multiplexer.
type watermarkSink interface {
	EmitWatermark(wm int64) error
	EmitWatermarkStatus(idle bool) error
}

// generated drives one watermark generator (or none) for one sink: it emits
// the generator's watermarks, never backwards, turns idleness into status
// changes, and calls OnPeriodicEmit every auto-watermark interval on the
// task's goroutine. It is its generator's WatermarkOutput.
type generated struct {
	c       *operator.Context
	gen     WatermarkGenerator // nil: no watermarks
	sink    watermarkSink
	emitted int64
	idle    bool
	err     error // first error of the sink, returned by the next call

	idleness   time.Duration
	events     uint64 // records seen
	lastEvents uint64 // records seen at the last idleness check
	quietSince int64  // processing time of the last check that saw records
	cancel     operator.Cancel
}

func newGenerated(c *operator.Context, newGen func() WatermarkGenerator, idleness time.Duration, sink watermarkSink) *generated {
	g := &generated{c: c, sink: sink, emitted: operator.MinWatermark, idleness: idleness}
	if newGen != nil {
		g.gen = newGen()
	}
	return g
}

// start schedules the periodic emission.
func (g *generated) start() {
	if g.gen == nil || g.c.AutoWatermarkInterval <= 0 {
		return
	}
	g.quietSince = g.c.ProcessingTime.Now()
	g.schedule(g.quietSince)
}

func (g *generated) schedule(now int64) {
	g.cancel = g.c.ProcessingTime.Register(now+g.c.AutoWatermarkInterval.Milliseconds(), g.periodic)
}

func (g *generated) periodic(now int64) (err error) {
	defer operator.Guard(g.c, &err)
	if g.idleness > 0 {
		if g.events != g.lastEvents {
			g.lastEvents, g.quietSince = g.events, now
		} else if !g.idle && now-g.quietSince >= g.idleness.Milliseconds() {
			g.MarkIdle()
		}
	}
	g.gen.OnPeriodicEmit(g)
	g.schedule(now)
	return g.takeErr()
}

// event feeds a record's timestamp to the generator.
func (g *generated) event(ts int64) error {
	if g.gen == nil {
		return nil
	}
	g.events++
	if g.idle {
		g.MarkActive()
	}
	g.gen.OnEvent(ts, g)
	return g.takeErr()
}

// emit emits wm directly (the final watermark of bounded input).
func (g *generated) emit(wm int64) error {
	g.EmitWatermark(wm)
	return g.takeErr()
}

func (g *generated) takeErr() error {
	err := g.err
	g.err = nil
	return err
}

// EmitWatermark implements WatermarkOutput.
func (g *generated) EmitWatermark(wm int64) {
	if g.err != nil || wm <= g.emitted {
		return
	}
	if g.idle {
		g.MarkActive()
	}
	g.emitted = wm
	g.err = g.sink.EmitWatermark(wm)
}

// MarkIdle implements WatermarkOutput.
func (g *generated) MarkIdle() {
	if g.err == nil && !g.idle {
		g.idle = true
		g.err = g.sink.EmitWatermarkStatus(true)
	}
}

// MarkActive implements WatermarkOutput.
func (g *generated) MarkActive() {
	if g.err == nil && g.idle {
		g.idle = false
		g.err = g.sink.EmitWatermarkStatus(false)
	}
}

func (g *generated) stop() {
	if g != nil && g.cancel != nil {
		g.cancel()
		g.cancel = nil
	}
}
