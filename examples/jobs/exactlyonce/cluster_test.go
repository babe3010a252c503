package exactlyonce

import (
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

// cluster is a JobManager and TaskManagers, each a runnel process on
// loopback, killed when the test ends.
type cluster struct {
	t       *testing.T
	runnel  string
	rpcPort string
	rest    string
	logs    string
	hb      []string
}

// buildBinary builds a package's command into dir, with the race detector
// if the test has it: a data race in a process of the cluster then ends
// it with an error.
func buildBinary(t *testing.T, dir, pkg string) string {
	t.Helper()
	bin := filepath.Join(dir, filepath.Base(pkg))
	args := []string{"build", "-o", bin}
	if raceEnabled {
		args = append(args, "-race")
		// A race ends the process that has it at once, and so fails the
		// test, whichever process it is.
		t.Setenv("GORACE", "halt_on_error=1")
	}
	if out, err := exec.Command("go", append(args, pkg)...).CombinedOutput(); err != nil {
		t.Fatalf("go build %s: %v\n%s", pkg, err, out)
	}
	return bin
}

// startProcess starts a process whose output goes to log; it dies with
// the test binary and is killed when the test ends.
func startProcess(t *testing.T, log string, bin string, args ...string) *exec.Cmd {
	t.Helper()
	cmd := exec.Command(bin, args...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	f, err := os.Create(log)
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stdout, cmd.Stderr = f, f
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
		f.Close()
	})
	return cmd
}

// startCluster starts a JobManager with extra settings.
func startCluster(t *testing.T, runnel string, extra ...string) *cluster {
	t.Helper()
	c := &cluster{t: t, runnel: runnel, logs: t.TempDir(), hb: []string{"-Dheartbeat.interval=100ms", "-Dheartbeat.timeout=2s"}}
	args := append([]string{"jobmanager", "-Djobmanager.rpc.address=127.0.0.1", "-Djobmanager.rpc.port=0",
		"-Drest.port=0", "-Drest.bind-address=127.0.0.1", "-Dblob.server.port=0", "-Dtaskmanager.numberOfTaskSlots=2"}, c.hb...)
	log := filepath.Join(c.logs, "jobmanager.log")
	startProcess(t, log, runnel, append(args, extra...)...)
	listening := regexp.MustCompile(`"jobmanager listening" rpc=(\S+) rest=(\S+)`)
	deadline := time.Now().Add(time.Minute)
	for c.rest == "" {
		if time.Now().After(deadline) {
			t.Fatalf("the JobManager did not say where it listens:\n%s", readFile(log))
		}
		time.Sleep(20 * time.Millisecond)
		if m := listening.FindStringSubmatch(readFile(log)); m != nil {
			_, c.rpcPort, _ = net.SplitHostPort(m[1])
			c.rest = m[2]
		}
	}
	t.Cleanup(func() {
		if t.Failed() {
			c.dumpLogs()
		}
	})
	return c
}

// dumpLogs prints the logs of every process of the cluster.
func (c *cluster) dumpLogs() {
	_ = filepath.Walk(c.logs, func(path string, info os.FileInfo, err error) error {
		if err == nil && !info.IsDir() && filepath.Ext(path) == ".log" {
			c.t.Logf("==== %s\n%s", path, readFile(path))
		}
		return nil
	})
}

func readFile(path string) string {
	b, _ := os.ReadFile(path)
	return string(b)
}

// taskManager starts a TaskManager with 2 slots.
func (c *cluster) taskManager(id string) *exec.Cmd {
	args := append([]string{"taskmanager", "-Djobmanager.rpc.address=127.0.0.1", "-Djobmanager.rpc.port=" + c.rpcPort,
		"-Dtaskmanager.numberOfTaskSlots=2", "-Dtaskmanager.resource-id=" + id,
		"-Dprocess.taskmanager.working-dir=" + filepath.Join(c.logs, id)}, c.hb...)
	return startProcess(c.t, filepath.Join(c.logs, id+".log"), c.runnel, args...)
}

