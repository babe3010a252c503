//go:build !unix

package taskmanager

import (
	"os"
	"os/exec"
	"syscall"
)

// sysProcAttr is the default: without process groups and Pdeathsig, what
// a worker started, and a worker whose TaskManager was killed, may live
// on.
func sysProcAttr() *syscall.SysProcAttr { return nil }

// reap waits for cmd's process to exit and reaps it.
func reap(cmd *exec.Cmd) error { return cmd.Wait() }

// terminate kills process p: there is no SIGTERM to send.
func terminate(p *os.Process) error { return p.Kill() }
