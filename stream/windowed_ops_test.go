package stream

import (
	"context"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/runnel-io/runnel/runtime/clock"
	"github.com/runnel-io/runnel/stream/window"
)

// Helpers of the window operator tests (prefix wo).

// woPhases is a source whose records the test sends batch by batch while
// the job runs; it ends when the test calls end. It is its own reader, so
// it runs at parallelism 1.
type woPhases[T any] struct {
	mu    sync.Mutex
	queue [][]T
	ended bool
	wake  chan struct{}
}

func newWoPhases[T any]() *woPhases[T] { return &woPhases[T]{wake: make(chan struct{}, 1)} }

// send makes batch the source's next records.
func (p *woPhases[T]) send(batch ...T) {
	p.mu.Lock()
	p.queue = append(p.queue, batch)
	p.mu.Unlock()
	p.notify()
}

// end ends the source once the batches sent are emitted.
func (p *woPhases[T]) end() {
	p.mu.Lock()
	p.ended = true
	p.mu.Unlock()
	p.notify()
}

func (p *woPhases[T]) notify() {
	select {
	case p.wake <- struct{}{}:
	default:
	}
}

func (p *woPhases[T]) Bounded() bool { return true }
func (p *woPhases[T]) CreateReader(context.Context, *RuntimeContext) (SourceReader[T], error) {
	return p, nil
}

func (p *woPhases[T]) PollNext(out ReaderOutput[T]) (InputStatus, error) {
	p.mu.Lock()
	var batch []T
	queued, ended := len(p.queue) > 0, p.ended
	if queued {
		batch, p.queue = p.queue[0], p.queue[1:]
	}
	p.mu.Unlock()
	switch {
	case queued:
		for _, v := range batch {
			out.Collect(v)
		}
		return MoreAvailable, nil
	case ended:
		return EndOfInput, nil
	}
	return NothingAvailable, nil
}

func (p *woPhases[T]) Available() <-chan struct{} { return p.wake }
func (p *woPhases[T]) Close() error               { return nil }

// woStep is a record of a scripted source, with the watermark the source
// emits just before it (ignored if not above the last).
type woStep struct {
	WM int64
	E  event
}

// woScript is a non-parallel source of the steps' events, with their
// timestamps and exactly the watermarks the steps say.
func woScript(env *Environment, steps []woStep) DataStream[event] {
	// The assigner hands the step's watermark to the generator: both run
	// on the source's goroutine, the assigner first (see
	// splitOutput.CollectWithTimestamp).
	var wm int64
	strategy := ForGenerator[woStep](func() WatermarkGenerator { return woScriptGen{&wm} }).
		WithTimestampAssigner(func(s woStep, _ int64) int64 { wm = s.WM; return s.E.TS })
	src := nonParallel(FromSource(env, sliceSource[woStep](steps), strategy, "Script"))
	return Map(src, func(s woStep) (event, error) { return s.E, nil }).SetParallelism(1)
}

type woScriptGen struct{ wm *int64 }

func (g woScriptGen) OnEvent(_ int64, out WatermarkOutput) { out.EmitWatermark(*g.wm) }
func (woScriptGen) OnPeriodicEmit(WatermarkOutput)         {}

// woRun executes the job env and returns what got received, sorted.
func woRun(t *testing.T, env *Environment, got *Collected[string]) []string {
	t.Helper()
	checkNoLeaks(t)
	if err := env.Execute(context.Background(), t.Name()); err != nil {
		t.Fatal(err)
	}
	vals := got.Values()
	slices.Sort(vals)
	return vals
}

func woCheck(t *testing.T, what string, got, want []string) {
	t.Helper()
	if !slices.Equal(got, want) {
		t.Errorf("%s:\n got %q\nwant %q", what, got, want)
	}
}

// woEvents returns events of key k at the times ts.
func woEvents(k string, ts ...int64) []event {
	es := make([]event, len(ts))
	for i, t := range ts {
		es[i] = event{k, t}
	}
	return es
}

func woTimes(elems []event, sorted bool) string {
	ts := make([]int64, len(elems))
	for i, e := range elems {
		ts[i] = e.TS
	}
	if sorted {
		slices.Sort(ts)
	}
	return strings.Trim(fmt.Sprint(ts), "[]")
}

// woList lists a time window's events by time, in the order the window
// holds them (or sorted).
func woList(sorted bool) ProcessWindowFunction[string, event, string, window.TimeWindow] {
	return ProcessWindowFunc[string, event, string, window.TimeWindow](func(ctx *WindowContext[string, window.TimeWindow], elems []event, out Collector[string]) error {
		out.Collect(fmt.Sprintf("%s %v %s", ctx.CurrentKey(), ctx.Window(), woTimes(elems, sorted)))
		return nil
	})
}

