package stream

import (
	"context"
	"fmt"
	"time"

	"github.com/runnel-io/runnel/runtime/operator"
	"github.com/runnel-io/runnel/state"
)

// IntervalJoined is an interval join of two keyed streams, being
// configured: Flink's KeyedStream.IntervalJoined. It joins each record a of
// the left stream with each record b of the right stream of the same key
// whose timestamp lies in [a.ts + lower, a.ts + upper]. Its methods return a
// modified copy; ProcessJoin or ProcessJoinEach adds the join to the job.
type IntervalJoined[K comparable, A, B any] struct {
	left           KeyedStream[K, A]
	right          KeyedStream[K, B]
	lower, upper   int64 // milliseconds, inclusive unless said otherwise below
	lowerExclusive bool
	upperExclusive bool
	leftLate       string // side output of late left records, "" for none
	rightLate      string
}

// IntervalJoin joins the records of a (left) and b (right) of equal keys
// whose timestamps are within bounds of each other: a left record at time t
// joins every right record at a time in [t + lower, t + upper], both bounds
// inclusive by default. This is Flink's
// a.intervalJoin(b).between(lower, upper); the bounds are truncated to
// milliseconds and may be negative, but lower must not exceed upper.
//
// Interval joins work in event time only: every record must have a
// timestamp (AssignTimestampsAndWatermarks), and a record without one fails
// the job with an error naming the operator. Both inputs must encode their
// keys alike (see ConnectKeyed).
func IntervalJoin[K comparable, A, B any](a KeyedStream[K, A], b KeyedStream[K, B], lower, upper time.Duration) IntervalJoined[K, A, B] {
	checkKeyedPair("IntervalJoin", a, b)
	j := IntervalJoined[K, A, B]{left: a, right: b, lower: lower.Milliseconds(), upper: upper.Milliseconds()}
	if j.lower > j.upper {
		a.env.errorf("stream: IntervalJoin: the lower bound %v is above the upper bound %v", lower, upper)
	}
	return j
}

// LowerBoundExclusive excludes the lower bound: a right record must be
// strictly later than a.ts + lower.
func (j IntervalJoined[K, A, B]) LowerBoundExclusive() IntervalJoined[K, A, B] {
	j.lowerExclusive = true
	return j
}

// UpperBoundExclusive excludes the upper bound: a right record must be
// strictly earlier than a.ts + upper.
func (j IntervalJoined[K, A, B]) UpperBoundExclusive() IntervalJoined[K, A, B] {
	j.upperExclusive = true
	return j
}

// SideOutputLeftLateData sends the late records of the left input to the
// side output tag (read it with SideOutput on the join's stream) instead of
// dropping them. A record is late if its timestamp is below the operator's
// event time, the minimum of the two inputs' watermarks.
func (j IntervalJoined[K, A, B]) SideOutputLeftLateData(tag OutputTag[A]) IntervalJoined[K, A, B] {
	j.leftLate = tag.id
	return j
}

// SideOutputRightLateData is SideOutputLeftLateData for the right input.
func (j IntervalJoined[K, A, B]) SideOutputRightLateData(tag OutputTag[B]) IntervalJoined[K, A, B] {
	j.rightLate = tag.id
	return j
}

// IntervalJoinContext is passed to a ProcessJoinFunction with each joined
// pair. Its Timestamp is the timestamp of the record the function emits:
// the later of the two records' timestamps. It is reused: a function must
// not keep it beyond the call.
type IntervalJoinContext struct {
	Context
	left, right int64
}

// LeftTimestamp returns the timestamp of the left record.
func (c *IntervalJoinContext) LeftTimestamp() int64 { return c.left }

// RightTimestamp returns the timestamp of the right record.
func (c *IntervalJoinContext) RightTimestamp() int64 { return c.right }

// ProcessJoinFunction processes the pairs of an interval join: Flink's
// ProcessJoinFunction. The records it emits get the pair's timestamp,
// max(left, right).
//
// It may also implement Opener, Closer and Finisher[Out]. One subtask's
// function is called from that subtask's goroutine, one call at a time. An
// error returned or a panic raised fails the job with an error naming the
// operator and the subtask. The records it is given are the ones the join
// buffers: it must not modify them.
type ProcessJoinFunction[A, B, Out any] interface {
	ProcessElement(left A, right B, ctx *IntervalJoinContext, out Collector[Out]) error
}

// ProcessJoinFunc adapts a function to ProcessJoinFunction.
type ProcessJoinFunc[A, B, Out any] func(left A, right B, ctx *IntervalJoinContext, out Collector[Out]) error

// ProcessElement implements ProcessJoinFunction.
func (f ProcessJoinFunc[A, B, Out]) ProcessElement(left A, right B, ctx *IntervalJoinContext, out Collector[Out]) error {
	return f(left, right, ctx, out)
}

