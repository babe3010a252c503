// Package script runs the data-driven tests of the project's cores (the
// checkpoint coordinator, the slot manager): files of commands, each
// followed by a line "----" and the output it must produce, in the manner
// of etcd raft's interaction tests. Blank lines and lines starting with #
// are kept as they are. With rewrite, the files are rewritten with the
// outputs produced, for review in the diff.
package script

import (
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// Runner runs one command of a file and returns its output lines; line is
// the command's line number, for messages.
type Runner func(line int, cmd string) []string

// Files runs every file matching glob as a subtest; newRunner returns the
// runner of one file (its fresh state).
func Files(t *testing.T, glob string, rewrite bool, newRunner func(t *testing.T, file string) Runner) {
	t.Helper()
	files, err := filepath.Glob(glob)
	if err != nil {
		t.Fatal(err)
	}
	if len(files) == 0 {
		t.Fatalf("no scripts match %s", glob)
	}
	for _, file := range files {
		t.Run(strings.TrimSuffix(filepath.Base(file), ".txt"), func(t *testing.T) {
			File(t, file, rewrite, newRunner(t, file))
		})
	}
}

// File runs one script file.
func File(t *testing.T, file string, rewrite bool, run Runner) {
	t.Helper()
	data, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSuffix(string(data), "\n"), "\n")
	var out strings.Builder
	for i := 0; i < len(lines); i++ {
		line := lines[i]
		if trimmed := strings.TrimSpace(line); trimmed == "" || strings.HasPrefix(trimmed, "#") {
			out.WriteString(line + "\n")
			continue
		}
		cmdLine := i + 1
		if i+1 >= len(lines) || lines[i+1] != "----" {
			t.Fatalf("%s:%d: a command must be followed by a line \"----\"", file, cmdLine)
		}
		i += 2
		var want []string
		for ; i < len(lines) && lines[i] != ""; i++ {
			want = append(want, lines[i])
		}
		got := run(cmdLine, line)
		if !rewrite && !slices.Equal(got, want) {
			t.Errorf("%s:%d: %s\ngot:\n%s\nwant:\n%s", file, cmdLine, line,
				strings.Join(got, "\n"), strings.Join(want, "\n"))
		}
		out.WriteString(line + "\n----\n" + strings.Join(got, "\n") + "\n")
		if i < len(lines) {
			out.WriteString("\n")
		}
	}
	if rewrite {
		if err := os.WriteFile(file, []byte(out.String()), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// SplitFields splits a command line at spaces, keeping quoted runs
// ("a b") together without their quotes.
func SplitFields(line string) ([]string, error) {
	var fields []string
	var cur strings.Builder
	inQuote, inField := false, false
	for _, r := range line {
		switch {
		case r == '"':
			inQuote, inField = !inQuote, true
		case r == ' ' && !inQuote:
			if inField {
				fields = append(fields, cur.String())
				cur.Reset()
				inField = false
			}
		default:
			cur.WriteRune(r)
			inField = true
		}
	}
	if inQuote {
		return nil, errors.New("unterminated quote")
	}
	if inField {
		fields = append(fields, cur.String())
	}
	return fields, nil
}

// Command is one parsed command line: its name, its positional arguments
// and its key=value arguments.
type Command struct {
	Name string
	Args []string
	KV   map[string]string
}

// Parse parses a command line (see SplitFields).
func Parse(line string) (Command, error) {
	fields, err := SplitFields(line)
	if err != nil {
		return Command{}, err
	}
	if len(fields) == 0 {
		return Command{}, errors.New("empty command")
	}
	c := Command{Name: fields[0], Args: []string{}, KV: map[string]string{}}
	for _, f := range fields[1:] {
		if k, v, ok := strings.Cut(f, "="); ok {
			c.KV[k] = v
		} else {
			c.Args = append(c.Args, f)
		}
	}
	return c, nil
}