// woEventTime is a keyed stream of events, in order, with watermarks one
// below the largest timestamp.
func woEventTime(env *Environment, es []event) KeyedStream[string, event] {
	return KeyBy(timestamped(env, es, func(e event) int64 { return e.TS }, 0), func(e event) string { return e.Key })
}

func TestCountWindows(t *testing.T) {
	// Events carry their position within their key in TS; they have no
	// timestamps.
	es := []event{{"a", 1}, {"b", 1}, {"a", 2}, {"a", 3}, {"b", 2}, {"a", 4}, {"b", 3}, {"a", 5}, {"b", 4}, {"a", 6}, {"a", 7}}
	list := ProcessWindowFunc[string, event, string, window.GlobalWindow](func(ctx *WindowContext[string, window.GlobalWindow], elems []event, out Collector[string]) error {
		out.Collect(ctx.CurrentKey() + " " + woTimes(elems, false))
		return nil
	})
	const end = "9223372036854775807:" // results of the global window carry its MaxTimestamp
	cases := []struct {
		name   string
		window func(KeyedStream[string, event]) WindowedStream[string, event, window.GlobalWindow]
		want   []string
	}{
		// Full windows of 3; a7 and b4 stay in a window that never fills.
		{"tumbling", func(ks KeyedStream[string, event]) WindowedStream[string, event, window.GlobalWindow] {
			return CountWindow(ks, 3)
		}, []string{end + "a 1 2 3", end + "a 4 5 6", end + "b 1 2 3"}},
		// The last 3 every 2.
		{"sliding", func(ks KeyedStream[string, event]) WindowedStream[string, event, window.GlobalWindow] {
			return CountWindowSliding(ks, 3, 2)
		}, []string{end + "a 1 2", end + "a 2 3 4", end + "a 4 5 6", end + "b 1 2", end + "b 2 3 4"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			env := NewEnvironment().SetParallelism(2)
			ks := KeyBy(FromSlice(env, es), func(e event) string { return e.Key })
			got := wjStamp(WindowProcess(c.window(ks), list)).Collect()
			woCheck(t, c.name, woRun(t, env, got), c.want)
		})
	}
}

// TestEventTimeWindowTriggers replaces the trigger of tumbling event-time
// windows, with a late element (a8) within the allowed lateness.
func TestEventTimeWindowTriggers(t *testing.T) {
	es := []event{{"a", 1}, {"a", 2}, {"b", 6}, {"a", 3}, {"a", 4}, {"b", 7}, {"a", 5}, {"a", 11}, {"a", 12}, {"a", 13}, {"a", 8}}
	type trig = window.Trigger[event, window.TimeWindow]
	cases := []struct {
		name    string
		trigger trig // nil: the default, EventTimeTrigger
		want    []string
	}{
		{"EventTimeTrigger", nil, []string{
			"a [0, 10) 1 2 3 4 5", "a [0, 10) 1 2 3 4 5 8", "a [10, 20) 11 12 13", "b [0, 10) 6 7"}},
		{"PurgingTrigger(EventTimeTrigger)", window.PurgingTrigger(window.EventTimeTrigger[event, window.TimeWindow]()), []string{
			"a [0, 10) 1 2 3 4 5", "a [0, 10) 8", "a [10, 20) 11 12 13", "b [0, 10) 6 7"}},
		// Replacing the trigger replaces the firing at the end of the window.
		{"CountTrigger", window.CountTrigger[event, window.TimeWindow](2), []string{
			"a [0, 10) 1 2", "a [0, 10) 1 2 3 4", "a [0, 10) 1 2 3 4 5 8", "a [10, 20) 11 12", "b [0, 10) 6 7"}},
		{"PurgingTrigger(CountTrigger)", window.PurgingTrigger(window.CountTrigger[event, window.TimeWindow](2)), []string{
			"a [0, 10) 1 2", "a [0, 10) 3 4", "a [0, 10) 5 8", "a [10, 20) 11 12", "b [0, 10) 6 7"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			env := NewEnvironment().SetParallelism(2)
			ws := Window(woEventTime(env, es), window.TumblingEventTimeWindows[event](10*time.Millisecond, 0)).AllowedLateness(20 * time.Millisecond)
			if c.trigger != nil {
				ws = ws.Trigger(c.trigger)
			}
			got := WindowProcess(ws, woList(false)).Collect()
			woCheck(t, c.name, woRun(t, env, got), c.want)
		})
	}
}

