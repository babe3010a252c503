package window

import (
	"fmt"
	"math"
	"time"

	"github.com/runnel-io/runnel/state"
)

// Result is what a trigger tells the operator to do with a window: Flink's
// TriggerResult. It is a pair of flags, fire and purge.
type Result uint8

const (
	// Continue does nothing.
	Continue Result = 0
	// Fire evaluates the window (calls the window function on its
	// contents) and keeps the contents.
	Fire Result = 1
	// Purge clears the window's contents without evaluating them. The
	// window's metadata, its trigger state and its timers stay.
	Purge Result = 2
	// FireAndPurge evaluates the window, then clears its contents.
	FireAndPurge = Fire | Purge
)

// IsFire reports whether the window must be evaluated.
func (r Result) IsFire() bool { return r&Fire != 0 }

// IsPurge reports whether the window's contents must be cleared.
func (r Result) IsPurge() bool { return r&Purge != 0 }

// String returns the constant's name.
func (r Result) String() string {
	switch r {
	case Continue:
		return "Continue"
	case Fire:
		return "Fire"
	case Purge:
		return "Purge"
	case FireAndPurge:
		return "FireAndPurge"
	}
	return fmt.Sprintf("Result(%d)", uint8(r))
}

// TriggerContext is what a trigger may ask of the window operator, for the
// current key and the window the trigger was called for. It is valid only
// during that call, from the operator's goroutine.
//
// Timers are per key and window: registering a time that is already
// registered for them adds nothing, and deleting a time that is not is a
// no-op. An event-time timer fires (calls OnEventTime) when the watermark
// reaches its time, a processing-time timer (OnProcessingTime) when the
// processing time does; a timer registered at or before the current time
// fires as soon as the operator next advances that time.
type TriggerContext interface {
	// CurrentWatermark returns the operator's watermark: math.MinInt64
	// before the first, math.MaxInt64 at the end of input.
	CurrentWatermark() int64
	// CurrentProcessingTime returns the operator's processing time in
	// milliseconds.
	CurrentProcessingTime() int64
	RegisterEventTimeTimer(t int64)
	DeleteEventTimeTimer(t int64)
	RegisterProcessingTimeTimer(t int64)
	DeleteProcessingTimeTimer(t int64)
	// Int64State returns the trigger's reducing state called name for the
	// current key and window, reducing with reduce. A trigger passes the
	// same function for a name every time (the operator may keep the first
	// it is given). The returned state is valid only during the call.
	Int64State(name string, reduce state.ReduceFunc[int64]) (state.ReducingState[int64], error)
}

// OnMergeContext is the TriggerContext of Trigger.OnMerge, for the window
// that others merged into.
type OnMergeContext interface {
	TriggerContext
	// MergeInt64State merges the state called name of the windows that
	// merged into the current window into the current window's, with
	// reduce (see state.Merging.MergeNamespaces).
	MergeInt64State(name string, reduce state.ReduceFunc[int64]) error
}

// Trigger decides when a window is evaluated and when its contents are
// purged: Flink's Trigger. A trigger is a stateless value, safe to share
// between subtasks and goroutines; whatever it must remember per key and
// window it keeps in state and timers through the context. The operator
// calls it from one goroutine, for the current key.
//
// Errors come only from state (or a nested trigger) and fail the job; the
// triggers of this package wrap them with their String. Triggers with
// arguments implement Validator (see Assigner for the convention); one used
// without being validated returns its validation error from every method.
type Trigger[T any, W Window] interface {
	// OnElement is called for every record added to w, after the record
	// was added to the window's contents; ts is the record's timestamp
	// (math.MinInt64 if it has none).
	OnElement(v T, ts int64, w W, ctx TriggerContext) (Result, error)
	// OnEventTime is called when an event-time timer of w fires, with the
	// timer's time. The operator calls it for its own timers of w too
	// (the cleanup timer), so a trigger answers Continue to a time it does
	// not recognize.
	OnEventTime(t int64, w W, ctx TriggerContext) (Result, error)
	// OnProcessingTime is OnEventTime for processing-time timers.
	OnProcessingTime(t int64, w W, ctx TriggerContext) (Result, error)
	// CanMerge reports whether the trigger supports merging windows
	// (OnMerge). A merging assigner with a trigger that cannot merge is a
	// configuration error, which the operator reports before it starts.
	CanMerge() bool
	// OnMerge is called when windows merged into w, before Clear is called
	// for each of them. The trigger merges their state into w's
	// (MergeInt64State) and registers the timers w needs.
	OnMerge(w W, ctx OnMergeContext) error
	// Clear is called when w is discarded: at its cleanup time, or when it
	// merged into another window. The trigger deletes the timers it
	// registered for w and clears its state.
	Clear(w W, ctx TriggerContext) error
	// String describes the trigger and its arguments.
	String() string
}

