package filesink

import (
	"fmt"
	"time"
)

// RollingPolicy says when a part file is closed and a new one started
// (Flink's DefaultRollingPolicy). Whatever the policy, every part file also
// rolls at each checkpoint, when the writer pre-commits. A zero field takes
// its default.
type RollingPolicy struct {
	// PartSize: a part file rolls once it holds at least PartSize bytes,
	// right after the record that took it there (so no record is split
	// across files, and a file may exceed PartSize by less than one
	// record). Default 128 MiB.
	PartSize int64
	// RolloverInterval: a part file rolls once it has been open for this
	// long. Default 60s.
	RolloverInterval time.Duration
	// InactivityInterval: a part file rolls once it has received no record
	// for this long. Default 60s.
	InactivityInterval time.Duration
}

// Defaults of RollingPolicy.
const (
	DefaultPartSize           = 128 << 20
	DefaultRolloverInterval   = 60 * time.Second
	DefaultInactivityInterval = 60 * time.Second
)

// withDefaults returns p with its zero fields set to their defaults.
func (p RollingPolicy) withDefaults() RollingPolicy {
	if p.PartSize == 0 {
		p.PartSize = DefaultPartSize
	}
	if p.RolloverInterval == 0 {
		p.RolloverInterval = DefaultRolloverInterval
	}
	if p.InactivityInterval == 0 {
		p.InactivityInterval = DefaultInactivityInterval
	}
	return p
}

// validate reports a negative field.
func (p RollingPolicy) validate() error {
	switch {
	case p.PartSize < 0:
		return fmt.Errorf("rolling policy: PartSize %d is negative", p.PartSize)
	case p.RolloverInterval < 0:
		return fmt.Errorf("rolling policy: RolloverInterval %v is negative", p.RolloverInterval)
	case p.InactivityInterval < 0:
		return fmt.Errorf("rolling policy: InactivityInterval %v is negative", p.InactivityInterval)
	}
	return nil
}

// dueAt returns the processing time (milliseconds) at which a part opened
// at opened and last written at lastWrite rolls on time.
func (p RollingPolicy) dueAt(opened, lastWrite int64) int64 {
	return min(opened+p.RolloverInterval.Milliseconds(), lastWrite+p.InactivityInterval.Milliseconds())
}

// firstDue returns the earliest processing time at which a part opened at
// now can roll on time: a lower bound for its dueAt ever after.
func (p RollingPolicy) firstDue(now int64) int64 {
	return now + min(p.RolloverInterval, p.InactivityInterval).Milliseconds()
}
