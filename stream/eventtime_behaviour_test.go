package stream_test

// Behaviour of event time: watermark generation, propagation through chains
// and exchanges, idleness, per-split watermarks, two-input operators, side
// outputs, keyed state TTL and timers.
//
// Every observation here is deterministic. Records are observed by a
// Process function that writes down ctx.CurrentWatermark(): a watermark
// travels in its channel between the records, so the watermark a record
// sees is fixed by what was sent before it. Where two channels race, the
// tests wait for one observation before sending what the next depends on;
// processing time is a clock.Manual moved by the test.

import (
	"context"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/runnel-io/runnel/runtime/clock"
	"github.com/runnel-io/runnel/state"
	"github.com/runnel-io/runnel/stream"
)

const (
	etMin = math.MinInt64 // no watermark yet
	etMax = math.MaxInt64 // the final watermark of bounded input
	// etWait bounds every wait for something a job does: a guard against
	// hangs, never an assertion about speed.
	etWait = 20 * time.Second
)

// etT0 is where the manual clocks of these tests start.
var etT0 = time.UnixMilli(1_000_000)

// etSeen is one observation: a record (or a timer) with the subtask that
// saw it, its timestamp and the watermark of the operator at that moment.
type etSeen struct {
	Sub int
	V   string
	TS  int64
	WM  int64
}

func (s etSeen) String() string {
	return fmt.Sprintf("%s ts=%s wm=%s (subtask %d)", s.V, etFmt(s.TS), etFmt(s.WM), s.Sub)
}

func etFmt(wm int64) string {
	switch wm {
	case etMin:
		return "Min"
	case etMax:
		return "Max"
	}
	return strconv.FormatInt(wm, 10)
}

// etObserve adds a Process that turns every record into an observation.
func etObserve[T any](s stream.DataStream[T]) stream.DataStream[etSeen] {
	return stream.Process(s, stream.ProcessFunc[T, etSeen](func(ctx *stream.Context, v T, out stream.Collector[etSeen]) error {
		ts, _ := ctx.Timestamp()
		out.Collect(etSeen{Sub: ctx.Runtime().Subtask, V: fmt.Sprint(v), TS: ts, WM: ctx.CurrentWatermark()})
		return nil
	}))
}

// etChanSink sends every record to a channel, so that a test can follow a
// running job.
type etChanSink[T any] chan T

func (c etChanSink[T]) CreateWriter(context.Context, *stream.RuntimeContext) (stream.SinkWriter[T], error) {
	return c, nil
}
func (c etChanSink[T]) Write(v T, _ int64) error { c <- v; return nil }
func (c etChanSink[T]) Flush(bool) error         { return nil }
func (c etChanSink[T]) Close() error             { return nil }

// etRecv returns the next value of ch, failing the test if none comes.
func etRecv[T any](t *testing.T, ch <-chan T, what string) T {
	t.Helper()
	select {
	case v := <-ch:
		return v
	case <-time.After(etWait):
		t.Fatalf("nothing came: %s", what)
		panic("unreachable")
	}
}

// etNone fails the test if ch holds a value now.
func etNone[T any](t *testing.T, ch <-chan T, what string) {
	t.Helper()
	select {
	case v := <-ch:
		t.Fatalf("%s: got %v", what, v)
	default:
	}
}

// etJob is a job running in the background of a test. The test's cleanup
// cancels it and waits for it, so that no goroutine outlives the test.
type etJob struct {
	done chan error
	err  error
	over bool
}

func etStart(t *testing.T, env *stream.Environment) *etJob {
	t.Helper()
	checkNoLeaks(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*etWait)
	j := &etJob{done: make(chan error, 1)}
	go func() { j.done <- env.Execute(ctx, t.Name()) }()
	t.Cleanup(func() {
		cancel()
		j.wait()
	})
	return j
}

func (j *etJob) wait() error {
	if !j.over {
		j.err, j.over = <-j.done, true
	}
	return j.err
}

// succeed waits for the job, which must end without error.
func (j *etJob) succeed(t *testing.T) {
	t.Helper()
	if err := j.wait(); err != nil {
		t.Fatalf("Execute: %v", err)
	}
}

// etRun runs env's job to its end, which must be a success.
func etRun(t *testing.T, env *stream.Environment) {
	t.Helper()
	etStart(t, env).succeed(t)
}

// etFeed is the script of one subtask of an etFeedSource: the test sends
// steps, functions of the reader's output, and the subtask runs them in
// order, one per poll, so that the task checks its timers between any
// two. Closing the feed ends the subtask's input.
type etFeed[T any] struct {
	steps     chan func(stream.ReaderOutput[T])
	ready     chan struct{}
	started   chan struct{} // closed at the subtask's first poll
	startOnce sync.Once
	closeOnce sync.Once
}

func newEtFeed[T any]() *etFeed[T] {
	return &etFeed[T]{steps: make(chan func(stream.ReaderOutput[T]), 1024), ready: make(chan struct{}, 1), started: make(chan struct{})}
}

func (f *etFeed[T]) send(step func(stream.ReaderOutput[T])) {
	f.steps <- step
	f.signal()
}

// emit sends a record without a timestamp: the strategy's assigner gives
// it one.
func (f *etFeed[T]) emit(vs ...T) {
	for _, v := range vs {
		f.send(func(o stream.ReaderOutput[T]) { o.Collect(v) })
	}
}

func (f *etFeed[T]) close() {
	f.closeOnce.Do(func() {
		close(f.steps)
		f.signal()
	})
}

func (f *etFeed[T]) signal() {
	select {
	case f.ready <- struct{}{}:
	default:
	}
}

// etFeedSource is a bounded source whose subtask i runs feed i.
type etFeedSource[T any] []*etFeed[T]

func (s etFeedSource[T]) Bounded() bool { return true }

func (s etFeedSource[T]) CreateReader(_ context.Context, rc *stream.RuntimeContext) (stream.SourceReader[T], error) {
	if rc.Parallelism != len(s) {
		return nil, fmt.Errorf("feed source of %d feeds at parallelism %d", len(s), rc.Parallelism)
	}
	return &etFeedReader[T]{f: s[rc.Subtask]}, nil
}

type etFeedReader[T any] struct{ f *etFeed[T] }

func (r *etFeedReader[T]) PollNext(out stream.ReaderOutput[T]) (stream.InputStatus, error) {
	r.f.startOnce.Do(func() { close(r.f.started) })
	select {
	case step, ok := <-r.f.steps:
		if !ok {
			return stream.EndOfInput, nil
		}
		step(out)
		return stream.MoreAvailable, nil
	default:
		return stream.NothingAvailable, nil
	}
}

func (r *etFeedReader[T]) Available() <-chan struct{} { return r.f.ready }
func (r *etFeedReader[T]) Close() error               { return nil }

// etFeeds returns n feeds and their source.
func etFeeds[T any](n int) ([]*etFeed[T], etFeedSource[T]) {
	fs := make([]*etFeed[T], n)
	for i := range fs {
		fs[i] = newEtFeed[T]()
	}
	return fs, etFeedSource[T](fs)
}

