package main

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"

	"github.com/runnel-io/runnel/examples/jobs"
	"github.com/runnel-io/runnel/internal/clustertest"
	"github.com/runnel-io/runnel/internal/tlstest"
)

// waitFor polls until the cluster has n task managers, each of two slots,
// and returns their IDs.
func waitFor(t *testing.T, c *clustertest.Cluster, n int) []string {
	t.Helper()
	var ids []string
	c.Until(fmt.Sprintf("%d task managers", n), func() bool {
		ids = ids[:0]
		for id, slots := range c.TaskManagers() {
			if slots != 2 {
				t.Errorf("task manager %s offers %d slots, want 2", id, slots)
			}
			ids = append(ids, id)
		}
		return len(ids) == n
	})
	return ids
}

// TestClusterProcesses starts a JobManager and two TaskManagers as
// processes on loopback: both register; one killed with SIGKILL is
// detected by the heartbeat timeout; a new one registers; the JobManager
// stops on SIGTERM.
func TestClusterProcesses(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the binary")
	}
	bin := clustertest.Build(t, "github.com/runnel-io/runnel/cmd/runnel")
	c := clustertest.New(t, bin, "-Dheartbeat.interval=50ms", "-Dheartbeat.timeout=500ms")
	tm1 := c.TaskManager("tm-1")
	c.TaskManager("tm-2")
	waitFor(t, c, 2)

	if err := tm1.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	if ids := waitFor(t, c, 1); ids[0] != "tm-2" {
		t.Fatalf("left %v, want tm-2", ids)
	}
	c.TaskManager("tm-3")
	waitFor(t, c, 2)

	if err := c.JobManager.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if err := c.JobManager.Wait(); err != nil {
		t.Fatalf("the JobManager ended with %v after SIGTERM", err)
	}
}

// TestClusterStartStop starts a local cluster with two TaskManagers in the
// background, finds both registered, and stops it: no process is left.
func TestClusterStartStop(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the binary")
	}
	bin := clustertest.Build(t, "github.com/runnel-io/runnel/cmd/runnel")
	dir := t.TempDir()
	args := []string{"cluster", "start", "--dir", dir, "--taskmanagers", "2", "-Djobmanager.rpc.address=127.0.0.1",
		"-Djobmanager.rpc.port=0", "-Drest.port=0", "-Drest.bind-address=127.0.0.1", "-Dtaskmanager.numberOfTaskSlots=2",
		"-Dheartbeat.interval=50ms", "-Dheartbeat.timeout=500ms"}
	out, err := exec.Command(bin, args...).CombinedOutput()
	t.Cleanup(func() { _ = exec.Command(bin, "cluster", "stop", "--dir", dir).Run() })
	if err != nil {
		t.Fatalf("cluster start: %v\n%s", err, out)
	}
	m := regexp.MustCompile(`REST API at http://(\S+),`).FindSubmatch(out)
	if m == nil {
		t.Fatalf("cluster start said %q", out)
	}
	waitFor(t, clustertest.Attach(t, bin, string(m[1])), 2)
	pids, err := os.ReadFile(filepath.Join(dir, "pids"))
	if err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command(bin, "cluster", "stop", "--dir", dir).CombinedOutput(); err != nil || !strings.Contains(string(out), "3 processes") {
		t.Fatalf("cluster stop: %v: %s", err, out)
	}
	lines := strings.Split(strings.TrimSpace(string(pids)), "\n")
	if len(lines) != 3 {
		t.Fatalf("pids file %q, want 3 lines", pids)
	}
	for _, line := range lines {
		f := strings.Fields(line)
		if len(f) != 3 {
			t.Fatalf("pids line %q, want PID START ROLE", line)
		}
		pid, _ := strconv.Atoi(f[0])
		if syscall.Kill(pid, 0) == nil {
			// A zombie child of the reaper counts as gone once it exited.
			if b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid)); err == nil && !strings.Contains(string(b), ") Z ") {
				t.Errorf("process %d still runs after cluster stop", pid)
			}
		}
	}
}