func TestContinuousEventTimeTrigger(t *testing.T) {
	checkNoLeaks(t)
	env := NewEnvironment().SetParallelism(1)
	ws := Window(woEventTime(env, woEvents("a", 1, 3, 7, 12, 18, 25, 33)), window.TumblingEventTimeWindows[event](20*time.Millisecond, 0)).
		Trigger(window.ContinuousEventTimeTrigger[event, window.TimeWindow](5 * time.Millisecond))
	got := WindowProcess(ws, woList(false)).Collect()
	if err := env.Execute(context.Background(), "continuous"); err != nil {
		t.Fatal(err)
	}
	// [0, 20) fires as the watermark passes 5, 10, 15 and 19 (its end);
	// [20, 40) at 30, at 35 and at 39 (both at the final watermark).
	want := []string{
		"a [0, 20) 1 3", "a [0, 20) 1 3 7", "a [0, 20) 1 3 7 12", "a [0, 20) 1 3 7 12 18",
		"a [20, 40) 25", "a [20, 40) 25 33", "a [20, 40) 25 33",
	}
	woCheck(t, "in order", got.Values(), want)
}

// woEverySecond is a custom trigger: it fires a window at every second
// element, counting them in its Int64State, and merges the counts of
// merging windows.
type woEverySecond struct{}

func woSum(a, b int64) (int64, error) { return a + b, nil }

func (woEverySecond) OnElement(_ event, _ int64, _ window.TimeWindow, ctx window.TriggerContext) (window.Result, error) {
	s, err := ctx.Int64State("seen", woSum)
	if err != nil {
		return window.Continue, err
	}
	if err := s.Add(1); err != nil {
		return window.Continue, err
	}
	n, _, err := s.Get()
	if err != nil || n%2 != 0 {
		return window.Continue, err
	}
	return window.Fire, nil
}

func (woEverySecond) OnEventTime(int64, window.TimeWindow, window.TriggerContext) (window.Result, error) {
	return window.Continue, nil
}

func (woEverySecond) OnProcessingTime(int64, window.TimeWindow, window.TriggerContext) (window.Result, error) {
	return window.Continue, nil
}

func (woEverySecond) CanMerge() bool { return true }

func (woEverySecond) OnMerge(_ window.TimeWindow, ctx window.OnMergeContext) error {
	return ctx.MergeInt64State("seen", woSum)
}

func (woEverySecond) Clear(_ window.TimeWindow, ctx window.TriggerContext) error {
	s, err := ctx.Int64State("seen", woSum)
	if err != nil {
		return err
	}
	return s.Clear()
}

func (woEverySecond) String() string { return "EverySecond()" }

func TestCustomTrigger(t *testing.T) {
	cases := []struct {
		name     string
		es       []event
		assigner window.Assigner[event, window.TimeWindow]
		want     []string
	}{
		{"tumbling", []event{{"a", 1}, {"a", 2}, {"b", 6}, {"a", 3}, {"a", 4}, {"a", 5}, {"a", 11}},
			window.TumblingEventTimeWindows[event](10*time.Millisecond, 0),
			[]string{"a [0, 10) 1 2", "a [0, 10) 1 2 3 4"}},
		// Sessions of gap 5: 1 and 3 fire [1, 8) at the second element; 12
		// and 20 are one element each, until 16 merges them (1+1+1 = 3)
		// and 22 brings the merged count to 4.
		{"sessions", woEvents("a", 1, 3, 20, 12, 16, 22),
			window.EventTimeSessionWindows[event](5 * time.Millisecond),
			[]string{"a [1, 8) 1 3", "a [12, 27) 12 16 20 22"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			env := NewEnvironment().SetParallelism(2)
			// Watermarks trail by 10 ms, so that 12 and 16 are not late.
			src := timestamped(env, c.es, func(e event) int64 { return e.TS }, 10)
			ws := Window(KeyBy(src, func(e event) string { return e.Key }), c.assigner).Trigger(woEverySecond{})
			got := WindowProcess(ws, woList(true)).Collect()
			woCheck(t, c.name, woRun(t, env, got), c.want)
		})
	}
}