// etPerEvent emits ts-1 after every record: a stream without late records.
type etPerEvent struct{}

func (etPerEvent) OnEvent(ts int64, out stream.WatermarkOutput) { out.EmitWatermark(ts - 1) }
func (etPerEvent) OnPeriodicEmit(stream.WatermarkOutput)        {}

func etPerEventStrategy() stream.WatermarkStrategy[int64] {
	return stream.ForGenerator[int64](func() stream.WatermarkGenerator { return etPerEvent{} }).
		WithTimestampAssigner(func(v int64, _ int64) int64 { return v })
}

// etTicking wraps a generator and signals every periodic emission, after
// the idleness check that precedes it: the test's way to know that a
// subtask saw a clock advance.
type etTicking struct {
	stream.WatermarkGenerator
	ticks chan<- struct{}
}

func (g etTicking) OnPeriodicEmit(out stream.WatermarkOutput) {
	g.WatermarkGenerator.OnPeriodicEmit(out)
	g.ticks <- struct{}{}
}

// etManualEnv returns an environment at parallelism p on a manual clock
// with a periodic watermark interval of 100 ms.
func etManualEnv(p int) (*stream.Environment, *clock.Manual) {
	clk := clock.NewManual(etT0)
	return stream.NewEnvironment().SetParallelism(p).SetClock(clk).SetAutoWatermarkInterval(100 * time.Millisecond), clk
}

// etWantMonotonic fails the test unless the watermarks of each subtask's
// observations, in order, never decrease.
func etWantMonotonic(t *testing.T, what string, seen []etSeen) {
	t.Helper()
	last := map[int]etSeen{}
	for _, s := range seen {
		if prev, ok := last[s.Sub]; ok && s.WM < prev.WM {
			t.Fatalf("%s: the watermark went backwards in subtask %d: %v, then %v", what, s.Sub, prev, s)
		}
		last[s.Sub] = s
	}
}

// --- Generators -----------------------------------------------------------

// etStep sends records to a running job one by one and checks the
// watermark each is seen with.
type etStep struct {
	t    *testing.T
	feed *etFeed[int64]
	seen chan etSeen
}

func (s etStep) want(ts, wm int64) {
	s.t.Helper()
	s.feed.emit(ts)
	got := etRecv(s.t, s.seen, fmt.Sprintf("record %d", ts))
	if got.TS != ts || got.WM != wm {
		s.t.Fatalf("record %d seen as %v, want ts=%d wm=%s", ts, got, ts, etFmt(wm))
	}
}

func TestEventTimeBoundedOutOfOrdernessEmitsPeriodically(t *testing.T) {
	env, clk := etManualEnv(1)
	feeds, src := etFeeds[int64](1)
	seen := make(chan etSeen, 64)
	strategy := stream.ForBoundedOutOfOrderness[int64](10 * time.Millisecond).
		WithTimestampAssigner(func(v int64, _ int64) int64 { return v })
	etObserve(stream.FromSource(env, src, strategy, "feed")).SinkTo(etChanSink[etSeen](seen), "seen")
	job := etStart(t, env)
	etRecv(t, feeds[0].started, "the source's first poll")
	s := etStep{t, feeds[0], seen}

	// Records alone emit no watermark: BoundedOutOfOrderness is periodic.
	s.want(100, etMin)
	s.want(105, etMin)
	s.want(103, etMin)
	clk.Advance(100 * time.Millisecond)
	s.want(104, 105-10-1) // the largest timestamp - the delay - 1
	s.want(200, 94)
	s.want(150, 94)
	clk.Advance(100 * time.Millisecond)
	s.want(160, 200-10-1)
	// A periodic emission without a new maximum emits nothing new.
	clk.Advance(100 * time.Millisecond)
	s.want(170, 189)
	// A late record does not lower the maximum.
	clk.Advance(100 * time.Millisecond)
	s.want(1, 189)
	feeds[0].close()
	job.succeed(t)
}

func TestEventTimeForMonotonousTimestamps(t *testing.T) {
	env, clk := etManualEnv(1)
	feeds, src := etFeeds[int64](1)
	seen := make(chan etSeen, 64)
	strategy := stream.ForMonotonousTimestamps[int64]().WithTimestampAssigner(func(v int64, _ int64) int64 { return v })
	etObserve(stream.FromSource(env, src, strategy, "feed")).SinkTo(etChanSink[etSeen](seen), "seen")
	job := etStart(t, env)
	etRecv(t, feeds[0].started, "the source's first poll")
	s := etStep{t, feeds[0], seen}
	s.want(10, etMin)
	s.want(20, etMin)
	clk.Advance(100 * time.Millisecond)
	s.want(30, 19)
	s.want(40, 19)
	clk.Advance(100 * time.Millisecond)
	s.want(50, 39)
	feeds[0].close()
	job.succeed(t)
}

func TestEventTimeStrategyErrorsAreExecuteErrors(t *testing.T) {
	checkNoLeaks(t)
	for name, strategy := range map[string]stream.WatermarkStrategy[int64]{
		"negative delay":    stream.ForBoundedOutOfOrderness[int64](-time.Millisecond),
		"zero idleness":     etPerEventStrategy().WithIdleness(0),
		"negative idleness": etPerEventStrategy().WithIdleness(-time.Second),
	} {
		t.Run(name, func(t *testing.T) {
			env := stream.NewEnvironment().SetParallelism(1)
			stream.FromSlice(env, []int64{1}).AssignTimestampsAndWatermarks(strategy).Discard()
			if err := env.Execute(context.Background(), t.Name()); err == nil {
				t.Fatal("Execute succeeded")
			}
		})
	}
}

// TestEventTimeCustomGeneratorPerEvent: a generator that emits on every
// event; an out-of-order record does not take the watermark back.
func TestEventTimeCustomGeneratorPerEvent(t *testing.T) {
	env := stream.NewEnvironment().SetParallelism(1)
	src := stream.FromSlice(env, []int64{10, 20, 15, 30, 30, 40}).AssignTimestampsAndWatermarks(etPerEventStrategy())
	got := etObserve(src).Collect()
	etRun(t, env)
	var wms []string
	for _, s := range got.Values() {
		wms = append(wms, fmt.Sprintf("%d:%s", s.TS, etFmt(s.WM)))
	}
	if want := "10:9 20:19 15:19 30:29 30:29 40:39"; strings.Join(wms, " ") != want {
		t.Fatalf("seen %v, want %v", wms, want)
	}
}

// TestEventTimeAssignerReplacesUpstreamWatermarks: AssignTimestampsAndWatermarks
// drops the watermarks from upstream (except the final one), and a
// strategy without a generator emits none.
func TestEventTimeAssignerReplacesUpstreamWatermarks(t *testing.T) {
	env := stream.NewEnvironment().SetParallelism(1)
	src := stream.FromSlice(env, []int64{10, 20, 30}).AssignTimestampsAndWatermarks(etPerEventStrategy())
	again := stream.Map(src, func(v int64) (int64, error) { return v, nil }).
		AssignTimestampsAndWatermarks(stream.NoWatermarks[int64]().WithTimestampAssigner(func(v, _ int64) int64 { return v * 2 }))
	got := etObserve(again).Collect()
	etRun(t, env)
	for _, s := range got.Values() {
		if s.WM != etMin {
			t.Errorf("%v: an upstream watermark went through the assigner", s)
		}
		if v, _ := strconv.ParseInt(s.V, 10, 64); s.TS != 2*v {
			t.Errorf("%v: timestamp not assigned anew", s)
		}
	}
}

