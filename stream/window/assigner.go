package window

import (
	"fmt"
	"math"
	"time"
)

// AssignerContext is what an assigner may ask of the operator. It is valid
// only during the call it is passed to.
type AssignerContext interface {
	// CurrentProcessingTime returns the operator's processing time in
	// milliseconds since the Unix epoch (from its clock, which tests
	// replace).
	CurrentProcessingTime() int64
}

// Assigner assigns a record to the windows it belongs to. It is Flink's
// WindowAssigner: a stateless value, safe to share between subtasks and
// goroutines; the operator keeps everything that changes.
//
// The assigners of this package are built by functions named after Flink's
// classes (TumblingEventTimeWindows, SlidingEventTimeWindows,
// EventTimeSessionWindows, GlobalWindows, ...). Their constructors do not
// fail: an assigner given an invalid size implements Validator, and its
// Validate, which the operator calls before the first record, returns an
// error naming it and the value. An invalid assigner used anyway returns
// that error from AssignWindows.
type Assigner[T any, W Window] interface {
	// AssignWindows appends the windows of the record v, whose timestamp
	// is ts (math.MinInt64 if it has none), to dst and returns the extended
	// slice, in a defined order (for sliding windows, Flink's: the latest
	// start first). Called with a dst of sufficient capacity, the assigners
	// of this package allocate nothing. On error dst is returned
	// unchanged.
	//
	// Event-time assigners read ts and return an error wrapping
	// ErrNoTimestamp if it is math.MinInt64; processing-time assigners
	// ignore ts and ask ctx for the time (event-time assigners and
	// GlobalWindows do not use ctx, which may then be nil). A window that
	// would not fit in int64 milliseconds is an error wrapping
	// ErrTimestampOutOfRange.
	AssignWindows(dst []W, v T, ts int64, ctx AssignerContext) ([]W, error)
	// DefaultTrigger returns the trigger used when the user sets none.
	DefaultTrigger() Trigger[T, W]
	// IsEventTime reports whether the windows are in event time, that is
	// whether the operator measures lateness and cleans up windows by the
	// watermark (true) or by processing time (false).
	IsEventTime() bool
	// String describes the assigner and its arguments, for error messages
	// and the plan.
	String() string
}

// MergingAssigner is an Assigner whose windows can merge, such as session
// windows. The operator tracks its windows per key with a
// MergingWindowSet.
type MergingAssigner[T any, W Window] interface {
	Assigner[T, W]
	// MergeWindows finds which of windows must merge and calls merge once
	// for each group of two or more: with the window they merge into and
	// the windows of the group. A window that merges with no other is not
	// reported. Equal windows count once.
	//
	// MergeWindows may reorder and overwrite the elements of windows.
	// merged is valid only during the call to merge, which must not modify
	// or keep it.
	MergeWindows(windows []W, merge func(result W, merged []W))
}

// windowStart returns the start of the window of size (> 0) that contains
// ts, windows being aligned to offset: the largest start <= ts with
// start ≡ offset (mod size). It is Flink's
// TimeWindow.getWindowStartWithOffset, which in current Flink floors for
// negative timestamps too (the older ts - (ts - offset + size) % size does
// not, for ts - offset < -size). The computation cannot overflow; ok is
// false if the start would be below math.MinInt64.
func windowStart(ts, offset, size int64) (start int64, ok bool) {
	rem := (ts%size - offset%size) % size
	if rem < 0 {
		rem += size
	}
	if ts < math.MinInt64+rem {
		return 0, false
	}
	return ts - rem, true
}

// validateAligned returns the error of size/slide and offset arguments of a
// tumbling or sliding assigner: period (the size or slide) must be a
// positive whole number of milliseconds and offset a whole number of
// milliseconds with |offset| < period, as Flink requires.
func validateAligned(component, periodName string, period, offset time.Duration) (periodMs, offsetMs int64, err error) {
	periodMs, err = positiveMillis(component, periodName, period)
	if err != nil {
		return 0, 0, err
	}
	offsetMs, ok := millis(offset)
	if !ok {
		return 0, 0, fmt.Errorf("%w: %s: offset %v is not a whole number of milliseconds", ErrInvalidConfig, component, offset)
	}
	if offsetMs <= -periodMs || offsetMs >= periodMs {
		return 0, 0, fmt.Errorf("%w: %s: offset %v must satisfy |offset| < %s (%v)", ErrInvalidConfig, component, offset, periodName, period)
	}
	return periodMs, offsetMs, nil
}

