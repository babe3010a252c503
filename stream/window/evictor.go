package window

import (
	"fmt"
	"math"
	"time"
)

// TimestampedValue is a window element with its timestamp, as an evictor
// sees it; Timestamp is math.MinInt64 if the element has none.
type TimestampedValue[T any] struct {
	Value     T
	Timestamp int64
}

// EvictorContext is what an evictor may ask of the operator. It is valid
// only during the call it is passed to.
type EvictorContext interface {
	// CurrentWatermark returns the operator's watermark (math.MinInt64
	// before the first).
	CurrentWatermark() int64
	// CurrentProcessingTime returns the operator's processing time in
	// milliseconds.
	CurrentProcessingTime() int64
}

// Evictor removes elements from a window when it fires: Flink's Evictor.
// The operator of a window with an evictor keeps every element (it cannot
// aggregate incrementally), and when the trigger fires it calls EvictBefore,
// the window function on what is kept, then EvictAfter; what EvictAfter
// keeps stays in the window.
//
// Both methods are given the window's elements in the order they were
// added and return the elements kept, in the same order. They may reorder
// or overwrite elems and return a prefix of it (so without allocating); the
// caller must use only the returned slice afterwards. An evictor is a
// stateless value, safe to share between subtasks and goroutines. Evictors
// with arguments implement Validator; one used without being validated
// evicts nothing.
type Evictor[T any, W Window] interface {
	// EvictBefore is called before the window function.
	EvictBefore(elems []TimestampedValue[T], w W, ctx EvictorContext) []TimestampedValue[T]
	// EvictAfter is called after the window function.
	EvictAfter(elems []TimestampedValue[T], w W, ctx EvictorContext) []TimestampedValue[T]
}

// CountEvictor.

type countEvictor[T any, W Window] struct {
	max   int
	after bool
}

// CountEvictor returns Flink's CountEvictor: it keeps the last max elements
// of the window (those added last) and evicts the others, before the window
// function or, if evictAfter, after it. max must not be negative.
func CountEvictor[T any, W Window](max int, evictAfter bool) Evictor[T, W] {
	return &countEvictor[T, W]{max: max, after: evictAfter}
}

func (e *countEvictor[T, W]) Validate() error {
	if e.max < 0 {
		return fmt.Errorf("%w: %v: max %d is negative", ErrInvalidConfig, e, e.max)
	}
	return nil
}

func (e *countEvictor[T, W]) evict(elems []TimestampedValue[T]) []TimestampedValue[T] {
	if e.max < 0 || len(elems) <= e.max {
		return elems
	}
	n := copy(elems, elems[len(elems)-e.max:])
	clear(elems[n:]) // let the evicted values be collected
	return elems[:n]
}

func (e *countEvictor[T, W]) EvictBefore(elems []TimestampedValue[T], _ W, _ EvictorContext) []TimestampedValue[T] {
	return inPhase(!e.after, elems, e.evict)
}

func (e *countEvictor[T, W]) EvictAfter(elems []TimestampedValue[T], _ W, _ EvictorContext) []TimestampedValue[T] {
	return inPhase(e.after, elems, e.evict)
}

func (e *countEvictor[T, W]) String() string {
	return fmt.Sprintf("CountEvictor(max=%d, evictAfter=%t)", e.max, e.after)
}

// TimeEvictor.

type timeEvictor[T any, W Window] struct {
	keep   time.Duration
	keepMs int64
	after  bool
	err    error
}

// TimeEvictor returns Flink's TimeEvictor: it keeps the elements whose
// timestamp is greater than the largest timestamp in the window minus keep,
// and evicts the others, before the window function or, if evictAfter,
// after it. As in Flink, it evicts nothing if the first element has no
// timestamp (elements are assumed all to have one or all not to). keep
// must be a non-negative whole number of milliseconds (0 evicts
// everything).
func TimeEvictor[T any, W Window](keep time.Duration, evictAfter bool) Evictor[T, W] {
	e := &timeEvictor[T, W]{keep: keep, after: evictAfter}
	ms, ok := millis(keep)
	if !ok || ms < 0 {
		e.err = fmt.Errorf("%w: %v: keep %v is not a non-negative whole number of milliseconds", ErrInvalidConfig, e, keep)
	}
	e.keepMs = ms
	return e
}