// Int64 reduce functions of the triggers' state. They are package-level
// functions, so that passing them does not allocate.
func sumInt64(a, b int64) (int64, error) { return a + b, nil }
func minInt64(a, b int64) (int64, error) { return min(a, b), nil }

// addSat returns a+b (b >= 0), saturating at math.MaxInt64.
func addSat(a, b int64) int64 {
	if a > math.MaxInt64-b {
		return math.MaxInt64
	}
	return a + b
}

// subSat returns a-b (b >= 0), saturating at math.MinInt64.
func subSat(a, b int64) int64 {
	if a < math.MinInt64+b {
		return math.MinInt64
	}
	return a - b
}

// alignDown returns the largest multiple of interval (> 0) at or before t,
// saturating at math.MinInt64.
func alignDown(t, interval int64) int64 {
	start, ok := windowStart(t, 0, interval)
	if !ok {
		return math.MinInt64
	}
	return start
}

func triggerError(t fmt.Stringer, err error) error {
	return fmt.Errorf("%v: %w", t, err)
}

// EventTimeTrigger.

type eventTimeTrigger[T any, W Window] struct{}

// EventTimeTrigger returns Flink's EventTimeTrigger, the default trigger of
// event-time assigners: it fires a window once, when the watermark passes
// its end. On an element it registers an event-time timer at
// w.MaxTimestamp(), or fires at once if the watermark is already there (a
// late element within the allowed lateness); on a timer it fires if the
// time is w.MaxTimestamp(). It can merge: the merged window's timer is
// registered unless the watermark has passed it.
func EventTimeTrigger[T any, W Window]() Trigger[T, W] { return eventTimeTrigger[T, W]{} }

func (eventTimeTrigger[T, W]) OnElement(_ T, _ int64, w W, ctx TriggerContext) (Result, error) {
	if w.MaxTimestamp() <= ctx.CurrentWatermark() {
		return Fire, nil
	}
	ctx.RegisterEventTimeTimer(w.MaxTimestamp())
	return Continue, nil
}

func (eventTimeTrigger[T, W]) OnEventTime(t int64, w W, _ TriggerContext) (Result, error) {
	if t == w.MaxTimestamp() {
		return Fire, nil
	}
	return Continue, nil
}

func (eventTimeTrigger[T, W]) OnProcessingTime(int64, W, TriggerContext) (Result, error) {
	return Continue, nil
}

func (eventTimeTrigger[T, W]) CanMerge() bool { return true }

func (eventTimeTrigger[T, W]) OnMerge(w W, ctx OnMergeContext) error {
	if w.MaxTimestamp() > ctx.CurrentWatermark() {
		ctx.RegisterEventTimeTimer(w.MaxTimestamp())
	}
	return nil
}

func (eventTimeTrigger[T, W]) Clear(w W, ctx TriggerContext) error {
	ctx.DeleteEventTimeTimer(w.MaxTimestamp())
	return nil
}

