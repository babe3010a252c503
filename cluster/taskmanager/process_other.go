//go:build !unix

package taskmanager

import (
	"os"
)

// terminate kills process p: there is no SIGTERM to send.
func terminate(p *os.Process) error { return p.Kill() }