// ProcessJoin adds the interval join j to the job, with fn called for every
// joined pair. It works as Flink's IntervalJoinOperator:
//
//   - Each subtask buffers the records of both inputs in keyed map state,
//     by key and timestamp, so the records must have codecs (codec.For of
//     []A and []B), as records crossing tasks do.
//   - A record is joined, on arrival, with the buffered records of the
//     other input that are in its interval, and then buffered itself; the
//     order of the pairs of one arrival is unspecified.
//   - A record whose timestamp is below the operator's event time (the
//     minimum of the two inputs' watermarks) is late: it is dropped, or sent
//     to the side output of SideOutputLeftLateData or
//     SideOutputRightLateData, and joins nothing.
//   - Buffered records are removed when the event time passes the last time
//     at which a record of the other input could still join them: a left
//     record at t at t + upper (at t if upper <= 0), a right record at t at
//     t - lower (at t if lower >= 0), with exclusive bounds already moved
//     1 ms inwards. So the state stays bounded as long as the watermarks
//     advance.
//
// Every subtask calls the same fn; use ProcessJoinEach for a function of
// its own per subtask.
func ProcessJoin[K comparable, A, B, Out any](j IntervalJoined[K, A, B], fn ProcessJoinFunction[A, B, Out]) DataStream[Out] {
	return ProcessJoinEach(j, func() ProcessJoinFunction[A, B, Out] { return fn })
}

// ProcessJoinEach is ProcessJoin with a function of its own for every
// subtask, made by newFn when the subtask starts.
func ProcessJoinEach[K comparable, A, B, Out any](j IntervalJoined[K, A, B], newFn func() ProcessJoinFunction[A, B, Out]) DataStream[Out] {
	lower, upper := j.lower, j.upper
	if j.lowerExclusive {
		lower++
	}
	if j.upperExclusive {
		upper--
	}
	f := operator.FactoryFunc(func(c *operator.Context, out any) (operator.Operator, []any, error) {
		o, err := operator.OutputAs[Out](c, out)
		if err != nil {
			return nil, nil, err
		}
		fn := newFn()
		op := &intervalJoinOp[K, A, B, Out]{fn: fn, keyA: j.left.key, keyB: j.right.key, lower: lower, upper: upper}
		if err := op.init(c, fn, j.left.keyCodec, o, op.onTimer); err != nil {
			return nil, nil, err
		}
		op.jctx.Context = newContext(c)
		if j.leftLate != "" {
			op.leftLate, _ = c.SideOutputs[j.leftLate].(operator.Output[A])
		}
		if j.rightLate != "" {
			op.rightLate, _ = c.SideOutputs[j.rightLate].(operator.Output[B])
		}
		return op, []any{operator.Output[A](joinLeft[K, A, B, Out]{op}), operator.Output[B](joinRight[K, A, B, Out]{op})}, nil
	})
	env := j.left.env
	return streamOf[Out](env, newNode[Out](env, "IntervalJoin", "IntervalJoin", f, j.left.ports, j.right.ports))
}

// joinSide is the namespace of an interval join's cleanup timers: which
// buffer the timer cleans.
type joinSide uint8

const (
	leftSide joinSide = iota
	rightSide
)

func (s joinSide) String() string {
	if s == rightSide {
		return "right"
	}
	return "left"
}

// The names of the buffers in the join's keyed state.
const (
	leftBufferName  = "interval-join-left-buffer"
	rightBufferName = "interval-join-right-buffer"
)

type intervalJoinOp[K comparable, A, B, Out any] struct {
	keyedTwoInput[K, joinSide, Out]
	fn           ProcessJoinFunction[A, B, Out]
	keyA         func(A) K
	keyB         func(B) K
	lower, upper int64 // inclusive bounds
	leftBuf      state.MapState[int64, []A]
	rightBuf     state.MapState[int64, []B]
	jctx         IntervalJoinContext
	leftLate     operator.Output[A] // nil: drop late left records
	rightLate    operator.Output[B]
}

// Open gets the buffers and calls the function's Opener; a
// ProcessJoinFunction gets no keyed state of its own.
func (o *intervalJoinOp[K, A, B, Out]) Open(ctx context.Context) (err error) {
	defer operator.Guard(o.c, &err)
	if o.leftBuf, err = GetMapState(o.ctx.krc, state.Map[int64, []A](leftBufferName)); err != nil {
		return o.c.Fail(err)
	}
	if o.rightBuf, err = GetMapState(o.ctx.krc, state.Map[int64, []B](rightBufferName)); err != nil {
		return o.c.Fail(err)
	}
	return o.base.Open(ctx)
}

// checkTimestamp fails on a record without a timestamp, as Flink does.
func (o *intervalJoinOp[K, A, B, Out]) checkTimestamp(ts int64, side joinSide) error {
	if ts == operator.NoTimestamp {
		return o.c.Fail(fmt.Errorf("stream: interval join: a record of the %s input has no timestamp; "+
			"interval joins need event time (give the input timestamps with AssignTimestampsAndWatermarks)", side))
	}
	return nil
}

