package minicluster_test

import (
	"context"
	"errors"
	"runtime"
	"sync/atomic"
	"testing"

	"github.com/runnel-io/runnel/cluster/minicluster"
	"github.com/runnel-io/runnel/internal/clustertest"
	"github.com/runnel-io/runnel/runtime/job"
	"github.com/runnel-io/runnel/stream"
)

// closeCounter counts how often each subtask's function is opened and
// closed.
type closeCounter struct {
	opened, closed atomic.Int64
	failAt         int64 // fail on this record, if positive
}

func (c *closeCounter) Open(context.Context, *stream.RuntimeContext) error {
	c.opened.Add(1)
	return nil
}

func (c *closeCounter) Close() error {
	c.closed.Add(1)
	return nil
}

func (c *closeCounter) ProcessElement(_ *stream.Context, v int64, out stream.Collector[int64]) error {
	if c.failAt > 0 && v == c.failAt {
		return errors.New("boom")
	}
	out.Collect(v)
	return nil
}

func deploy(t *testing.T, env *stream.Environment) *minicluster.Job {
	t.Helper()
	sg, err := env.StreamGraph()
	if err != nil {
		t.Fatal(err)
	}
	jg, err := sg.JobGraph()
	if err != nil {
		t.Fatal(err)
	}
	mj, err := minicluster.Deploy("test", jg, job.Config{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	return mj
}

// build makes source(p=3) → rebalance → process(p=2, counted) → rebalance →
// discard(p=3).
func build(count int64, fn *closeCounter) *stream.Environment {
	env := stream.NewEnvironment().SetParallelism(3)
	src := stream.Generate(env, count, func(i int64) (int64, error) { return i, nil })
	p := stream.Process[int64, int64](src.Rebalance(), fn).SetParallelism(2)
	p.Rebalance().Discard()
	return env
}

// TestTaskClosesEverything proves invariant 1 of package runtime/task: every
// operator is closed exactly once whether the job ends, fails or is
// cancelled, and after a normal end every segment is back in its pool.
func TestTaskClosesEverything(t *testing.T) {
	t.Run("ends", func(t *testing.T) {
		fn := &closeCounter{}
		job := deploy(t, build(50000, fn))
		if err := job.Run(context.Background()); err != nil {
			t.Fatal(err)
		}
		if fn.opened.Load() != 2 || fn.closed.Load() != 2 {
			t.Fatalf("opened %d, closed %d times; want 2 and 2", fn.opened.Load(), fn.closed.Load())
		}
		if m := job.Metrics(); m.SegmentsInUse != 0 || m.QueuedBuffers != 0 {
			t.Fatalf("after the job: %d segments in use, %d buffers queued", m.SegmentsInUse, m.QueuedBuffers)
		}
	})
	t.Run("fails", func(t *testing.T) {
		fn := &closeCounter{failAt: 30000}
		job := deploy(t, build(50000, fn))
		err := job.Run(context.Background())
		if err == nil || err.Error() != `Process (1/2): boom` && err.Error() != `Process (2/2): boom` {
			t.Fatalf("err = %v, want the Process operator's failure", err)
		}
		if fn.closed.Load() != fn.opened.Load() || fn.opened.Load() == 0 {
			t.Fatalf("opened %d, closed %d times", fn.opened.Load(), fn.closed.Load())
		}
	})
	t.Run("cancelled", func(t *testing.T) {
		fn := &closeCounter{}
		job := deploy(t, build(stream.Unbounded, fn))
		cancel, done := clustertest.Go(t, job.Run)
		for fn.opened.Load() < 2 {
			runtime.Gosched() // until both subtasks run
		}
		cancel()
		if err := <-done; !errors.Is(err, context.Canceled) {
			t.Fatalf("err = %v, want context.Canceled", err)
		}
		if fn.closed.Load() != 2 {
			t.Fatalf("closed %d times, want 2", fn.closed.Load())
		}
	})
}
