package windowcount

import (
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/runnel-io/runnel/examples/jobs"
	"github.com/runnel-io/runnel/stream"
)

func TestUsageErrors(t *testing.T) {
	dir := t.TempDir()
	in, out, late := filepath.Join(dir, "in"), filepath.Join(dir, "out"), filepath.Join(dir, "late")
	files := []string{"--input", in, "--output", out}
	tumbling := append(slices.Clone(files), "--window", "tumbling", "--size", "10s", "--out-of-orderness", "1s")
	with := func(base []string, extra ...string) []string { return append(slices.Clone(base), extra...) }
	for _, tc := range []struct {
		args []string
		want string // in the message
	}{
		{with(files, "--size", "10s", "--out-of-orderness", "0s"), "--window is required"},
		{with(files, "--window", "hopping", "--size", "10s", "--out-of-orderness", "0s"), `--window "hopping"`},
		{with(files, "--window", "tumbling", "--out-of-orderness", "0s"), "--size is required with --window tumbling"},
		{with(files, "--window", "sliding", "--size", "10s", "--out-of-orderness", "0s"), "--slide is required with --window sliding"},
		{with(files, "--window", "session", "--out-of-orderness", "0s"), "--gap is required with --window session"},
		{with(files, "--window", "session", "--gap", "5s", "--size", "10s", "--out-of-orderness", "0s"), "--size is not used with --window session"},
		{with(tumbling, "--slide", "5s"), "--slide is not used with --window tumbling"},
		{with(tumbling, "--slide", "0s"), "--slide is not used with --window tumbling"},
		{with(tumbling, "--gap", "5s"), "--gap is not used with --window tumbling"},
		{with(files, "--window", "sliding", "--size", "10s", "--slide", "5s", "--gap", "1s", "--out-of-orderness", "0s"), "--gap is not used with --window sliding"},
		{with(tumbling, "--size", "-10s"), "--size -10s: must be positive"},
		{with(tumbling, "--size", "0s"), "--size 0s: must be positive"},
		{with(tumbling, "--size", "1500us"), "--size 1.5ms: must be a whole number of milliseconds"},
		{with(files, "--window", "sliding", "--size", "10s", "--slide", "-1s", "--out-of-orderness", "0s"), "--slide -1s: must be positive"},
		{with(files, "--window", "session", "--gap", "-1ms", "--out-of-orderness", "0s"), "--gap -1ms: must be positive"},
		{with(tumbling, "--out-of-orderness", "-1s"), "--out-of-orderness -1s: must be zero or positive"},
		{with(tumbling, "--allowed-lateness", "-1s"), "--allowed-lateness -1s: must be zero or positive"},
		{with(tumbling, "--allowed-lateness", "1us"), "--allowed-lateness 1µs: must be a whole number of milliseconds"},
		{with(files, "--window", "tumbling", "--size", "10s"), "--out-of-orderness is required"},
		{with(tumbling, "--parallelism", "0"), "--parallelism 0"},
		{[]string{"--output", out, "--window", "tumbling", "--size", "1s", "--out-of-orderness", "0s"}, "--input is required"},
		{[]string{"--input", in, "--window", "tumbling", "--size", "1s", "--out-of-orderness", "0s"}, "--output is required"},
		{with(tumbling, "--output", in), "--output " + in + " is the --input file"},
		{with(tumbling, "--late-output", out), "--late-output " + out + " is the --output file"},
		{with(tumbling, "--late-output", in), "--late-output " + in + " is the --input file"},
		{with(tumbling, "--size", "10"), "-size"}, // no unit: the flag package names the flag
		{with(tumbling, "--nope"), "-nope"},
		{with(tumbling, "extra"), "unexpected arguments"},
	} {
		err := Run(context.Background(), tc.args, io.Discard)
		if !errors.As(err, new(jobs.UsageError)) {
			t.Errorf("Run(%q) = %v, want a jobs.UsageError", tc.args, err)
			continue
		}
		if !strings.Contains(err.Error(), tc.want) {
			t.Errorf("Run(%q) = %q, want it to say %q", tc.args, err, tc.want)
		}
		if got := jobs.ExitCode(err, io.Discard); got != 2 {
			t.Errorf("ExitCode(Run(%q)) = %d, want 2", tc.args, got)
		}
	}
	// Valid flags of every kind pass (and fail later, on the missing input).
	for _, args := range [][]string{
		tumbling,
		with(files, "--window", "sliding", "--size", "10s", "--slide", "20s", "--out-of-orderness", "0s"),
		with(files, "--window", "session", "--gap", "1m", "--out-of-orderness", "500ms", "--allowed-lateness", "1h", "--late-output", late),
	} {
		if _, err := parseArgs(args); err != nil {
			t.Errorf("parseArgs(%q) = %v", args, err)
		}
	}
}

