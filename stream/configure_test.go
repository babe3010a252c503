package stream

import (
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

// TestConfigureRejectsClusterKeys: a job cannot set a key of the cluster's
// processes, and is told that it is one; nothing else is applied then.
func TestConfigureRejectsClusterKeys(t *testing.T) {
	env := NewEnvironment()
	before := env.Parallelism()
	err := env.Configure(map[string]string{
		"rest.port":           "8082",
		"high-availability":   "zookeeper",
		"parallelism.default": "3",
	})
	for _, key := range []string{"rest.port", "high-availability"} {
		if err == nil || !strings.Contains(err.Error(), "config: "+key+": a cluster key") {
			t.Errorf("error %v does not say that %s is a cluster key", err, key)
		}
	}
	if !errors.Is(err, config.ErrClusterKey) || errors.Is(err, config.ErrUnknownKey) {
		t.Errorf("error %v: want one matching config.ErrClusterKey only", err)
	}
	if env.Parallelism() != before {
		t.Errorf("a failed Configure set the parallelism to %d", env.Parallelism())
	}
	if err := env.Configure(map[string]string{"paralelism.default": "2"}); !errors.Is(err, config.ErrUnknownKey) ||
		!strings.Contains(err.Error(), "did you mean parallelism.default?") {
		t.Errorf("a misspelt key: %v", err)
	}
}

// TestConfigureEveryJobKey sets each of a job's keys and checks where it
// lands.
func TestConfigureEveryJobKey(t *testing.T) {
	env := NewEnvironment()
	if err := env.Configure(map[string]string{
		"parallelism.default":                                  " 3 ",
		"pipeline.max-parallelism":                             "64",
		"execution.checkpointing.interval":                     "1 s",
		"execution.checkpointing.timeout":                      "2 min",
		"execution.checkpointing.min-pause":                    "500",
		"execution.checkpointing.max-concurrent-checkpoints":   "2",
		"execution.checkpointing.tolerable-failed-checkpoints": "4",
		"state.checkpoints.num-retained":                       "5",
		"state.checkpoints.dir":                                " /tmp/cp ",
		"state.savepoints.dir":                                 "/tmp/sp",
		"execution.savepoint.path":                             "/tmp/sp/savepoint-1",
		"execution.savepoint.ignore-unclaimed-state":           "TRUE",
		"restart-strategy":                                     "fixeddelay",
	}); err != nil {
		t.Fatal(err)
	}
	c := env.checkpoints
	if env.Parallelism() != 3 || env.graph.MaxParallelism != 64 || c.Interval != time.Second || c.Timeout != 2*time.Minute ||
		c.MinPause != 500*time.Millisecond || c.MaxConcurrent != 2 || c.TolerableFailures != 4 || c.NumRetained != 5 ||
		c.Dir != "/tmp/cp" || c.SavepointDir != "/tmp/sp" || env.restorePath != "/tmp/sp/savepoint-1" || !env.allowNonRestored ||
		env.restart == nil || env.restart.Type != "fixed-delay" {
		t.Errorf("configured parallelism %d/%d, checkpoints %+v, restore %q %v, restart %+v",
			env.Parallelism(), env.graph.MaxParallelism, c, env.restorePath, env.allowNonRestored, env.restart)
	}
	// What is not set stays as it was.
	if err := env.Configure(map[string]string{"execution.checkpointing.timeout": "3 min"}); err != nil {
		t.Fatal(err)
	}
	if env.Parallelism() != 3 || env.checkpoints.Interval != time.Second || env.checkpoints.Timeout != 3*time.Minute || env.restart == nil {
		t.Errorf("a second Configure changed more than its key: parallelism %d, checkpoints %+v", env.Parallelism(), env.checkpoints)
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
	c := startJob(t, env, "configured")
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