func (e *timeEvictor[T, W]) Validate() error { return e.err }

func (e *timeEvictor[T, W]) evict(elems []TimestampedValue[T]) []TimestampedValue[T] {
	if e.err != nil || len(elems) == 0 || elems[0].Timestamp == math.MinInt64 {
		return elems
	}
	latest := int64(math.MinInt64)
	for i := range elems {
		latest = max(latest, elems[i].Timestamp)
	}
	cutoff := subSat(latest, e.keepMs)
	n := 0
	for i := range elems {
		if elems[i].Timestamp > cutoff {
			elems[n] = elems[i]
			n++
		}
	}
	clear(elems[n:])
	return elems[:n]
}

func (e *timeEvictor[T, W]) EvictBefore(elems []TimestampedValue[T], _ W, _ EvictorContext) []TimestampedValue[T] {
	return inPhase(!e.after, elems, e.evict)
}

func (e *timeEvictor[T, W]) EvictAfter(elems []TimestampedValue[T], _ W, _ EvictorContext) []TimestampedValue[T] {
	return inPhase(e.after, elems, e.evict)
}

func (e *timeEvictor[T, W]) String() string {
	return fmt.Sprintf("TimeEvictor(keep=%v, evictAfter=%t)", e.keep, e.after)
}

// DeltaEvictor.

type deltaEvictor[T any, W Window] struct {
	threshold float64
	delta     func(old, new T) float64
	after     bool
}

// DeltaEvictor returns Flink's DeltaEvictor: it evicts the elements whose
// delta to the last element of the window, delta(element, last), is at
// least threshold, and keeps the others (the last element too, unless its
// delta to itself reaches threshold), before the window function or, if
// evictAfter, after it. delta must not be nil, must not block, and is
// called from the operator's goroutine; threshold must not be NaN.
func DeltaEvictor[T any, W Window](threshold float64, delta func(old, new T) float64, evictAfter bool) Evictor[T, W] {
	return &deltaEvictor[T, W]{threshold: threshold, delta: delta, after: evictAfter}
}

func (e *deltaEvictor[T, W]) Validate() error {
	if e.delta == nil {
		return fmt.Errorf("%w: %v: the delta function is nil", ErrInvalidConfig, e)
	}
	if math.IsNaN(e.threshold) {
		return fmt.Errorf("%w: %v: the threshold is NaN", ErrInvalidConfig, e)
	}
	return nil
}

func (e *deltaEvictor[T, W]) evict(elems []TimestampedValue[T]) []TimestampedValue[T] {
	if e.delta == nil || len(elems) == 0 {
		return elems
	}
	last := elems[len(elems)-1].Value
	n := 0
	for i := range elems {
		if !(e.delta(elems[i].Value, last) >= e.threshold) {
			elems[n] = elems[i]
			n++
		}
	}
	clear(elems[n:])
	return elems[:n]
}

func (e *deltaEvictor[T, W]) EvictBefore(elems []TimestampedValue[T], _ W, _ EvictorContext) []TimestampedValue[T] {
	return inPhase(!e.after, elems, e.evict)
}

func (e *deltaEvictor[T, W]) EvictAfter(elems []TimestampedValue[T], _ W, _ EvictorContext) []TimestampedValue[T] {
	return inPhase(e.after, elems, e.evict)
}

func (e *deltaEvictor[T, W]) String() string {
	return fmt.Sprintf("DeltaEvictor(threshold=%v, evictAfter=%t)", e.threshold, e.after)
}

// inPhase evicts from elems if the evictor works in the phase being asked
// for (before or after the window function), and keeps them all otherwise.
func inPhase[T any](active bool, elems []TimestampedValue[T], evict func([]TimestampedValue[T]) []TimestampedValue[T]) []TimestampedValue[T] {
	if !active {
		return elems
	}
	return evict(elems)
}
