package javatest

import (
	"fmt"
	"net"
	"os/exec"
	"syscall"
	"time"
)

// FreePorts returns n distinct free loopback ports.
func FreePorts(n int) ([]int, error) {
	var lns []net.Listener
	defer func() {
		for _, ln := range lns {
			ln.Close()
		}
	}()
	var ports []int
	for range n {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return nil, fmt.Errorf("javatest: %w", err)
		}
		lns = append(lns, ln)
		ports = append(ports, ln.Addr().(*net.TCPAddr).Port)
	}
	return ports, nil
}

// Process is a started server process.
type Process struct {
	cmd    *exec.Cmd
	exited chan struct{}
}

// Start starts cmd in a process group of its own that dies with the test
// binary (on Linux), and waits for it in the background.
func Start(cmd *exec.Cmd) (*Process, error) {
	cmd.SysProcAttr = ProcAttr()
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	p := &Process{cmd: cmd, exited: make(chan struct{})}
	go func() {
		_ = cmd.Wait()
		close(p.exited)
	}()
	return p, nil
}

// Exited is closed once the process has exited.
func (p *Process) Exited() <-chan struct{} { return p.exited }

// Pid is the process's id.
func (p *Process) Pid() int { return p.cmd.Process.Pid }

// Stop stops the process: SIGTERM, then SIGKILL after grace; it returns
// once the process has exited.
func (p *Process) Stop(grace time.Duration) {
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.exited:
	case <-time.After(grace):
		_ = p.cmd.Process.Kill()
		<-p.exited
	}
}