func (eventTimeTrigger[T, W]) String() string { return "EventTimeTrigger()" }

// ProcessingTimeTrigger.

type processingTimeTrigger[T any, W Window] struct{}

// ProcessingTimeTrigger returns Flink's ProcessingTimeTrigger, the default
// trigger of processing-time assigners: on every element it registers a
// processing-time timer at w.MaxTimestamp(), and it fires on any
// processing-time timer of the window. On merge it registers the merged
// window's timer unless the processing time has passed it.
func ProcessingTimeTrigger[T any, W Window]() Trigger[T, W] {
	return processingTimeTrigger[T, W]{}
}

func (processingTimeTrigger[T, W]) OnElement(_ T, _ int64, w W, ctx TriggerContext) (Result, error) {
	ctx.RegisterProcessingTimeTimer(w.MaxTimestamp())
	return Continue, nil
}

func (processingTimeTrigger[T, W]) OnEventTime(int64, W, TriggerContext) (Result, error) {
	return Continue, nil
}

func (processingTimeTrigger[T, W]) OnProcessingTime(int64, W, TriggerContext) (Result, error) {
	return Fire, nil
}

func (processingTimeTrigger[T, W]) CanMerge() bool { return true }

func (processingTimeTrigger[T, W]) OnMerge(w W, ctx OnMergeContext) error {
	if w.MaxTimestamp() > ctx.CurrentProcessingTime() {
		ctx.RegisterProcessingTimeTimer(w.MaxTimestamp())
	}
	return nil
}

func (processingTimeTrigger[T, W]) Clear(w W, ctx TriggerContext) error {
	ctx.DeleteProcessingTimeTimer(w.MaxTimestamp())
	return nil
}

func (processingTimeTrigger[T, W]) String() string { return "ProcessingTimeTrigger()" }

// NeverTrigger.

type neverTrigger[T any, W Window] struct{}

// NeverTrigger returns Flink's GlobalWindows.NeverTrigger, the default
// trigger of GlobalWindows: it never fires and keeps nothing. As in Flink it
// does not claim to merge (CanMerge is false), and its OnMerge does nothing.
func NeverTrigger[T any, W Window]() Trigger[T, W] { return neverTrigger[T, W]{} }

func (neverTrigger[T, W]) OnElement(T, int64, W, TriggerContext) (Result, error) {
	return Continue, nil
}

func (neverTrigger[T, W]) OnEventTime(int64, W, TriggerContext) (Result, error) {
	return Continue, nil
}

func (neverTrigger[T, W]) OnProcessingTime(int64, W, TriggerContext) (Result, error) {
	return Continue, nil
}

func (neverTrigger[T, W]) CanMerge() bool                  { return false }
func (neverTrigger[T, W]) OnMerge(W, OnMergeContext) error { return nil }
func (neverTrigger[T, W]) Clear(W, TriggerContext) error   { return nil }
func (neverTrigger[T, W]) String() string                  { return "NeverTrigger()" }

// PurgingTrigger.

type purgingTrigger[T any, W Window] struct {
	nested Trigger[T, W]
}

// PurgingTrigger returns Flink's PurgingTrigger: it behaves as nested,
// except that where nested fires (Fire or FireAndPurge) it fires and purges
// (FireAndPurge), so that each firing sees only the elements that arrived
// since the last. Purge and Continue pass through. It can merge if nested
// can. nested must not be nil.
func PurgingTrigger[T any, W Window](nested Trigger[T, W]) Trigger[T, W] {
	return &purgingTrigger[T, W]{nested: nested}
}

func (p *purgingTrigger[T, W]) Validate() error {
	if p.nested == nil {
		return fmt.Errorf("%w: PurgingTrigger: the nested trigger is nil", ErrInvalidConfig)
	}
	return Validate(p.nested)
}

func purge(r Result, err error) (Result, error) {
	if r.IsFire() {
		r = FireAndPurge
	}
	return r, err
}

