package stream_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/runnel-io/runnel/stream"
)

// lines splits output into lines, dropping the empty string after a final
// newline.
func lines(s string) []string {
	if s == "" {
		return nil
	}
	return strings.Split(strings.TrimSuffix(s, "\n"), "\n")
}

func TestPrintAtParallelismOneWritesPlainLines(t *testing.T) {
	var out bytes.Buffer
	env := newEnv(1).SetStdout(&out)
	stream.FromSlice(env, trades).Print()
	mustExecute(t, env)
	want := "{a 1 5}\n{b 2 3}\n{a 3 2}\n{a 4 2}\n{b 5 7}\n{a 6 9}\n{b 7 3}\n"
	if out.String() != want {
		t.Fatalf("printed %q, want %q", out.String(), want)
	}
}

func TestPrintSinkSetToParallelismOneHasNoPrefix(t *testing.T) {
	var out bytes.Buffer
	env := newEnv(3).SetStdout(&out)
	stream.Generate(env, 90, func(i int64) (int64, error) { return i, nil }).Print().SetParallelism(1)
	mustExecute(t, env)
	var want []string
	for i := range 90 {
		want = append(want, strconv.Itoa(i))
	}
	wantSameElements(t, lines(out.String()), want)
}

func TestPrintAtParallelismAboveOnePrefixesTheSubtask(t *testing.T) {
	var out bytes.Buffer
	env := newEnv(3).SetStdout(&out)
	stream.Generate(env, 300, func(i int64) (int64, error) { return i, nil }).Print()
	mustExecute(t, env)
	got := lines(out.String())
	var want []string
	for i := range 300 {
		// Record i comes from generator subtask i mod 3, chained to print
		// subtask i mod 3, which prints "(i mod 3)+1> i".
		want = append(want, fmt.Sprintf("%d> %d", i%3+1, i))
	}
	wantSameElements(t, got, want)
}

func TestPrintToErr(t *testing.T) {
	var out, errOut bytes.Buffer
	env := newEnv(2).SetStdout(&out).SetStderr(&errOut)
	stream.FromValues(env, "x", "y").PrintToErr().SetParallelism(1)
	mustExecute(t, env)
	if errOut.String() != "x\ny\n" || out.Len() != 0 {
		t.Fatalf("stderr %q and stdout %q, want \"x\\ny\\n\" and nothing", errOut.String(), out.String())
	}
}

// Where the output goes is the environment's setting when the job runs,
// not when Print was called.
func TestSetStdoutAfterPrint(t *testing.T) {
	var out bytes.Buffer
	env := newEnv(1)
	stream.FromValues(env, 1, 2).Print()
	env.SetStdout(&out)
	mustExecute(t, env)
	if out.String() != "1\n2\n" {
		t.Fatalf("printed %q to the writer set after Print, want \"1\\n2\\n\"", out.String())
	}
}

func readFile(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestWriteAsTextAtParallelismOneWritesAFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "out.txt")
	env := newEnv(1)
	stream.FromValues(env, "one", "", "three").WriteAsText(path, stream.NoOverwrite)
	mustExecute(t, env)
	if got := readFile(t, path); got != "one\n\nthree\n" {
		t.Fatalf("file holds %q, want %q", got, "one\n\nthree\n")
	}
}

func TestWriteAsTextAtParallelismThreeWritesADirectory(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "out")
	env := newEnv(3)
	stream.Generate(env, 3000, func(i int64) (int64, error) { return i, nil }).WriteAsText(dir, stream.NoOverwrite)
	mustExecute(t, env)
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	if !slices.Equal(names, []string{"1", "2", "3"}) {
		t.Fatalf("directory holds %q, want files 1, 2, 3", names)
	}
	for s := range 3 {
		// Subtask s writes, in order, the indices i with i mod 3 = s.
		var want strings.Builder
		for i := s; i < 3000; i += 3 {
			fmt.Fprintf(&want, "%d\n", i)
		}
		if got := readFile(t, filepath.Join(dir, strconv.Itoa(s+1))); got != want.String() {
			t.Fatalf("file %d holds %d bytes, want %d: %q...", s+1, len(got), want.Len(), got[:min(len(got), 40)])
		}
	}
}

func TestWriteAsTextNoOverwriteOnAnExistingFileFails(t *testing.T) {
	checkNoLeaks(t)
	path := filepath.Join(t.TempDir(), "exists.txt")
	writeFile(t, path, "keep me\n")
	env := newEnv(1)
	stream.FromValues(env, "new").WriteAsText(path, stream.NoOverwrite)
	err := executeErr(t, env)
	wantErrorContains(t, err, path, "exists")
	if !errors.Is(err, os.ErrExist) {
		t.Errorf("Execute: %v, want an error wrapping os.ErrExist", err)
	}
	if got := readFile(t, path); got != "keep me\n" {
		t.Fatalf("the existing file now holds %q", got)
	}
}

func TestWriteAsTextNoOverwriteOnAnExistingPartFails(t *testing.T) {
	checkNoLeaks(t)
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "2"), "keep me\n")
	env := newEnv(3)
	stream.Generate(env, 30, func(i int64) (int64, error) { return i, nil }).WriteAsText(dir, stream.NoOverwrite)
	wantErrorContains(t, executeErr(t, env), filepath.Join(dir, "2"))
	if got := readFile(t, filepath.Join(dir, "2")); got != "keep me\n" {
		t.Fatalf("the existing file now holds %q", got)
	}
}

