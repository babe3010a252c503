package exactlyonce

import (
	"bytes"
	"errors"
	"fmt"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/runnel-io/runnel/internal/clustertest"
)

// TestNotEnoughSlots runs a cluster of 4 slots with slot.request.timeout
// at 5 s. A job at parallelism 5, submitted attached, waits for slots; a
// job at parallelism 2 submitted meanwhile gets free slots and finishes
// (no head-of-line blocking); the first fails once its request times out,
// with the error naming what it needed, in its attached client (which
// exits non-zero), in `runnel info` and in the REST exception history.
func TestNotEnoughSlots(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs a cluster")
	}
	runnel := clustertest.Build(t, "github.com/runnel-io/runnel/cmd/runnel")
	c := clustertest.New(t, runnel, "-Dslot.request.timeout=5s")
	c.TaskManager("tm-1")
	c.TaskManager("tm-2")
	c.Until("4 slots", func() bool {
		n := 0
		for _, s := range c.TaskManagers() {
			n += s
		}
		return n == 4
	})
	dir := t.TempDir()
	job := func(name string, events int) []string {
		return []string{"exactlyonce", "--", "--events", fmt.Sprint(events), "--keys", "7", "--output", filepath.Join(dir, name)}
	}

	var bigOut bytes.Buffer
	big := clustertest.Command(runnel, append([]string{"run", "--jobmanager", c.REST, "--parallelism", "5"}, job("big", 1000)...)...)
	big.Stdout, big.Stderr = &bigOut, &bigOut
	if err := big.Start(); err != nil {
		t.Fatal(err)
	}
	waited := false
	t.Cleanup(func() {
		if !waited {
			_ = big.Process.Kill()
			_ = big.Wait()
		}
	})
	var bigID string
	c.Until("the big job submitted", func() bool {
		var jobs struct {
			Jobs []struct {
				ID string `json:"jid"`
			} `json:"jobs"`
		}
		c.Get("/jobs/overview", &jobs)
		if len(jobs.Jobs) == 1 {
			bigID = jobs.Jobs[0].ID
		}
		return bigID != ""
	})

	small := clustertest.Command(runnel, append([]string{"run", "--jobmanager", c.REST, "--parallelism", "2"}, job("small", 2000)...)...)
	if out, err := small.CombinedOutput(); err != nil || !bytes.Contains(out, []byte("has finished")) {
		t.Fatalf("the small job: %v\n%s", err, out)
	}
	checkExactlyOnce(t, readOutput(t, filepath.Join(dir, "small")), 2000, 7)

	err := big.Wait()
	waited = true
	var exit *exec.ExitError
	const want = "not enough slots: needs 5, the cluster has 4"
	if !errors.As(err, &exit) || !strings.Contains(bigOut.String(), want) {
		t.Fatalf("the big job's client: %v\n%s", err, bigOut.String())
	}
	if !strings.Contains(bigOut.String(), "does not restart") {
		t.Errorf("the big job's client printed no failure line:\n%s", bigOut.String())
	}
	if info := c.CLI("info", bigID); !strings.Contains(info, want) || !strings.Contains(info, "FAILED") {
		t.Errorf("runnel info %s:\n%s", bigID, info)
	}
	var ex struct {
		History struct {
			Entries []struct {
				Name    string `json:"exceptionName"`
				Message string `json:"stacktrace"`
			} `json:"entries"`
		} `json:"exceptionHistory"`
	}
	c.Get("/jobs/"+bigID+"/exceptions", &ex)
	if e := ex.History.Entries; len(e) != 1 || !strings.Contains(e[0].Message, want) || e[0].Name != "NoResourceAvailable" {
		t.Errorf("the big job's exceptions: %+v", e)
	}

	// The small job got its slots while the big one still waited for
	// them: it was RUNNING before the big one FAILED.
	var small1, big1 struct {
		Timestamps map[string]int64 `json:"timestamps"`
	}
	c.Get("/jobs/"+bigID, &big1)
	var jobs struct {
		Jobs []struct {
			ID string `json:"jid"`
		} `json:"jobs"`
	}
	c.Get("/jobs/overview", &jobs)
	for _, j := range jobs.Jobs {
		if j.ID != bigID {
			c.Get("/jobs/"+j.ID, &small1)
		}
	}
	if r, f := small1.Timestamps["RUNNING"], big1.Timestamps["FAILED"]; r == 0 || f == 0 || r >= f {
		t.Errorf("the small job ran at %d, the big one failed at %d: the small one waited behind the big one", r, f)
	}
}

// TestProgramWithoutJob submits a compiled program that ends without
// executing a job (it only prints its usage): runnel run --jobmanager
// fails, saying so, as Flink does.
func TestProgramWithoutJob(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the programs")
	}
	runnel := clustertest.Build(t, "github.com/runnel-io/runnel/cmd/runnel")
	program := clustertest.Build(t, "github.com/runnel-io/runnel/examples/exactlyonce")
	out, err := clustertest.Command(runnel, "run", "--jobmanager", "127.0.0.1:1", program, "--", "-help").CombinedOutput()
	var exit *exec.ExitError
	if !errors.As(err, &exit) || !bytes.Contains(out, []byte("the program defined no job")) {
		t.Fatalf("runnel run of a program that executes no job: %v\n%s", err, out)
	}
}
