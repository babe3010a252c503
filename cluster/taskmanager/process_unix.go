//go:build unix

package taskmanager

import (
	"os"
	"syscall"
)

// terminate asks process p to exit: SIGTERM.
func terminate(p *os.Process) error { return p.Signal(syscall.SIGTERM) }
