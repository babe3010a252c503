package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// buildRunnel builds the runnel binary into a temporary directory.
func buildRunnel(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "runnel")
	if out, err := exec.Command("go", "build", "-o", bin, "github.com/runnel-io/runnel/cmd/runnel").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

// start starts a runnel process; it is killed when the test ends.
func start(t *testing.T, bin string, args ...string) (*exec.Cmd, io.Reader) {
	t.Helper()
	cmd := exec.Command(bin, args...)
	// Dies with the test binary, even if the test is killed by a timeout.
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
	})
	return cmd, stderr
}

// taskManagers asks the REST API for the registered task managers' IDs.
func taskManagers(t *testing.T, rest string) []string {
	t.Helper()
	res, err := http.Get("http://" + rest + "/taskmanagers")
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	var body struct {
		TaskManagers []struct {
			ID          string `json:"id"`
			SlotsNumber int    `json:"slotsNumber"`
		} `json:"taskmanagers"`
	}
	if err := json.NewDecoder(res.Body).Decode(&body); err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, tm := range body.TaskManagers {
		if tm.SlotsNumber != 2 {
			t.Errorf("task manager %s offers %d slots, want 2", tm.ID, tm.SlotsNumber)
		}
		ids = append(ids, tm.ID)
	}
	return ids
}

// waitFor polls until the number of task managers is n (failing after a
// minute, so that a broken cluster does not hang the suite).
func waitFor(t *testing.T, rest string, n int) []string {
	t.Helper()
	deadline := time.Now().Add(time.Minute)
	for {
		ids := taskManagers(t, rest)
		if len(ids) == n {
			return ids
		}
		if time.Now().After(deadline) {
			t.Fatalf("task managers %v, want %d of them", ids, n)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestClusterProcesses starts a JobManager and two TaskManagers as
// processes on loopback: both register; one killed with SIGKILL is
// detected by the heartbeat timeout; a new one registers; the JobManager
// stops on SIGTERM.
func TestClusterProcesses(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the binary")
	}
	bin := buildRunnel(t)
	hb := []string{"-Dheartbeat.interval=50ms", "-Dheartbeat.timeout=500ms"}
	jm, stderr := start(t, bin, append([]string{"jobmanager", "-Djobmanager.rpc.address=127.0.0.1",
		"-Djobmanager.rpc.port=0", "-Drest.port=0", "-Drest.bind-address=127.0.0.1"}, hb...)...)
	listening := regexp.MustCompile(`"jobmanager listening" rpc=(\S+) rest=(\S+)`)
	var rpcAddr, restAddr string
	sc := bufio.NewScanner(stderr)
	for sc.Scan() {
		if m := listening.FindStringSubmatch(sc.Text()); m != nil {
			rpcAddr, restAddr = m[1], m[2]
			break
		}
	}
	if rpcAddr == "" {
		t.Fatal("the JobManager did not say where it listens")
	}
	go func() { _, _ = io.Copy(io.Discard, stderr) }()
	_, port, err := net.SplitHostPort(rpcAddr)
	if err != nil {
		t.Fatal(err)
	}
	tmArgs := append([]string{"taskmanager", "-Djobmanager.rpc.address=127.0.0.1", "-Djobmanager.rpc.port=" + port,
		"-Dtaskmanager.numberOfTaskSlots=2"}, hb...)
	tm1, _ := start(t, bin, append(tmArgs, "-Dtaskmanager.resource-id=tm-1")...)
	start(t, bin, append(tmArgs, "-Dtaskmanager.resource-id=tm-2")...)
	waitFor(t, restAddr, 2)

	if err := tm1.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	if ids := waitFor(t, restAddr, 1); ids[0] != "tm-2" {
		t.Fatalf("left %v, want tm-2", ids)
	}
	start(t, bin, append(tmArgs, "-Dtaskmanager.resource-id=tm-3")...)
	waitFor(t, restAddr, 2)

	if err := jm.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if err := jm.Wait(); err != nil {
		t.Fatalf("the JobManager ended with %v after SIGTERM", err)
	}
}

// TestClusterStartStop starts a local cluster with two TaskManagers in the
// background, finds both registered, and stops it: no process is left.
func TestClusterStartStop(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the binary")
	}
	bin := buildRunnel(t)
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
	waitFor(t, string(m[1]), 2)
	pids, err := os.ReadFile(filepath.Join(dir, "pids"))
	if err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command(bin, "cluster", "stop", "--dir", dir).CombinedOutput(); err != nil || !strings.Contains(string(out), "3 processes") {
		t.Fatalf("cluster stop: %v: %s", err, out)
	}
	for _, f := range strings.Fields(string(pids)) {
		pid, _ := strconv.Atoi(f)
		if syscall.Kill(pid, 0) == nil {
			// A zombie child of the reaper counts as gone once it exited.
			if b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid)); err == nil && !strings.Contains(string(b), ") Z ") {
				t.Errorf("process %d still runs after cluster stop", pid)
			}
		}
	}
}