// --- Propagation ----------------------------------------------------------

// etTimerAt registers an event-time timer at each record's timestamp and
// reports each firing with the watermark that fired it.
type etTimerAt struct{}

func (etTimerAt) ProcessElement(ctx *stream.KeyedContext[int64], v int64, _ stream.Collector[etSeen]) error {
	ts, _ := ctx.Timestamp()
	ctx.TimerService().RegisterEventTimeTimer(ts)
	return nil
}

func (etTimerAt) OnTimer(ctx *stream.TimerContext[int64], t int64, out stream.Collector[etSeen]) error {
	if ctx.TimeDomain() != stream.EventTime {
		return fmt.Errorf("domain %v", ctx.TimeDomain())
	}
	out.Collect(etSeen{Sub: ctx.Runtime().Subtask, V: fmt.Sprintf("k%d", ctx.CurrentKey()), TS: t, WM: ctx.TimerService().CurrentWatermark()})
	return nil
}

// TestWatermarkPropagatesThroughChainsAndExchanges: per-event watermarks
// go through a chain of Map, Filter and FlatMap, across a rebalance to a
// Process and across a key-by to a KeyedProcess, at parallelism 1 to 4.
// Every record is seen with the watermark emitted just before it, and every
// timer fires on exactly the watermark that reaches its time.
func TestWatermarkPropagatesThroughChainsAndExchanges(t *testing.T) {
	const n = 60
	var kept []int64
	for i := int64(1); i <= n; i++ {
		if i%3 != 0 {
			kept = append(kept, i)
		}
	}
	for p := 1; p <= 4; p++ {
		t.Run(fmt.Sprintf("p=%d", p), func(t *testing.T) {
			env := stream.NewEnvironment().SetParallelism(p)
			vals := make([]int64, n)
			for i := range vals {
				vals[i] = int64(i + 1)
			}
			src := stream.FromSlice(env, vals).AssignTimestampsAndWatermarks(etPerEventStrategy()).SetParallelism(1)
			mapped := stream.Map(src, func(v int64) (int64, error) { return v, nil }).SetParallelism(1)
			filtered := mapped.Filter(func(v int64) (bool, error) { return v%3 != 0, nil }).SetParallelism(1)
			twice := stream.FlatMap(filtered, func(v int64, out stream.Collector[int64]) error {
				out.Collect(v)
				out.Collect(v)
				return nil
			}).SetParallelism(1)
			observed := etObserve(twice.Rebalance())
			records := observed.Collect()
			back := stream.Map(observed, func(s etSeen) (int64, error) { return s.TS, nil })
			timers := stream.KeyedProcess(stream.KeyBy(back, func(v int64) int64 { return v % 5 }), stream.KeyedProcessFunction[int64, int64, etSeen](etTimerAt{})).Collect()
			etRun(t, env)

			seen := records.Values()
			if len(seen) != 2*len(kept) {
				t.Fatalf("%d records seen, want %d", len(seen), 2*len(kept))
			}
			for _, s := range seen {
				if s.WM != s.TS-1 {
					t.Errorf("%v: want the watermark %d emitted just before it", s, s.TS-1)
				}
			}
			etWantMonotonic(t, "Process", seen)
			fired := timers.Values()
			etWantMonotonic(t, "KeyedProcess timers", fired)
			var times []int64
			for _, s := range fired {
				times = append(times, s.TS)
				if s.WM != s.TS {
					t.Errorf("timer %v fired on watermark %s, want exactly its time", s, etFmt(s.WM))
				}
			}
			slices.Sort(times)
			if !slices.Equal(times, kept) {
				t.Fatalf("timers fired at %v, want once at each of %v", times, kept)
			}
		})
	}
}

// TestWatermarkIsTheMinimumOverParallelUpstreams: a Process after two
// source subtasks sees the smaller of their watermarks.
func TestWatermarkIsTheMinimumOverParallelUpstreams(t *testing.T) {
	env := stream.NewEnvironment().SetParallelism(1)
	feeds, src := etFeeds[int64](2)
	seen := make(chan etSeen, 64)
	etObserve(stream.FromSource(env, src, etPerEventStrategy(), "feed").SetParallelism(2)).
		SinkTo(etChanSink[etSeen](seen), "seen")
	job := etStart(t, env)
	for i := int64(0); i < 10; i++ {
		feeds[0].emit(1000 + i) // ahead: watermarks up to 1008
		feeds[1].emit(i)        // behind: watermarks up to 8
	}
	var last etSeen
	for i := 0; i < 20; i++ {
		last = etRecv(t, seen, "the first 20 records")
		if last.WM > 8 {
			t.Fatalf("%v: above the watermark 8 of the subtask behind", last)
		}
	}
	// All 20 records arrived, so both subtasks' last watermarks did.
	if last.WM != 8 {
		t.Fatalf("last record %v, want the watermark min(1008, 8) = 8", last)
	}
	// The subtask behind overtakes: the other one holds the watermark now.
	feeds[1].emit(2000)
	if got := etRecv(t, seen, "record 2000"); got.WM != 1008 {
		t.Fatalf("%v, want min(1008, 1999) = 1008", got)
	}
	feeds[0].emit(3000)
	if got := etRecv(t, seen, "record 3000"); got.WM != 1999 {
		t.Fatalf("%v, want min(2999, 1999) = 1999", got)
	}
	feeds[0].close()
	feeds[1].close()
	job.succeed(t)
}

// TestMaxWatermarkAtTheEndFiresEveryTimer: a bounded source without any
// watermark of its own still ends event time: every event-time timer fires,
// on MaxWatermark, once.
func TestMaxWatermarkAtTheEndFiresEveryTimer(t *testing.T) {
	for _, p := range []int{1, 3} {
		t.Run(fmt.Sprintf("p=%d", p), func(t *testing.T) {
			// No periodic emission: the only watermark is the final one.
			env := stream.NewEnvironment().SetParallelism(p).SetAutoWatermarkInterval(0)
			var vals []int64
			for i := int64(1); i <= 50; i++ {
				vals = append(vals, i*1000)
			}
			src := stream.FromSlice(env, vals).AssignTimestampsAndWatermarks(
				stream.ForBoundedOutOfOrderness[int64](0).WithTimestampAssigner(func(v, _ int64) int64 { return v })).SetParallelism(1)
			fired := stream.KeyedProcess(stream.KeyBy(src, func(v int64) int64 { return v % 7 }), stream.KeyedProcessFunction[int64, int64, etSeen](etTimerAt{})).Collect()
			etRun(t, env)
			var times []int64
			for _, s := range fired.Values() {
				times = append(times, s.TS)
				if s.WM != etMax {
					t.Errorf("timer %v fired before the end", s)
				}
			}
			slices.Sort(times)
			if !slices.Equal(times, vals) {
				t.Fatalf("timers fired at %v, want once at each of %v", times, vals)
			}
		})
	}
}

