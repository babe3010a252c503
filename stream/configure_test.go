package stream

import (
	"context"
	"errors"
	"runtime"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/runnel-io/runnel/config"
)

func TestConfigureRejectsUnknownAndMalformedKeys(t *testing.T) {
	env := NewEnvironment()
	err := env.Configure(map[string]string{
		"execution.checkpointing.interval":      "soon",
		"state.checkpoint.dir":                  "/tmp/x",
		"restart-strategy.fixed-delay.attempts": "x",
		"parallelism.default":                   "0",
	})
	if err == nil {
		t.Fatal("no error")
	}
	for _, want := range []string{"execution.checkpointing.interval", "state.checkpoint.dir", "restart-strategy.fixed-delay.attempts", "parallelism.default"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not name %s", err, want)
		}
	}
	if env.checkpoints.Interval != 0 || env.Parallelism() == 0 {
		t.Error("a failed Configure changed the environment")
	}
}

// TestConfigureCheckpointsAndRestarts configures checkpoints and a restart
// strategy by Flink's keys: a job that fails once recovers.
func TestConfigureCheckpointsAndRestarts(t *testing.T) {
	env := NewEnvironment()
	if err := env.Configure(map[string]string{
		"parallelism.default":                   "2",
		"execution.checkpointing.interval":      "10 ms",
		"state.checkpoints.dir":                 t.TempDir(),
		"state.checkpoints.num-retained":        "2",
		"restart-strategy.type":                 "fixed-delay",
		"restart-strategy.fixed-delay.attempts": "3",
		"restart-strategy.fixed-delay.delay":    "0 s",
	}); err != nil {
		t.Fatal(err)
	}
	if env.checkpoints.Interval != 10*time.Millisecond || env.Parallelism() != 2 || env.checkpoints.NumRetained != 2 {
		t.Fatalf("configured %+v, parallelism %d", env.checkpoints, env.Parallelism())
	}
	var failed atomic.Bool
	boom := errors.New("boom")
	got := Map(Generate(env, 1000, func(i int64) (int64, error) { return i, nil }), func(v int64) (int64, error) {
		if v == 500 && failed.CompareAndSwap(false, true) {
			return 0, boom
		}
		return v, nil
	}).Collect()
	c, err := env.ExecuteAsync(context.Background(), "configured")
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Wait(); err != nil {
		t.Fatal(err)
	}
	if c.Restarts() != 1 {
		t.Errorf("restarts = %d, want 1", c.Restarts())
	}
	if !failed.Load() || len(got.Values()) < 1000 {
		t.Errorf("failed %v, %d values", failed.Load(), len(got.Values()))
	}
}

// TestDefaultParallelism checks that an environment starts with the
// default that the reference documents for parallelism.default.
func TestDefaultParallelism(t *testing.T) {
	if got, want := NewEnvironment().Parallelism(), config.DefaultParallelism.Default(); got != want || want != runtime.NumCPU() {
		t.Errorf("NewEnvironment().Parallelism() = %d, parallelism.default's default %d, want both the number of CPUs, %d", got, want, runtime.NumCPU())
	}
}
