package stream

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/runnel-io/runnel/runtime/clock"
	"github.com/runnel-io/runnel/state"
)

type event struct {
	Key string
	TS  int64
}

// countUntilTimer counts events per key and emits the count when an
// event-time timer set 10 ms after the key's first event fires.
type countUntilTimer struct {
	count state.ValueState[int64]
}

func (f *countUntilTimer) Open(_ context.Context, rc *KeyedRuntimeContext[string]) (err error) {
	f.count, err = GetValueState(rc, state.Value[int64]("count"))
	return err
}

func (f *countUntilTimer) ProcessElement(ctx *KeyedContext[string], e event, _ Collector[string]) error {
	n, ok, err := f.count.Value()
	if err != nil {
		return err
	}
	if !ok {
		ctx.TimerService().RegisterEventTimeTimer(e.TS + 10)
	}
	return f.count.Update(n + 1)
}

func (f *countUntilTimer) OnTimer(ctx *TimerContext[string], t int64, out Collector[string]) error {
	n, _, err := f.count.Value()
	if err != nil {
		return err
	}
	out.Collect(fmt.Sprintf("%s@%d=%d wm<%d", ctx.CurrentKey(), t, n, t))
	return f.count.Clear()
}

func TestKeyedProcessEventTimeTimers(t *testing.T) {
	checkNoLeaks(t)
	events := []event{{"a", 1}, {"b", 2}, {"a", 5}, {"a", 12}, {"b", 30}, {"a", 40}, {"a", 41}}
	var want []string
	for _, p := range []int{1, 3} {
		env := NewEnvironment().SetParallelism(p)
		src := FromSlice(env, events).AssignTimestampsAndWatermarks(
			ForGenerator[event](func() WatermarkGenerator { return &perEvent{} }).WithTimestampAssigner(func(e event, _ int64) int64 { return e.TS })).SetParallelism(1)
		ks := KeyBy(src, func(e event) string { return e.Key })
		got := KeyedProcessEach(ks, func() KeyedProcessFunction[string, event, string] { return &countUntilTimer{} }).Collect()
		if err := env.Execute(context.Background(), "timers"); err != nil {
			t.Fatal(err)
		}
		vals := got.Values()
		slices.Sort(vals)
		if want == nil {
			want = vals
			// a: first at 1 → timer 11 covers 1,5; 12 → timer 22; 40 → timer 50 covers 40,41.
			exp := []string{"a@11=2 wm<11", "a@22=1 wm<22", "a@50=2 wm<50", "b@12=1 wm<12", "b@40=1 wm<40"}
			if fmt.Sprint(vals) != fmt.Sprint(exp) {
				t.Fatalf("p=%d: got %v, want %v", p, vals, exp)
			}
			continue
		}
		if fmt.Sprint(vals) != fmt.Sprint(want) {
			t.Fatalf("p=%d: got %v, want %v", p, vals, want)
		}
	}
}

// perEvent emits a watermark of ts-1 after every event (no out-of-order
// records allowed).
type perEvent struct{}

func (*perEvent) OnEvent(ts int64, out WatermarkOutput) { out.EmitWatermark(ts - 1) }
func (*perEvent) OnPeriodicEmit(WatermarkOutput)        {}

// TestProcessingTimeTimersFire: a processing-time timer fires while the job
// runs, once the task's clock passes it, and not before.
func TestProcessingTimeTimersFire(t *testing.T) {
	clk := clock.NewManual(time.UnixMilli(1000))
	fired := make(chan string, 10)
	registered := make(chan struct{}, 10)
	release := make(chan struct{})
	env := NewEnvironment().SetParallelism(2).SetClock(clk)
	src := FromSource(env, gatedSource{events: []event{{"k", 1}, {"k", 2}}, release: release}, NoWatermarks[event](), "gated").SetParallelism(1)
	ks := KeyBy(src, func(e event) string { return e.Key })
	KeyedProcess(ks, procTimer{registered}).SinkTo(chanSink(fired), "signal")
	done := ended(startJob(t, env, "proc"))
	<-registered
	<-registered
	// The timer is at 1000+500: moving to 1499 must not fire it.
	clk.Advance(499 * time.Millisecond)
	clk.Advance(time.Millisecond)
	select {
	case got := <-fired:
		if got != "k@1500" {
			t.Errorf("fired %q, want k@1500", got)
		}
	case <-time.After(10 * time.Second):
		t.Error("the processing-time timer did not fire after the clock passed it")
	}
	close(release)
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if len(fired) != 0 {
		t.Fatalf("%d more firings (%q): the timer was not deduplicated", len(fired), <-fired)
	}
}

type procTimer struct{ registered chan struct{} }

func (p procTimer) ProcessElement(ctx *KeyedContext[string], e event, out Collector[string]) error {
	ctx.TimerService().RegisterProcessingTimeTimer(1500)
	p.registered <- struct{}{}
	return nil
}

func (procTimer) OnTimer(ctx *TimerContext[string], ts int64, out Collector[string]) error {
	if ctx.TimeDomain() != ProcessingTime {
		return fmt.Errorf("domain %v", ctx.TimeDomain())
	}
	out.Collect(fmt.Sprintf("%s@%d", ctx.CurrentKey(), ts))
	return nil
}

// gatedSource emits its events, then waits for release to end.
type gatedSource struct {
	events  []event
	release chan struct{}
}

func (g gatedSource) Bounded() bool { return true }
func (g gatedSource) CreateReader(context.Context, *RuntimeContext) (SourceReader[event], error) {
	return &gatedReader{g: g}, nil
}

type gatedReader struct {
	g    gatedSource
	sent bool
}

func (r *gatedReader) PollNext(out ReaderOutput[event]) (InputStatus, error) {
	if !r.sent {
		for _, e := range r.g.events {
			out.Collect(e)
		}
		r.sent = true
	}
	select {
	case <-r.g.release:
		return EndOfInput, nil
	default:
		return NothingAvailable, nil
	}
}
func (r *gatedReader) Available() <-chan struct{} { return r.g.release }
func (r *gatedReader) Close() error               { return nil }

// chanSink sends every record to a channel.
type chanSink chan string

func (c chanSink) CreateWriter(context.Context, *RuntimeContext) (SinkWriter[string], error) {
	return c, nil
}
func (c chanSink) Write(v string, _ int64) error { c <- v; return nil }
func (c chanSink) Flush(bool) error              { return nil }
func (c chanSink) Close() error                  { return nil }
