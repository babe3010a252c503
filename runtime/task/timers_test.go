package task

import (
	"errors"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/runnel-io/runnel/runtime/clock"
)

// t0 is where the manual clocks of these tests start, in milliseconds.
const t0 = 1_000_000

// timersAt returns a processing-time service on a manual clock at t0.
func timersAt() (*timers, *clock.Manual) {
	clk := clock.NewManual(time.UnixMilli(t0))
	return newTimers(clk), clk
}

// woken reports whether the service has signalled its task to call fire,
// and consumes the signal.
func woken(s *timers) bool {
	select {
	case <-s.wake:
		return true
	default:
		return false
	}
}

// callLog collects what callbacks did, as "name@now".
type callLog []string

func (l *callLog) cb(name string) func(now int64) error {
	return func(now int64) error {
		*l = append(*l, fmt.Sprintf("%s@%d", name, now-t0))
		return nil
	}
}

func (l *callLog) take() []string {
	s := slices.Clone(*l)
	*l = (*l)[:0]
	return s
}

func wantLog(t *testing.T, l *callLog, want ...string) {
	t.Helper()
	if got := l.take(); !slices.Equal(got, want) {
		t.Fatalf("callbacks ran %q, want %q", got, want)
	}
}

func TestTimersRunInTimeOrderOnlyFromFire(t *testing.T) {
	s, clk := timersAt()
	var l callLog
	s.Register(t0+300, l.cb("a"))
	s.Register(t0+100, l.cb("b"))
	s.Register(t0+200, l.cb("c"))
	s.Register(t0+100, l.cb("d")) // ties run in registration order
	if woken(s) {
		t.Fatal("woken before any callback is due")
	}
	clk.Advance(99 * time.Millisecond)
	if woken(s) {
		t.Fatal("woken at 99, the first callback is at 100")
	}
	clk.Advance(time.Millisecond)
	// The clock only signals: callbacks run on the task's goroutine, in
	// fire.
	wantLog(t, &l)
	if !woken(s) {
		t.Fatal("not woken at 100")
	}
	if err := s.fire(); err != nil {
		t.Fatal(err)
	}
	wantLog(t, &l, "b@100", "d@100")
	// A late fire runs everything due by then, in time order, with the
	// time of the fire.
	clk.Advance(250 * time.Millisecond)
	if !woken(s) {
		t.Fatal("not woken at 350")
	}
	wantLog(t, &l)
	if err := s.fire(); err != nil {
		t.Fatal(err)
	}
	wantLog(t, &l, "c@350", "a@350")
	// Nothing left: no more signals, and a spurious fire runs nothing.
	clk.Advance(time.Hour)
	if woken(s) {
		t.Fatal("woken with no callback registered")
	}
	if err := s.fire(); err != nil {
		t.Fatal(err)
	}
	wantLog(t, &l)
}

func TestTimersFireRunsOnlyWhatIsDue(t *testing.T) {
	s, clk := timersAt()
	var l callLog
	s.Register(t0+100, l.cb("a"))
	s.Register(t0+200, l.cb("b"))
	clk.Advance(150 * time.Millisecond)
	if !woken(s) {
		t.Fatal("not woken at 150")
	}
	if err := s.fire(); err != nil {
		t.Fatal(err)
	}
	wantLog(t, &l, "a@150")
	// fire re-armed the clock for b.
	clk.Advance(49 * time.Millisecond)
	if woken(s) {
		t.Fatal("woken at 199, b is at 200")
	}
	clk.Advance(time.Millisecond)
	if !woken(s) {
		t.Fatal("not woken at 200 for b")
	}
	if err := s.fire(); err != nil {
		t.Fatal(err)
	}
	wantLog(t, &l, "b@200")
}

func TestTimersCancel(t *testing.T) {
	s, clk := timersAt()
	var l callLog
	cancelA := s.Register(t0+100, l.cb("a"))
	cancelB := s.Register(t0+100, l.cb("b"))
	cancelC := s.Register(t0+200, l.cb("c"))
	if !cancelA() {
		t.Error("cancelling a pending callback reported false")
	}
	if cancelA() {
		t.Error("cancelling a callback twice reported true the second time")
	}
	clk.Advance(200 * time.Millisecond)
	if !woken(s) {
		t.Fatal("not woken")
	}
	if err := s.fire(); err != nil {
		t.Fatal(err)
	}
	wantLog(t, &l, "b@200", "c@200")
	if cancelB() || cancelC() {
		t.Error("cancelling a callback that ran reported true")
	}
}

func TestTimersCancelAll(t *testing.T) {
	s, clk := timersAt()
	var l callLog
	cancel := s.Register(t0+100, l.cb("a"))
	cancel()
	clk.Advance(time.Second)
	// The clock may still signal for the cancelled callback (a spurious
	// wake-up is allowed), but fire runs nothing.
	woken(s)
	if err := s.fire(); err != nil {
		t.Fatal(err)
	}
	wantLog(t, &l)
}

func TestTimersCallbackCancelsALaterOne(t *testing.T) {
	s, clk := timersAt()
	var l callLog
	var cancelB func() bool
	s.Register(t0+100, func(now int64) error {
		l = append(l, "a")
		if !cancelB() {
			t.Error("cancelling b from a reported false")
		}
		return nil
	})
	cancelB = s.Register(t0+100, l.cb("b"))
	clk.Advance(100 * time.Millisecond)
	woken(s)
	if err := s.fire(); err != nil {
		t.Fatal(err)
	}
	wantLog(t, &l, "a")
}

