package restart

import (
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
)

// units maps Flink's time unit labels (TimeUtils) and "us" to durations.
var units = map[string]time.Duration{
	"ns": time.Nanosecond, "nano": time.Nanosecond, "nanos": time.Nanosecond,
	"nanosecond": time.Nanosecond, "nanoseconds": time.Nanosecond,
	"us": time.Microsecond, "µs": time.Microsecond, "μs": time.Microsecond,
	"micro": time.Microsecond, "micros": time.Microsecond,
	"microsecond": time.Microsecond, "microseconds": time.Microsecond,
	"ms": time.Millisecond, "milli": time.Millisecond, "millis": time.Millisecond,
	"millisecond": time.Millisecond, "milliseconds": time.Millisecond,
	"s": time.Second, "sec": time.Second, "secs": time.Second,
	"second": time.Second, "seconds": time.Second,
	"m": time.Minute, "min": time.Minute, "minute": time.Minute, "minutes": time.Minute,
	"h": time.Hour, "hour": time.Hour, "hours": time.Hour,
	"d": 24 * time.Hour, "day": 24 * time.Hour, "days": 24 * time.Hour,
}

// ParseDuration parses a duration in Flink's syntax: a non-negative integer,
// optional spaces, and an optional unit (case-insensitive): "500 ms",
// "10s", "10 s", "1 min", "2 h", "1 d". A number without a unit is in
// milliseconds. The units are ns, us or µs, ms, s, sec(s), second(s), m,
// min, minute(s), h, hour(s), d and day(s), and Flink's nano(s),
// nanosecond(s), micro(s), microsecond(s), milli(s) and millisecond(s).
// Fractions, signs and compound durations ("1m30s") are errors.
func ParseDuration(s string) (time.Duration, error) {
	d, err := parseDuration(s)
	if err != nil {
		return 0, fmt.Errorf("restart: %q is not a duration: %w", s, err)
	}
	return d, nil
}

var errNoNumber = errors.New("it does not start with a number")

func parseDuration(s string) (time.Duration, error) {
	t := strings.TrimSpace(s)
	i := 0
	for i < len(t) && '0' <= t[i] && t[i] <= '9' {
		i++
	}
	if i == 0 {
		return 0, errNoNumber
	}
	label := strings.ToLower(strings.TrimSpace(t[i:]))
	unit := time.Millisecond
	if label != "" {
		u, ok := units[label]
		if !ok {
			return 0, fmt.Errorf("unknown unit %q (use ns, us, ms, s, min, h or d)", strings.TrimSpace(t[i:]))
		}
		unit = u
	}
	n, err := strconv.ParseInt(t[:i], 10, 64)
	if err != nil || n > math.MaxInt64/int64(unit) {
		return 0, errors.New("it is too long (the longest is about 292 years)")
	}
	return time.Duration(n) * unit, nil
}

// formatDuration writes d in the largest unit that divides it ("1min",
// "500ms", "90s"), in a form ParseDuration reads back.
func formatDuration(d time.Duration) string {
	if d < 0 {
		return d.String() // not a valid setting; only shown in errors
	}
	for _, u := range []struct {
		label string
		d     time.Duration
	}{
		{"d", 24 * time.Hour}, {"h", time.Hour}, {"min", time.Minute},
		{"s", time.Second}, {"ms", time.Millisecond}, {"us", time.Microsecond},
	} {
		if d != 0 && d%u.d == 0 {
			return strconv.FormatInt(int64(d/u.d), 10) + u.label
		}
	}
	if d == 0 {
		return "0s"
	}
	return strconv.FormatInt(int64(d), 10) + "ns"
}
