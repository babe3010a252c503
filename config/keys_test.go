package config_test

import (
	"strings"
	"testing"
	"time"

	"github.com/runnel-io/runnel/config"
	"github.com/runnel-io/runnel/runtime/checkpoint"
	"github.com/runnel-io/runnel/runtime/task"
)

// TestCheckpointOptionsAgreeWithTheCoordinator checks that the checkpoint
// options accept exactly the values that checkpoint.Config.Validate
// accepts: the coordinator checks its Config itself, as a pure core that
// does not import this package, and the options must not let through a
// value it refuses, nor refuse one it takes.
func TestCheckpointOptionsAgreeWithTheCoordinator(t *testing.T) {
	valid := checkpoint.Config{}
	valid.EnsureDefaults()
	if valid.Timeout != config.CheckpointingTimeout.Default() || valid.MaxConcurrent != config.MaxConcurrentCheckpoints.Default() ||
		valid.NumRetained != config.NumRetainedCheckpoints.Default() {
		t.Errorf("checkpoint.Config's defaults %+v differ from the options'", valid)
	}
	agree := func(key string, optionErr error, edit func(*checkpoint.Config)) {
		t.Helper()
		c := valid
		edit(&c)
		if coordErr := c.Validate(); (optionErr == nil) != (coordErr == nil) {
			t.Errorf("%s: the option says %v, checkpoint.Config.Validate %v", key, optionErr, coordErr)
		}
	}
	ms := time.Millisecond
	for _, d := range []time.Duration{-ms, 0, 1, 9 * ms, checkpoint.MinInterval - 1, checkpoint.MinInterval, time.Minute} {
		agree(config.CheckpointingInterval.Key(), config.CheckpointingInterval.Validate(d), func(c *checkpoint.Config) { c.Interval = d })
		agree(config.CheckpointingTimeout.Key(), config.CheckpointingTimeout.Validate(d), func(c *checkpoint.Config) { c.Timeout = d })
		agree(config.CheckpointingMinPause.Key(), config.CheckpointingMinPause.Validate(d), func(c *checkpoint.Config) { c.MinPause = d })
	}
	for _, n := range []int{-1, 0, 1, 2} {
		agree(config.MaxConcurrentCheckpoints.Key(), config.MaxConcurrentCheckpoints.Validate(n), func(c *checkpoint.Config) { c.MaxConcurrent = n })
		agree(config.TolerableFailedCheckpoints.Key(), config.TolerableFailedCheckpoints.Validate(n), func(c *checkpoint.Config) { c.TolerableFailures = n })
		agree(config.NumRetainedCheckpoints.Key(), config.NumRetainedCheckpoints.Validate(n), func(c *checkpoint.Config) { c.NumRetained = n })
	}
	if d := config.BufferTimeout.Default(); d != task.DefaultBufferTimeout {
		t.Errorf("buffer timeout default %v, runtime %v", d, task.DefaultBufferTimeout)
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

// TestHighAvailabilityKeysAreChecked: every high-availability.* key is a
// declared option, so that a misspelt one is refused naming it rather
// than ignored; Flink's deprecated keys still work.
func TestHighAvailabilityKeysAreChecked(t *testing.T) {
	var c config.Configuration
	c.Set("high-availability.foo", "bar")
	c.Set("high-availability.zookeeper.client.session-timout", "10 s")
	err := c.Validate()
	if err == nil || !strings.Contains(err.Error(), "high-availability.foo: unknown key") ||
		!strings.Contains(err.Error(), "did you mean high-availability.zookeeper.client.session-timeout") {
		t.Errorf("Validate = %v, want high-availability.foo refused and the misspelling corrected", err)
	}
	var ok config.Configuration
	for k, v := range map[string]string{
		"high-availability":                                                 "zookeeper",
		"high-availability.zookeeper.quorum":                                "a:2181",
		"high-availability.zookeeper.storageDir":                            "/ha",
		"high-availability.zookeeper.path.root":                             "/runnel",
		"high-availability.cluster-id":                                      "/one",
		"high-availability.zookeeper.client.acl":                            "creator",
		"high-availability.zookeeper.client.retry-wait":                     "1 s",
		"high-availability.zookeeper.client.tolerate-suspended-connections": "true",
	} {
		ok.Set(k, v)
	}
	if err := ok.Validate(); err != nil {
		t.Errorf("Flink's keys: %v", err)
	}
	var bad config.Configuration
	bad.Set("high-availability.zookeeper.path.root", "/flink/")
	if err := bad.Validate(); err == nil || !strings.Contains(err.Error(), "high-availability.zookeeper.path.root") {
		t.Errorf("a root with a trailing slash: %v", err)
	}
}
