// Package serial runs a core on one goroutine: functions queued from any
// goroutine run there in order, and the core is stepped after each batch
// and at the deadlines it asks for. The checkpoint coordinator's driver
// and the resource manager's service are built on it.
package serial

import (
	"context"
	"errors"
	"sync"
	"time"

	"github.com/runnel-io/runnel/runtime/clock"
)

// ErrStopped is returned by Call once Run has returned.
var ErrStopped = errors.New("serial: stopped")

// Loop is a queue of functions and the goroutine that runs them (Run).
// Do and Call are safe for concurrent use.
type Loop struct {
	mu     sync.Mutex
	queue  []func()
	signal chan struct{}
	done   chan struct{}
}

// New returns a loop that is not running yet; functions queued before Run
// run when it starts.
func New() *Loop {
	return &Loop{signal: make(chan struct{}, 1), done: make(chan struct{})}
}

// Do queues fn to run on the loop's goroutine.
func (l *Loop) Do(fn func()) {
	l.mu.Lock()
	l.queue = append(l.queue, fn)
	l.mu.Unlock()
	select {
	case l.signal <- struct{}{}:
	default:
	}
}

// Call runs fn on the loop's goroutine and waits for it to return. It
// returns ErrStopped if the loop stopped first, and ctx's error if ctx is
// done first (fn may still run then).
func (l *Loop) Call(ctx context.Context, fn func()) error {
	ran := make(chan struct{})
	l.Do(func() { fn(); close(ran) })
	select {
	case <-ran:
		return nil
	case <-l.done:
		return ErrStopped
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Stopped is closed once Run has returned.
func (l *Loop) Stopped() <-chan struct{} { return l.done }

// Run runs queued functions until ctx is done. After each batch it calls
// step, which returns the next time (milliseconds since the epoch, by clk)
// at which it wants to be called again, if any. Run closes Stopped when it
// returns; functions queued afterwards never run.
func (l *Loop) Run(ctx context.Context, clk clock.Clock, step func() (deadline int64, ok bool)) {
	defer close(l.done)
	var timer clock.Timer
	tick := make(chan struct{}, 1)
	defer func() {
		if timer != nil {
			timer.Stop()
		}
	}()
	var batch []func()
	for {
		l.mu.Lock()
		batch = append(batch[:0], l.queue...)
		clear(l.queue)
		l.queue = l.queue[:0]
		l.mu.Unlock()
		for _, fn := range batch {
			fn()
		}
		clear(batch)
		at, ok := step()
		if timer != nil {
			timer.Stop()
			timer = nil
		}
		if ok {
			fire := func() {
				select {
				case tick <- struct{}{}:
				default:
				}
			}
			d := time.Duration(at-clk.Now().UnixMilli()) * time.Millisecond
			timer = clk.AfterFunc(max(d, 0), fire)
			// The clock may have passed the deadline between reading it and
			// arming the timer, which then waits d from a later now.
			if clk.Now().UnixMilli() >= at {
				fire()
			}
		}
		select {
		case <-ctx.Done():
			return
		case <-l.signal:
		case <-tick:
		}
	}
}
