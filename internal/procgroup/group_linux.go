package procgroup

import (
	"os/exec"
	"syscall"
	"unsafe"
)

// Attr puts a child in a process group of its own, so that what it starts
// can be killed with it; with dieWithParent the kernel kills it when this
// process dies, even by SIGKILL.
func Attr(dieWithParent bool) *syscall.SysProcAttr {
	a := &syscall.SysProcAttr{Setpgid: true}
	if dieWithParent {
		a.Pdeathsig = syscall.SIGKILL
	}
	return a
}

// Reap waits for cmd's process to exit, kills what is left of its process
// group while the exited leader, not yet reaped, still holds the group's
// ID, and then reaps it.
func Reap(cmd *exec.Cmd) error {
	pid := cmd.Process.Pid
	waitExited(pid)
	_ = Signal(pid, syscall.SIGKILL)
	return cmd.Wait()
}

// waitExited blocks until process pid has exited, without reaping it
// (waitid with WNOWAIT).
func waitExited(pid int) {
	const pPID = 1     // P_PID
	var info [128]byte // siginfo_t
	for {
		_, _, errno := syscall.Syscall6(syscall.SYS_WAITID, pPID, uintptr(pid),
			uintptr(unsafe.Pointer(&info[0])), syscall.WEXITED|syscall.WNOWAIT, 0, 0)
		if errno != syscall.EINTR {
			return
		}
	}
}
