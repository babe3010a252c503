package exactlyonce

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/runnel-io/runnel/cluster/jobmaster"
	"github.com/runnel-io/runnel/internal/clustertest"
	"github.com/runnel-io/runnel/stream"
)

// corruptSavepoint takes a savepoint of the job running locally and
// flips one byte in the middle of one of its state files.
func corruptSavepoint(t *testing.T) (savepoint string) {
	t.Helper()
	dir := t.TempDir()
	o := Options{Events: 1_000_000, Keys: 50, Output: filepath.Join(dir, "out"), Parallelism: 2,
		CheckpointDir: filepath.Join(dir, "ck"), CheckpointInterval: 100 * time.Millisecond, RestartAttempts: 0, Rate: 20000}
	env := stream.NewEnvironment()
	if err := Build(env, o); err != nil {
		t.Fatal(err)
	}
	c, err := env.ExecuteAsync(context.Background(), "first")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		c.Cancel()
		_ = c.Wait()
	})
	for len(readOutput(t, o.Output)) == 0 {
		time.Sleep(10 * time.Millisecond)
	}
	sp, err := c.StopWithSavepoint(context.Background(), filepath.Join(dir, "sp"), false)
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Wait(); err != nil {
		t.Fatal(err)
	}
	var state []string
	_ = filepath.WalkDir(sp, func(path string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() && d.Name() != "_metadata" {
			if fi, err := d.Info(); err == nil && fi.Size() > 64 {
				state = append(state, path)
			}
		}
		return nil
	})
	if len(state) == 0 {
		t.Fatalf("the savepoint %s has no state file to corrupt", sp)
	}
	b, err := os.ReadFile(state[0])
	if err != nil {
		t.Fatal(err)
	}
	b[len(b)/2] ^= 0x40
	if err := os.WriteFile(state[0], b, 0o644); err != nil {
		t.Fatal(err)
	}
	return sp
}

// TestCorruptSavepointFailsAtOnce restores a savepoint with one flipped
// byte in a state file, locally and on a cluster, with restarts allowed:
// the job fails at once, without a restart, with the checksum error, and
// runnel run exits non-zero.
func TestCorruptSavepointFailsAtOnce(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs a cluster")
	}
	sp := corruptSavepoint(t)
	dir := t.TempDir()
	o := Options{Events: 1000, Keys: 50, Output: filepath.Join(dir, "out"), Parallelism: 2,
		CheckpointDir: filepath.Join(dir, "ck"), RestartAttempts: 5, FromSavepoint: sp}

	t.Run("locally", func(t *testing.T) {
		env := stream.NewEnvironment()
		if err := Build(env, o); err != nil {
			t.Fatal(err)
		}
		c, err := env.ExecuteAsync(context.Background(), "restored")
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() {
			c.Cancel()
			_ = c.Wait()
		})
		err = c.Wait()
		if err == nil || !strings.Contains(err.Error(), "checksum") || !jobmaster.IsNonRecoverable(err) {
			t.Fatalf("the job restored from a corrupt savepoint ended with %v, want a non-recoverable checksum error", err)
		}
		if n := c.Restarts(); n != 0 {
			t.Errorf("the job restarted %d times", n)
		}
	})

	runnel := clustertest.Build(t, "github.com/runnel-io/runnel/cmd/runnel")
	args := []string{"exactlyonce", "--", "--events", "1000", "--keys", "50", "--output", filepath.Join(dir, "out2"),
		"--checkpoint-dir", filepath.Join(dir, "ck2"), "--checkpoint-interval", "100ms", "--restart-attempts", "5"}
	t.Run("runnel run", func(t *testing.T) {
		cmd := clustertest.Command(runnel, append([]string{"run", "--fromSavepoint", sp}, args...)...)
		out, err := cmd.CombinedOutput()
		var exit *exec.ExitError
		if !errors.As(err, &exit) || !bytes.Contains(out, []byte("checksum")) {
			t.Fatalf("runnel run from the corrupt savepoint: %v\n%s", err, out)
		}
		if n := bytes.Count(out, []byte("failed:")); n != 1 || !bytes.Contains(out, []byte("does not restart")) {
			t.Errorf("runnel run printed %d failures, want one that does not restart:\n%s", n, out)
		}
	})

	t.Run("cluster", func(t *testing.T) {
		c := clustertest.New(t, runnel)
		c.TaskManager("tm-1")
		cmd := clustertest.Command(runnel, append([]string{"run", "--jobmanager", c.REST, "--parallelism", "2", "--fromSavepoint", sp}, args...)...)
		out, err := cmd.CombinedOutput()
		var exit *exec.ExitError
		if !errors.As(err, &exit) || !bytes.Contains(out, []byte("checksum")) {
			t.Fatalf("runnel run --jobmanager from the corrupt savepoint: %v\n%s", err, out)
		}
		id := regexp.MustCompile(`JobID ([0-9a-f]+)`).FindSubmatch(out)
		if id == nil {
			t.Fatalf("no job ID in\n%s", out)
		}
		var ex struct {
			History struct {
				Entries []struct {
					Name    string            `json:"exceptionName"`
					Message string            `json:"stacktrace"`
					Labels  map[string]string `json:"failureLabels"`
				} `json:"entries"`
			} `json:"exceptionHistory"`
		}
		c.Get("/jobs/"+string(id[1])+"/exceptions", &ex)
		if e := ex.History.Entries; len(e) != 1 || !strings.Contains(e[0].Message, "checksum") || e[0].Labels["restart"] != "none" {
			t.Errorf("the job's exceptions: %+v, want one checksum error and no restart", e)
		}

		// A savepoint the JobMaster cannot read fails the job before it
		// asks for slots.
		missing := filepath.Join(dir, "no-such-savepoint")
		cmd = clustertest.Command(runnel, append([]string{"run", "--jobmanager", c.REST, "--fromSavepoint", missing}, args...)...)
		if out, err := cmd.CombinedOutput(); !errors.As(err, &exit) || !bytes.Contains(out, []byte(missing)) {
			t.Errorf("runnel run --jobmanager from a missing savepoint: %v\n%s", err, out)
		}
	})
}

