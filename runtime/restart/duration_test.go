package restart

import (
	"strings"
	"testing"
	"time"
)

func TestParseDuration(t *testing.T) {
	for in, want := range map[string]time.Duration{
		"10 s": 10 * time.Second, "10s": 10 * time.Second, " 7 S ": 7 * time.Second,
		"1 sec": time.Second, "2 secs": 2 * time.Second, "1 second": time.Second, "2 seconds": 2 * time.Second,
		"1 min": time.Minute, "1min": time.Minute, "1m": time.Minute, "5 MIN": 5 * time.Minute,
		"1 minute": time.Minute, "3 minutes": 3 * time.Minute,
		"500 ms": 500 * time.Millisecond, "500": 500 * time.Millisecond, "0": 0, "0 s": 0,
		"1 milli": time.Millisecond, "2 millis": 2 * time.Millisecond, "3 milliseconds": 3 * time.Millisecond,
		"2 h": 2 * time.Hour, "1 hour": time.Hour, "2 hours": 2 * time.Hour,
		"1 d": 24 * time.Hour, "1 day": 24 * time.Hour, "3 days": 72 * time.Hour,
		"10us": 10 * time.Microsecond, "10µs": 10 * time.Microsecond, "10μs": 10 * time.Microsecond,
		"4 micros": 4 * time.Microsecond, "1 microsecond": time.Microsecond,
		"10 ns": 10, "1 nano": 1, "5 nanoseconds": 5,
		"106751 d": 106751 * 24 * time.Hour,
	} {
		got, err := ParseDuration(in)
		if err != nil || got != want {
			t.Errorf("ParseDuration(%q) = %v, %v; want %v", in, got, err, want)
		}
	}
}

func TestParseDurationErrors(t *testing.T) {
	for in, want := range map[string]string{
		"":                       `restart: "" is not a duration: it does not start with a number`,
		"s":                      "does not start with a number",
		"-1 s":                   "does not start with a number",
		"+5":                     "does not start with a number",
		"1.5 s":                  `unknown unit ".5 s"`,
		"1m30s":                  `unknown unit "m30s"`,
		"10 fortnights":          `restart: "10 fortnights" is not a duration: unknown unit "fortnights" (use ns, us, ms, s, min, h or d)`,
		"99999999999999999999":   "too long",
		"106752 d":               "too long",
		"9223372036854775808 ns": "too long",
	} {
		_, err := ParseDuration(in)
		if err == nil || !strings.Contains(err.Error(), want) || !strings.HasPrefix(err.Error(), "restart: ") {
			t.Errorf("ParseDuration(%q) = %v, want an error containing %q", in, err, want)
		}
	}
}

func TestFormatDurationParsesBack(t *testing.T) {
	for d, want := range map[time.Duration]string{
		0: "0s", time.Second: "1s", time.Minute: "1min", 90 * time.Second: "90s", time.Hour: "1h",
		48 * time.Hour: "2d", 1500 * time.Millisecond: "1500ms", 3 * time.Microsecond: "3us", 7: "7ns",
	} {
		if got := formatDuration(d); got != want {
			t.Errorf("formatDuration(%v) = %q, want %q", d, got, want)
		}
		if back, err := ParseDuration(want); err != nil || back != d {
			t.Errorf("ParseDuration(%q) = %v, %v; want %v", want, back, err, d)
		}
	}
}
