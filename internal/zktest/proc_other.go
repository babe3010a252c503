//go:build !linux

package zktest

import "syscall"

// procAttr puts a server in a process group of its own.
func procAttr() *syscall.SysProcAttr { return &syscall.SysProcAttr{Setpgid: true} }