func TestOptionsValidate(t *testing.T) {
	o := Options{Input: "in", Output: "out", Window: Session, Gap: time.Second, Parallelism: 1}
	if err := o.Validate(); err != nil {
		t.Fatalf("Validate(%+v) = %v", o, err)
	}
	o.Size = time.Second
	if err := o.Validate(); err == nil || !strings.Contains(err.Error(), "--size") {
		t.Errorf("Validate with a size for session windows = %v, want an error naming --size", err)
	}
	env := stream.NewEnvironment()
	if err := Build(env, o); err == nil {
		t.Error("Build accepted invalid options")
	}
}

// writeInput writes text to a new input file and returns its path and
// those of the two outputs, in a fresh directory.
func writeInput(t *testing.T, text string) (in, out, late string) {
	t.Helper()
	dir := t.TempDir()
	in = filepath.Join(dir, "events.txt")
	if err := os.WriteFile(in, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	return in, filepath.Join(dir, "out.txt"), filepath.Join(dir, "late.txt")
}

func TestMalformedLines(t *testing.T) {
	for _, line := range []string{
		"abc",
		"12",
		"12,",
		",a",
		"1.5,a",
		"12 ,a",
		"12, a",
		"12,a ",
		"12,a,b",
		"0x10,a",
		"99999999999999999999,a",
		"-9223372036854775808,a",
		" ",
	} {
		in, out, _ := writeInput(t, "1,a\n\r\n"+line+"\n2,a\n")
		args := []string{"--input", in, "--output", out, "--window", "tumbling", "--size", "10ms", "--out-of-orderness", "0s", "--parallelism", "2"}
		err := Run(context.Background(), args, io.Discard)
		if !errors.Is(err, ErrMalformedLine) {
			t.Errorf("line %q: Run = %v, want an error wrapping ErrMalformedLine", line, err)
			continue
		}
		if errors.As(err, new(jobs.UsageError)) {
			t.Errorf("line %q: a malformed input is reported as a usage error: %v", line, err)
		}
		for _, want := range []string{in + " line 3", strconv.Quote(line)} {
			if !strings.Contains(err.Error(), want) {
				t.Errorf("line %q: error %q does not say %q", line, err, want)
			}
		}
	}
}

// TestLineEndings: "\r\n" endings, empty lines and a last line without an
// ending are read, and late events are written exactly as read.
func TestLineEndings(t *testing.T) {
	in, out, late := writeInput(t, "\n20,a\r\n\r\n+005,a\r\n\n0019,b\r\n25,b")
	if err := os.WriteFile(out, []byte("an old output, to be replaced\nand more\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	args := []string{"--input", in, "--output", out, "--late-output", late,
		"--window", "tumbling", "--size", "10ms", "--out-of-orderness", "0s", "--parallelism", "1"}
	if err := Run(context.Background(), args, io.Discard); err != nil {
		t.Fatal(err)
	}
	// 20 moves the watermark to 19: +005 ([0,10)) and 0019 ([10,20)) are
	// late.
	if got, want := readLines(t, out), []string{"20,30,a,1", "20,30,b,1"}; !sameLines(got, want) {
		t.Errorf("output %q, want %q", got, want)
	}
	if got, want := readLines(t, late), []string{"+005,a", "0019,b"}; !slices.Equal(got, want) {
		t.Errorf("late %q, want %q", got, want)
	}
}

func TestNoLateOutput(t *testing.T) {
	in, out, _ := writeInput(t, "5,a\n20,a\n3,a\n")
	args := []string{"--input", in, "--output", out, "--window", "tumbling", "--size", "10ms", "--out-of-orderness", "0s", "--parallelism", "2"}
	if err := Run(context.Background(), args, io.Discard); err != nil {
		t.Fatal(err)
	}
	if got, want := readLines(t, out), []string{"0,10,a,1", "20,30,a,1"}; !sameLines(got, want) {
		t.Errorf("output %q, want %q", got, want)
	}
	entries, err := os.ReadDir(filepath.Dir(out))
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) != 2 {
		t.Errorf("the job wrote files besides its output: %v", entries)
	}
}

func TestMissingInput(t *testing.T) {
	dir := t.TempDir()
	args := []string{"--input", filepath.Join(dir, "missing"), "--output", filepath.Join(dir, "out"),
		"--window", "tumbling", "--size", "10ms", "--out-of-orderness", "0s"}
	err := Run(context.Background(), args, io.Discard)
	if !errors.Is(err, os.ErrNotExist) {
		t.Errorf("Run with a missing input = %v, want an error wrapping os.ErrNotExist", err)
	}
	if errors.As(err, new(jobs.UsageError)) {
		t.Errorf("a missing input is reported as a usage error: %v", err)
	}
}

// TestEventSourceIsNotParallel: the source refuses to run in parallel,
// which would read the file once per subtask.
func TestEventSourceIsNotParallel(t *testing.T) {
	in, _, _ := writeInput(t, "1,a\n")
	env := stream.NewEnvironment().SetParallelism(2)
	stream.FromSource(env, EventSource(in), Watermarks(0), "events").Discard()
	err := env.Execute(context.Background(), "parallel source")
	if err == nil || !strings.Contains(err.Error(), "one reader") {
		t.Errorf("Execute with the source at parallelism 2 = %v, want an error saying it has one reader", err)
	}
}
