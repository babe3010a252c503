package resourcemanager

import (
	"fmt"
	"time"
)

// The configuration keys of Config, as Flink names them.
const (
	KeySlotsPerWorker      = "taskmanager.numberOfTaskSlots"
	KeyHeartbeatTimeout    = "heartbeat.timeout"
	KeyTaskManagerTimeout  = "resourcemanager.taskmanager-timeout"
	KeySlotRequestTimeout  = "slot.request.timeout"
	KeyRegistrationTimeout = "resourcemanager.taskmanager-registration.timeout"
	KeyStartRetryInterval  = "resourcemanager.start-worker.retry-interval"
	KeyMaxSlots            = "slotmanager.number-of-slots.max"
)

// The defaults EnsureDefaults fills in (Flink's).
const (
	DefaultSlotsPerWorker      = 1
	DefaultHeartbeatTimeout    = 50 * time.Second
	DefaultTaskManagerTimeout  = 30 * time.Second
	DefaultSlotRequestTimeout  = 5 * time.Minute
	DefaultRegistrationTimeout = 5 * time.Minute
	DefaultStartRetryInterval  = 3 * time.Second
)

// Config is how the resource manager keeps its TaskManagers and slots. It
// is a plain value: copy it freely. The SlotManager works in whole
// milliseconds; finer durations are truncated, and every duration must be
// at least a millisecond.
type Config struct {
	// SlotsPerWorker (taskmanager.numberOfTaskSlots, default 1) is how
	// many slots a worker the driver starts offers; workers are requested
	// by that many slots.
	SlotsPerWorker int
	// HeartbeatTimeout (heartbeat.timeout, default 50s) is how long a
	// registered TaskManager may go without a heartbeat (its
	// registration counts as one) before it is taken as lost.
	HeartbeatTimeout time.Duration
	// TaskManagerTimeout (resourcemanager.taskmanager-timeout, default
	// 30s) is how long a TaskManager that the driver started may have
	// every slot free before it is released. TaskManagers the driver did
	// not start (standalone) are never released.
	TaskManagerTimeout time.Duration
	// SlotRequestTimeout (slot.request.timeout, default 5m) is how long a
	// slot request may wait to be fulfilled before it fails.
	SlotRequestTimeout time.Duration
	// RegistrationTimeout
	// (resourcemanager.taskmanager-registration.timeout, default 5m) is
	// how long a requested worker may take to register, counted from its
	// request or, once the driver reported it started, from then. A
	// worker that does not register in time is released and counts as a
	// failed start.
	RegistrationTimeout time.Duration
	// StartRetryInterval (resourcemanager.start-worker.retry-interval,
	// default 3s) is how long after a failed worker start (the driver
	// reported it failed before it registered, or it missed the
	// RegistrationTimeout) no new worker is requested, so that a broken
	// command line does not spin.
	StartRetryInterval time.Duration
	// MaxSlots (slotmanager.number-of-slots.max, default 0: no limit)
	// bounds the slots of registered and requested workers together: no
	// worker is requested beyond it. If set, at least SlotsPerWorker.
	MaxSlots int
}

// EnsureDefaults fills in every zero field but MaxSlots with its default.
func (c *Config) EnsureDefaults() {
	if c.SlotsPerWorker == 0 {
		c.SlotsPerWorker = DefaultSlotsPerWorker
	}
	if c.HeartbeatTimeout == 0 {
		c.HeartbeatTimeout = DefaultHeartbeatTimeout
	}
	if c.TaskManagerTimeout == 0 {
		c.TaskManagerTimeout = DefaultTaskManagerTimeout
	}
	if c.SlotRequestTimeout == 0 {
		c.SlotRequestTimeout = DefaultSlotRequestTimeout
	}
	if c.RegistrationTimeout == 0 {
		c.RegistrationTimeout = DefaultRegistrationTimeout
	}
	if c.StartRetryInterval == 0 {
		c.StartRetryInterval = DefaultStartRetryInterval
	}
}

// Validate reports the first value out of range, naming its key. Call it
// after EnsureDefaults: zero values other than MaxSlots are invalid.
func (c Config) Validate() error {
	for _, d := range []struct {
		key string
		v   time.Duration
	}{
		{KeyHeartbeatTimeout, c.HeartbeatTimeout},
		{KeyTaskManagerTimeout, c.TaskManagerTimeout},
		{KeySlotRequestTimeout, c.SlotRequestTimeout},
		{KeyRegistrationTimeout, c.RegistrationTimeout},
		{KeyStartRetryInterval, c.StartRetryInterval},
	} {
		if d.v < time.Millisecond {
			return fmt.Errorf("resourcemanager: %s must be at least 1ms, got %v", d.key, d.v)
		}
	}
	switch {
	case c.SlotsPerWorker < 1:
		return fmt.Errorf("resourcemanager: %s must be at least 1, got %d", KeySlotsPerWorker, c.SlotsPerWorker)
	case c.MaxSlots < 0:
		return fmt.Errorf("resourcemanager: %s must not be negative, got %d", KeyMaxSlots, c.MaxSlots)
	case c.MaxSlots > 0 && c.MaxSlots < c.SlotsPerWorker:
		return fmt.Errorf("resourcemanager: %s (%d) must be 0 (no limit) or at least %s (%d)",
			KeyMaxSlots, c.MaxSlots, KeySlotsPerWorker, c.SlotsPerWorker)
	}
	return nil
}
