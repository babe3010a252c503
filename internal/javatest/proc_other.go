//go:build !linux

package javatest

import "syscall"

// ProcAttr puts a server in a process group of its own.
func ProcAttr() *syscall.SysProcAttr { return &syscall.SysProcAttr{Setpgid: true} }