func TestEvictors(t *testing.T) {
	checkNoLeaks(t)
	type (
		trig = window.Trigger[event, window.TimeWindow]
		evic = window.Evictor[event, window.TimeWindow]
	)
	count3 := window.CountTrigger[event, window.TimeWindow](3)
	cases := []struct {
		name    string
		ts      []int64
		trigger trig // nil: EventTimeTrigger
		evictor evic
		want    []string
	}{
		{"CountEvictor before", []int64{1, 2, 3, 4, 5, 6}, nil,
			window.CountEvictor[event, window.TimeWindow](2, false), []string{"a [0, 10) 5 6"}},
		// Every third element: what is evicted before the function is gone
		// for the next firing too.
		{"CountEvictor before, CountTrigger", []int64{1, 2, 3, 4, 5, 6}, count3,
			window.CountEvictor[event, window.TimeWindow](2, false), []string{"a [0, 10) 2 3", "a [0, 10) 5 6"}},
		{"CountEvictor after, CountTrigger", []int64{1, 2, 3, 4, 5, 6}, count3,
			window.CountEvictor[event, window.TimeWindow](2, true), []string{"a [0, 10) 1 2 3", "a [0, 10) 2 3 4 5 6"}},
		// Keeps the elements later than the latest minus 3 ms.
		{"TimeEvictor before", []int64{1, 2, 4, 7, 8}, nil,
			window.TimeEvictor[event, window.TimeWindow](3*time.Millisecond, false), []string{"a [0, 10) 7 8"}},
		{"TimeEvictor after, CountTrigger", []int64{1, 2, 4, 7, 8, 9}, count3,
			window.TimeEvictor[event, window.TimeWindow](3*time.Millisecond, true), []string{"a [0, 10) 1 2 4", "a [0, 10) 2 4 7 8 9"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			env := NewEnvironment().SetParallelism(2)
			ws := Window(woEventTime(env, woEvents("a", c.ts...)), window.TumblingEventTimeWindows[event](10*time.Millisecond, 0)).Evictor(c.evictor)
			if c.trigger != nil {
				ws = ws.Trigger(c.trigger)
			}
			got := WindowProcess(ws, woList(false)).Collect()
			woCheck(t, c.name, woRun(t, env, got), c.want)
		})
	}
	// An evictor also applies to incremental functions, which then keep
	// every element and reduce the kept ones when the window fires.
	t.Run("WindowReduce and WindowAggregate", func(t *testing.T) {
		env := NewEnvironment().SetParallelism(2)
		ws := Window(woEventTime(env, woEvents("a", 1, 2, 3, 4, 5, 6)), window.TumblingEventTimeWindows[event](10*time.Millisecond, 0)).
			Evictor(window.CountEvictor[event, window.TimeWindow](2, false))
		sums := WindowReduce(ws, func(x, y event) (event, error) { return event{x.Key, x.TS + y.TS}, nil })
		counts := WindowAggregate(ws, countAgg{})
		gotSums, gotCounts := sums.Collect(), counts.Collect()
		if err := env.Execute(context.Background(), "evicting reduce"); err != nil {
			t.Fatal(err)
		}
		if got := gotSums.Values(); !slices.Equal(got, []event{{"a", 11}}) {
			t.Errorf("reduce of the last two: got %v, want [{a 11}]", got)
		}
		if got := gotCounts.Values(); !slices.Equal(got, []int64{2}) {
			t.Errorf("count of the last two: got %v, want [2]", got)
		}
	})
}

// woSignal is a trigger that reports every element it sees on added.
type woSignal struct {
	window.Trigger[event, window.TimeWindow]
	added chan<- struct{}
}

func (s woSignal) OnElement(v event, ts int64, w window.TimeWindow, ctx window.TriggerContext) (window.Result, error) {
	r, err := s.Trigger.OnElement(v, ts, w, ctx)
	s.added <- struct{}{}
	return r, err
}

// TestProcessingTimeWindows: tumbling processing-time windows, with the
// task's clock moved by the test. Each window fires once, when the clock
// reaches its last millisecond, with every record that arrived while the
// clock was in it.
func TestProcessingTimeWindows(t *testing.T) {
	clk := clock.NewManual(time.UnixMilli(1000))
	added := make(chan struct{}, 16)
	fired := make(chan string, 16)
	src := newWoPhases[event]()
	env := NewEnvironment().SetParallelism(2).SetClock(clk)
	ks := KeyBy(FromSource(env, src, NoWatermarks[event](), "phases").SetParallelism(1), func(e event) string { return e.Key })
	ws := Window(ks, window.TumblingProcessingTimeWindows[event](100*time.Millisecond, 0)).
		Trigger(woSignal{window.ProcessingTimeTrigger[event, window.TimeWindow](), added})
	WindowProcess(ws, ProcessWindowFunc[string, event, string, window.TimeWindow](func(ctx *WindowContext[string, window.TimeWindow], elems []event, out Collector[string]) error {
		ts, _ := ctx.Timestamp()
		out.Collect(fmt.Sprintf("%s %v n=%d now=%d ts=%d", ctx.CurrentKey(), ctx.Window(), len(elems), ctx.CurrentProcessingTime(), ts))
		return nil
	})).SinkTo(chanSink(fired), "fired")
	done := ended(startJob(t, env, "processing time"))

	wait := func(n int) {
		t.Helper()
		for range n {
			select {
			case <-added:
			case err := <-done:
				t.Fatalf("the job ended early: %v", err)
			case <-time.After(10 * time.Second):
				t.Fatal("records did not reach the window")
			}
		}
	}
	take := func(n int) []string {
		t.Helper()
		var got []string
		for range n {
			select {
			case s := <-fired:
				got = append(got, s)
			case <-time.After(10 * time.Second):
				t.Fatalf("%d windows fired (%q), want %d", len(got), got, n)
			}
		}
		slices.Sort(got)
		return got
	}
	quiet := func(when string) {
		t.Helper()
		select {
		case s := <-fired:
			t.Fatalf("%s: %q fired", when, s)
		case <-time.After(20 * time.Millisecond):
		}
	}

	src.send(event{"a", 0}, event{"b", 0}, event{"a", 0}) // at 1000: [1000, 1100)
	wait(3)
	clk.Advance(50 * time.Millisecond)
	src.send(event{"a", 0}) // at 1050: [1000, 1100)
	wait(1)
	clk.Advance(48 * time.Millisecond) // 1098
	quiet("at 1098")
	clk.Advance(time.Millisecond) // 1099, the windows' last millisecond
	woCheck(t, "at 1099", take(2), []string{
		"a [1000, 1100) n=3 now=1099 ts=1099",
		"b [1000, 1100) n=1 now=1099 ts=1099",
	})
	clk.Advance(time.Millisecond) // 1100
	src.send(event{"b", 0})       // [1100, 1200)
	wait(1)
	clk.Advance(98 * time.Millisecond)
	quiet("at 1198")
	clk.Advance(2 * time.Millisecond) // 1200, past the end
	woCheck(t, "at 1200", take(1), []string{"b [1100, 1200) n=1 now=1200 ts=1199"})
	src.end()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if len(fired) != 0 {
		t.Fatalf("more firings: %q", <-fired)
	}
}

