package javatest

import "syscall"

// ProcAttr makes a server die with the test binary.
func ProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
}