// TestWatermarksNeverGoBackwards: out-of-order records from parallel
// sources, a union, rebalancing and keying: no operator ever sees its
// watermark decrease, and every timer fires once, not before its time.
func TestWatermarksNeverGoBackwards(t *testing.T) {
	env := stream.NewEnvironment().SetParallelism(3)
	// Each record's timestamp is up to 49 ms out of order; the generator
	// allows 20 ms, so some records are late. Watermarks per event.
	lagging := func() stream.WatermarkGenerator { return &etLagging{max: etMin + 21} }
	strategy := stream.ForGenerator[int64](lagging).WithTimestampAssigner(func(v, _ int64) int64 { return v })
	gen := func(offset int64) func(i int64) (int64, error) {
		return func(i int64) (int64, error) { return offset + i*10 + (i*7919)%50, nil }
	}
	a := stream.Generate(env, 300, gen(0)).AssignTimestampsAndWatermarks(strategy)
	b := stream.Generate(env, 200, gen(500)).SetParallelism(2).AssignTimestampsAndWatermarks(strategy).SetParallelism(2)
	observed := etObserve(stream.Union(a, b).Rebalance()).SetParallelism(2)
	first := observed.Collect()
	first.Sink().SetParallelism(2) // chained: each subtask's observations in order
	back := stream.Map(observed, func(s etSeen) (int64, error) { return s.TS, nil }).SetParallelism(2)
	keyed := stream.KeyedProcess(stream.KeyBy(back, func(v int64) int64 { return v % 11 }), stream.KeyedProcessFunction[int64, int64, etSeen](etTimerAt{})).SetParallelism(4)
	fired := keyed.Collect()
	fired.Sink().SetParallelism(4)
	etRun(t, env)
	etWantMonotonic(t, "Process after the union", first.Values())
	etWantMonotonic(t, "KeyedProcess timers", fired.Values())
	count := map[int64]int{}
	for _, s := range fired.Values() {
		if s.WM < s.TS {
			t.Errorf("timer %v fired before its time", s)
		}
		count[s.TS]++
	}
	distinct := map[int64]bool{}
	for _, s := range first.Values() {
		distinct[s.TS] = true
	}
	if len(count) != len(distinct) {
		t.Errorf("%d distinct timers fired, want %d", len(count), len(distinct))
	}
	for ts, c := range count {
		if c != 1 {
			t.Errorf("timer %d fired %d times", ts, c)
		}
	}
}

// etLagging emits the largest timestamp seen minus 20 ms, per event.
type etLagging struct{ max int64 }

func (g *etLagging) OnEvent(ts int64, out stream.WatermarkOutput) {
	g.max = max(g.max, ts)
	out.EmitWatermark(g.max - 21)
}
func (g *etLagging) OnPeriodicEmit(stream.WatermarkOutput) {}

// --- Idleness ---------------------------------------------------------------

type etEvent struct {
	Key string
	TS  int64
}

// etSignals reports what a KeyedProcess does, as it happens.
type etSignals struct {
	elements chan etSeen // each record, with the watermark it was seen with
	timers   chan etSeen // each timer, with the watermark that fired it
	released *atomic.Bool
	early    chan etSeen // timers that fired before released was set
}

func newEtSignals() etSignals {
	return etSignals{elements: make(chan etSeen, 256), timers: make(chan etSeen, 256), released: new(atomic.Bool), early: make(chan etSeen, 256)}
}

// etTimerOnFirst registers an event-time timer 5 ms after the first
// record of each key.
type etTimerOnFirst struct {
	sig  etSignals
	seen map[string]bool
}

func (f *etTimerOnFirst) ProcessElement(ctx *stream.KeyedContext[string], e etEvent, _ stream.Collector[string]) error {
	if !f.seen[e.Key] {
		f.seen[e.Key] = true
		ctx.TimerService().RegisterEventTimeTimer(e.TS + 5)
	}
	f.sig.elements <- etSeen{V: e.Key, TS: e.TS, WM: ctx.TimerService().CurrentWatermark()}
	return nil
}

func (f *etTimerOnFirst) OnTimer(ctx *stream.TimerContext[string], t int64, _ stream.Collector[string]) error {
	s := etSeen{V: ctx.CurrentKey(), TS: t, WM: ctx.TimerService().CurrentWatermark()}
	if !f.sig.released.Load() {
		f.sig.early <- s
	}
	f.sig.timers <- s
	return nil
}

// TestIdleSubtaskHoldsBackTheWatermarkUnlessMarkedIdle: of two source
// subtasks, subtask 1 sends nothing. Without idleness it holds the
// downstream watermark at its start; WithIdleness, once the clock passes
// the timeout, it is marked idle and the other subtask's watermark goes
// through: the timer fires while the job runs.
func TestIdleSubtaskHoldsBackTheWatermarkUnlessMarkedIdle(t *testing.T) {
	for _, idleness := range []bool{false, true} {
		t.Run(fmt.Sprintf("idleness=%v", idleness), func(t *testing.T) {
			env, clk := etManualEnv(1)
			feeds, src := etFeeds[etEvent](2)
			strategy := stream.ForMonotonousTimestamps[etEvent]().WithTimestampAssigner(func(e etEvent, _ int64) int64 { return e.TS })
			if idleness {
				strategy = strategy.WithIdleness(time.Second)
			}
			sig := newEtSignals()
			events := stream.FromSource(env, src, strategy, "feed").SetParallelism(2)
			stream.KeyedProcessEach(stream.KeyBy(events, func(e etEvent) string { return e.Key }), func() stream.KeyedProcessFunction[string, etEvent, string] {
				return &etTimerOnFirst{sig: sig, seen: map[string]bool{}}
			}).Discard()
			job := etStart(t, env)
			etRecv(t, feeds[1].started, "subtask 1's first poll")
			for ts := int64(100); ts < 110; ts++ {
				feeds[0].emit(etEvent{"k", ts}) // timer at 105
			}
			for range 10 {
				if s := etRecv(t, sig.elements, "the first records"); s.WM != etMin {
					t.Fatalf("%v: a watermark before any periodic emission", s)
				}
			}
			// One periodic emission: subtask 0 emits 109-1 and, having had
			// records, stays active; subtask 1 had none for the timeout.
			clk.Advance(time.Second)
			if idleness {
				got := etRecv(t, sig.timers, "the timer, once subtask 1 is idle")
				if got.TS != 105 || got.WM != 108 {
					t.Fatalf("timer %v, want at 105 on subtask 0's watermark 108", got)
				}
			}
			feeds[0].emit(etEvent{"k", 110})
			got := etRecv(t, sig.elements, "record 110")
			if want := map[bool]int64{false: etMin, true: 108}[idleness]; got.WM != want {
				t.Fatalf("record 110 seen with watermark %s, want %s", etFmt(got.WM), etFmt(want))
			}
			if !idleness {
				etNone(t, sig.early, "the timer fired while subtask 1 held the watermark back")
			}
			sig.released.Store(true)
			feeds[0].close()
			feeds[1].close()
			job.succeed(t)
			if !idleness {
				etNone(t, sig.early, "the timer fired while subtask 1 held the watermark back")
				etRecv(t, sig.timers, "the timer at the end")
			}
			etNone(t, sig.timers, "a timer fired twice")
		})
	}
}