// woNum is a count of records of Key; Max is the MaxTimestamp of the window
// that counted them, where the function knows it.
type woNum struct {
	Key string
	N   int64
	Max int64
}

// woNumAgg sums woNums.
type woNumAgg struct{}

func (woNumAgg) CreateAccumulator() woNum { return woNum{} }
func (woNumAgg) Add(v, acc woNum) woNum   { return woNum{Key: v.Key, N: acc.N + v.N} }
func (woNumAgg) Result(acc woNum) woNum   { return acc }
func (woNumAgg) Merge(a, b woNum) woNum   { return woNum{Key: a.Key + b.Key, N: a.N + b.N} }

// woWithWindow passes on the one pre-aggregated value with the window's
// MaxTimestamp.
var woWithWindow = ProcessWindowFunc[string, woNum, woNum, window.TimeWindow](func(ctx *WindowContext[string, window.TimeWindow], vs []woNum, out Collector[woNum]) error {
	if len(vs) != 1 {
		return fmt.Errorf("%d pre-aggregated values", len(vs))
	}
	out.Collect(woNum{Key: ctx.CurrentKey(), N: vs[0].N, Max: ctx.Window().MaxTimestamp()})
	return nil
})

// woStampNum formats counts as key@timestamp=n, checking that the
// timestamp is the window's MaxTimestamp where the count says it.
func woStampNum(s DataStream[woNum]) DataStream[string] {
	return Process(s, ProcessFunc[woNum, string](func(ctx *Context, v woNum, out Collector[string]) error {
		ts, ok := ctx.Timestamp()
		if !ok || v.Max != 0 && ts != v.Max {
			return fmt.Errorf("%v has the timestamp %d (%t), want its window's MaxTimestamp %d", v, ts, ok, v.Max)
		}
		out.Collect(fmt.Sprintf("%s@%d=%d", v.Key, ts, v.N))
		return nil
	}))
}