// isLate reports whether ts is below the operator's event time.
func (o *intervalJoinOp[K, A, B, Out]) isLate(ts int64) bool { return ts < o.core.watermark }

func (o *intervalJoinOp[K, A, B, Out]) processLeft(v A, ts int64) (err error) {
	defer operator.Guard(o.c, &err)
	if err := o.checkTimestamp(ts, leftSide); err != nil {
		return err
	}
	if o.isLate(ts) {
		return lateRecord(o.leftLate, v, ts)
	}
	o.core.backend.SetCurrentKey(o.keyA(v))
	if err := addToBuffer(o.leftBuf, ts, v); err != nil {
		return o.c.Fail(err)
	}
	for rts, rs := range o.rightBuf.All() {
		if rts < ts+o.lower || rts > ts+o.upper {
			continue
		}
		for _, r := range rs {
			if err := o.emit(v, r, ts, rts); err != nil {
				return err
			}
		}
	}
	cleanup := ts
	if o.upper > 0 {
		cleanup += o.upper
	}
	o.core.registerEvent(cleanup, leftSide)
	return nil
}

func (o *intervalJoinOp[K, A, B, Out]) processRight(v B, ts int64) (err error) {
	defer operator.Guard(o.c, &err)
	if err := o.checkTimestamp(ts, rightSide); err != nil {
		return err
	}
	if o.isLate(ts) {
		return lateRecord(o.rightLate, v, ts)
	}
	o.core.backend.SetCurrentKey(o.keyB(v))
	if err := addToBuffer(o.rightBuf, ts, v); err != nil {
		return o.c.Fail(err)
	}
	// Seen from the right, the interval is [ts - upper, ts - lower].
	for lts, ls := range o.leftBuf.All() {
		if lts < ts-o.upper || lts > ts-o.lower {
			continue
		}
		for _, l := range ls {
			if err := o.emit(l, v, lts, ts); err != nil {
				return err
			}
		}
	}
	cleanup := ts
	if o.lower < 0 {
		cleanup -= o.lower
	}
	o.core.registerEvent(cleanup, rightSide)
	return nil
}

// emit calls the function with a joined pair.
func (o *intervalJoinOp[K, A, B, Out]) emit(l A, r B, lts, rts int64) error {
	ts := max(lts, rts)
	o.jctx.ts, o.col.ts = ts, ts
	o.jctx.left, o.jctx.right = lts, rts
	o.jctx.watermark = o.core.watermark
	return o.jctx.result(o.c, &o.col, o.fn.ProcessElement(l, r, &o.jctx, &o.col))
}

// onTimer removes the buffered records of one timestamp once no record of
// the other input can join them any more: the inverse of the cleanup times
// registered by processLeft and processRight.
func (o *intervalJoinOp[K, A, B, Out]) onTimer(t state.Timer[K, joinSide], _ TimeDomain) error {
	if t.Namespace == leftSide {
		ts := t.Time
		if o.upper > 0 {
			ts -= o.upper
		}
		return o.c.Fail(o.leftBuf.Remove(ts))
	}
	ts := t.Time
	if o.lower < 0 {
		ts += o.lower
	}
	return o.c.Fail(o.rightBuf.Remove(ts))
}

// addToBuffer appends v to the records buffered at ts.
func addToBuffer[T any](buf state.MapState[int64, []T], ts int64, v T) error {
	vs, _, err := buf.Get(ts)
	if err != nil {
		return err
	}
	return buf.Put(ts, append(vs, v))
}

// lateRecord sends a late record to its side output, or drops it.
func lateRecord[T any](out operator.Output[T], v T, ts int64) error {
	if out == nil {
		return nil
	}
	return out.Collect(v, ts)
}

type joinLeft[K comparable, A, B, Out any] struct{ o *intervalJoinOp[K, A, B, Out] }

func (in joinLeft[K, A, B, Out]) Collect(v A, ts int64) error { return in.o.processLeft(v, ts) }

func (in joinLeft[K, A, B, Out]) EmitWatermark(wm int64) error { return in.o.watermark(0, wm) }

func (in joinLeft[K, A, B, Out]) EmitWatermarkStatus(idle bool) error { return in.o.status(0, idle) }

type joinRight[K comparable, A, B, Out any] struct{ o *intervalJoinOp[K, A, B, Out] }

func (in joinRight[K, A, B, Out]) Collect(v B, ts int64) error { return in.o.processRight(v, ts) }

func (in joinRight[K, A, B, Out]) EmitWatermark(wm int64) error { return in.o.watermark(1, wm) }

func (in joinRight[K, A, B, Out]) EmitWatermarkStatus(idle bool) error { return in.o.status(1, idle) }