func (p *purgingTrigger[T, W]) OnElement(v T, ts int64, w W, ctx TriggerContext) (Result, error) {
	if p.nested == nil {
		return Continue, p.Validate()
	}
	return purge(p.nested.OnElement(v, ts, w, ctx))
}

func (p *purgingTrigger[T, W]) OnEventTime(t int64, w W, ctx TriggerContext) (Result, error) {
	if p.nested == nil {
		return Continue, p.Validate()
	}
	return purge(p.nested.OnEventTime(t, w, ctx))
}

func (p *purgingTrigger[T, W]) OnProcessingTime(t int64, w W, ctx TriggerContext) (Result, error) {
	if p.nested == nil {
		return Continue, p.Validate()
	}
	return purge(p.nested.OnProcessingTime(t, w, ctx))
}

func (p *purgingTrigger[T, W]) CanMerge() bool { return p.nested != nil && p.nested.CanMerge() }

func (p *purgingTrigger[T, W]) OnMerge(w W, ctx OnMergeContext) error {
	if p.nested == nil {
		return p.Validate()
	}
	return p.nested.OnMerge(w, ctx)
}

func (p *purgingTrigger[T, W]) Clear(w W, ctx TriggerContext) error {
	if p.nested == nil {
		return p.Validate()
	}
	return p.nested.Clear(w, ctx)
}

func (p *purgingTrigger[T, W]) String() string {
	return fmt.Sprintf("PurgingTrigger(%v)", p.nested)
}

// CountTrigger.

// countState is the name of CountTrigger's state, as in Flink.
const countState = "count"

type countTrigger[T any, W Window] struct {
	n int64
}

// CountTrigger returns Flink's CountTrigger: it counts the elements of a
// window in a reducing state called "count" and fires when the count
// reaches n, resetting it to zero. It does not purge (wrap it in a
// PurgingTrigger for that) and ignores time. On merge the counts add up;
// the merged count is checked at the next element, so a merge that brings
// it to n or beyond fires at the next element, as in Flink. n must be at
// least 1.
func CountTrigger[T any, W Window](n int64) Trigger[T, W] { return &countTrigger[T, W]{n: n} }

func (c *countTrigger[T, W]) Validate() error {
	if c.n < 1 {
		return fmt.Errorf("%w: %v: count %d is not positive", ErrInvalidConfig, c, c.n)
	}
	return nil
}

func (c *countTrigger[T, W]) OnElement(_ T, _ int64, _ W, ctx TriggerContext) (Result, error) {
	if err := c.Validate(); err != nil {
		return Continue, err
	}
	s, err := ctx.Int64State(countState, sumInt64)
	if err != nil {
		return Continue, triggerError(c, err)
	}
	if err := s.Add(1); err != nil {
		return Continue, triggerError(c, err)
	}
	n, _, err := s.Get()
	if err != nil {
		return Continue, triggerError(c, err)
	}
	if n >= c.n {
		if err := s.Clear(); err != nil {
			return Continue, triggerError(c, err)
		}
		return Fire, nil
	}
	return Continue, nil
}

func (c *countTrigger[T, W]) OnEventTime(int64, W, TriggerContext) (Result, error) {
	return Continue, nil
}

func (c *countTrigger[T, W]) OnProcessingTime(int64, W, TriggerContext) (Result, error) {
	return Continue, nil
}

func (c *countTrigger[T, W]) CanMerge() bool { return true }

func (c *countTrigger[T, W]) OnMerge(_ W, ctx OnMergeContext) error {
	if err := ctx.MergeInt64State(countState, sumInt64); err != nil {
		return triggerError(c, err)
	}
	return nil
}

func (c *countTrigger[T, W]) Clear(_ W, ctx TriggerContext) error {
	s, err := ctx.Int64State(countState, sumInt64)
	if err == nil {
		err = s.Clear()
	}
	if err != nil {
		return triggerError(c, err)
	}
	return nil
}