// TestWindowFunctionsAgree: WindowReduce, WindowReduceProcess,
// WindowAggregate, WindowAggregateProcess and WindowProcess count the same
// windows, and emit their results with the window's MaxTimestamp as
// timestamp (read by the Process after them).
func TestWindowFunctionsAgree(t *testing.T) {
	checkNoLeaks(t)
	rng := rand.New(rand.NewPCG(3, 5))
	var es []event
	ts := int64(0)
	for range 1000 {
		// Even timestamps and an odd session gap: no record falls exactly at
		// the end of a session, where it would merge with it or not
		// depending on whether the watermark fired the session first.
		ts += 2 * rng.Int64N(3)
		es = append(es, event{fmt.Sprintf("k%d", rng.IntN(10)), ts})
	}
	cases := []struct {
		name     string
		assigner window.Assigner[woNum, window.TimeWindow]
		gap      int64
	}{
		{"tumbling", window.TumblingEventTimeWindows[woNum](10*time.Millisecond, 3*time.Millisecond), 0},
		{"sliding", window.SlidingEventTimeWindows[woNum](10*time.Millisecond, 4*time.Millisecond, 0), 0},
		{"session", window.EventTimeSessionWindows[woNum](7 * time.Millisecond), 7},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			// The reference: counts per key and window.
			counts := map[string]int64{}
			byKey := map[string][]int64{}
			for _, e := range es {
				byKey[e.Key] = append(byKey[e.Key], e.TS)
			}
			for k, ts := range byKey {
				for _, t := range ts {
					var ws []window.TimeWindow
					if c.gap > 0 {
						for _, w := range wjSessions(ts, c.gap) {
							if w.Start <= t && t < w.End {
								ws = append(ws, w)
							}
						}
					} else {
						ws, _ = c.assigner.AssignWindows(nil, woNum{}, t, nil)
					}
					for _, w := range ws {
						counts[fmt.Sprintf("%s@%d", k, w.MaxTimestamp())]++
					}
				}
			}
			var want []string
			for kw, n := range counts {
				want = append(want, fmt.Sprintf("%s=%d", kw, n))
			}
			slices.Sort(want)

			env := NewEnvironment().SetParallelism(3)
			nums := Map(timestamped(env, es, func(e event) int64 { return e.TS }, 0), func(e event) (woNum, error) {
				return woNum{Key: e.Key, N: 1}, nil
			}).SetParallelism(1)
			ws := Window(KeyBy(nums, func(v woNum) string { return v.Key }), c.assigner)
			sum := func(a, b woNum) (woNum, error) { return woNum{Key: a.Key, N: a.N + b.N}, nil }
			results := map[string]*Collected[string]{
				"WindowReduce":           woStampNum(WindowReduce(ws, sum)).Collect(),
				"WindowReduceProcess":    woStampNum(WindowReduceProcess(ws, sum, woWithWindow)).Collect(),
				"WindowAggregate":        woStampNum(WindowAggregate(ws, woNumAgg{})).Collect(),
				"WindowAggregateProcess": woStampNum(WindowAggregateProcess(ws, woNumAgg{}, woWithWindow)).Collect(),
				"WindowProcess": woStampNum(WindowProcess(ws, ProcessWindowFunc[string, woNum, woNum, window.TimeWindow](func(ctx *WindowContext[string, window.TimeWindow], vs []woNum, out Collector[woNum]) error {
					out.Collect(woNum{Key: ctx.CurrentKey(), N: int64(len(vs)), Max: ctx.Window().MaxTimestamp()})
					return nil
				}))).Collect(),
			}
			if err := env.Execute(context.Background(), "window functions"); err != nil {
				t.Fatal(err)
			}
			for name, got := range results {
				vals := got.Values()
				slices.Sort(vals)
				if !slices.Equal(vals, want) {
					t.Errorf("%s: %d results, want %d; extra %q; missing %q", name, len(vals), len(want), woMinus(vals, want), woMinus(want, vals))
				}
			}
		})
	}
}

// TestSessionWindowsMergeOutOfOrder: sessions of gap 5 with 10 ms of
// allowed lateness, fed records and watermarks by a script.
func TestSessionWindowsMergeOutOfOrder(t *testing.T) {
	steps := []woStep{
		{0, event{"a", 1}},  // [1, 6)
		{0, event{"a", 11}}, // [11, 16)
		{5, event{"b", 20}}, // the watermark fires a [1, 6) with 1
		// Out of order: [6, 11) touches both sessions and merges them into
		// [1, 16), although [1, 6) has fired.
		{5, event{"a", 6}},
		{16, event{"b", 22}}, // fires a [1, 16) with 3; b's session grows to [20, 27)
		// Late, but within the lateness: [14, 19) merges into [1, 19),
		// which fires at once (a late firing) with 4.
		{20, event{"a", 14}},
		// Fires b [20, 27); a 3 falls inside [1, 19): a late firing with 5.
		{26, event{"a", 3}},
		{28, event{"z", 40}}, // cleans a [1, 19) up (18 + 10 = 28)
		// Too late: [2, 7) would be cleaned up at 16. Side output.
		{30, event{"a", 2}},
		// Not too late: [17, 22) starts a new session, the old one is
		// gone, and it fires at once.
		{30, event{"a", 17}},
	}
	want := []string{"1,16,a,3", "1,19,a,4", "1,19,a,5", "1,6,a,1", "17,22,a,1", "20,27,b,2", "40,45,z,1"}
	for _, p := range []int{1, 2} {
		env := NewEnvironment().SetParallelism(p)
		lateTag := NewOutputTag[event]("late")
		ks := KeyBy(woScript(env, steps), func(e event) string { return e.Key })
		ws := Window(ks, window.EventTimeSessionWindows[event](5*time.Millisecond)).
			AllowedLateness(10 * time.Millisecond).SideOutputLateData(lateTag)
		counted := WindowAggregateProcess(ws, countAgg{}, describe{})
		got, late := counted.Collect(), SideOutput(counted, lateTag).Collect()
		woCheck(t, fmt.Sprintf("p=%d", p), woRun(t, env, got), want)
		if l := late.Values(); !slices.Equal(l, []event{{"a", 2}}) {
			t.Errorf("p=%d: late %v, want [{a 2}]", p, l)
		}
	}
}