// TestClusterRefusesBadTLS: a JobManager or TaskManager whose internal
// TLS settings do not load does not start; the usage error names the key
// and the file.
func TestClusterRefusesBadTLS(t *testing.T) {
	certs := tlstest.New(t)
	missing := filepath.Join(t.TempDir(), "missing.pem")
	for _, role := range []string{"jobmanager", "taskmanager"} {
		for _, tc := range []struct {
			flags []string
			want  string
		}{
			{[]string{"-Dsecurity.ssl.internal.cert=" + missing}, "security.ssl.internal.cert: open " + missing},
			{[]string{"-Dsecurity.ssl.internal.trust=" + missing}, "security.ssl.internal.trust: open " + missing},
			{[]string{"-Dsecurity.ssl.internal.key="}, "security.ssl.internal.key is not set"},
		} {
			args := append([]string{role, "-Djobmanager.rpc.address=127.0.0.1", "-Djobmanager.rpc.port=1", "-Drest.port=0",
				"-Drest.bind-address=127.0.0.1", "-Dblob.server.port=0"}, tlstest.Flags(certs.Cluster)...)
			_, _, err := execute(t, append(args, tc.flags...)...)
			if err == nil || !strings.Contains(err.Error(), tc.want) || !errors.As(err, new(jobs.UsageError)) {
				t.Errorf("%s %q: %v, want a usage error containing %q", role, tc.flags, err, tc.want)
			}
		}
	}
}

// TestClusterStopSparesOtherProcesses: a pids file that names a running
// process whose start time is not the recorded one (the pid was reused,
// or the file was written by someone else) does not get that process
// signalled: stop says so, and the process survives.
func TestClusterStopSparesOtherProcesses(t *testing.T) {
	if _, err := os.Stat("/proc/self/stat"); err != nil {
		t.Skip("no /proc")
	}
	victim, start, err := startVictim(t)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	pids := fmt.Sprintf("%d %d jobmanager\n", victim.Process.Pid, start+1)
	if err := os.WriteFile(filepath.Join(dir, "pids"), []byte(pids), 0o644); err != nil {
		t.Fatal(err)
	}
	n, err := stopCluster(dir)
	want := fmt.Sprintf("process %d is not the jobmanager this cluster started; not signalled", victim.Process.Pid)
	if err == nil || !strings.Contains(err.Error(), want) || n != 0 {
		t.Errorf("stop: %d, %v; want 0 processes and %q", n, err, want)
	}
	// Had stop signalled it, it would have waited for its end (and
	// killed it after ten seconds): it still runs, so it was not.
	if now, err := startTime(victim.Process.Pid); err != nil || now != start {
		t.Errorf("the process is gone: %v", err)
	}
	if _, err := os.Stat(filepath.Join(dir, "pids")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("the pids file is left: %v", err)
	}
}

// TestStartTime: the start time of a process is that of /proc/PID/stat,
// and a process that ended has none.
func TestStartTime(t *testing.T) {
	if _, err := os.Stat("/proc/self/stat"); err != nil {
		t.Skip("no /proc")
	}
	cmd := exec.Command("sleep", "600")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	pid := cmd.Process.Pid
	a, err := startTime(pid)
	if err != nil || a == 0 {
		t.Fatalf("startTime: %d, %v", a, err)
	}
	self, err := startTime(os.Getpid())
	if err != nil || self > a {
		t.Errorf("this process started at %d (%v), after its child at %d", self, err, a)
	}
	_ = cmd.Process.Kill()
	_ = cmd.Wait()
	if _, err := startTime(pid); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("an ended process: %v, want os.ErrNotExist", err)
	}
}

// TestClusterDirMustBeOwn: start and stop refuse a directory other users
// may write to, whose pids file they could have written.
func TestClusterDirMustBeOwn(t *testing.T) {
	dir := t.TempDir()
	if err := os.Chmod(dir, 0o777); err != nil {
		t.Fatal(err)
	}
	victim, start, err := startVictim(t)
	if err != nil {
		t.Skip(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "pids"), fmt.Appendf(nil, "%d %d jobmanager\n", victim.Process.Pid, start), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, args := range [][]string{{"cluster", "stop", "--dir", dir}, {"cluster", "start", "--dir", dir, "--taskmanagers", "0"}} {
		if _, _, err := execute(t, args...); err == nil || !strings.Contains(err.Error(), "may be written by other users") {
			t.Errorf("runnel %s: %v, want a refusal of the directory", strings.Join(args, " "), err)
		}
	}
	if now, err := startTime(victim.Process.Pid); err != nil || now != start {
		t.Errorf("the process named by the planted pids file is gone: %v", err)
	}
}

// startVictim starts a process that a pids file may name, killed when
// the test ends, and returns it with its start time (or why that is not
// known).
func startVictim(t *testing.T) (*exec.Cmd, uint64, error) {
	t.Helper()
	victim := exec.Command("sleep", "600")
	if err := victim.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = victim.Process.Kill()
		_ = victim.Wait()
	})
	start, err := startTime(victim.Process.Pid)
	return victim, start, err
}