func (c *countTrigger[T, W]) String() string { return fmt.Sprintf("CountTrigger(%d)", c.n) }

// Continuous triggers.

// fireTimeState is the name of the continuous triggers' state, as in Flink:
// the next time at which they fire early. It reduces by minimum, so that
// merged windows fire at the earliest of their next times.
const fireTimeState = "fire-time"

type continuousTrigger[T any, W Window] struct {
	eventTime  bool
	interval   time.Duration
	intervalMs int64
	err        error
}

// ContinuousEventTimeTrigger returns Flink's ContinuousEventTimeTrigger: it
// fires a window every interval of event time while the watermark
// advances through it, and once more at its end.
//
// On the first element of a window (when its "fire-time" state is empty)
// it registers an event-time timer at the first multiple of interval after
// the element's timestamp (but no later than w.MaxTimestamp()), and on every
// element a timer at w.MaxTimestamp() (or it fires at once if the watermark
// is past that). When the fire-time timer fires, it fires the window and
// registers the next one, interval later but again no later than
// w.MaxTimestamp(); the timer at w.MaxTimestamp() fires the window in any
// case. On merge the earliest fire time of the merged windows is kept and
// registered.
//
// Two decisions differ from Flink, neither changing what is emitted: the
// multiples of interval are floored for negative timestamps as window
// starts are (Flink truncates toward zero, so ts -5 with interval 10 first
// fires at 10 instead of 0); and Clear also deletes the timer at
// w.MaxTimestamp(), which Flink leaves to fire on a window already gone.
//
// interval must be a positive whole number of milliseconds.
func ContinuousEventTimeTrigger[T any, W Window](interval time.Duration) Trigger[T, W] {
	return newContinuous[T, W](true, interval)
}

// ContinuousProcessingTimeTrigger returns Flink's
// ContinuousProcessingTimeTrigger: it fires a window every interval of
// processing time from the first element on. On the first element of a
// window (when its "fire-time" state is empty) it registers a
// processing-time timer at the first multiple of interval after the
// current processing time (but no later than w.MaxTimestamp()); when that
// timer fires, it fires the window and registers the next one. On merge the
// earliest fire time of the merged windows is kept and registered.
//
// Unlike Flink it does not register again a timer at the time that is
// firing, which happens once the fire time reaches w.MaxTimestamp(): Flink
// relies on the window's cleanup at that time to delete it, and fires in a
// loop where there is no such cleanup (an event-time window). The next
// element registers a timer again.
//
// interval must be a positive whole number of milliseconds.
func ContinuousProcessingTimeTrigger[T any, W Window](interval time.Duration) Trigger[T, W] {
	return newContinuous[T, W](false, interval)
}

func newContinuous[T any, W Window](eventTime bool, interval time.Duration) *continuousTrigger[T, W] {
	c := &continuousTrigger[T, W]{eventTime: eventTime, interval: interval}
	c.intervalMs, c.err = positiveMillis(c.String(), "interval", interval)
	return c
}

func (c *continuousTrigger[T, W]) Validate() error { return c.err }

func (c *continuousTrigger[T, W]) register(t int64, ctx TriggerContext) {
	if c.eventTime {
		ctx.RegisterEventTimeTimer(t)
	} else {
		ctx.RegisterProcessingTimeTimer(t)
	}
}

func (c *continuousTrigger[T, W]) delete(t int64, ctx TriggerContext) {
	if c.eventTime {
		ctx.DeleteEventTimeTimer(t)
	} else {
		ctx.DeleteProcessingTimeTimer(t)
	}
}

// registerNext stores and registers the fire time after t: t+interval, but
// no later than the window's last millisecond.
func (c *continuousTrigger[T, W]) registerNext(t int64, w W, s state.ReducingState[int64], ctx TriggerContext) error {
	next := min(addSat(t, c.intervalMs), w.MaxTimestamp())
	if err := s.Add(next); err != nil {
		return err
	}
	c.register(next, ctx)
	return nil
}

