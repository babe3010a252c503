//go:build !unix

package procgroup

import (
	"os/exec"
	"syscall"
)

// Attr is the default: without process groups and Pdeathsig, what a
// child started, and a child whose parent was killed, may live on.
func Attr(dieWithParent bool) *syscall.SysProcAttr { return nil }

// Reap waits for cmd's process to exit and reaps it.
func Reap(cmd *exec.Cmd) error { return cmd.Wait() }