// TestIdleSourceThatEndsStillFiresTimers: a source marked idle that then
// ends sends the final watermark as an active stream, so that event-time
// timers downstream fire at the end (Flink's sources mark themselves
// active before emitting a watermark).
func TestIdleSourceThatEndsStillFiresTimers(t *testing.T) {
	env, clk := etManualEnv(1)
	feeds, src := etFeeds[etEvent](1)
	ticks := make(chan struct{}, 16)
	strategy := stream.ForGenerator[etEvent](func() stream.WatermarkGenerator {
		return etTicking{stream.NewBoundedOutOfOrderness(0), ticks}
	}).WithTimestampAssigner(func(e etEvent, _ int64) int64 { return e.TS }).WithIdleness(time.Second)
	sig := newEtSignals()
	events := stream.FromSource(env, src, strategy, "feed")
	stream.KeyedProcessEach(stream.KeyBy(events, func(e etEvent) string { return e.Key }), func() stream.KeyedProcessFunction[string, etEvent, string] {
		return &etTimerOnFirst{sig: sig, seen: map[string]bool{}}
	}).Discard()
	job := etStart(t, env)
	feeds[0].emit(etEvent{"a", 100}, etEvent{"b", 200})
	etRecv(t, sig.elements, "record a")
	etRecv(t, sig.elements, "record b")
	// The first check sees the records and emits 199 (firing a's timer at
	// 105); the second finds the source quiet for the timeout: idle.
	clk.Advance(time.Second)
	etRecv(t, ticks, "the first periodic emission")
	if got := etRecv(t, sig.timers, "a's timer"); got.V != "a" || got.WM != 199 {
		t.Fatalf("timer %v, want a's on watermark 199", got)
	}
	clk.Advance(time.Second)
	etRecv(t, ticks, "the second periodic emission")
	feeds[0].close()
	job.succeed(t)
	select {
	case got := <-sig.timers:
		if got.V != "b" || got.WM != etMax {
			t.Fatalf("timer %v, want b's on the final watermark", got)
		}
	default:
		t.Fatal("b's timer did not fire: the final watermark of the idle source was lost")
	}
}

// --- Per-split watermarks -------------------------------------------------

// etSplitGen emits ts-1 per event, and marks its split idle on a record
// with a negative timestamp.
type etSplitGen struct{}

func (etSplitGen) OnEvent(ts int64, out stream.WatermarkOutput) {
	if ts < 0 {
		out.MarkIdle()
		return
	}
	out.EmitWatermark(ts - 1)
}
func (etSplitGen) OnPeriodicEmit(stream.WatermarkOutput) {}

// TestSplitWatermarksTakeTheMinimumOverOpenSplits: a reader interleaving
// two splits; the source's watermark is the smaller of theirs, a released
// split no longer counts, and an idle one does not hold back.
func TestSplitWatermarksTakeTheMinimumOverOpenSplits(t *testing.T) {
	env := stream.NewEnvironment().SetParallelism(1)
	feeds, src := etFeeds[int64](1)
	strategy := stream.ForGenerator[int64](func() stream.WatermarkGenerator { return etSplitGen{} })
	seen := make(chan etSeen, 64)
	etObserve(stream.FromSource(env, src, strategy, "splits")).SinkTo(etChanSink[etSeen](seen), "seen")
	job := etStart(t, env)
	f := feeds[0]
	open := func(ids ...string) {
		f.send(func(o stream.ReaderOutput[int64]) {
			for _, id := range ids {
				o.Split(id)
			}
		})
	}
	emit := func(split string, ts, wm int64) {
		t.Helper()
		f.send(func(o stream.ReaderOutput[int64]) { o.Split(split).CollectWithTimestamp(ts, ts) })
		if got := etRecv(t, seen, fmt.Sprintf("%s:%d", split, ts)); got.TS != ts || got.WM != wm {
			t.Fatalf("%s:%d seen as %v, want wm=%s", split, ts, got, etFmt(wm))
		}
	}
	open("a", "b")
	emit("a", 100, etMin) // b has no watermark yet
	emit("b", 50, 49)
	emit("a", 200, 49) // b is behind
	emit("b", 60, 59)
	f.send(func(o stream.ReaderOutput[int64]) { o.ReleaseSplit("b") })
	emit("a", 300, 299) // b released: a alone
	// A new split starts at the bottom and holds the source back...
	open("c")
	emit("a", 400, 299)
	emit("c", 350, 349)
	// ...until it is idle.
	emit("c", -1, 399)
	emit("a", 500, 499)
	// Back from idleness it counts again (its watermark did not move, so
	// it holds the source where it is).
	emit("c", 360, 499)
	emit("a", 600, 499)
	emit("c", 700, 599)
	f.close()
	job.succeed(t)
}

// TestTextFileSplitsHaveWatermarksOfTheirOwn: a text file source cut into
// small splits, with timestamps parsed from the lines; b.txt lags behind
// a.txt. Each split's generator starts anew, the source's watermark never
// goes back when a lagging split opens, and the end of input is
// MaxWatermark.
func TestTextFileSplitsHaveWatermarksOfTheirOwn(t *testing.T) {
	dir := t.TempDir()
	var a, b strings.Builder
	for i := 1000; i < 1020; i++ {
		fmt.Fprintf(&a, "%d\n", i) // 5 bytes a line: splits of 10 lines
	}
	for i := 0; i < 20; i++ {
		fmt.Fprintf(&b, "%d\n", i)
	}
	for name, content := range map[string]string{"a.txt": a.String(), "b.txt": b.String()} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	strategy := stream.ForGenerator[string](func() stream.WatermarkGenerator { return etPerEvent{} }).
		WithTimestampAssigner(func(line string, _ int64) int64 {
			v, err := strconv.ParseInt(line, 10, 64)
			if err != nil {
				panic(err) // a test bug
			}
			return v
		})
	for _, p := range []int{1, 2, 3} {
		t.Run(fmt.Sprintf("p=%d", p), func(t *testing.T) {
			env := stream.NewEnvironment().SetParallelism(p)
			lines := stream.FromSource(env, stream.TextFileSource(dir, stream.FileSplitSize(50)), strategy, "files")
			got := etObserve(lines).Collect()
			final := stream.KeyedProcess(stream.KeyBy(stream.Map(lines, func(l string) (int64, error) {
				return strconv.ParseInt(l, 10, 64)
			}), func(v int64) int64 { return v % 2 }), stream.KeyedProcessFunction[int64, int64, etSeen](etTimerAt{})).SetParallelism(1).Collect()
			etRun(t, env)
			seen := got.Values()
			if len(seen) != 40 {
				t.Fatalf("%d lines, want 40", len(seen))
			}
			etWantMonotonic(t, "lines", seen)
			for _, s := range seen {
				if s.WM >= s.TS && s.TS >= 1000 {
					t.Errorf("%v: a watermark at or past a record of a.txt not yet seen", s)
				}
				if s.WM == etMax {
					t.Errorf("%v: the final watermark before the end", s)
				}
				if p == 1 {
					// One reader, reading a.txt's two splits then b.txt's
					// one: a.txt's records each see the watermark just
					// before them; b.txt's are all behind a.txt's last.
					want := s.TS - 1
					if s.TS < 1000 {
						want = 1018
					}
					if s.WM != want {
						t.Errorf("%v, want wm=%d", s, want)
					}
				}
			}
			// Every timer fires once, never before its time.
			timers := final.Values()
			if len(timers) != 40 {
				t.Fatalf("%d timers fired, want 40", len(timers))
			}
			for _, s := range timers {
				if s.WM < s.TS {
					t.Errorf("timer %v fired before its time", s)
				}
			}
		})
	}
}