// recordTime returns the time by which an assigner places a record: its
// timestamp in event time, the processing time otherwise.
func recordTime(eventTime bool, ts int64, ctx AssignerContext, a fmt.Stringer) (int64, error) {
	if !eventTime {
		return ctx.CurrentProcessingTime(), nil
	}
	if ts == math.MinInt64 {
		return 0, fmt.Errorf("%w (in %v)", ErrNoTimestamp, a)
	}
	return ts, nil
}

func outOfRange(a fmt.Stringer, t int64) error {
	return fmt.Errorf("%w: %v at time %d", ErrTimestampOutOfRange, a, t)
}

// Tumbling windows.

type tumbling[T any] struct {
	eventTime    bool
	size, offset time.Duration
	sizeMs       int64
	offsetMs     int64
	err          error
}

// TumblingEventTimeWindows returns Flink's TumblingEventTimeWindows: each
// record goes to the one window [start, start+size) that contains its
// timestamp, where start ≡ offset (mod size). Windows are aligned to the
// epoch shifted by offset: with size 1h and offset 15m they are
// [0:15, 1:15), [1:15, 2:15), ...; an offset of -8h aligns daily windows to
// midnight in UTC+8. Negative timestamps are floored, so that a window
// always contains its records (ts -1 with size 10s is in [-10000, 0)).
//
// size must be a positive whole number of milliseconds, and offset a whole
// number of milliseconds with |offset| < size; otherwise Validate returns an
// error wrapping ErrInvalidConfig. The default trigger is EventTimeTrigger.
func TumblingEventTimeWindows[T any](size, offset time.Duration) Assigner[T, TimeWindow] {
	return newTumbling[T](true, size, offset)
}

// TumblingProcessingTimeWindows returns Flink's
// TumblingProcessingTimeWindows: as TumblingEventTimeWindows, but by the
// operator's processing time when the record arrives. The default trigger
// is ProcessingTimeTrigger.
func TumblingProcessingTimeWindows[T any](size, offset time.Duration) Assigner[T, TimeWindow] {
	return newTumbling[T](false, size, offset)
}

func newTumbling[T any](eventTime bool, size, offset time.Duration) *tumbling[T] {
	a := &tumbling[T]{eventTime: eventTime, size: size, offset: offset}
	a.sizeMs, a.offsetMs, a.err = validateAligned(a.String(), "size", size, offset)
	return a
}

func (a *tumbling[T]) AssignWindows(dst []TimeWindow, _ T, ts int64, ctx AssignerContext) ([]TimeWindow, error) {
	if a.err != nil {
		return dst, a.err
	}
	t, err := recordTime(a.eventTime, ts, ctx, a)
	if err != nil {
		return dst, err
	}
	start, ok := windowStart(t, a.offsetMs, a.sizeMs)
	if !ok || start > math.MaxInt64-a.sizeMs {
		return dst, outOfRange(a, t)
	}
	return append(dst, TimeWindow{Start: start, End: start + a.sizeMs}), nil
}

func (a *tumbling[T]) DefaultTrigger() Trigger[T, TimeWindow] {
	if a.eventTime {
		return EventTimeTrigger[T, TimeWindow]()
	}
	return ProcessingTimeTrigger[T, TimeWindow]()
}

func (a *tumbling[T]) IsEventTime() bool { return a.eventTime }
func (a *tumbling[T]) Validate() error   { return a.err }

func (a *tumbling[T]) String() string {
	name := "TumblingProcessingTimeWindows"
	if a.eventTime {
		name = "TumblingEventTimeWindows"
	}
	return fmt.Sprintf("%s(size=%v, offset=%v)", name, a.size, a.offset)
}

// Sliding windows.

type sliding[T any] struct {
	eventTime           bool
	size, slide, offset time.Duration
	sizeMs, slideMs     int64
	offsetMs            int64
	err                 error
}

