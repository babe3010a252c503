//go:build !linux

package main

import "errors"

// startTime is not known on this system: runnel cluster stop signals no
// process it cannot tell is the one it started.
func startTime(int) (uint64, error) {
	return 0, errors.New("the start time of a process is known on Linux only")
}
