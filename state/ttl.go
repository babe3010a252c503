package state

import (
	"fmt"
	"time"

	"github.com/runnel-io/runnel/runtime/clock"
)

// TTLConfig makes a keyed state's values expire a fixed time after they were
// last accessed, in processing time (the backend's clock.Clock). It follows
// Flink's StateTtlConfig:
//
//   - Each value carries the time of its last access: per element for list
//     state and per entry for map state, per key and namespace otherwise.
//     Update says which accesses count.
//   - A value whose last access is at least TTL ago is expired.
//   - An access that finds an expired value removes it. Under
//     NeverReturnExpired the access then behaves as if the value were absent
//     (a reducing or aggregating Add starts afresh); under
//     ReturnExpiredIfNotCleanedUp that access still sees the value, once.
//     Accesses that do not look at existing values do not remove them: a
//     list's Add and AddAll, a value's Update, any Clear.
//   - Expired values that are never accessed again are removed by
//     incremental cleanup (CleanupIncrementally). A snapshot keeps the
//     values not removed yet, expired or not, with their timestamps, so
//     that after a restore they expire as they would have without one.
//
// The zero TTLConfig is not valid: TTL must be set. A descriptor without
// WithTTL keeps its values forever.
type TTLConfig struct {
	// TTL is how long a value lives after its last access. It must be
	// positive.
	TTL time.Duration
	// Update says which accesses refresh a value's timestamp. The default is
	// OnCreateAndWrite.
	Update UpdateType
	// Visibility says whether an expired value that is still stored may be
	// returned. The default is NeverReturnExpired.
	Visibility Visibility
	// CleanupIncrementally is how many entries of the state each access to
	// it checks for expiry, removing those that expired; 0 (the default)
	// turns incremental cleanup off. It must not be negative.
	//
	// The check walks a cursor over the state's key groups in order, and
	// within a key group over its entries in storage order, resuming where
	// the previous access stopped. Moving the cursor on to the next key
	// group also counts as one check, so that an access costs O(N) however
	// sparse the state is. Each entry stored when the cursor starts a lap is
	// checked during that lap (unless removed first), and a lap takes one
	// step per key group plus one per entry it checks, so about (entries +
	// key groups) / N accesses (see TestCleanupLapVisitsEveryEntry). An entry
	// is a key and namespace; checking a list or map entry checks all its
	// elements.
	CleanupIncrementally int
}

// UpdateType says which accesses refresh the timestamp of a value with TTL.
type UpdateType uint8

const (
	// OnCreateAndWrite refreshes a value's timestamp when it is created or
	// written (Update, Add, Put, a merge into it). The default.
	OnCreateAndWrite UpdateType = iota
	// OnReadAndWrite also refreshes it when it is read and returned: Value,
	// Get, Contains, the entries All yields, the elements Get returns.
	OnReadAndWrite
)

// String returns the name of the update type.
func (u UpdateType) String() string {
	switch u {
	case OnCreateAndWrite:
		return "OnCreateAndWrite"
	case OnReadAndWrite:
		return "OnReadAndWrite"
	}
	return fmt.Sprintf("UpdateType(%d)", uint8(u))
}

// Visibility says whether an expired value that is still stored may be
// returned.
type Visibility uint8

const (
	// NeverReturnExpired never returns an expired value. The default.
	NeverReturnExpired Visibility = iota
	// ReturnExpiredIfNotCleanedUp returns an expired value that has not yet
	// been removed; the access that returns it removes it.
	ReturnExpiredIfNotCleanedUp
)

// String returns the name of the visibility.
func (v Visibility) String() string {
	switch v {
	case NeverReturnExpired:
		return "NeverReturnExpired"
	case ReturnExpiredIfNotCleanedUp:
		return "ReturnExpiredIfNotCleanedUp"
	}
	return fmt.Sprintf("Visibility(%d)", uint8(v))
}

// validate checks c for the state called name.
func (c TTLConfig) validate(name string) error {
	switch {
	case c.TTL <= 0:
		return fmt.Errorf("%w: state %q: TTL %v must be positive", ErrInvalidDescriptor, name, c.TTL)
	case c.Update > OnReadAndWrite:
		return fmt.Errorf("%w: state %q: unknown TTL update type %v", ErrInvalidDescriptor, name, c.Update)
	case c.Visibility > ReturnExpiredIfNotCleanedUp:
		return fmt.Errorf("%w: state %q: unknown TTL visibility %v", ErrInvalidDescriptor, name, c.Visibility)
	case c.CleanupIncrementally < 0:
		return fmt.Errorf("%w: state %q: CleanupIncrementally %d must not be negative", ErrInvalidDescriptor, name, c.CleanupIncrementally)
	}
	return nil
}

// ttlPolicy is a validated TTLConfig in the form the states use. A state
// without TTL has a nil *ttlPolicy.
type ttlPolicy struct {
	ttl           int64 // nanoseconds
	updateOnRead  bool
	returnExpired bool
	cleanup       int
	clk           clock.Clock
}

func newTTLPolicy(c TTLConfig, clk clock.Clock) *ttlPolicy {
	return &ttlPolicy{
		ttl:           int64(c.TTL),
		updateOnRead:  c.Update == OnReadAndWrite,
		returnExpired: c.Visibility == ReturnExpiredIfNotCleanedUp,
		cleanup:       c.CleanupIncrementally,
		clk:           clk,
	}
}

// now returns the current processing time in Unix nanoseconds.
func (p *ttlPolicy) now() int64 { return p.clk.Now().UnixNano() }

// expired reports whether a value last accessed at ts has expired at now.
// It subtracts rather than adds so that a huge TTL cannot overflow.
func (p *ttlPolicy) expired(ts, now int64) bool { return now-ts >= p.ttl }

// ttlValue is a value with the time of its last access (Unix nanoseconds; 0
// and unused without TTL). Value, reducing and aggregating states store
// these, and map states store one per entry.
type ttlValue[V any] struct {
	v  V
	ts int64
}