func (c *continuousTrigger[T, W]) OnElement(_ T, ts int64, w W, ctx TriggerContext) (Result, error) {
	if c.err != nil {
		return Continue, c.err
	}
	if c.eventTime {
		if w.MaxTimestamp() <= ctx.CurrentWatermark() {
			return Fire, nil
		}
		ctx.RegisterEventTimeTimer(w.MaxTimestamp())
	} else {
		ts = ctx.CurrentProcessingTime()
	}
	s, err := ctx.Int64State(fireTimeState, minInt64)
	if err != nil {
		return Continue, triggerError(c, err)
	}
	_, ok, err := s.Get()
	if err == nil && !ok {
		err = c.registerNext(alignDown(ts, c.intervalMs), w, s, ctx)
	}
	if err != nil {
		return Continue, triggerError(c, err)
	}
	return Continue, nil
}

// onTimer is OnEventTime for the event-time trigger and OnProcessingTime
// for the processing-time one.
func (c *continuousTrigger[T, W]) onTimer(t int64, w W, ctx TriggerContext) (Result, error) {
	if c.err != nil {
		return Continue, c.err
	}
	if c.eventTime && t == w.MaxTimestamp() {
		return Fire, nil
	}
	s, err := ctx.Int64State(fireTimeState, minInt64)
	if err != nil {
		return Continue, triggerError(c, err)
	}
	fireTime, ok, err := s.Get()
	if err != nil {
		return Continue, triggerError(c, err)
	}
	if !ok || fireTime != t {
		return Continue, nil
	}
	if err := s.Clear(); err != nil {
		return Continue, triggerError(c, err)
	}
	if t < w.MaxTimestamp() {
		if err := c.registerNext(t, w, s, ctx); err != nil {
			return Continue, triggerError(c, err)
		}
	}
	return Fire, nil
}

func (c *continuousTrigger[T, W]) OnEventTime(t int64, w W, ctx TriggerContext) (Result, error) {
	if !c.eventTime {
		return Continue, c.err
	}
	return c.onTimer(t, w, ctx)
}

func (c *continuousTrigger[T, W]) OnProcessingTime(t int64, w W, ctx TriggerContext) (Result, error) {
	if c.eventTime {
		return Continue, c.err
	}
	return c.onTimer(t, w, ctx)
}

func (c *continuousTrigger[T, W]) CanMerge() bool { return true }

func (c *continuousTrigger[T, W]) OnMerge(_ W, ctx OnMergeContext) error {
	if c.err != nil {
		return c.err
	}
	if err := ctx.MergeInt64State(fireTimeState, minInt64); err != nil {
		return triggerError(c, err)
	}
	s, err := ctx.Int64State(fireTimeState, minInt64)
	if err != nil {
		return triggerError(c, err)
	}
	fireTime, ok, err := s.Get()
	if err != nil {
		return triggerError(c, err)
	}
	if ok {
		c.register(fireTime, ctx)
	}
	return nil
}

func (c *continuousTrigger[T, W]) Clear(w W, ctx TriggerContext) error {
	if c.err != nil {
		return c.err
	}
	if c.eventTime {
		ctx.DeleteEventTimeTimer(w.MaxTimestamp())
	}
	s, err := ctx.Int64State(fireTimeState, minInt64)
	if err != nil {
		return triggerError(c, err)
	}
	fireTime, ok, err := s.Get()
	if err == nil && ok {
		c.delete(fireTime, ctx)
		err = s.Clear()
	}
	if err != nil {
		return triggerError(c, err)
	}
	return nil
}

func (c *continuousTrigger[T, W]) String() string {
	if c.eventTime {
		return fmt.Sprintf("ContinuousEventTimeTrigger(%v)", c.interval)
	}
	return fmt.Sprintf("ContinuousProcessingTimeTrigger(%v)", c.interval)
}