func TestWriteAsTextOverwriteReplaces(t *testing.T) {
	path := filepath.Join(t.TempDir(), "exists.txt")
	writeFile(t, path, strings.Repeat("a much longer old content\n", 10))
	env := newEnv(1)
	stream.FromValues(env, 1, 2).WriteAsText(path, stream.Overwrite)
	mustExecute(t, env)
	if got := readFile(t, path); got != "1\n2\n" {
		t.Fatalf("file holds %q, want %q", got, "1\n2\n")
	}
}

func TestCollectGathersEveryRecord(t *testing.T) {
	env := newEnv(4)
	got := stream.Generate(env, 1000, func(i int64) (int, error) { return int(i), nil }).Rebalance().Collect()
	mustExecute(t, env)
	wantSameElements(t, got.Values(), ints(1000))
}

func TestDiscardConsumesEveryRecord(t *testing.T) {
	env := newEnv(2)
	var seen atomic.Int64
	nums := stream.Generate(env, 1000, func(i int64) (int64, error) { return i, nil })
	stream.Map(nums, func(v int64) (int64, error) { seen.Add(1); return v, nil }).Rebalance().Discard()
	mustExecute(t, env)
	if seen.Load() != 1000 {
		t.Fatalf("%d records went to the discarding sink, want 1000", seen.Load())
	}
}

// recordingSink logs the calls each of its writers receives.
type recordingSink struct {
	failAt int64 // Write fails on this record, if not negative
	mu     sync.Mutex
	logs   map[int][]string // per subtask, handed over by Close
	opened []int
}

func (s *recordingSink) CreateWriter(_ context.Context, rc *stream.RuntimeContext) (stream.SinkWriter[int64], error) {
	s.mu.Lock()
	s.opened = append(s.opened, rc.Subtask)
	s.mu.Unlock()
	return &recordingWriter{sink: s, subtask: rc.Subtask}, nil
}

type recordingWriter struct {
	sink    *recordingSink
	subtask int
	log     []string
}

func (w *recordingWriter) Write(v int64, ts int64) error {
	if ts != math.MinInt64 {
		w.log = append(w.log, fmt.Sprintf("write %d with timestamp %d", v, ts))
	} else {
		w.log = append(w.log, "write")
	}
	if v == w.sink.failAt {
		return errBoom
	}
	return nil
}

func (w *recordingWriter) Flush(end bool) error {
	if end {
		w.log = append(w.log, "flush end")
	}
	return nil
}

func (w *recordingWriter) Close() error {
	w.log = append(w.log, "close")
	w.sink.mu.Lock()
	defer w.sink.mu.Unlock()
	if w.sink.logs == nil {
		w.sink.logs = map[int][]string{}
	}
	w.sink.logs[w.subtask] = append(w.sink.logs[w.subtask], w.log...)
	return nil
}

func TestCustomSinkLifecycle(t *testing.T) {
	const p, n = 3, 600
	env := newEnv(p)
	sink := &recordingSink{failAt: -1}
	stream.Generate(env, n, func(i int64) (int64, error) { return i, nil }).Rebalance().SinkTo(sink, "recording")
	mustExecute(t, env)
	if fmt.Sprint(sorted(sink.opened)) != "[0 1 2]" {
		t.Fatalf("writers created for subtasks %v, want 0, 1, 2 once each", sink.opened)
	}
	writes := 0
	for s := range p {
		log := sink.logs[s]
		k := len(log)
		if k < 2 || log[k-2] != "flush end" || log[k-1] != "close" {
			t.Fatalf("subtask %d: calls end with %q, want [flush end close]", s, log[max(0, k-3):])
		}
		for _, c := range log[:k-2] {
			if c != "write" {
				t.Fatalf("subtask %d: %q before the final flush, want only writes", s, c)
			}
			writes++
		}
	}
	if writes != n {
		t.Fatalf("%d writes, want %d", writes, n)
	}
}

func TestSinkWriterSeesTimestamps(t *testing.T) {
	env := newEnv(1)
	sink := &recordingSink{failAt: -1}
	stream.FromSource[int64](env, stampedSource{n: 7}, stream.NoWatermarks[int64](), "stamped").SinkTo(sink, "recording")
	mustExecute(t, env)
	var want []string
	for v := range int64(7) {
		if ts, ok := stampOf(v); ok {
			want = append(want, fmt.Sprintf("write %d with timestamp %d", v, ts))
		} else {
			want = append(want, "write")
		}
	}
	want = append(want, "flush end", "close")
	if !slices.Equal(sink.logs[0], want) {
		t.Fatalf("calls %q, want %q", sink.logs[0], want)
	}
}

func TestSinkMistakesAreExecuteErrors(t *testing.T) {
	env := newEnv(1)
	stream.FromValues(env, 1).Discard().Name("nowhere").SetParallelism(0)
	wantErrorContains(t, executeErr(t, env), `"nowhere"`, "SetParallelism(0)")
}