// woEntries is describe with the number of keyed state entries of the
// window operator's subtask when the window fires.
var woEntries = ProcessWindowFunc[string, int64, string, window.TimeWindow](func(ctx *WindowContext[string, window.TimeWindow], counts []int64, out Collector[string]) error {
	w := ctx.Window()
	out.Collect(fmt.Sprintf("%d,%d,%s,%d entries=%d", w.Start, w.End, ctx.CurrentKey(), counts[0], woNumEntries(ctx)))
	return nil
})

// woNumEntries returns the number of keyed state entries of the window
// operator that calls the function of ctx.
func woNumEntries[W window.Window](ctx *WindowContext[string, W]) int {
	return ctx.op.(interface{ NumStateEntries() int }).NumStateEntries()
}

// TestAllowedLatenessCleanup: a tumbling window with 5 ms of lateness fires
// again for each late record until the watermark reaches its
// MaxTimestamp + 5, when its state is dropped; a record for it after that
// goes to the late side output.
func TestAllowedLatenessCleanup(t *testing.T) {
	steps := []woStep{
		{0, event{"a", 1}},
		{1, event{"a", 2}},
		{9, event{"z", 50}}, // fires a [0, 10) with 2
		{9, event{"a", 3}},  // late firing with 3
		{13, event{"a", 4}}, // late firing with 4: cleanup is at 9 + 5 = 14
		{14, event{"a", 5}}, // the watermark 14 cleaned the window up: late
		{14, event{"a", 12}},
	}
	// The first firing, before z arrives, sees the window's contents; the
	// late ones see z's too. At the end, a [0, 10) is gone: a [10, 20)
	// fires with its own and z's contents only.
	want := []string{
		"0,10,a,2 entries=1", "0,10,a,3 entries=2", "0,10,a,4 entries=2",
		"10,20,a,1 entries=2", "50,60,z,1 entries=1",
	}
	env := NewEnvironment().SetParallelism(1)
	lateTag := NewOutputTag[event]("late")
	ks := KeyBy(woScript(env, steps), func(e event) string { return e.Key })
	ws := Window(ks, window.TumblingEventTimeWindows[event](10*time.Millisecond, 0)).
		AllowedLateness(5 * time.Millisecond).SideOutputLateData(lateTag)
	counted := WindowAggregateProcess(ws, countAgg{}, woEntries)
	got, late := counted.Collect(), SideOutput(counted, lateTag).Collect()
	woCheck(t, "firings", woRun(t, env, got), want)
	if l := late.Values(); !slices.Equal(l, []event{{"a", 5}}) {
		t.Errorf("late %v, want [{a 5}]", l)
	}
}

// woBoundedState runs a long stream (20 000 records of 50 keys, a
// watermark after each) through windows of assigner, and checks that the
// window operator's keyed state entries (contents, trigger state, session
// bookkeeping) stay within bound per key whenever a window fires: a bound
// set by the number of keys, where state that is not cleaned up would grow
// with the length of the stream (by a window per key every 10 ms of the
// stream's 1.1 s).
func woBoundedState(t *testing.T, assigner window.Assigner[event, window.TimeWindow], lateness time.Duration, bound int) {
	checkNoLeaks(t)
	const (
		n    = 20_000
		keys = 50
	)
	names := make([]string, keys)
	for i := range names {
		names[i] = fmt.Sprintf("k%d", i)
	}
	// 20 records per millisecond, and a pause of 10 ms every 100 ms so
	// that sessions end.
	records := func(yield func(event) bool) {
		for i := range n {
			if !yield(event{names[i%keys], int64(i/20 + 10*(i/2000))}) {
				return
			}
		}
	}
	var maxEntries, fired atomic.Int64
	env := NewEnvironment().SetParallelism(1)
	src := FromSeq(env, records).AssignTimestampsAndWatermarks(
		ForGenerator[event](func() WatermarkGenerator { return &perEvent{} }).
			WithTimestampAssigner(func(e event, _ int64) int64 { return e.TS }))
	ws := Window(KeyBy(src, func(e event) string { return e.Key }), assigner).AllowedLateness(lateness)
	WindowAggregateProcess(ws, countAgg{}, ProcessWindowFunc[string, int64, int64, window.TimeWindow](func(ctx *WindowContext[string, window.TimeWindow], _ []int64, _ Collector[int64]) error {
		e := int64(woNumEntries(ctx))
		for m := maxEntries.Load(); e > m && !maxEntries.CompareAndSwap(m, e); m = maxEntries.Load() {
		}
		fired.Add(1)
		return nil
	})).Discard()
	if err := env.Execute(context.Background(), "bounded windows"); err != nil {
		t.Fatal(err)
	}
	t.Logf("max %d entries over %d firings", maxEntries.Load(), fired.Load())
	if fired.Load() < n/100 {
		t.Fatalf("only %d windows fired", fired.Load())
	}
	if m := maxEntries.Load(); m > int64(bound*keys) || m == 0 {
		t.Fatalf("up to %d state entries over %d firings, want at most %d (%d per key)", m, fired.Load(), bound*keys, bound)
	}
}