// SlidingEventTimeWindows returns Flink's SlidingEventTimeWindows: windows
// of length size that start every slide, aligned to offset as tumbling
// windows are (start ≡ offset (mod slide)). A record goes to every such
// window that contains its timestamp, appended latest start first, as
// Flink emits them: ceil(size/slide) windows when slide divides size, and
// possibly none when slide > size (sampling windows with gaps).
//
// size and slide must be positive whole numbers of milliseconds, and offset
// a whole number of milliseconds with |offset| < slide. The default trigger
// is EventTimeTrigger.
func SlidingEventTimeWindows[T any](size, slide, offset time.Duration) Assigner[T, TimeWindow] {
	return newSliding[T](true, size, slide, offset)
}

// SlidingProcessingTimeWindows returns Flink's SlidingProcessingTimeWindows:
// as SlidingEventTimeWindows, but by the operator's processing time when
// the record arrives. The default trigger is ProcessingTimeTrigger.
func SlidingProcessingTimeWindows[T any](size, slide, offset time.Duration) Assigner[T, TimeWindow] {
	return newSliding[T](false, size, slide, offset)
}

func newSliding[T any](eventTime bool, size, slide, offset time.Duration) *sliding[T] {
	a := &sliding[T]{eventTime: eventTime, size: size, slide: slide, offset: offset}
	a.sizeMs, a.err = positiveMillis(a.String(), "size", size)
	if a.err == nil {
		a.slideMs, a.offsetMs, a.err = validateAligned(a.String(), "slide", slide, offset)
	}
	return a
}

func (a *sliding[T]) AssignWindows(dst []TimeWindow, _ T, ts int64, ctx AssignerContext) ([]TimeWindow, error) {
	if a.err != nil {
		return dst, a.err
	}
	t, err := recordTime(a.eventTime, ts, ctx, a)
	if err != nil {
		return dst, err
	}
	n := len(dst)
	start, ok := windowStart(t, a.offsetMs, a.slideMs)
	if !ok {
		return dst, outOfRange(a, t)
	}
	// Flink: for (start = lastStart; start > t - size; start -= slide).
	// Written with t-start, which stays in [0, size+slide) and so cannot
	// overflow, where t-size could.
	for t-start < a.sizeMs {
		if start > math.MaxInt64-a.sizeMs {
			return dst[:n], outOfRange(a, t)
		}
		dst = append(dst, TimeWindow{Start: start, End: start + a.sizeMs})
		if t-start+a.slideMs >= a.sizeMs {
			break // the next start would be <= t-size
		}
		if start < math.MinInt64+a.slideMs {
			return dst[:n], outOfRange(a, t)
		}
		start -= a.slideMs
	}
	return dst, nil
}

func (a *sliding[T]) DefaultTrigger() Trigger[T, TimeWindow] {
	if a.eventTime {
		return EventTimeTrigger[T, TimeWindow]()
	}
	return ProcessingTimeTrigger[T, TimeWindow]()
}

func (a *sliding[T]) IsEventTime() bool { return a.eventTime }
func (a *sliding[T]) Validate() error   { return a.err }

func (a *sliding[T]) String() string {
	name := "SlidingProcessingTimeWindows"
	if a.eventTime {
		name = "SlidingEventTimeWindows"
	}
	return fmt.Sprintf("%s(size=%v, slide=%v, offset=%v)", name, a.size, a.slide, a.offset)
}

// Session windows.

type sessions[T any] struct {
	eventTime bool
	gap       time.Duration
	gapMs     int64
	gapFn     func(T) time.Duration // nil for a fixed gap
	dynamic   bool
	err       error
}

// EventTimeSessionWindows returns Flink's EventTimeSessionWindows: each
// record starts a window [ts, ts+gap), and windows that intersect (or
// touch) merge, so that a session ends after gap without records. The
// operator tracks the windows with a MergingWindowSet.
//
// gap must be a positive whole number of milliseconds. The default trigger
// is EventTimeTrigger. Unlike Flink's, which would open a window at
// Long.MIN_VALUE, a record without timestamp is an error wrapping
// ErrNoTimestamp, as for the other event-time assigners.
func EventTimeSessionWindows[T any](gap time.Duration) MergingAssigner[T, TimeWindow] {
	return newSessions[T](true, gap, nil, false)
}

// ProcessingTimeSessionWindows returns Flink's
// ProcessingTimeSessionWindows: as EventTimeSessionWindows, but each record
// starts a window [now, now+gap) at the processing time of its arrival.
// The default trigger is ProcessingTimeTrigger.
func ProcessingTimeSessionWindows[T any](gap time.Duration) MergingAssigner[T, TimeWindow] {
	return newSessions[T](false, gap, nil, false)
}

