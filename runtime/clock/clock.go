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
	// AfterFunc calls f in its own goroutine once the clock has advanced by
	// d, unless the returned timer is stopped first.
	AfterFunc(d time.Duration, f func()) Timer
}

// Timer is a pending AfterFunc.
type Timer interface {
	// Stop prevents the call if it has not happened yet and reports
	// whether it did so.
	Stop() bool
}

// System is the wall clock.
type System struct{}

// Now implements Clock.
func (System) Now() time.Time { return time.Now() }

// AfterFunc implements Clock.
func (System) AfterFunc(d time.Duration, f func()) Timer { return time.AfterFunc(d, f) }

// Manual is a clock that moves only when told to. Its AfterFunc calls
// happen inside Advance and Set, when the clock passes their time.
type Manual struct {
	mu      sync.Mutex
	now     time.Time
	pending []*manualTimer
}

type manualTimer struct {
	m    *Manual
	at   time.Time
	f    func()
	done bool
}

// Stop implements Timer.
func (t *manualTimer) Stop() bool {
	t.m.mu.Lock()
	defer t.m.mu.Unlock()
	if t.done {
		return false
	}
	t.done = true
	return true
}

// AfterFunc implements Clock.
func (m *Manual) AfterFunc(d time.Duration, f func()) Timer {
	m.mu.Lock()
	t := &manualTimer{m: m, at: m.now.Add(d), f: f}
	m.pending = append(m.pending, t)
	m.mu.Unlock()
	m.fire()
	return t
}

// fire runs the timers that are due, in order of their time.
func (m *Manual) fire() {
	for {
		m.mu.Lock()
		var next *manualTimer
		keep := m.pending[:0]
		for _, t := range m.pending {
			if t.done {
				continue
			}
			keep = append(keep, t)
			if !t.at.After(m.now) && (next == nil || t.at.Before(next.at)) {
				next = t
			}
		}
		m.pending = keep
		if next != nil {
			next.done = true
		}
		m.mu.Unlock()
		if next == nil {
			return
		}
		next.f()
	}
}

// NewManual returns a manual clock showing t.
func NewManual(t time.Time) *Manual { return &Manual{now: t} }

// Now implements Clock.
func (m *Manual) Now() time.Time {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.now
}

// Advance moves the clock forward by d and runs the AfterFunc calls that
// became due.
func (m *Manual) Advance(d time.Duration) {
	m.mu.Lock()
	m.now = m.now.Add(d)
	m.mu.Unlock()
	m.fire()
}

// Set moves the clock to t and runs the AfterFunc calls that became due.
func (m *Manual) Set(t time.Time) {
	m.mu.Lock()
	m.now = t
	m.mu.Unlock()
	m.fire()
}

// Millis returns t as milliseconds since the Unix epoch, the unit of
// timestamps and timers in runnel.
func Millis(t time.Time) int64 { return t.UnixMilli() }
