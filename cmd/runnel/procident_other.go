//go:build unix && !linux

package main

import (
	"fmt"
	"os"
	"os/exec"
	"strings"
	"time"
)

// startTime is the start time of process pid, in seconds since the epoch,
// as ps(1) reports it (the BSDs and macOS have no /proc): with the pid it
// names one process, unless the pid is reused within the same second. A
// process that has ended is os.ErrNotExist.
func startTime(pid int) (uint64, error) {
	out, err := exec.Command("ps", "-o", "lstart=", "-p", fmt.Sprint(pid)).Output()
	text := strings.Join(strings.Fields(string(out)), " ")
	if text == "" {
		// ps exits 1 and prints nothing for a process that is gone.
		return 0, fmt.Errorf("process %d: %w", pid, os.ErrNotExist)
	}
	if err != nil {
		return 0, fmt.Errorf("ps -p %d: %w", pid, err)
	}
	t, err := time.ParseInLocation("Mon Jan 2 15:04:05 2006", text, time.Local)
	if err != nil {
		return 0, fmt.Errorf("ps -p %d: start time %q: %w", pid, text, err)
	}
	return uint64(t.Unix()), nil
}
