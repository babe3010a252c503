package config_test

import (
	"strings"
	"testing"
	"time"

	"github.com/runnel-io/runnel/config"
	"github.com/runnel-io/runnel/runtime/checkpoint"
	"github.com/runnel-io/runnel/runtime/checkpoint/storage"
	"github.com/runnel-io/runnel/runtime/task"
	"github.com/runnel-io/runnel/state/keygroup"
)

// TestKeysAgreeWithRuntime checks the options against the keys and
// defaults that the runtime's packages declare for themselves.
func TestKeysAgreeWithRuntime(t *testing.T) {
	for _, tc := range []struct{ option, runtime string }{
		{config.CheckpointingInterval.Key(), checkpoint.KeyInterval},
		{config.CheckpointingTimeout.Key(), checkpoint.KeyTimeout},
		{config.CheckpointingMinPause.Key(), checkpoint.KeyMinPause},
		{config.MaxConcurrentCheckpoints.Key(), checkpoint.KeyMaxConcurrent},
		{config.TolerableFailedCheckpoints.Key(), checkpoint.KeyTolerableFailures},
		{config.NumRetainedCheckpoints.Key(), checkpoint.KeyNumRetained},
		{config.CheckpointsDir.Key(), storage.KeyCheckpointsDir},
		{config.SavepointsDir.Key(), storage.KeySavepointsDir},
	} {
		if tc.option != tc.runtime {
			t.Errorf("option %s, runtime %s", tc.option, tc.runtime)
		}
	}
	if d := config.CheckpointingTimeout.Default(); d != checkpoint.DefaultTimeout {
		t.Errorf("timeout default %v, runtime %v", d, checkpoint.DefaultTimeout)
	}
	if n := config.MaxConcurrentCheckpoints.Default(); n != checkpoint.DefaultMaxConcurrent {
		t.Errorf("max-concurrent default %d, runtime %d", n, checkpoint.DefaultMaxConcurrent)
	}
	if n := config.NumRetainedCheckpoints.Default(); n != checkpoint.DefaultNumRetained {
		t.Errorf("num-retained default %d, runtime %d", n, checkpoint.DefaultNumRetained)
	}
	if d := config.BufferTimeout.Default(); d != task.DefaultBufferTimeout {
		t.Errorf("buffer timeout default %v, runtime %v", d, task.DefaultBufferTimeout)
	}
	var c config.Configuration
	c.Set(config.MaxParallelism.Key(), "32769")
	if _, err := config.Get(&c, config.MaxParallelism); err == nil || keygroup.UpperBound != 32768 {
		t.Errorf("pipeline.max-parallelism above keygroup.UpperBound (%d) accepted", keygroup.UpperBound)
	}
	c.Set(config.CheckpointingInterval.Key(), "9 ms")
	if _, err := config.Get(&c, config.CheckpointingInterval); err == nil || checkpoint.MinInterval != 10e6 {
		t.Errorf("execution.checkpointing.interval below checkpoint.MinInterval (%v) accepted", checkpoint.MinInterval)
	}
}

// TestBufferTimeoutValues: execution.buffer-timeout takes Flink's values,
// -1 ms among them, and names itself when a value is wrong.
func TestBufferTimeoutValues(t *testing.T) {
	for raw, want := range map[string]time.Duration{
		"-1": -time.Millisecond, "-1 ms": -time.Millisecond, "0": 0, "0 ms": 0, "5": 5 * time.Millisecond, "1 s": time.Second,
	} {
		var c config.Configuration
		c.Set(config.BufferTimeout.Key(), raw)
		if got, err := config.Get(&c, config.BufferTimeout); err != nil || got != want {
			t.Errorf("%q: got %v, %v; want %v", raw, got, err, want)
		}
		if err := c.Validate(); err != nil {
			t.Errorf("%q: %v", raw, err)
		}
	}
	for _, raw := range []string{"-2", "-1 s", "-500 us", "soon"} {
		var c config.Configuration
		c.Set(config.BufferTimeout.Key(), raw)
		_, err := config.Get(&c, config.BufferTimeout)
		if err == nil || !strings.Contains(err.Error(), "execution.buffer-timeout") {
			t.Errorf("%q: got error %v, want one naming the key", raw, err)
		}
	}
}
