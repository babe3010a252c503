package main

import (
	"encoding/json"
	"errors"
	"os"
	"strings"
	"testing"

	"github.com/runnel-io/runnel/examples/jobs"
)

// runNexmark runs `runnel nexmark run` with args and decodes its JSON line.
func runNexmark(t *testing.T, args ...string) map[string]any {
	t.Helper()
	args = append([]string{"nexmark", "run", "--query", "q1", "--events", "20000", "--parallelism", "2", "--rate", "200000"}, args...)
	stdout, stderr, err := execute(t, args...)
	if err != nil {
		t.Fatalf("runnel %q: %v (stderr %q)", args, err, stderr)
	}
	var line map[string]any
	if err := json.Unmarshal([]byte(stdout), &line); err != nil || strings.Count(stdout, "\n") != 1 {
		t.Fatalf("runnel %q printed %q, want one JSON line (%v)", args, stdout, err)
	}
	return line
}

func TestNexmarkRunCheckpoints(t *testing.T) {
	line := runNexmark(t)
	for _, k := range []string{"checkpoints", "checkpoint_seconds"} {
		if _, ok := line[k]; ok {
			t.Errorf("without --checkpoint-interval the line has %q: %v", k, line)
		}
	}
	if line["results"] != float64(18_400) {
		t.Errorf("results = %v, want 18400 (the bids)", line["results"])
	}

	dir := t.TempDir()
	line = runNexmark(t, "--checkpoint-interval", "10ms", "--checkpoint-dir", dir)
	if n, ok := line["checkpoints"].(float64); !ok || n < 1 {
		t.Errorf("with --checkpoint-interval 10ms: checkpoints = %v, want at least 1", line["checkpoints"])
	}
	if s, ok := line["checkpoint_seconds"].(float64); !ok || s < 0 {
		t.Errorf("with --checkpoint-interval 10ms: checkpoint_seconds = %v", line["checkpoint_seconds"])
	}
	if line["results"] != float64(18_400) {
		t.Errorf("with --checkpoint-interval 10ms: results = %v, want 18400", line["results"])
	}
	if entries, err := os.ReadDir(dir); err != nil || len(entries) == 0 {
		t.Errorf("--checkpoint-dir %s holds nothing after the run (%v)", dir, err)
	}
}

func TestNexmarkRunUsageErrors(t *testing.T) {
	for _, c := range []struct {
		args []string
		flag string
	}{
		{[]string{"--jobmanager", "localhost:6123"}, "--jobmanager"},
		{[]string{"--checkpoint-dir", "x"}, "--checkpoint-dir"},
		{[]string{"--checkpoint-interval", "1ms"}, "--checkpoint-interval"},
		{[]string{"--checkpoint-interval", "-1s"}, "--checkpoint-interval"},
	} {
		args := append([]string{"nexmark", "run", "--query", "q0", "--events", "10"}, c.args...)
		_, _, err := execute(t, args...)
		if !errors.As(err, new(jobs.UsageError)) || !strings.HasPrefix(err.Error(), "nexmark: "+c.flag) {
			t.Errorf("runnel %q = %v, want a usage error starting \"nexmark: %s\"", args, err, c.flag)
		}
	}
}
