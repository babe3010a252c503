package stream

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/runnel-io/runnel/stream/window"
)

type countAgg struct{}

func (countAgg) CreateAccumulator() int64     { return 0 }
func (countAgg) Add(_ event, acc int64) int64 { return acc + 1 }
func (countAgg) Result(acc int64) int64       { return acc }
func (countAgg) Merge(a, b int64) int64       { return a + b }

type describe struct{}

func (describe) Process(ctx *WindowContext[string, window.TimeWindow], counts []int64, out Collector[string]) error {
	w := ctx.Window()
	out.Collect(fmt.Sprintf("%d,%d,%s,%d", w.Start, w.End, ctx.CurrentKey(), counts[0]))
	return nil
}

// runWindows runs events through a windowed count with per-event
// watermarks (ts-1) and returns the sorted output lines and late records.
func runWindows(t *testing.T, p int, events []event, a window.Assigner[event, window.TimeWindow], lateness time.Duration) ([]string, []event) {
	t.Helper()
	checkNoLeaks(t)
	env := NewEnvironment().SetParallelism(p)
	src := FromSlice(env, events).AssignTimestampsAndWatermarks(
		ForGenerator[event](func() WatermarkGenerator { return &perEvent{} }).
			WithTimestampAssigner(func(e event, _ int64) int64 { return e.TS })).SetParallelism(1)
	lateTag := NewOutputTag[event]("late")
	ws := Window(KeyBy(src, func(e event) string { return e.Key }), a).AllowedLateness(lateness).SideOutputLateData(lateTag)
	counted := WindowAggregateProcess(ws, countAgg{}, describe{})
	got := counted.Collect()
	late := SideOutput(counted, lateTag).Collect()
	if err := env.Execute(context.Background(), "windows"); err != nil {
		t.Fatal(err)
	}
	vals := got.Values()
	slices.Sort(vals)
	lateVals := late.Values()
	slices.SortFunc(lateVals, func(a, b event) int { return int(a.TS - b.TS) })
	return vals, lateVals
}

func TestTumblingSlidingSessionWindows(t *testing.T) {
	events := []event{{"a", 1}, {"b", 2}, {"a", 9}, {"a", 10}, {"a", 25}, {"b", 11}, {"a", 3}, {"a", 26}}
	cases := []struct {
		name     string
		assigner window.Assigner[event, window.TimeWindow]
		lateness time.Duration
		want     string
		late     string
	}{
		// b@11 and a@3 arrive after a@25 moved the watermark to 24.
		{"tumbling", window.TumblingEventTimeWindows[event](10*time.Millisecond, 0), 0,
			"[0,10,a,2 0,10,b,1 10,20,a,1 20,30,a,2]", "[{a 3} {b 11}]"},
		{"tumbling lateness", window.TumblingEventTimeWindows[event](10*time.Millisecond, 0), 20 * time.Millisecond,
			"[0,10,a,2 0,10,a,3 0,10,b,1 10,20,a,1 10,20,b,1 20,30,a,2]", "[]"},
		{"sliding", window.SlidingEventTimeWindows[event](10*time.Millisecond, 5*time.Millisecond, 0), 0,
			"[-5,5,a,1 -5,5,b,1 0,10,a,2 0,10,b,1 10,20,a,1 20,30,a,2 25,35,a,2 5,15,a,2]", "[{a 3} {b 11}]"},
		{"session", window.EventTimeSessionWindows[event](5 * time.Millisecond), 0,
			"[1,6,a,1 2,7,b,1 25,31,a,2 9,15,a,2]", "[{a 3} {b 11}]"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			for _, p := range []int{1, 3} {
				got, late := runWindows(t, p, events, c.assigner, c.lateness)
				if fmt.Sprint(got) != c.want || fmt.Sprint(late) != c.late {
					t.Fatalf("p=%d:\n got %v late %v\nwant %v late %v", p, got, late, c.want, c.late)
				}
			}
		})
	}
}
