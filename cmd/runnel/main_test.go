package main

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/runnel-io/runnel/examples/jobs"
)

// execute runs the runnel command line with args.
func execute(t *testing.T, args ...string) (stdout, stderr string, err error) {
	t.Helper()
	var out, errOut bytes.Buffer
	root := newRootCommand(&out, &errOut)
	root.SetArgs(args)
	err = root.ExecuteContext(context.Background())
	return out.String(), errOut.String(), err
}

// readCounts reads the "word count" lines of a wordcount output file.
func readCounts(t *testing.T, path string) map[string]string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	counts := map[string]string{}
	for line := range strings.Lines(string(b)) {
		w, n, ok := strings.Cut(strings.TrimSuffix(line, "\n"), " ")
		if !ok {
			t.Fatalf("malformed line %q", line)
		}
		if _, dup := counts[w]; dup {
			t.Fatalf("word %q written twice", w)
		}
		counts[w] = n
	}
	return counts
}

func TestRunWordCount(t *testing.T) {
	dir := t.TempDir()
	in := filepath.Join(dir, "in.txt")
	if err := os.WriteFile(in, []byte("Go go GO! runnel,\r\nrunnel\n\nflink_like go\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	want := map[string]string{"go": "4", "runnel": "2", "flink_like": "1"}
	for name, prefix := range map[string][]string{
		"flags after the job": {"run", "wordcount"},
		"flags after --":      {"run", "wordcount", "--"},
	} {
		t.Run(name, func(t *testing.T) {
			out := filepath.Join(t.TempDir(), "out")
			args := append(slices.Clone(prefix), "--input", in, "--output", out, "--parallelism", "2")
			stdout, stderr, err := execute(t, args...)
			if err != nil {
				t.Fatalf("runnel %q: %v (stderr %q)", args, err, stderr)
			}
			if stdout != "" {
				t.Errorf("runnel %q printed %q; the counts go to --output", args, stdout)
			}
			got := readCounts(t, out)
			if len(got) != len(want) {
				t.Errorf("counts %v, want %v", got, want)
			}
			for w, n := range want {
				if got[w] != n {
					t.Errorf("count of %q = %q, want %q", w, got[w], n)
				}
			}
		})
	}
}

func TestRunWordCountPrints(t *testing.T) {
	// Without --output the counts go to the command's stdout.
	stdout, _, err := execute(t, "run", "wordcount", "--parallelism", "1")
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(stdout), "\n")
	if !slices.Contains(lines, "to 13") || !slices.Contains(lines, "the 7") {
		t.Errorf("output of the built-in text lacks \"to 13\" or \"the 7\":\n%s", stdout)
	}
}

func TestRunUnknownJob(t *testing.T) {
	_, _, err := execute(t, "run", "nope")
	var ue jobs.UsageError
	if !errors.As(err, &ue) {
		t.Fatalf("runnel run nope = %v, want a jobs.UsageError", err)
	}
	for _, s := range []string{`"nope"`, "wordcount", "socketwordcount"} {
		if !strings.Contains(err.Error(), s) {
			t.Errorf("error %q does not mention %s", err, s)
		}
	}
	if got := jobs.ExitCode(err, new(bytes.Buffer)); got != 2 {
		t.Errorf("exit code %d, want 2", got)
	}
}

func TestRunJobUsageError(t *testing.T) {
	// The job's own flag errors come back as usage errors.
	_, _, err := execute(t, "run", "wordcount", "--parallelism", "0")
	if !errors.As(err, new(jobs.UsageError)) {
		t.Errorf("runnel run wordcount --parallelism 0 = %v, want a jobs.UsageError", err)
	}
	_, _, err = execute(t, "run", "wordcount", "--no-such-flag")
	if !errors.As(err, new(jobs.UsageError)) {
		t.Errorf("runnel run wordcount --no-such-flag = %v, want a jobs.UsageError", err)
	}
}

func TestRunWithoutJob(t *testing.T) {
	if _, _, err := execute(t, "run"); err == nil {
		t.Error("runnel run without a job succeeded")
	}
}

func TestVersion(t *testing.T) {
	stdout, _, err := execute(t, "version")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(stdout, "runnel ") || strings.Count(stdout, "\n") != 1 {
		t.Errorf("runnel version printed %q, want one line starting \"runnel \"", stdout)
	}
	if _, _, err := execute(t, "version", "extra"); err == nil {
		t.Error("runnel version extra succeeded")
	}
}
