package taskmanager

import (
	"os/exec"
	"syscall"
	"unsafe"
)

// sysProcAttr puts a worker process in a process group of its own, so
// that what it started can be killed with it, and has the kernel kill it
// when the TaskManager dies, even by SIGKILL.
func sysProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
}

// reap waits for cmd's process to exit, kills what is left of its
// process group while the exited leader, not yet reaped, still holds the
// group's ID, and then reaps it.
func reap(cmd *exec.Cmd) error {
	pid := cmd.Process.Pid
	waitExited(pid)
	_ = killGroup(pid)
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
