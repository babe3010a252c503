package config

import (
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
)

// MemorySize is an amount of memory in bytes: Flink's MemorySize.
type MemorySize int64

// Units of MemorySize. As in Flink, a kilobyte is 1024 bytes.
const (
	Byte     MemorySize = 1
	Kibibyte            = 1024 * Byte
	Mebibyte            = 1024 * Kibibyte
	Gibibyte            = 1024 * Mebibyte
	Tebibyte            = 1024 * Gibibyte
)

// memoryUnits lists Flink's labels of each unit (MemorySize.MemoryUnit),
// largest first; the first label is the one String writes.
var memoryUnits = []struct {
	size   MemorySize
	labels []string
}{
	{Tebibyte, []string{"tb", "t", "tebibytes"}},
	{Gibibyte, []string{"gb", "g", "gibibytes"}},
	{Mebibyte, []string{"mb", "m", "mebibytes"}},
	{Kibibyte, []string{"kb", "k", "kibibytes"}},
	{Byte, []string{"bytes", "b"}},
}

// Bytes returns m in bytes.
func (m MemorySize) Bytes() int64 { return int64(m) }

// String writes m in the largest unit that divides it, in the syntax
// ParseMemorySize reads: "32 kb", "64 mb", "100 bytes".
func (m MemorySize) String() string {
	for _, u := range memoryUnits {
		if m != 0 && m%u.size == 0 {
			return fmt.Sprintf("%d %s", m/u.size, u.labels[0])
		}
	}
	return fmt.Sprintf("%d bytes", int64(m))
}

// ParseMemorySize parses a memory size in Flink's syntax: a non-negative
// integer, optional spaces and an optional unit (case-insensitive): b or
// bytes; k, kb or kibibytes; m, mb or mebibytes; g, gb or gibibytes; t, tb
// or tebibytes. A number without a unit is in bytes. Fractions and signs
// are errors.
func ParseMemorySize(s string) (MemorySize, error) {
	m, err := parseMemorySize(s)
	if err != nil {
		return 0, fmt.Errorf("config: %w", err)
	}
	return m, nil
}

func parseMemorySize(s string) (MemorySize, error) {
	m, err := parseBytes(s)
	if err != nil {
		return 0, fmt.Errorf("%q is not a memory size: %w", s, err)
	}
	return m, nil
}

func parseBytes(s string) (MemorySize, error) {
	t := strings.TrimSpace(s)
	i := 0
	for i < len(t) && '0' <= t[i] && t[i] <= '9' {
		i++
	}
	if i == 0 {
		return 0, errors.New("it does not start with a number")
	}
	unit := Byte
	if label := strings.ToLower(strings.TrimSpace(t[i:])); label != "" {
		unit = 0
		for _, u := range memoryUnits {
			for _, l := range u.labels {
				if l == label {
					unit = u.size
				}
			}
		}
		if unit == 0 {
			return 0, fmt.Errorf("unknown unit %q (use bytes, kb, mb, gb or tb)", strings.TrimSpace(t[i:]))
		}
	}
	n, err := strconv.ParseInt(t[:i], 10, 64)
	if err != nil || n > math.MaxInt64/int64(unit) {
		return 0, errors.New("it is too large")
	}
	return MemorySize(n) * unit, nil
}