// --- Two inputs -------------------------------------------------------------

type etCo struct{}

func (etCo) ProcessElement1(ctx *stream.Context, v int64, out stream.Collector[etSeen]) error {
	ts, _ := ctx.Timestamp()
	out.Collect(etSeen{V: "a" + strconv.FormatInt(v, 10), TS: ts, WM: ctx.CurrentWatermark()})
	return nil
}

func (etCo) ProcessElement2(ctx *stream.Context, v int64, out stream.Collector[etSeen]) error {
	ts, _ := ctx.Timestamp()
	out.Collect(etSeen{V: "b" + strconv.FormatInt(v, 10), TS: ts, WM: ctx.CurrentWatermark()})
	return nil
}

// TestCoProcessWatermarkIsTheMinimumOfBothInputs: each record is sent once the
// previous one was seen, so the watermarks of both inputs before it are
// known.
func TestCoProcessWatermarkIsTheMinimumOfBothInputs(t *testing.T) {
	env := stream.NewEnvironment().SetParallelism(1)
	fa, srcA := etFeeds[int64](1)
	fb, srcB := etFeeds[int64](1)
	a := stream.FromSource(env, srcA, etPerEventStrategy(), "a")
	b := stream.FromSource(env, srcB, etPerEventStrategy(), "b")
	seen := make(chan etSeen, 64)
	stream.CoProcess(stream.Connect(a, b), stream.CoProcessFunction[int64, int64, etSeen](etCo{})).SinkTo(etChanSink[etSeen](seen), "seen")
	job := etStart(t, env)
	step := func(f *etFeed[int64], v, wm int64) {
		t.Helper()
		f.emit(v)
		if got := etRecv(t, seen, fmt.Sprint(v)); got.TS != v || got.WM != wm {
			t.Fatalf("%v, want wm=%s", got, etFmt(wm))
		}
	}
	step(fa[0], 100, etMin) // b has no watermark yet
	step(fb[0], 50, 49)
	step(fa[0], 200, 49)
	step(fb[0], 300, 199)
	step(fa[0], 250, 249)
	step(fa[0], 400, 299)
	fa[0].close()
	fb[0].close()
	job.succeed(t)
}

// TestCoProcessIdleInputDoesNotHoldBack: input b, behind, is marked idle;
// input a's watermark goes through. When b comes back behind, the
// watermark stays where it is (never backwards) until b catches up.
func TestCoProcessIdleInputDoesNotHoldBack(t *testing.T) {
	env, clk := etManualEnv(1)
	fa, srcA := etFeeds[int64](1)
	fb, srcB := etFeeds[int64](1)
	ticks := make(chan struct{}, 16)
	idleB := stream.ForGenerator[int64](func() stream.WatermarkGenerator { return etTicking{etPerEvent{}, ticks} }).
		WithTimestampAssigner(func(v, _ int64) int64 { return v }).WithIdleness(time.Second)
	a := stream.FromSource(env, srcA, etPerEventStrategy(), "a")
	b := stream.FromSource(env, srcB, idleB, "b")
	seen := make(chan etSeen, 64)
	stream.CoProcess(stream.Connect(a, b), stream.CoProcessFunction[int64, int64, etSeen](etCo{})).SinkTo(etChanSink[etSeen](seen), "seen")
	job := etStart(t, env)
	step := func(f *etFeed[int64], v int64) etSeen {
		t.Helper()
		f.emit(v)
		got := etRecv(t, seen, fmt.Sprint(v))
		if got.TS != v {
			t.Fatalf("%v, want record %d", got, v)
		}
		return got
	}
	if got := step(fb[0], 50); got.WM != etMin {
		t.Fatalf("%v, want wm=Min: a has no watermark yet", got)
	}
	if got := step(fa[0], 100); got.WM != 49 {
		t.Fatalf("%v, want min(99, 49) = 49", got)
	}
	// b's first check sees its record; the second finds it quiet: idle.
	clk.Advance(time.Second)
	etRecv(t, ticks, "b's first periodic emission")
	clk.Advance(time.Second)
	etRecv(t, ticks, "b's second periodic emission")
	// b's idle status races a's records; send them until one shows it.
	var last etSeen
	for v := int64(101); ; v++ {
		last = step(fa[0], v)
		if last.WM == v-1 {
			break // a's own watermark: b no longer counts
		}
		if last.WM != 49 {
			t.Fatalf("%v, want 49 (b not yet idle) or %d", last, v-1)
		}
		if v > 100+int64(etWait/time.Millisecond) {
			t.Fatal("b's idleness never reached the CoProcess")
		}
		time.Sleep(time.Millisecond)
	}
	// b comes back at 59, behind: the watermark does not go back, and
	// stays until b catches up.
	if got := step(fb[0], 60); got.WM != last.WM {
		t.Fatalf("%v, want the watermark to stay at %d", got, last.WM)
	}
	if got := step(fa[0], 500); got.WM != last.WM {
		t.Fatalf("%v, want the watermark held at %d by b", got, last.WM)
	}
	if got := step(fb[0], 1000); got.WM != 499 {
		t.Fatalf("%v, want min(499, 999) = 499", got)
	}
	fa[0].close()
	fb[0].close()
	job.succeed(t)
}

// --- Side outputs -----------------------------------------------------------

var etOddTag = stream.NewOutputTag[string]("odd")