// One window per key, and the next one's first records.
func TestWindowStateBoundedTumbling(t *testing.T) {
	woBoundedState(t, window.TumblingEventTimeWindows[event](10*time.Millisecond, 0), 0, 2)
}

// With 5 ms of lateness, a window stays until the next one ends.
func TestWindowStateBoundedLateness(t *testing.T) {
	woBoundedState(t, window.TumblingEventTimeWindows[event](10*time.Millisecond, 0), 5*time.Millisecond, 3)
}

// Two windows per key, and the next one's first records.
func TestWindowStateBoundedSliding(t *testing.T) {
	woBoundedState(t, window.SlidingEventTimeWindows[event](10*time.Millisecond, 5*time.Millisecond, 0), 0, 3)
}

// The contents and the merging-window-set entry of one session per key,
// and of the next.
func TestWindowStateBoundedSessions(t *testing.T) {
	woBoundedState(t, window.EventTimeSessionWindows[event](5*time.Millisecond), 0, 4)
}

// TestWindowResultsIndependentOfParallelism: a window operator at
// parallelism 1 to 4 gives the same results, late firings and late records
// for an out-of-order keyed stream whose timestamps and watermarks are
// assigned at parallelism 1.
func TestWindowResultsIndependentOfParallelism(t *testing.T) {
	rng := rand.New(rand.NewPCG(11, 13))
	var es []event
	for i := range 1500 {
		// Up to 25 ms out of order, with a pause of 20 ms every 100 ms
		// that ends sessions.
		es = append(es, event{fmt.Sprintf("k%d", rng.IntN(12)), int64(i/3+20*(i/300)) + rng.Int64N(26)})
	}
	cases := []struct {
		name     string
		assigner window.Assigner[event, window.TimeWindow]
	}{
		{"tumbling", window.TumblingEventTimeWindows[event](10*time.Millisecond, 0)},
		{"sliding", window.SlidingEventTimeWindows[event](15*time.Millisecond, 5*time.Millisecond, 0)},
		{"session", window.EventTimeSessionWindows[event](4 * time.Millisecond)},
	}
	for _, c := range cases {
		a := c.assigner
		t.Run(c.name, func(t *testing.T) {
			byTimeAndKey := func(a, b event) int {
				if a.TS != b.TS {
					return int(a.TS - b.TS)
				}
				return strings.Compare(a.Key, b.Key)
			}
			want, wantLate := runWindows(t, 1, es, a, 5*time.Millisecond)
			slices.SortFunc(wantLate, byTimeAndKey)
			if len(wantLate) == 0 || len(want) == 0 {
				t.Fatalf("%d results and %d late records: the test needs both", len(want), len(wantLate))
			}
			for p := 2; p <= 4; p++ {
				got, late := runWindows(t, p, es, a, 5*time.Millisecond)
				slices.SortFunc(late, byTimeAndKey)
				wjCompare(t, fmt.Sprintf("p=%d results", p), got, want)
				if !slices.Equal(late, wantLate) {
					t.Fatalf("p=%d: %d late records, want %d", p, len(late), len(wantLate))
				}
			}
		})
	}
}

func woMinus(a, b []string) []string {
	var out []string
	for _, x := range a {
		if !slices.Contains(b, x) {
			out = append(out, x)
		}
	}
	if len(out) > 8 {
		out = out[:8]
	}
	return out
}

// woNoMerge is woEverySecond claiming not to merge.
type woNoMerge struct{ woEverySecond }

func (woNoMerge) CanMerge() bool { return false }

// TestMergingWindowsNeedMergingTrigger: as in Flink, a merging assigner
// with a trigger that cannot merge is a mistake reported before the job
// runs, naming both.
func TestMergingWindowsNeedMergingTrigger(t *testing.T) {
	checkNoLeaks(t)
	for _, trig := range []window.Trigger[event, window.TimeWindow]{woNoMerge{}, window.NeverTrigger[event, window.TimeWindow]()} {
		env := NewEnvironment().SetParallelism(1)
		ws := Window(woEventTime(env, woEvents("a", 1, 2)), window.EventTimeSessionWindows[event](time.Millisecond)).Trigger(trig)
		WindowProcess(ws, woList(false)).Discard()
		err := env.Execute(context.Background(), "sessions")
		if err == nil || !strings.Contains(err.Error(), "EventTimeSessionWindows") || !strings.Contains(err.Error(), trig.String()) {
			t.Errorf("%v: got %v, want an error naming the assigner and the trigger", trig, err)
		}
	}
}
