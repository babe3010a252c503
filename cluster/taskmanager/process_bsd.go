//go:build unix && !linux

package taskmanager

import (
	"os/exec"
	"syscall"
)

// sysProcAttr puts a worker process in a process group of its own, so
// that what it started can be killed with it. Without Linux's
// Pdeathsig, a worker outlives a TaskManager killed with SIGKILL.
func sysProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true}
}

// reap waits for cmd's process to exit and reaps it, then kills what is
// left of its process group. Without waitid's WNOWAIT the group is
// killed after the leader was reaped: should the group be empty by then
// and its ID reused at once by a new group, that group would be
// signalled.
func reap(cmd *exec.Cmd) error {
	err := cmd.Wait()
	_ = killGroup(cmd.Process.Pid)
	return err
}
