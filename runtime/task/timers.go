package task

import (
	"container/heap"
	"time"

	"github.com/runnel-io/runnel/runtime/clock"
	"github.com/runnel-io/runnel/runtime/operator"
)

// timers is the task's processing-time service. Callbacks are kept in a
// heap by time; one clock timer, for the earliest, signals wake, and the
// task's loop runs the due callbacks on its own goroutine (fire).
type timers struct {
	clock clock.Clock
	queue timerHeap
	seq   uint64
	armed clock.Timer
	at    int64 // time armed is set for
	wake  chan struct{}
	// signal is the clock timer's function: it signals wake.
	signal func()
	// stopped: quiesced; callbacks are no longer registered.
	stopped bool
}

type timer struct {
	t         int64
	seq       uint64 // registration order among equal times
	fn        func(now int64) error
	cancelled bool
	index     int
}

func newTimers(c clock.Clock) *timers {
	s := &timers{clock: c, wake: make(chan struct{}, 1)}
	s.signal = func() {
		select {
		case s.wake <- struct{}{}:
		default:
		}
	}
	return s
}

// Now implements operator.ProcessingTimeService.
func (s *timers) Now() int64 { return s.clock.Now().UnixMilli() }

// Register implements operator.ProcessingTimeService.
func (s *timers) Register(t int64, fn func(now int64) error) operator.Cancel {
	if s.stopped {
		return func() bool { return false }
	}
	tm := &timer{fn: fn}
	s.push(tm, t)
	return func() bool {
		if tm.cancelled || tm.index < 0 {
			return false
		}
		tm.cancelled = true
		heap.Remove(&s.queue, tm.index)
		return true
	}
}

// every runs fn every period milliseconds of the clock, the first time a
// period from now, until the service is stopped: each run registers the
// next, a period after the time it ran at. It reuses one timer, so that a
// period costs no allocation of its own.
func (s *timers) every(period int64, fn func(now int64) error) {
	tm := &timer{}
	tm.fn = func(now int64) error {
		if err := fn(now); err != nil {
			return err
		}
		if !s.stopped {
			s.push(tm, now+period)
		}
		return nil
	}
	if !s.stopped {
		s.push(tm, s.Now()+period)
	}
}

// push queues tm, not queued, for time t.
func (s *timers) push(tm *timer, t int64) {
	s.seq++
	tm.t, tm.seq = t, s.seq
	heap.Push(&s.queue, tm)
	s.arm()
}

// arm sets the clock timer for the earliest callback.
func (s *timers) arm() {
	if len(s.queue) == 0 {
		return
	}
	next := s.queue[0].t
	if s.armed != nil && s.at <= next {
		return
	}
	if s.armed != nil {
		s.armed.Stop()
	}
	s.at = next
	d := time.Duration(next-s.Now()) * time.Millisecond
	s.armed = s.clock.AfterFunc(max(d, 0), s.signal)
}

// fire runs every callback that is due, in time order. Callbacks may
// register more.
func (s *timers) fire() error {
	s.armed = nil
	now := s.Now()
	for len(s.queue) > 0 && s.queue[0].t <= now {
		tm := heap.Pop(&s.queue).(*timer)
		if err := tm.fn(now); err != nil {
			return err
		}
	}
	// A callback may have armed the clock for a time that has passed
	// since; arm afresh for what is left.
	if s.armed != nil {
		s.armed.Stop()
		s.armed = nil
	}
	s.arm()
	return nil
}

// stop drops every callback and ignores those registered later: the
// service is quiesced when the chain has finished or closes.
func (s *timers) stop() {
	if s.armed != nil {
		s.armed.Stop()
		s.armed = nil
	}
	for _, tm := range s.queue {
		tm.index = -1
	}
	s.queue = nil
	s.stopped = true
}

type timerHeap []*timer

func (h timerHeap) Len() int { return len(h) }
func (h timerHeap) Less(i, j int) bool {
	return h[i].t < h[j].t || h[i].t == h[j].t && h[i].seq < h[j].seq
}
func (h timerHeap) Swap(i, j int) {
	h[i], h[j] = h[j], h[i]
	h[i].index, h[j].index = i, j
}
func (h *timerHeap) Push(x any) {
	t := x.(*timer)
	t.index = len(*h)
	*h = append(*h, t)
}
func (h *timerHeap) Pop() any {
	old := *h
	t := old[len(old)-1]
	old[len(old)-1] = nil
	t.index = -1
	*h = old[:len(old)-1]
	return t
}
