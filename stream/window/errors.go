package window

import (
	"errors"
	"fmt"
	"time"
)

// Sentinel errors. Errors returned by this package wrap one of them (check
// with errors.Is) and name the assigner, trigger, evictor or window
// concerned.
var (
	// ErrInvalidConfig is returned by Validate, and by the methods of an
	// assigner or trigger that was used without being validated, when a
	// constructor was given a value it cannot work with: a size, slide,
	// gap or interval that is not a positive whole number of milliseconds,
	// an offset out of range, a count below one, a nil function or a nil
	// nested trigger.
	ErrInvalidConfig = errors.New("window: invalid configuration")
	// ErrNoTimestamp is returned by an event-time assigner given a record
	// without a timestamp (math.MinInt64).
	ErrNoTimestamp = errors.New("window: record has no timestamp: did you assign timestamps and watermarks?")
	// ErrTimestampOutOfRange is returned by an assigner when a window of
	// the record would start before math.MinInt64 or end after
	// math.MaxInt64, which an int64 cannot represent.
	ErrTimestampOutOfRange = errors.New("window: window of timestamp out of int64 range")
	// ErrInvalidGap is returned by a dynamic session assigner whose gap
	// function returned a gap that is not a positive whole number of
	// milliseconds.
	ErrInvalidGap = errors.New("window: dynamic session gap must be a positive whole number of milliseconds")
	// ErrUnknownWindow is returned by MergingWindowSet.RetireWindow for a
	// window that is not in flight.
	ErrUnknownWindow = errors.New("window: window is not in flight")
	// ErrInvalidMerge is returned by MergingWindowSet.AddWindow when the
	// merging assigner reported a merge that cannot be applied: a group of
	// fewer than two windows, or a window that is neither in flight nor the
	// new window. It is a bug in the assigner's MergeWindows.
	ErrInvalidMerge = errors.New("window: merging assigner reported an invalid merge")
)

// Validator is implemented by the assigners, triggers and evictors of this
// package whose constructors take arguments that can be invalid.
// Constructors never panic and never fail: they keep what they were given,
// and Validate reports whether it can be used. The operator (or the
// dataflow check that runs before a job starts) calls Validate once and
// reports its error, which names the component and the value.
type Validator interface {
	// Validate returns nil or an error wrapping ErrInvalidConfig.
	Validate() error
}

// Validate returns the error of v's Validate method if v implements
// Validator, and nil otherwise. It is meant for operators, which hold
// assigners, triggers and evictors as interfaces.
func Validate(v any) error {
	if val, ok := v.(Validator); ok {
		return val.Validate()
	}
	return nil
}

// millis converts d to whole milliseconds; ok is false if d is not a whole
// number of milliseconds.
func millis(d time.Duration) (ms int64, ok bool) {
	if d%time.Millisecond != 0 {
		return 0, false
	}
	return int64(d / time.Millisecond), true
}

// positiveMillis converts d, which must be a positive whole number of
// milliseconds, or returns an error naming the component and the argument.
func positiveMillis(component, arg string, d time.Duration) (int64, error) {
	ms, ok := millis(d)
	if !ok || ms <= 0 {
		return 0, fmt.Errorf("%w: %s: %s %v is not a positive whole number of milliseconds", ErrInvalidConfig, component, arg, d)
	}
	return ms, nil
}
