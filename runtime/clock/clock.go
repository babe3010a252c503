// Package clock is how the runtime reads processing time, so that tests can
// drive time by hand.
//
// The runtime never calls time.Now or time.NewTimer directly for
// processing-time decisions (state TTL, processing-time timers, periodic
// watermarks): it asks a Clock. System is the real one; Manual is moved by
// tests.
package clock

import (
	"sync"
	"time"
)

// Clock tells processing time. Implementations are safe for concurrent use.
type Clock interface {
	// Now returns the current processing time.
	Now() time.Time
}

// System is the wall clock.
type System struct{}

// Now implements Clock.
func (System) Now() time.Time { return time.Now() }

// Manual is a clock that moves only when told to.
type Manual struct {
	mu  sync.Mutex
	now time.Time
}

// NewManual returns a manual clock showing t.
func NewManual(t time.Time) *Manual { return &Manual{now: t} }

// Now implements Clock.
func (m *Manual) Now() time.Time {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.now
}

// Advance moves the clock forward by d.
func (m *Manual) Advance(d time.Duration) {
	m.mu.Lock()
	m.now = m.now.Add(d)
	m.mu.Unlock()
}

// Set moves the clock to t.
func (m *Manual) Set(t time.Time) {
	m.mu.Lock()
	m.now = t
	m.mu.Unlock()
}

// Millis returns t as milliseconds since the Unix epoch, the unit of
// timestamps and timers in runnel.
func Millis(t time.Time) int64 { return t.UnixMilli() }
