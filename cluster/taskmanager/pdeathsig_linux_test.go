package taskmanager

import (
	"bufio"
	"context"
	"os"
	"os/exec"
	"strings"
	"testing"

	"github.com/runnel-io/runnel/cluster/rpc"
)

// TestWorkerDiesWithTaskManager: a worker does not outlive its
// TaskManager, even one killed with SIGKILL, which stops nothing.
func TestWorkerDiesWithTaskManager(t *testing.T) {
	work := t.TempDir()
	tm := exec.Command(os.Args[0], "-test.run=^TestHelperProcess$")
	tm.Env = append(os.Environ(), helperEnv+"=taskmanager", helperDirEnv+"="+work)
	tm.Stderr = os.Stderr
	out, err := tm.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := tm.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = tm.Process.Kill()
		_ = tm.Wait()
	})
	var addr string
	for lines := bufio.NewScanner(out); addr == "" && lines.Scan(); {
		if a, ok := strings.CutPrefix(lines.Text(), "addr="); ok {
			addr = a
		}
	}
	if addr == "" {
		t.Fatal("the TaskManager process did not start")
	}
	req := &rpc.StartWorker{JobID: "job1", Builtin: true, Env: workerEnv("job1", "tm-child", "127.0.0.1:1", "sleep"), JobMaster: "127.0.0.1:1"}
	if _, err := rpc.Call[rpc.StartWorker, rpc.Empty](context.Background(), &rpc.Client{}, addr, rpc.MethodStartWorker, req); err != nil {
		t.Fatal(err)
	}
	pids, _ := waitLog(t, work, "job1", 1)
	if err := tm.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	_ = tm.Wait()
	assertGone(t, pids...)
}
