package checkpoint

import (
	"fmt"
	"time"
)

// The configuration keys of Config, as Flink names them. Package config
// declares the typed options with these keys, defaults and bounds
// (config.CheckpointingInterval, ...), and everything else reads the keys
// through those; they are named here for the coordinator's own messages,
// since a pure core does not import config.
const (
	KeyInterval          = "execution.checkpointing.interval"
	KeyTimeout           = "execution.checkpointing.timeout"
	KeyMinPause          = "execution.checkpointing.min-pause"
	KeyMaxConcurrent     = "execution.checkpointing.max-concurrent-checkpoints"
	KeyTolerableFailures = "execution.checkpointing.tolerable-failed-checkpoints"
	KeyNumRetained       = "state.checkpoints.num-retained"
)

// The defaults EnsureDefaults fills in: the options' defaults.
const (
	DefaultTimeout       = 10 * time.Minute
	DefaultMaxConcurrent = 1
	DefaultNumRetained   = 1
)

// MinInterval is the shortest positive Interval and the shortest Timeout
// (Flink's MINIMAL_CHECKPOINT_TIME).
const MinInterval = 10 * time.Millisecond

// Config is how a job checkpoints. It is a plain value: copy it freely.
// The coordinator works in whole milliseconds; finer durations are
// truncated.
type Config struct {
	// Interval (execution.checkpointing.interval) is the period of
	// periodic checkpoints. 0, the default, disables them (and the final
	// checkpoint of a bounded job); savepoints and manual checkpoints
	// still work. Otherwise at least MinInterval. If MinPause is longer,
	// the period is MinPause.
	Interval time.Duration
	// Timeout (execution.checkpointing.timeout, default 10m) is how long a
	// checkpoint may take from its trigger until every task and
	// coordinator has acknowledged it; it is then aborted as expired.
	// Writing the metadata is not bounded by it: the driver reports that
	// write's outcome itself.
	Timeout time.Duration
	// MinPause (execution.checkpointing.min-pause, default 0) is the time
	// from the end (completion or abort) of one checkpoint or savepoint to
	// the trigger of the next periodic checkpoint. A positive MinPause
	// implies at most one pending checkpoint for periodic triggering.
	MinPause time.Duration
	// MaxConcurrent (execution.checkpointing.max-concurrent-checkpoints,
	// default 1) is how many checkpoints and savepoints may be pending
	// when a periodic or manual checkpoint is triggered. Savepoints and
	// the final checkpoint are not held back by it.
	MaxConcurrent int
	// TolerableFailures
	// (execution.checkpointing.tolerable-failed-checkpoints, default 0) is
	// how many consecutive checkpoints may fail (declined, expired, or
	// their metadata not written) without failing the job; one more fails
	// it. Savepoints, and checkpoints aborted because they were subsumed
	// or because the job restarted or ended, do not count. A completed
	// checkpoint resets the count.
	TolerableFailures int
	// NumRetained (state.checkpoints.num-retained, default 1) is how many
	// completed checkpoints are kept; older ones are discarded.
	// Savepoints are never discarded.
	NumRetained int
}

// EnsureDefaults fills in the zero Timeout, MaxConcurrent and NumRetained
// with their defaults.
func (c *Config) EnsureDefaults() {
	if c.Timeout == 0 {
		c.Timeout = DefaultTimeout
	}
	if c.MaxConcurrent == 0 {
		c.MaxConcurrent = DefaultMaxConcurrent
	}
	if c.NumRetained == 0 {
		c.NumRetained = DefaultNumRetained
	}
}

// Validate reports the first value out of range, naming its key. Call it
// after EnsureDefaults: a zero Timeout, MaxConcurrent or NumRetained is
// invalid.
func (c Config) Validate() error {
	switch {
	case c.Interval < 0 || (c.Interval > 0 && c.Interval < MinInterval):
		return fmt.Errorf("checkpoint: %s must be 0 (disabled) or at least %v, got %v", KeyInterval, MinInterval, c.Interval)
	case c.Timeout < MinInterval:
		return fmt.Errorf("checkpoint: %s must be at least %v, got %v", KeyTimeout, MinInterval, c.Timeout)
	case c.MinPause < 0:
		return fmt.Errorf("checkpoint: %s must not be negative, got %v", KeyMinPause, c.MinPause)
	case c.MaxConcurrent < 1:
		return fmt.Errorf("checkpoint: %s must be at least 1, got %d", KeyMaxConcurrent, c.MaxConcurrent)
	case c.TolerableFailures < 0:
		return fmt.Errorf("checkpoint: %s must not be negative, got %d", KeyTolerableFailures, c.TolerableFailures)
	case c.NumRetained < 1:
		return fmt.Errorf("checkpoint: %s must be at least 1, got %d", KeyNumRetained, c.NumRetained)
	}
	return nil
}

// period is the time between periodic triggers in milliseconds, 0 if
// periodic checkpoints are disabled.
func (c Config) period() int64 {
	if c.Interval == 0 {
		return 0
	}
	return max(c.Interval, c.MinPause).Milliseconds()
}

// periodicLimit is how many checkpoints may be pending for a periodic one
// to be triggered.
func (c Config) periodicLimit() int {
	if c.MinPause > 0 {
		return 1
	}
	return c.MaxConcurrent
}
