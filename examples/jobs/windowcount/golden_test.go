package windowcount

import (
	"cmp"
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// The golden tests walk testdata/*.txt. A file is one case:
//
//	# comments saying what the case shows and why
//	flags: --window tumbling --size 10ms --out-of-orderness 0s
//	input:
//	1,a        # a comment after an event is not part of the line
//	...
//	output:
//	0,10,a,2
//	...
//	late:
//	3,a
//
// The job runs on the input lines with the flags and --input, --output,
// --late-output and --parallelism 1, 2, 3 and 4 added; the output and late
// lines must be the expected ones, in any order (each set sorted before it
// is compared). Blank lines in the output and late sections are ignored;
// those of the input are written to the input file, where the job skips
// them. With -rewrite the test writes the output and late sections back
// from the run at parallelism 1 instead (output sorted by window, late lines
// in the order found):
//
//	go test ./examples/jobs/windowcount -run Golden -rewrite
//
// The first expectations were written by hand; TestGoldenAgreesWithModel
// checks those of the non-merging windows against an independent model.
var rewrite = flag.Bool("rewrite", false, "rewrite the output and late sections of testdata/*.txt from the job's output at parallelism 1")

// goldenCase is a parsed testdata file.
type goldenCase struct {
	flags        []string
	input        []string // comments removed
	output, late []string
	head         string // the file up to and including "output:\n", kept by -rewrite
}

func parseGolden(path string) (goldenCase, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return goldenCase{}, err
	}
	var c goldenCase
	section := "header"
	offset := 0
	for i, line := range strings.SplitAfter(string(data), "\n") {
		offset += len(line)
		line = strings.TrimSuffix(line, "\n")
		bad := func(format string, args ...any) error {
			return fmt.Errorf("%s:%d: %s", path, i+1, fmt.Sprintf(format, args...))
		}
		switch {
		case section == "header" && strings.HasPrefix(line, "flags:"):
			c.flags = strings.Fields(strings.TrimPrefix(line, "flags:"))
			section = "flags"
			continue
		case line == "input:":
			if section != "flags" {
				return c, bad("input: must follow flags:")
			}
			section = "input"
			continue
		case line == "output:":
			if section != "input" {
				return c, bad("output: must follow input:")
			}
			section, c.head = "output", string(data[:offset])
			continue
		case line == "late:":
			if section != "output" {
				return c, bad("late: must follow output:")
			}
			section = "late"
			continue
		}
		trimmed := strings.TrimSpace(line)
		switch section {
		case "header", "flags":
			if trimmed != "" && !strings.HasPrefix(trimmed, "#") {
				return c, bad("unexpected line %q before input:", line)
			}
		case "input":
			if strings.HasPrefix(trimmed, "#") {
				continue
			}
			if i := strings.Index(line, " #"); i >= 0 {
				line = strings.TrimRight(line[:i], " ")
			}
			c.input = append(c.input, line)
		case "output":
			if trimmed != "" {
				c.output = append(c.output, line)
			}
		case "late":
			if trimmed != "" {
				c.late = append(c.late, line)
			}
		}
	}
	if section != "late" {
		return c, fmt.Errorf("%s: want the sections flags:, input:, output: and late:", path)
	}
	return c, nil
}

// runJob runs the job on input with flags at parallelism p and returns its
// output and late lines, as written.
func runJob(t *testing.T, flags, input []string, p int) (output, late []string) {
	t.Helper()
	dir := t.TempDir()
	in := filepath.Join(dir, "input.txt")
	text := strings.Join(input, "\n")
	if len(input) > 0 {
		text += "\n"
	}
	if err := os.WriteFile(in, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	out, lateOut := filepath.Join(dir, "output.txt"), filepath.Join(dir, "late.txt")
	args := append(slices.Clone(flags), "--input", in, "--output", out, "--late-output", lateOut, "--parallelism", strconv.Itoa(p))
	if err := Run(context.Background(), args, io.Discard); err != nil {
		t.Fatalf("Run(%q): %v", args, err)
	}
	return readLines(t, out), readLines(t, lateOut)
}

func readLines(t *testing.T, path string) []string {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if len(data) == 0 {
		return nil
	}
	if data[len(data)-1] != '\n' {
		t.Fatalf("%s does not end in a newline", path)
	}
	return strings.Split(strings.TrimSuffix(string(data), "\n"), "\n")
}

// byWindow orders output lines "start,end,key,count" by window, key and
// count, numerically; lines that do not parse go last, as strings.
func byWindow(a, b string) int {
	pa, oka := parseOutputLine(a)
	pb, okb := parseOutputLine(b)
	switch {
	case oka && okb:
		return cmp.Or(cmp.Compare(pa.Start, pb.Start), cmp.Compare(pa.End, pb.End),
			cmp.Compare(pa.Key, pb.Key), cmp.Compare(pa.Count, pb.Count))
	case oka != okb:
		if oka {
			return -1
		}
		return 1
	}
	return cmp.Compare(a, b)
}

func parseOutputLine(line string) (WindowCount, bool) {
	f := strings.Split(line, ",")
	if len(f) != 4 {
		return WindowCount{}, false
	}
	start, err1 := strconv.ParseInt(f[0], 10, 64)
	end, err2 := strconv.ParseInt(f[1], 10, 64)
	count, err3 := strconv.ParseInt(f[3], 10, 64)
	if err1 != nil || err2 != nil || err3 != nil {
		return WindowCount{}, false
	}
	return WindowCount{Start: start, End: end, Key: f[2], Count: count}, true
}

// sameLines reports whether got and want hold the same lines, in any order.
func sameLines(got, want []string) bool {
	g, w := slices.Clone(got), slices.Clone(want)
	slices.Sort(g)
	slices.Sort(w)
	return slices.Equal(g, w)
}

func sortedBy(lines []string, f func(a, b string) int) []string {
	s := slices.Clone(lines)
	slices.SortFunc(s, f)
	return s
}

func goldenFiles(t *testing.T) []string {
	t.Helper()
	files, err := filepath.Glob("testdata/*.txt")
	if err != nil || len(files) == 0 {
		t.Fatalf("no testdata/*.txt: %v", err)
	}
	return files
}

func TestGolden(t *testing.T) {
	for _, path := range goldenFiles(t) {
		t.Run(strings.TrimSuffix(filepath.Base(path), ".txt"), func(t *testing.T) {
			c, err := parseGolden(path)
			if err != nil {
				t.Fatal(err)
			}
			if *rewrite {
				output, late := runJob(t, c.flags, c.input, 1)
				var b strings.Builder
				b.WriteString(c.head)
				for _, l := range sortedBy(output, byWindow) {
					b.WriteString(l + "\n")
				}
				b.WriteString("\nlate:\n")
				for _, l := range late {
					b.WriteString(l + "\n")
				}
				if err := os.WriteFile(path, []byte(b.String()), 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			for p := 1; p <= 4; p++ {
				output, late := runJob(t, c.flags, c.input, p)
				if !sameLines(output, c.output) {
					t.Errorf("parallelism %d: output\n got: %q\nwant: %q", p, sortedBy(output, byWindow), sortedBy(c.output, byWindow))
				}
				if !sameLines(late, c.late) {
					t.Errorf("parallelism %d: late\n got: %q\nwant: %q", p, late, c.late)
				}
			}
		})
	}
}