// get decodes the JSON answer of a REST path.
func (c *cluster) get(path string, v any) {
	c.t.Helper()
	res, err := http.Get("http://" + c.rest + path)
	if err != nil {
		c.t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	if res.StatusCode != http.StatusOK {
		c.t.Fatalf("GET %s: %s: %s", path, res.Status, b)
	}
	if err := json.Unmarshal(b, v); err != nil {
		c.t.Fatalf("GET %s: %v: %s", path, err, b)
	}
}

// until polls cond until it holds, failing after two minutes.
func (c *cluster) until(what string, cond func() bool) {
	c.t.Helper()
	deadline := time.Now().Add(2 * time.Minute)
	for !cond() {
		if time.Now().After(deadline) {
			c.t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// submit runs `runnel run --jobmanager ... --detached` and returns the
// job's ID.
func (c *cluster) submit(args ...string) string {
	c.t.Helper()
	cmd := exec.Command(c.runnel, append([]string{"run", "--jobmanager", c.rest, "--detached"}, args...)...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	out, err := cmd.CombinedOutput()
	if err != nil {
		c.t.Fatalf("runnel run: %v\n%s", err, out)
	}
	m := regexp.MustCompile(`JobID ([0-9a-f]+)`).FindSubmatch(out)
	if m == nil {
		c.t.Fatalf("runnel run said %q", out)
	}
	return string(m[1])
}

// result waits for the job's end and returns its application status and
// failure cause.
func (c *cluster) result(id string) (string, string) {
	var res struct {
		Status struct {
			ID string `json:"id"`
		} `json:"status"`
		Result struct {
			Status string `json:"application-status"`
			Cause  struct {
				StackTrace string `json:"stack-trace"`
			} `json:"failure-cause"`
		} `json:"job-execution-result"`
	}
	c.until("the job's end", func() bool {
		c.get("/jobs/"+id+"/execution-result", &res)
		return res.Status.ID == "COMPLETED"
	})
	return res.Result.Status, res.Result.Cause.StackTrace
}

// TestExactlyOnceAcrossTaskManagers submits the compiled program to a
// JobManager with two TaskManagers of two slots each, at parallelism 4
// with checkpoints; once checkpoints complete, one TaskManager is killed
// with SIGKILL and a new one started: the job restarts from its latest
// checkpoint on the new slots and its output holds every line exactly
// once.
func TestExactlyOnceAcrossTaskManagers(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs a cluster")
	}
	bins := t.TempDir()
	runnel := buildBinary(t, bins, "github.com/runnel-io/runnel/cmd/runnel")
	program := buildBinary(t, bins, "github.com/runnel-io/runnel/examples/exactlyonce")
	c := startCluster(t, runnel)
	tm1 := c.taskManager("tm-1")
	c.taskManager("tm-2")

	const events, keys = 200000, 97
	dir := t.TempDir()
	out, ck := filepath.Join(dir, "out"), filepath.Join(dir, "checkpoints")
	id := c.submit("--parallelism", "4", program, "--",
		"--events", fmt.Sprint(events), "--keys", fmt.Sprint(keys), "--output", out,
		"--checkpoint-interval", "100ms", "--checkpoint-dir", ck, "--rate", "5000")

	var cps struct {
		Counts struct {
			Completed int `json:"completed"`
		} `json:"counts"`
	}
	c.until("two completed checkpoints and some output", func() bool {
		c.get("/jobs/"+id+"/checkpoints", &cps)
		return cps.Counts.Completed >= 2 && len(readOutput(t, out)) > 0
	})
	var job struct {
		Vertices []struct {
			Parallelism int `json:"parallelism"`
		} `json:"vertices"`
	}
	c.get("/jobs/"+id, &job)
	for _, v := range job.Vertices {
		if v.Parallelism != 4 {
			t.Errorf("a task runs at parallelism %d, want 4", v.Parallelism)
		}
	}

	// Each worker reports its network buffers, within their bound.
	metrics := map[string]int{}
	c.until("the workers' network metrics", func() bool {
		var ms []struct {
			ID    string `json:"id"`
			Value string `json:"value"`
		}
		c.get("/jobs/"+id+"/metrics?get=tm-1.Network.SegmentLimit,tm-1.Network.MaxSegmentsInUse,tm-2.Network.SegmentLimit,tm-2.Network.MaxSegmentsInUse", &ms)
		for _, m := range ms {
			n, _ := strconv.Atoi(m.Value)
			metrics[m.ID] = n
		}
		return len(ms) == 4
	})
	for _, tm := range []string{"tm-1", "tm-2"} {
		limit, max := metrics[tm+".Network.SegmentLimit"], metrics[tm+".Network.MaxSegmentsInUse"]
		if limit == 0 || max > limit {
			t.Errorf("%s: at most %d segments in use, limit %d", tm, max, limit)
		}
	}

	if err := tm1.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	c.taskManager("tm-3")

	status, cause := c.result(id)
	if status != "SUCCEEDED" {
		t.Fatalf("the job ended %s: %s", status, cause)
	}
	var ex struct {
		History struct {
			Entries []struct {
				Name string `json:"exceptionName"`
			} `json:"entries"`
		} `json:"exceptionHistory"`
	}
	c.get("/jobs/"+id+"/exceptions", &ex)
	if len(ex.History.Entries) == 0 {
		t.Error("the job did not fail over after its TaskManager was killed")
	}
	checkExactlyOnce(t, readOutput(t, out), events, keys)
	t.Logf("%d failovers", len(ex.History.Entries))
}

// TestProcessDriverStartsAndReleasesTaskManagers runs the builtin job at
// parallelism 6 on a JobManager whose resource manager starts local
// TaskManagers of two slots: it starts three for the job, the output is
// exactly once, and all three are released once the job has ended and
// they sat idle.
func TestProcessDriverStartsAndReleasesTaskManagers(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs a cluster")
	}
	runnel := buildBinary(t, t.TempDir(), "github.com/runnel-io/runnel/cmd/runnel")
	c := startCluster(t, runnel, "-Dresourcemanager.driver=process", "-Dresourcemanager.taskmanager-timeout=1s")

	const events, keys = 60000, 13
	dir := t.TempDir()
	out, ck := filepath.Join(dir, "out"), filepath.Join(dir, "checkpoints")
	id := c.submit("--parallelism", "6", "exactlyonce", "--",
		"--events", fmt.Sprint(events), "--keys", fmt.Sprint(keys), "--output", out,
		"--checkpoint-interval", "200ms", "--checkpoint-dir", ck, "--rate", "2000")

	var tms struct {
		TaskManagers []struct {
			ID        string `json:"id"`
			Slots     int    `json:"slotsNumber"`
			FreeSlots int    `json:"freeSlots"`
		} `json:"taskmanagers"`
	}
	c.until("three TaskManagers running the job", func() bool {
		c.get("/taskmanagers", &tms)
		busy := 0
		for _, tm := range tms.TaskManagers {
			busy += tm.Slots - tm.FreeSlots
		}
		return len(tms.TaskManagers) == 3 && busy == 6
	})
	for _, tm := range tms.TaskManagers {
		if tm.Slots != 2 {
			t.Errorf("TaskManager %s offers %d slots, want 2", tm.ID, tm.Slots)
		}
	}
	if status, cause := c.result(id); status != "SUCCEEDED" {
		t.Fatalf("the job ended %s: %s", status, cause)
	}
	checkExactlyOnce(t, readOutput(t, out), events, keys)
	c.until("the idle TaskManagers released", func() bool {
		c.get("/taskmanagers", &tms)
		return len(tms.TaskManagers) == 0
	})
}

// cli runs a runnel command against the cluster's REST API and returns
// its output.
func (c *cluster) cli(args ...string) string {
	c.t.Helper()
	cmd := exec.Command(c.runnel, append(args[:1:1], append([]string{"--jobmanager", c.rest}, args[1:]...)...)...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	out, err := cmd.CombinedOutput()
	if err != nil {
		c.t.Fatalf("runnel %v: %v\n%s", args, err, out)
	}
	return string(out)
}

// TestSavepointStopAndResumeOnCluster controls a job on a cluster with
// the CLI: a checkpoint and a savepoint on demand, a stop with a
// savepoint, and a resume from that savepoint at another parallelism,
// submitted without --detached: the output holds every line exactly
// once.
func TestSavepointStopAndResumeOnCluster(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs a cluster")
	}
	runnel := buildBinary(t, t.TempDir(), "github.com/runnel-io/runnel/cmd/runnel")
	c := startCluster(t, runnel)
	c.taskManager("tm-1")
	c.taskManager("tm-2")

	const events, keys = 40000, 29
	dir := t.TempDir()
	out, ck, sp := filepath.Join(dir, "out"), filepath.Join(dir, "checkpoints"), filepath.Join(dir, "savepoints")
	jobArgs := []string{"exactlyonce", "--", "--events", fmt.Sprint(events), "--keys", fmt.Sprint(keys), "--output", out,
		"--checkpoint-dir", ck, "--checkpoint-interval", "0"}
	id := c.submit(append([]string{"--parallelism", "4"}, append(jobArgs, "--rate", "1000")...)...)
	c.until("the job running", func() bool {
		var job struct {
			State string `json:"state"`
		}
		c.get("/jobs/"+id, &job)
		return job.State == "RUNNING"
	})

	if got := c.cli("checkpoint", id); !regexp.MustCompile(`Checkpoint \d+ for job ` + id + ` completed`).MatchString(got) {
		t.Errorf("runnel checkpoint said %q", got)
	}
	savepoint := regexp.MustCompile(`Savepoint completed\. Path: (\S+)`)
	if got := c.cli("savepoint", id, sp); savepoint.FindStringSubmatch(got) == nil {
		t.Errorf("runnel savepoint said %q", got)
	}
	m := savepoint.FindStringSubmatch(c.cli("stop", "--savepointPath", sp, id))
	if m == nil {
		t.Fatal("runnel stop named no savepoint")
	}
	if status, cause := c.result(id); status != "SUCCEEDED" {
		t.Fatalf("the stopped job ended %s: %s", status, cause)
	}
	if n := len(readOutput(t, out)); n == 0 || n >= events {
		t.Fatalf("the job wrote %d of %d lines before it stopped", n, events)
	}
	var list []struct {
		ID    string `json:"jid"`
		State string `json:"state"`
	}
	if err := json.Unmarshal([]byte(c.cli("list", "--all", "--output", "json")), &list); err != nil || len(list) != 1 || list[0].State != "FINISHED" {
		t.Errorf("runnel list --all --output json: %+v, %v", list, err)
	}

	// Resumed at parallelism 3, attached: runnel run returns at the end.
	cmd := exec.Command(runnel, append([]string{"run", "--jobmanager", c.rest, "--parallelism", "3", "--fromSavepoint", m[1]}, jobArgs...)...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if b, err := cmd.CombinedOutput(); err != nil || !regexp.MustCompile(`Job with JobID \w+ has finished`).Match(b) {
		t.Fatalf("the resumed job: %v\n%s", err, b)
	}
	checkExactlyOnce(t, readOutput(t, out), events, keys)

	// A cancelled job ends CANCELED and gives its slots back.
	id = c.submit(append([]string{"--parallelism", "4"}, "exactlyonce", "--", "--events", "1000000", "--keys", "5",
		"--output", filepath.Join(dir, "cancelled"), "--rate", "100")...)
	c.until("the job running", func() bool {
		var job struct {
			State string `json:"state"`
		}
		c.get("/jobs/"+id, &job)
		return job.State == "RUNNING"
	})
	c.cli("cancel", id)
	if status, _ := c.result(id); status != "CANCELED" {
		t.Errorf("the cancelled job ended %s", status)
	}
	c.until("the slots free again", func() bool {
		var o struct {
			Total int `json:"slots-total"`
			Free  int `json:"slots-available"`
		}
		c.get("/overview", &o)
		return o.Total == 4 && o.Free == 4
	})
}

// TestRunProgramOnEmbeddedCluster runs a compiled program with runnel run
// and no JobManager: it runs on its embedded mini-cluster, with the
// parallelism the command line asked for.
func TestRunProgramOnEmbeddedCluster(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the programs")
	}
	bins := t.TempDir()
	runnel := buildBinary(t, bins, "github.com/runnel-io/runnel/cmd/runnel")
	program := buildBinary(t, bins, "github.com/runnel-io/runnel/examples/exactlyonce")
	const events, keys = 5000, 7
	out := filepath.Join(t.TempDir(), "out")
	cmd := exec.Command(runnel, "run", "--parallelism", "3", program, "--",
		"--events", fmt.Sprint(events), "--keys", fmt.Sprint(keys), "--output", out, "--checkpoint-interval", "50ms")
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("runnel run: %v\n%s", err, b)
	}
	checkExactlyOnce(t, readOutput(t, out), events, keys)
	entries, err := os.ReadDir(out)
	if err != nil {
		t.Fatal(err)
	}
	subtasks := map[string]bool{}
	for _, e := range entries {
		if f := strings.Split(e.Name(), "-"); len(f) > 2 && f[0] == "part" {
			subtasks[f[1]] = true
		}
	}
	if len(subtasks) != 3 {
		t.Errorf("part files of %d sink subtasks, want 3 (--parallelism 3)", len(subtasks))
	}

	// A program that is neither a job of runnel nor executable is a usage
	// error.
	cmd = exec.Command(runnel, "run", filepath.Join(bins, "nothing"))
	if b, err := cmd.CombinedOutput(); err == nil || !strings.Contains(string(b), "neither a job that ships with runnel") {
		t.Errorf("runnel run of a missing program: %v\n%s", err, b)
	}
}