// TestFailuresAndRestartsArePrinted runs exactlyonce with its output
// under a regular file, so that every attempt fails, with checkpoints and
// the default restart strategy: runnel run prints each failure with its
// cause and the restart's delay, and the delays grow.
func TestFailuresAndRestartsArePrinted(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the binary")
	}
	runnel := clustertest.Build(t, "github.com/runnel-io/runnel/cmd/runnel")
	dir := t.TempDir()
	file := filepath.Join(dir, "file")
	if err := os.WriteFile(file, []byte("not a directory\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	cmd := clustertest.Command(runnel, "run", "exactlyonce", "--events", "1000", "--keys", "10",
		"--output", filepath.Join(file, "out"), "--checkpoint-interval", "100ms")
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	var once sync.Once
	stop := func() {
		once.Do(func() {
			_ = cmd.Process.Signal(syscall.SIGTERM)
			_ = cmd.Wait()
		})
	}
	t.Cleanup(stop)
	line := regexp.MustCompile(`^job "ExactlyOnce": attempt (\d+) failed: (.*); restarting in (\S+)$`)
	subtask := regexp.MustCompile(`Exactly-once file sink \(\d/2\): `)
	var delays []time.Duration
	var lines []string
	sc := bufio.NewScanner(stderr)
	for len(delays) < 3 && sc.Scan() {
		lines = append(lines, sc.Text())
		m := line.FindStringSubmatch(sc.Text())
		if m == nil {
			continue
		}
		if want := fmt.Sprint(len(delays) + 1); m[1] != want {
			t.Errorf("failure of attempt %s, want %s: %q", m[1], want, sc.Text())
		}
		if !strings.Contains(m[2], file) || !subtask.MatchString(m[2]) {
			t.Errorf("the cause names neither the file nor the subtask: %q", m[2])
		}
		d, err := time.ParseDuration(m[3])
		if err != nil {
			t.Fatalf("delay %q: %v", m[3], err)
		}
		delays = append(delays, d)
	}
	stop()
	if len(delays) < 3 {
		t.Fatalf("runnel run printed %d restarts, want 3:\n%s", len(delays), strings.Join(lines, "\n"))
	}
	for i := 1; i < len(delays); i++ {
		if delays[i] <= delays[i-1] {
			t.Errorf("the delays do not grow: %v", delays)
		}
	}
}
