package exactlyonce

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"

	"github.com/runnel-io/runnel/internal/clustertest"
	"github.com/runnel-io/runnel/internal/tlstest"
)

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
	runnel := clustertest.Build(t, "github.com/runnel-io/runnel/cmd/runnel")
	program := clustertest.Build(t, "github.com/runnel-io/runnel/examples/exactlyonce")
	c := clustertest.New(t, runnel)
	tm1 := c.TaskManager("tm-1")
	c.TaskManager("tm-2")

	const events, keys = 200000, 97
	dir := t.TempDir()
	out, ck := filepath.Join(dir, "out"), filepath.Join(dir, "checkpoints")
	id := c.Submit("--parallelism", "4", program, "--",
		"--events", fmt.Sprint(events), "--keys", fmt.Sprint(keys), "--output", out,
		"--checkpoint-interval", "100ms", "--checkpoint-dir", ck, "--rate", "5000")

	waitCheckpoints(t, c, id, out)
	var job struct {
		Vertices []struct {
			Parallelism int `json:"parallelism"`
		} `json:"vertices"`
	}
	c.Get("/jobs/"+id, &job)
	for _, v := range job.Vertices {
		if v.Parallelism != 4 {
			t.Errorf("a task runs at parallelism %d, want 4", v.Parallelism)
		}
	}

	// Each worker reports its network buffers, within their bound.
	metrics := map[string]int{}
	c.Until("the workers' network metrics", func() bool {
		var ms []struct {
			ID    string `json:"id"`
			Value string `json:"value"`
		}
		c.Get("/jobs/"+id+"/metrics?get=tm-1.Network.SegmentLimit,tm-1.Network.MaxSegmentsInUse,tm-2.Network.SegmentLimit,tm-2.Network.MaxSegmentsInUse", &ms)
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

	t.Logf("%d failovers", killAndFinish(t, c, id, tm1, out, events, keys))
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
	runnel := clustertest.Build(t, "github.com/runnel-io/runnel/cmd/runnel")
	// With internal TLS: the TaskManagers the driver starts take the
	// JobManager's settings, or could not register.
	settings := append(tlstest.Flags(tlstest.New(t).Cluster), "-Dresourcemanager.driver=process", "-Dresourcemanager.taskmanager-timeout=1s")
	c := clustertest.New(t, runnel, settings...)

	const events, keys = 60000, 13
	dir := t.TempDir()
	out, ck := filepath.Join(dir, "out"), filepath.Join(dir, "checkpoints")
	id := c.Submit("--parallelism", "6", "exactlyonce", "--",
		"--events", fmt.Sprint(events), "--keys", fmt.Sprint(keys), "--output", out,
		"--checkpoint-interval", "200ms", "--checkpoint-dir", ck, "--rate", "2000")

	var tms struct {
		TaskManagers []struct {
			ID        string `json:"id"`
			Slots     int    `json:"slotsNumber"`
			FreeSlots int    `json:"freeSlots"`
		} `json:"taskmanagers"`
	}
	c.Until("three TaskManagers running the job", func() bool {
		c.Get("/taskmanagers", &tms)
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
	if status, cause := c.Result(id); status != "SUCCEEDED" {
		t.Fatalf("the job ended %s: %s", status, cause)
	}
	checkExactlyOnce(t, readOutput(t, out), events, keys)
	c.Until("the idle TaskManagers released", func() bool {
		c.Get("/taskmanagers", &tms)
		return len(tms.TaskManagers) == 0
	})
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
	runnel := clustertest.Build(t, "github.com/runnel-io/runnel/cmd/runnel")
	// The savepoints go to a directory of the test's, which the REST API
	// accepts only with rest.savepoint.allow-any-directory.
	c := clustertest.New(t, runnel, "-Drest.savepoint.allow-any-directory=true")
	c.TaskManager("tm-1")
	c.TaskManager("tm-2")

	const events, keys = 40000, 29
	dir := t.TempDir()
	out, ck, sp := filepath.Join(dir, "out"), filepath.Join(dir, "checkpoints"), filepath.Join(dir, "savepoints")
	jobArgs := []string{"exactlyonce", "--", "--events", fmt.Sprint(events), "--keys", fmt.Sprint(keys), "--output", out,
		"--checkpoint-dir", ck, "--checkpoint-interval", "0"}
	id := c.Submit(append([]string{"--parallelism", "4"}, append(jobArgs, "--rate", "1000")...)...)
	c.Until("the job running", func() bool { return c.State(id) == "RUNNING" })

	if got := c.CLI("checkpoint", id); !regexp.MustCompile(`Checkpoint \d+ for job ` + id + ` completed`).MatchString(got) {
		t.Errorf("runnel checkpoint said %q", got)
	}
	savepoint := regexp.MustCompile(`Savepoint completed\. Path: (\S+)`)
	if got := c.CLI("savepoint", id, sp); savepoint.FindStringSubmatch(got) == nil {
		t.Errorf("runnel savepoint said %q", got)
	}
	m := savepoint.FindStringSubmatch(c.CLI("stop", "--savepointPath", sp, id))
	if m == nil {
		t.Fatal("runnel stop named no savepoint")
	}
	if status, cause := c.Result(id); status != "SUCCEEDED" {
		t.Fatalf("the stopped job ended %s: %s", status, cause)
	}
	if n := len(readOutput(t, out)); n == 0 || n >= events {
		t.Fatalf("the job wrote %d of %d lines before it stopped", n, events)
	}
	var list []struct {
		ID    string `json:"jid"`
		State string `json:"state"`
	}
	if err := json.Unmarshal([]byte(c.CLI("list", "--all", "--output", "json")), &list); err != nil || len(list) != 1 || list[0].State != "FINISHED" {
		t.Errorf("runnel list --all --output json: %+v, %v", list, err)
	}

	// Resumed at parallelism 3, attached: runnel run returns at the end.
	cmd := clustertest.Command(runnel, append([]string{"run", "--jobmanager", c.REST, "--parallelism", "3", "--fromSavepoint", m[1]}, jobArgs...)...)
	if b, err := cmd.CombinedOutput(); err != nil || !regexp.MustCompile(`Job with JobID \w+ has finished`).Match(b) {
		t.Fatalf("the resumed job: %v\n%s", err, b)
	}
	checkExactlyOnce(t, readOutput(t, out), events, keys)

	// A cancelled job ends CANCELED and gives its slots back.
	id = c.Submit(append([]string{"--parallelism", "4"}, "exactlyonce", "--", "--events", "1000000", "--keys", "5",
		"--output", filepath.Join(dir, "cancelled"), "--rate", "100")...)
	c.Until("the job running", func() bool { return c.State(id) == "RUNNING" })
	c.CLI("cancel", id)
	if status, _ := c.Result(id); status != "CANCELED" {
		t.Errorf("the cancelled job ended %s", status)
	}
	c.Until("the slots free again", func() bool {
		var o struct {
			Total int `json:"slots-total"`
			Free  int `json:"slots-available"`
		}
		c.Get("/overview", &o)
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
	runnel := clustertest.Build(t, "github.com/runnel-io/runnel/cmd/runnel")
	program := clustertest.Build(t, "github.com/runnel-io/runnel/examples/exactlyonce")
	const events, keys = 5000, 7
	out := filepath.Join(t.TempDir(), "out")
	cmd := clustertest.Command(runnel, "run", "--parallelism", "3", program, "--",
		"--events", fmt.Sprint(events), "--keys", fmt.Sprint(keys), "--output", out, "--checkpoint-interval", "50ms")
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
	cmd = clustertest.Command(runnel, "run", filepath.Join(t.TempDir(), "nothing"))
	if b, err := cmd.CombinedOutput(); err == nil || !strings.Contains(string(b), "neither a job that ships with runnel") {
		t.Errorf("runnel run of a missing program: %v\n%s", err, b)
	}
}

// waitCheckpoints waits until job id has completed two checkpoints and
// written some output to out.
func waitCheckpoints(t *testing.T, c *clustertest.Cluster, id, out string) {
	t.Helper()
	var cps struct {
		Counts struct {
			Completed int `json:"completed"`
		} `json:"counts"`
	}
	c.Until("two completed checkpoints and some output", func() bool {
		c.Get("/jobs/"+id+"/checkpoints", &cps)
		return cps.Counts.Completed >= 2 && len(readOutput(t, out)) > 0
	})
}

// killAndFinish kills TaskManager tm with SIGKILL and starts tm-3 in its
// place; job id must then finish after failing over, with its output in
// out exactly once. It returns how many times the job failed over.
func killAndFinish(t *testing.T, c *clustertest.Cluster, id string, tm *exec.Cmd, out string, events, keys int64) int {
	t.Helper()
	if err := tm.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	c.TaskManager("tm-3")
	status, cause := c.Result(id)
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
	c.Get("/jobs/"+id+"/exceptions", &ex)
	if len(ex.History.Entries) == 0 {
		t.Error("the job did not fail over after its TaskManager was killed")
	}
	checkExactlyOnce(t, readOutput(t, out), events, keys)
	return len(ex.History.Entries)
}