// TestSideOutputFromProcess: records emitted to a side output reach its
// stream, with their timestamps, across an exchange to another
// parallelism; the main output has the rest.
func TestSideOutputFromProcess(t *testing.T) {
	env := stream.NewEnvironment().SetParallelism(2)
	vals := make([]int64, 100)
	for i := range vals {
		vals[i] = int64(i)
	}
	src := stream.FromSlice(env, vals).AssignTimestampsAndWatermarks(etPerEventStrategy()).SetParallelism(1)
	split := stream.Process(src.Rebalance(), stream.ProcessFunc[int64, int64](func(ctx *stream.Context, v int64, out stream.Collector[int64]) error {
		if v%2 == 0 {
			out.Collect(v)
		} else {
			etOddTag.Emit(ctx, fmt.Sprintf("odd-%d", v))
		}
		return nil
	}))
	main := split.Collect()
	side := etObserve(stream.SideOutput(split, etOddTag)).SetParallelism(3).Collect()
	etRun(t, env)
	evens := main.Values()
	slices.Sort(evens)
	if len(evens) != 50 || evens[0] != 0 || evens[49] != 98 {
		t.Fatalf("main output %v, want the 50 evens", evens)
	}
	got := side.Values()
	if len(got) != 50 {
		t.Fatalf("%d side records, want 50", len(got))
	}
	subtasks := map[int]bool{}
	for _, s := range got {
		subtasks[s.Sub] = true
		if s.V != fmt.Sprintf("odd-%d", s.TS) {
			t.Errorf("side record %v lost its timestamp", s)
		}
	}
	if len(subtasks) != 3 {
		t.Errorf("side records reached subtasks %v, want all 3", subtasks)
	}
}

// etSideKeyed counts records per key in main output and reports each
// record and each timer to a side output.
type etSideKeyed struct{}

var etEventsTag = stream.NewOutputTag[etEvent]("events")

func (etSideKeyed) ProcessElement(ctx *stream.KeyedContext[string], e etEvent, out stream.Collector[string]) error {
	etEventsTag.Emit(&ctx.Context, e)
	ctx.TimerService().RegisterEventTimeTimer(e.TS + 1)
	out.Collect(e.Key)
	return nil
}

func (etSideKeyed) OnTimer(ctx *stream.TimerContext[string], t int64, _ stream.Collector[string]) error {
	etEventsTag.Emit(&ctx.Context, etEvent{Key: "timer-" + ctx.CurrentKey(), TS: t})
	return nil
}

// TestSideOutputFromKeyedProcess: a KeyedProcess emits to a side output
// from ProcessElement and OnTimer (with the timer's time as timestamp);
// the side output is consumed at another parallelism.
func TestSideOutputFromKeyedProcess(t *testing.T) {
	env := stream.NewEnvironment().SetParallelism(2)
	var events []etEvent
	for i := int64(0); i < 30; i++ {
		events = append(events, etEvent{Key: fmt.Sprintf("k%d", i%4), TS: i * 10})
	}
	src := stream.FromSlice(env, events).AssignTimestampsAndWatermarks(
		stream.ForGenerator[etEvent](func() stream.WatermarkGenerator { return etPerEvent{} }).
			WithTimestampAssigner(func(e etEvent, _ int64) int64 { return e.TS })).SetParallelism(1)
	keyed := stream.KeyedProcess(stream.KeyBy(src, func(e etEvent) string { return e.Key }), stream.KeyedProcessFunction[string, etEvent, string](etSideKeyed{}))
	main := keyed.Collect()
	side := etObserve(stream.SideOutput(keyed, etEventsTag)).SetParallelism(3).Collect()
	etRun(t, env)
	if n := len(main.Values()); n != 30 {
		t.Fatalf("%d main records, want 30", n)
	}
	records, timers := 0, 0
	for _, s := range side.Values() {
		var e etEvent
		if _, err := fmt.Sscanf(s.V, "{%s %d}", &e.Key, &e.TS); err != nil {
			t.Fatalf("side record %q: %v", s.V, err)
		}
		if s.TS != e.TS {
			t.Errorf("side record %v has timestamp %d, want %d", s, s.TS, e.TS)
		}
		if strings.HasPrefix(e.Key, "timer-") {
			timers++
		} else {
			records++
		}
	}
	if records != 30 || timers != 30 {
		t.Fatalf("side output had %d records and %d timers, want 30 and 30", records, timers)
	}
}

// TestSideOutputCarriesWatermarks: watermarks reach a side output's
// consumers too, as in Flink, so that event time advances downstream of a
// side output, and at least the final watermark fires its timers.
func TestSideOutputCarriesWatermarks(t *testing.T) {
	env := stream.NewEnvironment().SetParallelism(2)
	vals := make([]int64, 40)
	for i := range vals {
		vals[i] = int64(i + 1)
	}
	src := stream.FromSlice(env, vals).AssignTimestampsAndWatermarks(etPerEventStrategy()).SetParallelism(1)
	tag := stream.NewOutputTag[int64]("all")
	split := stream.Process(src, stream.ProcessFunc[int64, int64](func(ctx *stream.Context, v int64, _ stream.Collector[int64]) error {
		tag.Emit(ctx, v)
		return nil
	})).SetParallelism(1)
	split.Discard()
	side := stream.SideOutput(split, tag)
	seen := etObserve(side).SetParallelism(1).Collect()
	fired := stream.KeyedProcess(stream.KeyBy(side, func(v int64) int64 { return v % 3 }), stream.KeyedProcessFunction[int64, int64, etSeen](etTimerAt{})).Collect()
	etRun(t, env)
	for _, s := range seen.Values() {
		if s.WM != s.TS-1 {
			t.Errorf("side record %v, want the watermark %d emitted just before it", s, s.TS-1)
		}
	}
	if n := len(fired.Values()); n != 40 {
		t.Fatalf("%d timers fired downstream of the side output, want 40", n)
	}
}

// TestSideOutputWithoutConsumersIsDropped: emitting to a tag that no
// SideOutput asked for is not an error; the records go nowhere.
func TestSideOutputWithoutConsumersIsDropped(t *testing.T) {
	env := stream.NewEnvironment().SetParallelism(2)
	unused := stream.NewOutputTag[string]("unused")
	out := stream.Process(stream.FromSlice(env, []int{1, 2, 3, 4}), stream.ProcessFunc[int, int](func(ctx *stream.Context, v int, out stream.Collector[int]) error {
		unused.Emit(ctx, "dropped")
		etOddTag.Emit(ctx, "asked for elsewhere, not here")
		out.Collect(v)
		return nil
	})).Collect()
	etRun(t, env)
	if got := sortedInts(out.Values()); !slices.Equal(got, []int{1, 2, 3, 4}) {
		t.Fatalf("main output %v", got)
	}
}

func sortedInts(s []int) []int {
	s = slices.Clone(s)
	slices.Sort(s)
	return s
}

