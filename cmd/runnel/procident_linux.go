package main

import (
	"bytes"
	"fmt"
	"os"
	"strconv"
)

// startTime is the start time of process pid as Linux counts it: field 22
// of /proc/PID/stat, clock ticks since boot. With the pid it names one
// process: a pid reused after the process ended has another start time.
// A process that has ended, a zombie included, is os.ErrNotExist.
func startTime(pid int) (uint64, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, err
	}
	// The command name (field 2) is in parentheses and may hold spaces
	// and parentheses itself: the fields after it follow the last ')'.
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return 0, fmt.Errorf("/proc/%d/stat: no command name", pid)
	}
	fields := bytes.Fields(b[i+1:])
	// fields[0] is field 3 (the state); field 22 is fields[19].
	if len(fields) < 20 {
		return 0, fmt.Errorf("/proc/%d/stat: %d fields", pid, len(fields)+2)
	}
	if string(fields[0]) == "Z" || string(fields[0]) == "X" {
		return 0, fmt.Errorf("process %d has ended: %w", pid, os.ErrNotExist)
	}
	return strconv.ParseUint(string(fields[19]), 10, 64)
}
