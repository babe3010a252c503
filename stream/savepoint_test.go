package stream

import (
	"context"
	"slices"
	"sync/atomic"
	"testing"
	"time"

	"github.com/runnel-io/runnel/runtime/clock"
	"github.com/runnel-io/runnel/stream/window"
)

// windowCounts is a job over the events 0, 1, ... (timestamp = value, one
// key) counting them in tumbling event-time windows of 100 ms: the sum of
// the counts written is the number of events that reached a fired window.
func windowCounts(env *Environment, count int64, rate float64, seen *atomic.Int64) *Collected[int64] {
	src := Generate(env, count, func(i int64) (int64, error) { return i, nil }, WithRate(rate)).UID("src").SetParallelism(1)
	src = Map(src, func(v int64) (int64, error) {
		seen.Store(v + 1) // one subtask, in order
		return v, nil
	}).SetParallelism(1)
	timed := src.AssignTimestampsAndWatermarks(ForMonotonousTimestamps[int64]().WithTimestampAssigner(func(v int64, _ int64) int64 { return v }))
	ones := Map(timed, func(int64) (int64, error) { return 1, nil })
	keyed := KeyBy(ones, func(int64) int { return 0 })
	sums := WindowReduce(Window(keyed, window.TumblingEventTimeWindows[int64](100*time.Millisecond, 0)), func(a, b int64) (int64, error) { return a + b, nil }).UID("sum")
	return sums.Collect()
}

// within waits until cond holds, failing the test after a minute (so that
// a stuck job fails the test instead of hanging the suite).
func within(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(time.Minute)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("still waiting for %s after a minute", what)
		}
		time.Sleep(time.Millisecond)
	}
}

// stopCtx bounds a stop with a savepoint to a minute.
func stopCtx(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	t.Cleanup(cancel)
	return ctx
}

func sum(vs []int64) int64 {
	var s int64
	for _, v := range vs {
		s += v
	}
	return s
}

// TestStopWithSavepointAndResume stops a job with a savepoint mid-stream,
// without draining, and finishes it from the savepoint: the windows' counts
// of both runs add up to every event exactly once.
func TestStopWithSavepointAndResume(t *testing.T) {
	dir := t.TempDir()
	const count = 20000
	var seen atomic.Int64
	env := NewEnvironment().SetParallelism(2).EnableCheckpointing(20 * time.Millisecond)
	env.CheckpointConfig().Dir = dir
	first := windowCounts(env, count, 2000, &seen)
	c := startJob(t, env, "first")
	time.Sleep(300 * time.Millisecond) // let it get somewhere; nothing depends on how far
	sp, err := c.StopWithSavepoint(stopCtx(t), dir, false)
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Wait(); err != nil {
		t.Fatalf("after the stop: %v", err)
	}
	n := sum(first.Values())
	if n >= count {
		t.Fatalf("the first run counted all %d events before it was stopped", n)
	}

	env2 := NewEnvironment().SetParallelism(3).EnableCheckpointing(20 * time.Millisecond)
	env2.CheckpointConfig().Dir = dir
	env2.SetRestoreFrom(sp, false)
	second := windowCounts(env2, count, 0, &seen)
	if err := env2.Execute(context.Background(), "second"); err != nil {
		t.Fatal(err)
	}
	if total := n + sum(second.Values()); total != count {
		t.Fatalf("counted %d + %d = %d events over the two runs, want %d", n, total-n, total, count)
	}
}