// DynamicEventTimeSessionWindows returns Flink's
// DynamicEventTimeSessionWindows: as EventTimeSessionWindows, but the gap
// of each record's window is gap(v). gap must not be nil; a gap it returns
// that is not a positive whole number of milliseconds makes AssignWindows
// return an error wrapping ErrInvalidGap (Flink throws there too). gap is
// called from the operator's goroutine and must not block.
func DynamicEventTimeSessionWindows[T any](gap func(T) time.Duration) MergingAssigner[T, TimeWindow] {
	return newSessions(true, 0, gap, true)
}

// DynamicProcessingTimeSessionWindows returns Flink's
// DynamicProcessingTimeSessionWindows: as DynamicEventTimeSessionWindows,
// in processing time.
func DynamicProcessingTimeSessionWindows[T any](gap func(T) time.Duration) MergingAssigner[T, TimeWindow] {
	return newSessions(false, 0, gap, true)
}

func newSessions[T any](eventTime bool, gap time.Duration, gapFn func(T) time.Duration, dynamic bool) *sessions[T] {
	a := &sessions[T]{eventTime: eventTime, gap: gap, gapFn: gapFn, dynamic: dynamic}
	if dynamic {
		if gapFn == nil {
			a.err = fmt.Errorf("%w: %s: the gap function is nil", ErrInvalidConfig, a)
		}
	} else {
		a.gapMs, a.err = positiveMillis(a.String(), "gap", gap)
	}
	return a
}

func (a *sessions[T]) AssignWindows(dst []TimeWindow, v T, ts int64, ctx AssignerContext) ([]TimeWindow, error) {
	if a.err != nil {
		return dst, a.err
	}
	t, err := recordTime(a.eventTime, ts, ctx, a)
	if err != nil {
		return dst, err
	}
	gap := a.gapMs
	if a.dynamic {
		d := a.gapFn(v)
		ms, ok := millis(d)
		if !ok || ms <= 0 {
			return dst, fmt.Errorf("%w: %v returned %v", ErrInvalidGap, a, d)
		}
		gap = ms
	}
	if t > math.MaxInt64-gap {
		return dst, outOfRange(a, t)
	}
	return append(dst, TimeWindow{Start: t, End: t + gap}), nil
}

// MergeWindows merges intersecting windows with MergeTimeWindows.
func (a *sessions[T]) MergeWindows(windows []TimeWindow, merge func(result TimeWindow, merged []TimeWindow)) {
	MergeTimeWindows(windows, merge)
}

func (a *sessions[T]) DefaultTrigger() Trigger[T, TimeWindow] {
	if a.eventTime {
		return EventTimeTrigger[T, TimeWindow]()
	}
	return ProcessingTimeTrigger[T, TimeWindow]()
}

func (a *sessions[T]) IsEventTime() bool { return a.eventTime }
func (a *sessions[T]) Validate() error   { return a.err }

func (a *sessions[T]) String() string {
	kind := "ProcessingTime"
	if a.eventTime {
		kind = "EventTime"
	}
	if a.dynamic {
		return "Dynamic" + kind + "SessionWindows()"
	}
	return fmt.Sprintf("%sSessionWindows(gap=%v)", kind, a.gap)
}

// Global windows.

type global[T any] struct{}

// GlobalWindows returns Flink's GlobalWindows: every record of a key goes to
// the one GlobalWindow, whatever its timestamp. Its default trigger is
// NeverTrigger, so a job sets a trigger of its own (a CountTrigger, say).
// The assigner counts as processing time (IsEventTime is false), as in
// Flink: the window is never cleaned up by the watermark.
func GlobalWindows[T any]() Assigner[T, GlobalWindow] { return global[T]{} }

func (global[T]) AssignWindows(dst []GlobalWindow, _ T, _ int64, _ AssignerContext) ([]GlobalWindow, error) {
	return append(dst, GlobalWindow{}), nil
}

func (global[T]) DefaultTrigger() Trigger[T, GlobalWindow] {
	return NeverTrigger[T, GlobalWindow]()
}

func (global[T]) IsEventTime() bool { return false }
func (global[T]) String() string    { return "GlobalWindows()" }
