//go:build unix && !linux

package procgroup

import (
	"os/exec"
	"syscall"
)

// Attr puts a child in a process group of its own, so that what it starts
// can be killed with it. Without Linux's Pdeathsig, dieWithParent cannot
// be had: a child outlives this process killed with SIGKILL.
func Attr(dieWithParent bool) *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true}
}

// Reap waits for cmd's process to exit and reaps it, then kills what is
// left of its process group. Without waitid's WNOWAIT the group is killed
// after the leader was reaped: should the group be empty by then and its
// ID reused at once by a new group, that group would be signalled.
func Reap(cmd *exec.Cmd) error {
	err := cmd.Wait()
	_ = Signal(cmd.Process.Pid, syscall.SIGKILL)
	return err
}
