package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/runnel-io/runnel/examples/jobs"
	"github.com/runnel-io/runnel/internal/privdir"
)

// The cluster command starts and stops a local standalone cluster, as
// Flink's start-cluster.sh and stop-cluster.sh do: a JobManager and
// TaskManagers as background processes, their logs and process IDs in one
// directory.
func newClusterCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "cluster start|stop",
		Short: "Start or stop a local standalone cluster (a JobManager and TaskManagers)",
	}
	var f configFlags
	var dir string
	var taskManagers int
	startCmd := &cobra.Command{
		Use:   "start [--dir DIR] [--taskmanagers N] [--config FILE] [-D key=value]...",
		Short: "Start a JobManager and N TaskManagers in the background",
		Args:  usage(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, _ []string) error {
			if taskManagers < 0 {
				return jobs.UsageError{Err: fmt.Errorf("runnel cluster start: --taskmanagers %d: must not be negative", taskManagers)}
			}
			if _, err := f.load(); err != nil {
				return err
			}
			rest, err := startCluster(cmd.Context(), dir, f, taskManagers)
			if err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "cluster started: REST API at %s, logs in %s\n", rest, dir)
			return nil
		},
	}
	f.add(startCmd)
	startCmd.Flags().IntVar(&taskManagers, "taskmanagers", 1, "number of TaskManagers to start")
	stopCmd := &cobra.Command{
		Use:   "stop [--dir DIR]",
		Short: "Stop the cluster started in DIR",
		Args:  usage(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, _ []string) error {
			n, err := stopCluster(dir)
			if err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "cluster stopped: %d processes\n", n)
			return nil
		},
	}
	for _, c := range []*cobra.Command{startCmd, stopCmd} {
		c.Flags().StringVar(&dir, "dir", filepath.Join(os.TempDir(), "runnel-cluster"), "`directory` of the cluster's logs and process IDs")
	}
	cmd.AddCommand(startCmd, stopCmd)
	return cmd
}

// listeningLine is the JobManager's log line that says where it is
// reached: rpc=HOST:PORT (what the TaskManagers are given) and rest=URL.
var listeningLine = regexp.MustCompile(`"jobmanager listening" rpc=(\S+) rest=(\S+)`)

// startCluster starts the processes and returns the REST API's URL once
// the JobManager listens.
func startCluster(ctx context.Context, dir string, f configFlags, taskManagers int) (string, error) {
	// A directory another user may write to could hold a pids file naming
	// this user's processes, which stop would then signal.
	if err := privdir.Check(dir); err != nil {
		return "", fmt.Errorf("runnel cluster start: --dir: %w", err)
	}
	if pids, _, _ := readPIDs(dir); len(pids) > 0 {
		return "", fmt.Errorf("runnel cluster start: a cluster started in %s is still running (runnel cluster stop --dir %s)", dir, dir)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", fmt.Errorf("runnel cluster start: %w", err)
	}
	self, err := os.Executable()
	if err != nil {
		return "", fmt.Errorf("runnel cluster start: %w", err)
	}
	args := []string{}
	if f.path != "" {
		args = append(args, "--config", f.path)
	}
	for _, o := range f.overrides {
		args = append(args, "-D"+o)
	}
	jmLog := filepath.Join(dir, "jobmanager.log")
	if err := spawn(dir, self, append([]string{"jobmanager"}, args...), jmLog); err != nil {
		return "", err
	}
	rpcAddr, rest, err := waitListening(ctx, jmLog)
	if err != nil {
		_, _ = stopCluster(dir)
		return "", err
	}
	host, port, _ := net.SplitHostPort(rpcAddr)
	for i := range taskManagers {
		tmArgs := append([]string{"taskmanager"}, args...)
		tmArgs = append(tmArgs, "-Djobmanager.rpc.address="+host, "-Djobmanager.rpc.port="+port)
		if err := spawn(dir, self, tmArgs, filepath.Join(dir, fmt.Sprintf("taskmanager-%d.log", i+1))); err != nil {
			_, _ = stopCluster(dir)
			return "", err
		}
	}
	return rest, nil
}

// spawn starts a process in a session of its own, so that it outlives the
// command, and records it in the pids file: "PID START ROLE" a line,
// START being its start time (startTime), so that stop signals it only
// while that pid is still this process.
func spawn(dir, bin string, args []string, logPath string) error {
	log, err := os.Create(logPath)
	if err != nil {
		return fmt.Errorf("runnel cluster start: %w", err)
	}
	defer log.Close()
	cmd := exec.Command(bin, args...)
	cmd.Stdout, cmd.Stderr = log, log
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("runnel cluster start: %s: %w", args[0], err)
	}
	defer func() { _ = cmd.Process.Release() }()
	pid := cmd.Process.Pid
	start := "-" // unknown: stop will not signal it
	if t, err := startTime(pid); err == nil {
		start = strconv.FormatUint(t, 10)
	}
	pids, err := os.OpenFile(filepath.Join(dir, "pids"), os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o644)
	if err != nil {
		return fmt.Errorf("runnel cluster start: %w", err)
	}
	defer pids.Close()
	_, err = fmt.Fprintf(pids, "%d %s %s\n", pid, start, args[0])
	return err
}

