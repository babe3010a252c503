package stream

import (
	"context"
	"testing"
	"time"

	"github.com/runnel-io/runnel/stream/window"
)

// The window benchmarks run one keyed event-time window job of b.N events
// each and report events/s; run them with a fixed count so that the job's
// set-up is amortized:
//
//	go test -run='^$' -bench=Window -benchmem -benchtime=200000x ./stream/
//
// Event i has timestamp i (ms) and key i mod wbKeys. The job runs at
// parallelism 1: a source task (generator, timestamps and watermarks
// chained) and a window task behind a keyed exchange. Allocations are per
// event (per b.N).

const wbKeys = 1000

// wbEvent is the record of the window benchmarks.
type wbEvent struct {
	Key, TS, Value int64
}

func wbEvents(env *Environment, n int, watermarkEvery int64) DataStream[wbEvent] {
	src := Generate(env, int64(n), func(i int64) (wbEvent, error) {
		return wbEvent{Key: i % wbKeys, TS: i, Value: i & 0xff}, nil
	})
	return src.AssignTimestampsAndWatermarks(
		ForGenerator[wbEvent](func() WatermarkGenerator { return &wbWatermarks{every: watermarkEvery} }).
			WithTimestampAssigner(func(e wbEvent, _ int64) int64 { return e.TS }))
}

// wbWatermarks emits the largest timestamp so far minus 1 every every
// events: on each event (every = 1), as the windowcount example does, or
// amortized as a periodic generator would, but deterministically.
type wbWatermarks struct {
	every, seen, max int64
}

func (g *wbWatermarks) OnEvent(ts int64, out WatermarkOutput) {
	g.max = max(g.max, ts)
	if g.seen++; g.seen%g.every == 0 {
		out.EmitWatermark(g.max - 1)
	}
}

func (*wbWatermarks) OnPeriodicEmit(WatermarkOutput) {}

// wbWatermarkModes are the sub-benchmarks: watermarks after every event,
// and after every 1024.
var wbWatermarkModes = []struct {
	name  string
	every int64
}{
	{"watermark=per-event", 1},
	{"watermark=every-1024", 1024},
}

func runWindowBench(b *testing.B, env *Environment) {
	b.Helper()
	b.ReportAllocs()
	b.ResetTimer()
	if err := env.Execute(context.Background(), b.Name()); err != nil {
		b.Fatal(err)
	}
	b.StopTimer()
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "events/s")
}

// wbCount counts the events of a window.
type wbCount struct{}

func (wbCount) CreateAccumulator() int64       { return 0 }
func (wbCount) Add(_ wbEvent, acc int64) int64 { return acc + 1 }
func (wbCount) Result(acc int64) int64         { return acc }
func (wbCount) Merge(a, b int64) int64         { return a + b }

// BenchmarkTumblingWindowCount counts events per key in tumbling windows
// of 100s: 100 events per key and window, 1000 windows open at a time.
func BenchmarkTumblingWindowCount(b *testing.B) {
	for _, m := range wbWatermarkModes {
		b.Run(m.name, func(b *testing.B) {
			env := NewEnvironment().SetParallelism(1)
			events := wbEvents(env, b.N, m.every)
			ws := Window(KeyBy(events, func(e wbEvent) int64 { return e.Key }),
				window.TumblingEventTimeWindows[wbEvent](100*time.Second, 0))
			WindowAggregate(ws, wbCount{}).Discard()
			runWindowBench(b, env)
		})
	}
}

// wbSumCount is the accumulator and result of wbSumCountAgg.
type wbSumCount struct{ Sum, Count int64 }

// wbSumCountAgg sums the values of a window and counts them.
type wbSumCountAgg struct{}

func (wbSumCountAgg) CreateAccumulator() wbSumCount { return wbSumCount{} }
func (wbSumCountAgg) Add(e wbEvent, acc wbSumCount) wbSumCount {
	return wbSumCount{Sum: acc.Sum + e.Value, Count: acc.Count + 1}
}
func (wbSumCountAgg) Result(acc wbSumCount) wbSumCount { return acc }
func (wbSumCountAgg) Merge(a, b wbSumCount) wbSumCount {
	return wbSumCount{Sum: a.Sum + b.Sum, Count: a.Count + b.Count}
}

// BenchmarkSlidingWindowAggregate sums and counts events per key in
// sliding windows of 100s every 10s: each event is added to 10 windows.
func BenchmarkSlidingWindowAggregate(b *testing.B) {
	for _, m := range wbWatermarkModes {
		b.Run(m.name, func(b *testing.B) {
			env := NewEnvironment().SetParallelism(1)
			events := wbEvents(env, b.N, m.every)
			ws := Window(KeyBy(events, func(e wbEvent) int64 { return e.Key }),
				window.SlidingEventTimeWindows[wbEvent](100*time.Second, 10*time.Second, 0))
			WindowAggregate(ws, wbSumCountAgg{}).Discard()
			runWindowBench(b, env)
		})
	}
}

// BenchmarkSessionWindowCount counts events per key in session windows with
// a gap of 2s: a key's events are 1s apart, so every event merges into its
// key's one session, which fires at the end. It measures the merging path
// (the MergingWindowSet of the key, loaded and saved per event).
func BenchmarkSessionWindowCount(b *testing.B) {
	for _, m := range wbWatermarkModes {
		b.Run(m.name, func(b *testing.B) {
			env := NewEnvironment().SetParallelism(1)
			events := wbEvents(env, b.N, m.every)
			ws := Window(KeyBy(events, func(e wbEvent) int64 { return e.Key }),
				window.EventTimeSessionWindows[wbEvent](2*time.Second))
			WindowAggregate(ws, wbCount{}).Discard()
			runWindowBench(b, env)
		})
	}
}
