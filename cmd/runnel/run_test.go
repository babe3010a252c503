package main

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/runnel-io/runnel/examples/jobs/exactlyonce"
	"github.com/runnel-io/runnel/stream"
)

// savepointOf runs exactlyonce slowly and stops it with a savepoint once it
// has committed output.
func savepointOf(t *testing.T, o exactlyonce.Options, dir string) string {
	t.Helper()
	env := stream.NewEnvironment()
	if err := exactlyonce.Build(env, o); err != nil {
		t.Fatal(err)
	}
	c, err := env.ExecuteAsync(context.Background(), "first")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { // also when the test stops half-way
		c.Cancel()
		_ = c.Wait()
	})
	for !committed(o.Output) {
		time.Sleep(5 * time.Millisecond)
	}
	sp, err := c.StopWithSavepoint(context.Background(), dir, false)
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Wait(); err != nil {
		t.Fatal(err)
	}
	return sp
}

// committed reports whether dir holds a finished part file.
func committed(dir string) bool {
	entries, _ := os.ReadDir(dir)
	for _, e := range entries {
		if !strings.HasPrefix(e.Name(), ".") {
			return true
		}
	}
	return false
}

func TestRunFromSavepoint(t *testing.T) {
	dir := t.TempDir()
	out := filepath.Join(dir, "out")
	sp := savepointOf(t, exactlyonce.Options{Events: 20000, Keys: 7, Output: out, Parallelism: 2,
		CheckpointInterval: 20 * time.Millisecond, CheckpointDir: filepath.Join(dir, "ck"), RestartAttempts: -1, Rate: 2000}, dir)

	_, stderr, err := execute(t, "run", "--fromSavepoint", sp, "exactlyonce", "--events", "20000", "--keys", "7",
		"--output", out, "--parallelism", "3", "--checkpoint-interval", "20ms", "--checkpoint-dir", filepath.Join(dir, "ck"))
	if err != nil {
		t.Fatalf("%v (stderr %q)", err, stderr)
	}
	seen := map[string]bool{}
	entries, _ := os.ReadDir(out)
	for _, e := range entries {
		b, err := os.ReadFile(filepath.Join(out, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		for l := range strings.Lines(string(b)) {
			if seen[l] {
				t.Fatalf("line %q twice", l)
			}
			seen[l] = true
		}
	}
	if len(seen) != 20000 {
		t.Fatalf("%d lines, want 20000", len(seen))
	}

	// The savepoint has no state for wordcount's operators and state of
	// operators wordcount lacks.
	in := filepath.Join(dir, "in.txt")
	if err := os.WriteFile(in, []byte("a b a\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	args := []string{"wordcount", "--input", in, "--output", filepath.Join(dir, "counts")}
	if _, _, err := execute(t, append([]string{"run", "--fromSavepoint", sp}, args...)...); err == nil || !strings.Contains(err.Error(), "allowNonRestoredState") {
		t.Fatalf("restoring another job's savepoint: %v, want an error naming --allowNonRestoredState", err)
	}
	if _, stderr, err := execute(t, append([]string{"run", "-s", sp, "-n"}, args...)...); err != nil {
		t.Fatalf("with --allowNonRestoredState: %v (stderr %q)", err, stderr)
	}
}
