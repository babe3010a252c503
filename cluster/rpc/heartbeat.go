package rpc

import (
	"slices"
	"time"
)

// Monitor tracks the heartbeats of peers and says which were lost: a
// deterministic core, driven by the caller's clock (Flink's
// HeartbeatManager without its threads). Not safe for concurrent use.
type Monitor[ID comparable] struct {
	timeout time.Duration
	last    map[ID]time.Time
}

// NewMonitor returns a monitor that loses a peer after timeout without a
// heartbeat (heartbeat.timeout).
func NewMonitor[ID comparable](timeout time.Duration) *Monitor[ID] {
	return &Monitor[ID]{timeout: timeout, last: map[ID]time.Time{}}
}

// Seen records a heartbeat from id at now; an unknown id starts being
// monitored.
func (m *Monitor[ID]) Seen(id ID, now time.Time) { m.last[id] = now }

// Forget stops monitoring id.
func (m *Monitor[ID]) Forget(id ID) { delete(m.last, id) }

// Expired returns the peers whose last heartbeat is older than the
// timeout at now, and stops monitoring them: each loss is reported once.
func (m *Monitor[ID]) Expired(now time.Time) []ID {
	var lost []ID
	for id, t := range m.last {
		if now.Sub(t) > m.timeout {
			lost = append(lost, id)
			delete(m.last, id)
		}
	}
	return lost
}

// Next returns when the next peer would expire, if any is monitored.
func (m *Monitor[ID]) Next() (time.Time, bool) {
	if len(m.last) == 0 {
		return time.Time{}, false
	}
	ts := make([]time.Time, 0, len(m.last))
	for _, t := range m.last {
		ts = append(ts, t)
	}
	return slices.MinFunc(ts, func(a, b time.Time) int { return a.Compare(b) }).Add(m.timeout), true
}

// Monitored reports whether id is monitored.
func (m *Monitor[ID]) Monitored(id ID) bool {
	_, ok := m.last[id]
	return ok
}