// waitListening waits until the JobManager's log says where it listens.
func waitListening(ctx context.Context, logPath string) (rpc, rest string, err error) {
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		if b, err := os.ReadFile(logPath); err == nil {
			sc := bufio.NewScanner(strings.NewReader(string(b)))
			for sc.Scan() {
				if m := listeningLine.FindStringSubmatch(sc.Text()); m != nil {
					return m[1], m[2], nil
				}
			}
		}
		select {
		case <-ctx.Done():
			return "", "", ctx.Err()
		case <-time.After(20 * time.Millisecond):
		}
	}
	b, _ := os.ReadFile(logPath)
	return "", "", fmt.Errorf("runnel cluster start: the JobManager did not start; its log %s says:\n%s", logPath, b)
}

// started is a process the pids file records.
type started struct {
	pid   int
	start uint64
	role  string
}

// readPIDs reads the processes of the cluster in dir that still run and
// are the ones it started: a recorded pid whose start time differs is
// another process now (the pid was reused), reported in foreign.
func readPIDs(dir string) (live []started, foreign []error, err error) {
	b, err := os.ReadFile(filepath.Join(dir, "pids"))
	if err != nil {
		return nil, nil, err
	}
	for n, line := range strings.Split(string(b), "\n") {
		f := strings.Fields(line)
		if len(f) == 0 {
			continue
		}
		var p started
		var perr, serr error
		p.pid, perr = strconv.Atoi(f[0])
		known := len(f) >= 2 && f[1] != "-"
		if known {
			p.start, serr = strconv.ParseUint(f[1], 10, 64)
		}
		if len(f) >= 3 {
			p.role = f[2]
		}
		if perr != nil || serr != nil || len(f) < 3 || p.pid <= 0 {
			foreign = append(foreign, fmt.Errorf("%s line %d: %q is not \"PID START ROLE\"; not signalled", filepath.Join(dir, "pids"), n+1, line))
			continue
		}
		now, err := startTime(p.pid)
		switch {
		case errors.Is(err, os.ErrNotExist) || syscall.Kill(p.pid, 0) != nil:
			continue // ended
		case !known:
			foreign = append(foreign, fmt.Errorf("process %d: its start time was not recorded, so it cannot be told from another process; not signalled", p.pid))
		case err != nil:
			foreign = append(foreign, fmt.Errorf("process %d: cannot tell whether it is the %s this cluster started (%v); not signalled", p.pid, p.role, err))
		case now != p.start:
			foreign = append(foreign, fmt.Errorf("process %d is not the %s this cluster started; not signalled", p.pid, p.role))
		default:
			live = append(live, p)
		}
	}
	return live, foreign, nil
}

// stopCluster stops the processes of the cluster in dir: SIGTERM, and
// SIGKILL to those still running after ten seconds. It signals only the
// processes it can tell are the ones the cluster started; the others are
// reported, with an error, after the pids file is removed.
func stopCluster(dir string) (int, error) {
	if err := privdir.Check(dir); err != nil {
		return 0, fmt.Errorf("runnel cluster stop: --dir: %w", err)
	}
	procs, foreign, err := readPIDs(dir)
	if errors.Is(err, os.ErrNotExist) {
		return 0, fmt.Errorf("runnel cluster stop: no cluster was started in %s", dir)
	}
	if err != nil {
		return 0, fmt.Errorf("runnel cluster stop: %w", err)
	}
	for _, p := range procs {
		_ = syscall.Kill(p.pid, syscall.SIGTERM)
	}
	deadline := time.Now().Add(10 * time.Second)
	for _, p := range procs {
		for same(p) && time.Now().Before(deadline) {
			time.Sleep(10 * time.Millisecond)
		}
		if same(p) {
			_ = syscall.Kill(p.pid, syscall.SIGKILL)
		}
	}
	if err := os.Remove(filepath.Join(dir, "pids")); err != nil && !errors.Is(err, os.ErrNotExist) {
		return len(procs), fmt.Errorf("runnel cluster stop: %w", err)
	}
	if len(foreign) > 0 {
		return len(procs), fmt.Errorf("runnel cluster stop: %w", errors.Join(foreign...))
	}
	return len(procs), nil
}

// same reports whether p still runs as the process that was started.
func same(p started) bool {
	now, err := startTime(p.pid)
	return err == nil && now == p.start && syscall.Kill(p.pid, 0) == nil
}