// TestStopWithSavepointDrainFiresEverything: with drain, event time runs
// to its end before the savepoint, so every window fires, including the
// last partial one.
func TestStopWithSavepointDrainFiresEverything(t *testing.T) {
	dir := t.TempDir()
	env := NewEnvironment().SetParallelism(2).EnableCheckpointing(20 * time.Millisecond)
	env.CheckpointConfig().Dir = dir
	var seen atomic.Int64
	got := windowCounts(env, Unbounded, 2000, &seen)
	c := startJob(t, env, "drain")
	time.Sleep(300 * time.Millisecond)
	if _, err := c.StopWithSavepoint(stopCtx(t), dir, true); err != nil {
		t.Fatal(err)
	}
	if err := c.Wait(); err != nil {
		t.Fatal(err)
	}
	// Events 0 ... n-1 went into the windows: all of them fired, the last
	// partial one included.
	if n, counted := seen.Load(), sum(got.Values()); n == 0 || counted != n {
		t.Fatalf("the windows counted %d of the %d events", counted, n)
	}
}

// procTimers registers a processing-time timer at 1000 for every key it
// sees and emits the key when it fires.
type procTimers struct{ fired *atomic.Int64 }

func (p procTimers) ProcessElement(ctx *KeyedContext[int64], _ int64, _ Collector[int64]) error {
	ctx.TimerService().RegisterProcessingTimeTimer(1000)
	return nil
}

func (p procTimers) OnTimer(ctx *TimerContext[int64], _ int64, out Collector[int64]) error {
	out.Collect(ctx.CurrentKey())
	p.fired.Add(1)
	return nil
}

// TestProcessingTimeTimersSurviveASavepoint: timers registered before a
// stop with a savepoint fire after the job is restored from it.
//
// A record of the first three may not have left its source before the
// stop (its subtask may not have started yet): then the restored job
// emits it, and the flusher sends it once the clock has passed the buffer
// timeout. So the clock is advanced only when both generator sequences
// (even and odd records, one per source subtask) have run in the restored
// job: what they have written is sent by the flusher at their next poll.
func TestProcessingTimeTimersSurviveASavepoint(t *testing.T) {
	dir := t.TempDir()
	// seen[v%2] counts the records of each generator sequence.
	job := func(clk *clock.Manual, seen *[2]atomic.Int64, fired *atomic.Int64) (*Environment, *Collected[int64]) {
		env := NewEnvironment().SetParallelism(2).SetClock(clk)
		env.CheckpointConfig().Dir = dir
		src := Generate(env, Unbounded, func(i int64) (int64, error) { return i, nil }).UID("src")
		firstThree := src.Filter(func(v int64) (bool, error) {
			seen[v%2].Add(1)
			return v < 3, nil
		})
		keyed := KeyBy(firstThree, func(v int64) int64 { return v })
		return env, KeyedProcess(keyed, KeyedProcessFunction[int64, int64, int64](procTimers{fired})).UID("timers").Collect()
	}
	var seen [2]atomic.Int64
	var fired atomic.Int64
	env, got := job(clock.NewManual(time.UnixMilli(0)), &seen, &fired)
	c := startJob(t, env, "register")
	within(t, "records 0, 1 and 2 to be long past", func() bool { return seen[0].Load()+seen[1].Load() >= 1000 })
	sp, err := c.StopWithSavepoint(stopCtx(t), dir, false)
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Wait(); err != nil {
		t.Fatal(err)
	}
	if len(got.Values()) != 0 || fired.Load() != 0 {
		t.Fatalf("timers fired before the clock reached them: %v", got.Values())
	}

	seen[0].Store(0)
	seen[1].Store(0)
	clk := clock.NewManual(time.UnixMilli(0))
	env, got = job(clk, &seen, &fired)
	env.SetRestoreFrom(sp, false)
	c = startJob(t, env, "fire")
	within(t, "both sources of the restored job to run", func() bool { return seen[0].Load() > 0 && seen[1].Load() > 0 })
	clk.Advance(2 * time.Second)
	within(t, "the restored timers to fire", func() bool { return fired.Load() >= 3 })
	c.Cancel()
	_ = c.Wait()
	vs := got.Values()
	slices.Sort(vs)
	if !slices.Equal(vs, []int64{0, 1, 2}) {
		t.Fatalf("fired for keys %v, want 0, 1, 2 once each", vs)
	}
}