// TestSideOutputSameIDDifferentTypesIsAnExecuteError.
func TestSideOutputSameIDDifferentTypesIsAnExecuteError(t *testing.T) {
	checkNoLeaks(t)
	env := stream.NewEnvironment().SetParallelism(1)
	p := stream.Process(stream.FromSlice(env, []int{1}), stream.ProcessFunc[int, int](func(ctx *stream.Context, v int, out stream.Collector[int]) error {
		out.Collect(v)
		return nil
	}))
	stream.SideOutput(p, stream.NewOutputTag[string]("x")).Discard()
	stream.SideOutput(p, stream.NewOutputTag[int]("x")).Discard()
	err := env.Execute(context.Background(), t.Name())
	if err == nil {
		t.Fatal("Execute succeeded")
	}
	for _, part := range []string{`side output "x"`, "string", "int"} {
		if !strings.Contains(err.Error(), part) {
			t.Errorf("error %q does not mention %q", err, part)
		}
	}
	// The same id and type twice is the same side output.
	env = stream.NewEnvironment().SetParallelism(1)
	p = stream.Process(stream.FromSlice(env, []int{1, 2}), stream.ProcessFunc[int, int](func(ctx *stream.Context, v int, _ stream.Collector[int]) error {
		stream.NewOutputTag[string]("x").Emit(ctx, strconv.Itoa(v))
		return nil
	}))
	one := stream.SideOutput(p, stream.NewOutputTag[string]("x")).Collect()
	two := stream.SideOutput(p, stream.NewOutputTag[string]("x")).Collect()
	etRun(t, env)
	if len(one.Values()) != 2 || len(two.Values()) != 2 {
		t.Fatalf("two consumers of one side output got %v and %v, want both records each", one.Values(), two.Values())
	}
}

// --- Keyed state TTL and timers ---------------------------------------------

// etTTLCounter counts records per key in a value with a TTL of one
// second, and emits what it found before its update.
type etTTLCounter struct {
	count state.ValueState[int64]
}

func (f *etTTLCounter) Open(_ context.Context, rc *stream.KeyedRuntimeContext[string]) (err error) {
	f.count, err = stream.GetValueState(rc, state.Value[int64]("count").WithTTL(state.TTLConfig{TTL: time.Second}))
	return err
}

func (f *etTTLCounter) ProcessElement(ctx *stream.KeyedContext[string], e etEvent, out stream.Collector[string]) error {
	n, ok, err := f.count.Value()
	if err != nil {
		return err
	}
	// Write before emitting: once the test sees the output, it may move
	// the clock.
	if err := f.count.Update(n + 1); err != nil {
		return err
	}
	if ok {
		out.Collect(fmt.Sprintf("%s:%d", e.Key, n))
	} else {
		out.Collect(e.Key + ":none")
	}
	return nil
}

func TestKeyedStateTTLExpiresOnTheManualClock(t *testing.T) {
	env, clk := etManualEnv(2)
	feeds, src := etFeeds[etEvent](1)
	got := make(chan string, 64)
	events := stream.FromSource(env, src, stream.NoWatermarks[etEvent](), "feed").SetParallelism(1)
	stream.KeyedProcessEach(stream.KeyBy(events, func(e etEvent) string { return e.Key }), func() stream.KeyedProcessFunction[string, etEvent, string] {
		return &etTTLCounter{}
	}).SinkTo(etChanSink[string](got), "got")
	job := etStart(t, env)
	step := func(key, want string) {
		t.Helper()
		feeds[0].emit(etEvent{Key: key})
		if g := etRecv(t, got, key); g != want {
			t.Fatalf("got %q, want %q", g, want)
		}
	}
	step("a", "a:none")
	step("b", "b:none")
	clk.Advance(500 * time.Millisecond)
	step("a", "a:1") // written at 0, read at 500: alive; written again
	clk.Advance(700 * time.Millisecond)
	step("a", "a:2")    // written at 500, read at 1200: alive
	step("b", "b:none") // written at 0, read at 1200: expired
	clk.Advance(1500 * time.Millisecond)
	step("a", "a:none")
	step("b", "b:none")
	feeds[0].close()
	job.succeed(t)
}

// etTimerRules registers, for each record, a timer at ts+10 twice (one
// timer), and one at ts+20 that it deletes; key "x" also registers 1000
// and deletes it, key "y" only registers it.
type etTimerRules struct{}

func (etTimerRules) ProcessElement(ctx *stream.KeyedContext[string], e etEvent, _ stream.Collector[string]) error {
	ts := ctx.TimerService()
	ts.RegisterEventTimeTimer(e.TS + 10)
	ts.RegisterEventTimeTimer(e.TS + 10)
	ts.RegisterEventTimeTimer(e.TS + 20)
	ts.DeleteEventTimeTimer(e.TS + 20)
	switch e.Key {
	case "x":
		ts.RegisterEventTimeTimer(1000)
		ts.DeleteEventTimeTimer(1000)
	case "y":
		ts.RegisterEventTimeTimer(1000)
	}
	return nil
}

func (etTimerRules) OnTimer(ctx *stream.TimerContext[string], t int64, out stream.Collector[string]) error {
	out.Collect(fmt.Sprintf("%s@%d", ctx.CurrentKey(), t))
	return nil
}

// TestEventTimersDedupDeleteKeyAndTimestamp: a timer registered twice
// fires once; a deleted one does not fire (for its key only); OnTimer has
// the timer's key current, and what it emits carries the timer's time.
func TestEventTimersDedupDeleteKeyAndTimestamp(t *testing.T) {
	for _, p := range []int{1, 3} {
		t.Run(fmt.Sprintf("p=%d", p), func(t *testing.T) {
			env := stream.NewEnvironment().SetParallelism(p)
			events := []etEvent{{"x", 100}, {"y", 100}, {"z", 130}, {"x", 200}, {"y", 300}}
			src := stream.FromSlice(env, events).AssignTimestampsAndWatermarks(
				stream.ForGenerator[etEvent](func() stream.WatermarkGenerator { return etPerEvent{} }).
					WithTimestampAssigner(func(e etEvent, _ int64) int64 { return e.TS })).SetParallelism(1)
			fired := stream.KeyedProcess(stream.KeyBy(src, func(e etEvent) string { return e.Key }), stream.KeyedProcessFunction[string, etEvent, string](etTimerRules{}))
			got := etObserve(fired).Collect()
			etRun(t, env)
			var timers []string
			for _, s := range got.Values() {
				timers = append(timers, s.V)
				at, _ := strconv.ParseInt(s.V[strings.Index(s.V, "@")+1:], 10, 64)
				if s.TS != at {
					t.Errorf("%v: emitted from OnTimer with timestamp %d, want the timer's %d", s, s.TS, at)
				}
			}
			slices.Sort(timers)
			want := []string{"x@110", "x@210", "y@1000", "y@110", "y@310", "z@140"}
			if !slices.Equal(timers, want) {
				t.Fatalf("timers fired %v, want %v", timers, want)
			}
		})
	}
}

// TestCurrentWatermarkStartsAtMin: before any watermark, the context says
// math.MinInt64, and records without timestamps say so.
func TestCurrentWatermarkStartsAtMin(t *testing.T) {
	env := stream.NewEnvironment().SetParallelism(1)
	got := stream.Process(stream.FromSlice(env, []int{1}), stream.ProcessFunc[int, string](func(ctx *stream.Context, v int, out stream.Collector[string]) error {
		_, has := ctx.Timestamp()
		out.Collect(fmt.Sprintf("wm=%s ts=%v", etFmt(ctx.CurrentWatermark()), has))
		return nil
	})).Collect()
	etRun(t, env)
	if v := got.Values(); len(v) != 1 || v[0] != "wm=Min ts=false" {
		t.Fatalf("got %v", v)
	}
}
