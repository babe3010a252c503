//go:build unix && !linux

package process

import (
	"os/exec"
	"syscall"
)

// reap waits for cmd's process to exit and reaps it, then kills what is
// left of its process group. Without waitid's WNOWAIT the group is killed
// after the leader was reaped: should the group be empty by then and its
// ID reused at once by a new group, that group would be signalled.
func reap(cmd *exec.Cmd) error {
	err := cmd.Wait()
	_ = signalGroup(cmd.Process.Pid, syscall.SIGKILL)
	return err
}