func TestTimersCallbacksRegisterCallbacks(t *testing.T) {
	s, clk := timersAt()
	var l callLog
	s.Register(t0+100, func(now int64) error {
		l = append(l, fmt.Sprintf("a@%d", now-t0))
		s.Register(now, l.cb("due-now"))        // runs in the same fire
		s.Register(now-50, l.cb("in-the-past")) // so does this, first
		s.Register(now+100, l.cb("later"))      // runs when the clock gets there
		return nil
	})
	clk.Advance(100 * time.Millisecond)
	if !woken(s) {
		t.Fatal("not woken at 100")
	}
	if err := s.fire(); err != nil {
		t.Fatal(err)
	}
	wantLog(t, &l, "a@100", "in-the-past@100", "due-now@100")
	// A callback registered as due signalled again; the task answers every
	// signal with a fire, which finds nothing due now.
	for woken(s) {
		if err := s.fire(); err != nil {
			t.Fatal(err)
		}
	}
	wantLog(t, &l)
	clk.Advance(99 * time.Millisecond)
	if woken(s) {
		t.Fatal("woken at 199, the next callback is at 200")
	}
	clk.Advance(time.Millisecond)
	if !woken(s) {
		t.Fatal("not woken at 200 for the callback registered by a callback")
	}
	if err := s.fire(); err != nil {
		t.Fatal(err)
	}
	wantLog(t, &l, "later@200")
}

// TestTimersRearmForAnEarlierCallback: the clock is armed for the earliest
// callback, and moved earlier when an earlier one is registered.
func TestTimersRearmForAnEarlierCallback(t *testing.T) {
	s, clk := timersAt()
	var l callLog
	s.Register(t0+500, l.cb("late"))
	s.Register(t0+100, l.cb("early"))
	clk.Advance(100 * time.Millisecond)
	if !woken(s) {
		t.Fatal("not woken at 100: the clock stayed armed for 500")
	}
	if err := s.fire(); err != nil {
		t.Fatal(err)
	}
	wantLog(t, &l, "early@100")
	// A later registration does not move the clock away from the earliest.
	s.Register(t0+900, l.cb("later"))
	clk.Advance(400 * time.Millisecond)
	if !woken(s) {
		t.Fatal("not woken at 500")
	}
	if err := s.fire(); err != nil {
		t.Fatal(err)
	}
	wantLog(t, &l, "late@500")
	clk.Advance(400 * time.Millisecond)
	if !woken(s) {
		t.Fatal("not woken at 900")
	}
	if err := s.fire(); err != nil {
		t.Fatal(err)
	}
	wantLog(t, &l, "later@900")
}

func TestTimersRegisterInThePastWakesAtOnce(t *testing.T) {
	s, _ := timersAt()
	var l callLog
	s.Register(t0-10, l.cb("past"))
	if !woken(s) {
		t.Fatal("a callback already due did not wake the task")
	}
	wantLog(t, &l)
	if err := s.fire(); err != nil {
		t.Fatal(err)
	}
	wantLog(t, &l, "past@0")
}

func TestTimersCallbackErrorStopsFire(t *testing.T) {
	s, clk := timersAt()
	var l callLog
	boom := errors.New("boom")
	s.Register(t0+100, func(int64) error { return boom })
	s.Register(t0+100, l.cb("after"))
	clk.Advance(100 * time.Millisecond)
	woken(s)
	if err := s.fire(); !errors.Is(err, boom) {
		t.Fatalf("fire returned %v, want %v", err, boom)
	}
	wantLog(t, &l)
}

func TestTimersStop(t *testing.T) {
	s, clk := timersAt()
	var l callLog
	s.Register(t0+100, l.cb("a"))
	s.stop()
	clk.Advance(time.Second)
	if woken(s) {
		t.Fatal("woken after stop")
	}
	if err := s.fire(); err != nil {
		t.Fatal(err)
	}
	wantLog(t, &l)
}

func TestTimersNow(t *testing.T) {
	s, clk := timersAt()
	if got := s.Now(); got != t0 {
		t.Fatalf("Now = %d, want %d", got, t0)
	}
	clk.Advance(1500 * time.Millisecond)
	if got := s.Now(); got != t0+1500 {
		t.Fatalf("Now = %d, want %d", got, t0+1500)
	}
}

// TestTimersEvery: a periodic callback runs a period after it last ran,
// among the others in time order, until the service is stopped.
func TestTimersEvery(t *testing.T) {
	s, clk := timersAt()
	var l callLog
	s.every(100, l.cb("every"))
	s.Register(t0+150, l.cb("once"))
	for range 3 {
		clk.Advance(100 * time.Millisecond)
		if !woken(s) {
			t.Fatalf("not woken at %d", s.Now()-t0)
		}
		if err := s.fire(); err != nil {
			t.Fatal(err)
		}
	}
	wantLog(t, &l, "every@100", "once@200", "every@200", "every@300")
	// A late fire runs it once, and the next period starts then.
	clk.Advance(250 * time.Millisecond)
	woken(s)
	if err := s.fire(); err != nil {
		t.Fatal(err)
	}
	clk.Advance(99 * time.Millisecond)
	if woken(s) {
		t.Fatal("woken at 649, the next period ends at 650")
	}
	clk.Advance(time.Millisecond)
	woken(s)
	if err := s.fire(); err != nil {
		t.Fatal(err)
	}
	wantLog(t, &l, "every@550", "every@650")
	s.stop()
	clk.Advance(time.Second)
	if woken(s) {
		t.Fatal("woken after stop")
	}
	if err := s.fire(); err != nil {
		t.Fatal(err)
	}
	wantLog(t, &l)
}
