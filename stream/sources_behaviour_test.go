package stream_test

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"iter"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"

	"github.com/runnel-io/runnel/stream"
)

func TestFromSliceEmitsInOrder(t *testing.T) {
	env := newEnv(1)
	want := []string{"c", "a", "b", "a", "", "z"}
	got := stream.FromSlice(env, want).Collect()
	mustExecute(t, env)
	if !slices.Equal(got.Values(), want) {
		t.Fatalf("got %q, want %q", got.Values(), want)
	}
}

func TestFromValuesEmitsInOrder(t *testing.T) {
	env := newEnv(1)
	got := stream.FromValues(env, 3, 1, 2).Collect()
	mustExecute(t, env)
	if want := []int{3, 1, 2}; !slices.Equal(got.Values(), want) {
		t.Fatalf("got %v, want %v", got.Values(), want)
	}
}

func TestFromSliceOfNothingEnds(t *testing.T) {
	env := newEnv(2)
	got := stream.FromSlice[int](env, nil).Collect()
	mustExecute(t, env)
	if len(got.Values()) != 0 {
		t.Fatalf("got %v, want nothing", got.Values())
	}
}

// The collection source runs as one subtask even when the job's default
// parallelism is higher; its downstream at parallelism 1 sees its order.
func TestFromSliceIsNonParallel(t *testing.T) {
	env := newEnv(4)
	var mu sync.Mutex
	var seen []int
	var parallelism []int
	src := stream.FromSlice(env, ints(1000))
	stream.Process(src, stream.ProcessFunc[int, int](func(ctx *stream.Context, v int, out stream.Collector[int]) error {
		mu.Lock()
		seen = append(seen, v)
		parallelism = append(parallelism, ctx.Runtime().Parallelism)
		mu.Unlock()
		out.Collect(v)
		return nil
	})).SetParallelism(1).Discard()
	mustExecute(t, env)
	if !slices.Equal(seen, ints(1000)) {
		t.Fatalf("records arrived out of order or incomplete: %v", clip(seen))
	}
	if slices.ContainsFunc(parallelism, func(p int) bool { return p != 1 }) {
		t.Fatalf("parallelism seen by the downstream: %v, want 1", clip(parallelism))
	}
}

func TestFromSliceWithParallelismAboveOneIsAnExecuteError(t *testing.T) {
	for _, build := range []struct {
		name string
		src  func(*stream.Environment) stream.DataStream[int]
	}{
		{"FromSlice", func(env *stream.Environment) stream.DataStream[int] { return stream.FromSlice(env, []int{1}) }},
		{"FromValues", func(env *stream.Environment) stream.DataStream[int] { return stream.FromValues(env, 1) }},
		{"FromSeq", func(env *stream.Environment) stream.DataStream[int] {
			return stream.FromSeq(env, slices.Values([]int{1}))
		}},
	} {
		t.Run(build.name, func(t *testing.T) {
			env := newEnv(1)
			var ran atomic.Bool
			src := build.src(env).Name("my numbers").SetParallelism(2)
			stream.Map(src, func(v int) (int, error) { ran.Store(true); return v, nil }).Discard()
			err := executeErr(t, env)
			wantErrorContains(t, err, `"my numbers"`, "parallelism must be 1")
			if ran.Load() {
				t.Error("the job ran although Execute reported a mistake")
			}
		})
	}
}

// countingSeq yields 0, 1, ... up to n-1 (forever if n < 0) and records
// that the sequence was left, whichever way that happened.
func countingSeq(n int, stopped *atomic.Bool) iter.Seq[int] {
	return func(yield func(int) bool) {
		defer stopped.Store(true)
		for i := 0; n < 0 || i < n; i++ {
			if !yield(i) {
				return
			}
		}
	}
}

func TestFromSeqEmitsInOrderAndEnds(t *testing.T) {
	env := newEnv(1)
	var stopped atomic.Bool
	got := stream.FromSeq(env, countingSeq(1000, &stopped)).Collect()
	mustExecute(t, env)
	if !slices.Equal(got.Values(), ints(1000)) {
		t.Fatalf("got %v..., want 0..999 in order", clip(got.Values()))
	}
	if !stopped.Load() {
		t.Fatal("the sequence was not finished when the job ended")
	}
}

var errBoom = errors.New("boom")

func TestFromSeqIsStoppedWhenTheJobFails(t *testing.T) {
	checkNoLeaks(t)
	env := newEnv(2)
	var stopped atomic.Bool
	src := stream.FromSeq(env, countingSeq(-1, &stopped))
	stream.Map(src, func(v int) (int, error) {
		if v == 5000 {
			return 0, errBoom
		}
		return v, nil
	}).Name("fail at 5000").Discard()
	err := executeErr(t, env)
	if !errors.Is(err, errBoom) {
		t.Fatalf("Execute: %v, want %v", err, errBoom)
	}
	if !stopped.Load() {
		t.Fatal("the sequence was not stopped when the job failed")
	}
}

func TestFromSeqIsStoppedWhenTheJobIsCancelled(t *testing.T) {
	checkNoLeaks(t)
	env := newEnv(2)
	var stopped atomic.Bool
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	src := stream.FromSeq(env, countingSeq(-1, &stopped))
	stream.Map(src, func(v int) (int, error) {
		if v == 5000 {
			cancel()
		}
		return v, nil
	}).Rebalance().Discard()
	err := env.Execute(ctx, t.Name())
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("Execute: %v, want context.Canceled", err)
	}
	if !stopped.Load() {
		t.Fatal("the sequence was not stopped when the job was cancelled")
	}
}

func TestGenerateYieldsEveryIndexOnce(t *testing.T) {
	for _, count := range []int{0, 3, 1000} {
		for p := 1; p <= 4; p++ {
			t.Run(fmt.Sprintf("count=%d/p=%d", count, p), func(t *testing.T) {
				env := newEnv(p)
				got := stream.Generate(env, int64(count), func(i int64) (string, error) {
					return fmt.Sprintf("r%04d", i), nil
				}).Collect()
				mustExecute(t, env)
				want := make([]string, count)
				for i := range want {
					want[i] = fmt.Sprintf("r%04d", i)
				}
				wantSameElements(t, got.Values(), want)
			})
		}
	}
}

// Subtask s of p emits the indices i with i mod p = s, in increasing order.
func TestGenerateSplitsIndicesBySubtask(t *testing.T) {
	env := newEnv(3)
	got := tagSubtask(stream.Generate(env, 300, func(i int64) (int64, error) { return i, nil })).Collect()
	mustExecute(t, env)
	last := map[int]int64{0: -1, 1: -1, 2: -1}
	for _, a := range got.Values() {
		if int(a.V%3) != a.Subtask {
			t.Fatalf("index %d emitted by subtask %d, want %d", a.V, a.Subtask, a.V%3)
		}
		if a.V <= last[a.Subtask] {
			t.Fatalf("subtask %d emitted %d after %d", a.Subtask, a.V, last[a.Subtask])
		}
		last[a.Subtask] = a.V
	}
	if len(got.Values()) != 300 {
		t.Fatalf("got %d records, want 300", len(got.Values()))
	}
}

func TestGenerateWithRateEmitsEveryIndex(t *testing.T) {
	env := newEnv(2)
	got := stream.Generate(env, 20, func(i int64) (int64, error) { return i, nil }, stream.WithRate(2000)).Collect()
	mustExecute(t, env)
	wantSameElements(t, got.Values(), []int64{0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19})
}

func TestGenerateUnboundedWithRateStopsOnCancel(t *testing.T) {
	checkNoLeaks(t)
	for p := 1; p <= 3; p++ {
		t.Run(fmt.Sprintf("p=%d", p), func(t *testing.T) {
			env := newEnv(p)
			first := make(chan struct{})
			var once sync.Once
			gen := stream.Generate(env, stream.Unbounded, func(i int64) (int64, error) { return i, nil }, stream.WithRate(200))
			stream.Map(gen, func(v int64) (int64, error) {
				once.Do(func() { close(first) })
				return v, nil
			}).Rebalance().Discard()
			ctx, cancel := context.WithTimeout(context.Background(), deadline)
			errc := make(chan error, 1)
			over := make(chan struct{})
			go func() {
				defer close(over)
				errc <- env.Execute(ctx, t.Name())
			}()
			t.Cleanup(func() { // also when the test stops half-way
				cancel()
				<-over
			})
			<-first
			cancel()
			err := <-errc
			if !errors.Is(err, context.Canceled) {
				t.Fatalf("Execute: %v, want context.Canceled", err)
			}
		})
	}
}

func TestGenerateErrorFailsTheJob(t *testing.T) {
	checkNoLeaks(t)
	env := newEnv(4)
	stream.Generate(env, 1000, func(i int64) (int64, error) {
		if i == 501 {
			return 0, errBoom
		}
		return i, nil
	}).Name("numbers").Discard()
	err := executeErr(t, env)
	if !errors.Is(err, errBoom) {
		t.Fatalf("Execute: %v, want %v", err, errBoom)
	}
	// 501 mod 4 = 1: the second subtask fails.
	wantErrorContains(t, err, "numbers (2/4): ", "501", "boom")
}

func TestGenerateMistakesAreExecuteErrors(t *testing.T) {
	env := newEnv(1)
	stream.Generate(env, -5, func(i int64) (int64, error) { return i, nil }).Discard()
	wantErrorContains(t, executeErr(t, env), "count -5")

	env = newEnv(1)
	stream.Generate(env, 5, func(i int64) (int64, error) { return i, nil }, stream.WithRate(-1)).Discard()
	wantErrorContains(t, executeErr(t, env), "rate -1")
}

// textFile is the content of a test file and the lines ReadTextFile must
// read from it.
type textFile struct {
	content string
	lines   []string
}

// mixedLines has empty lines, "\r\n" endings, a lone "\r" inside a line
// and a last line without a newline.
var mixedLines = textFile{
	content: "first\n\r\n\nwindows line\r\na\nbb\nccc ddd eee fff ggg\r\n\r\nx\ny\n\n  spaced  \nhas\rcr inside\nlast without newline",
	lines:   []string{"first", "", "", "windows line", "a", "bb", "ccc ddd eee fff ggg", "", "x", "y", "", "  spaced  ", "has\rcr inside", "last without newline"},
}

func writeFile(t *testing.T, path, content string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

func TestReadTextFileWholeFileInOrder(t *testing.T) {
	path := filepath.Join(t.TempDir(), "in.txt")
	writeFile(t, path, mixedLines.content)
	env := newEnv(1)
	got := stream.ReadTextFile(env, path).Collect()
	mustExecute(t, env)
	if !slices.Equal(got.Values(), mixedLines.lines) {
		t.Fatalf("got %q\nwant %q", got.Values(), mixedLines.lines)
	}
}

// Lines straddle the boundaries of small splits; every line must still be
// read exactly once, by the subtask whose split holds its first byte.
func TestReadTextFileSmallSplitsReadEveryLineOnce(t *testing.T) {
	path := filepath.Join(t.TempDir(), "in.txt")
	writeFile(t, path, mixedLines.content)
	for _, split := range []int64{1, 2, 3, 7, 13, 64} {
		for p := 1; p <= 4; p++ {
			t.Run(fmt.Sprintf("split=%d/p=%d", split, p), func(t *testing.T) {
				env := newEnv(p)
				got := stream.ReadTextFile(env, path, stream.FileSplitSize(split)).Collect()
				mustExecute(t, env)
				wantSameElements(t, got.Values(), mixedLines.lines)
				if p == 1 && !slices.Equal(got.Values(), mixedLines.lines) {
					t.Fatalf("at parallelism 1 got %q, want the file's order %q", got.Values(), mixedLines.lines)
				}
			})
		}
	}
}

func TestReadTextFileLongLines(t *testing.T) {
	long := strings.Repeat("0123456789abcdef", 100<<10/16) // 100 KiB
	longCRLF := strings.Repeat("x", 70<<10)
	content := "short\n" + long + "\n" + "after\n" + longCRLF + "\r\n" + "\n" + long + "tail"
	want := []string{"short", long, "after", longCRLF, "", long + "tail"}
	path := filepath.Join(t.TempDir(), "long.txt")
	writeFile(t, path, content)
	for _, split := range []int64{stream.DefaultFileSplitSize, 4 << 10, 64<<10 + 3} {
		for p := 1; p <= 4; p++ {
			t.Run(fmt.Sprintf("split=%d/p=%d", split, p), func(t *testing.T) {
				env := newEnv(p)
				got := stream.ReadTextFile(env, path, stream.FileSplitSize(split)).Collect()
				mustExecute(t, env)
				wantSameElements(t, got.Values(), want)
			})
		}
	}
}

func TestReadTextFileDirectory(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "b.txt"), "b1\nb2\n")
	writeFile(t, filepath.Join(dir, "a.txt"), "a1\na2") // no final newline
	writeFile(t, filepath.Join(dir, "sub", "c.txt"), "c1\r\n\r\nc3\r\n")
	writeFile(t, filepath.Join(dir, "sub", "deeper", "d.txt"), "d1\n")
	writeFile(t, filepath.Join(dir, "z.txt"), "z1\n")
	writeFile(t, filepath.Join(dir, "empty.txt"), "")
	// Skipped: names starting with "." or "_", files and directories.
	writeFile(t, filepath.Join(dir, "_SUCCESS"), "skip1\n")
	writeFile(t, filepath.Join(dir, ".a.crc"), "skip2\n")
	writeFile(t, filepath.Join(dir, "sub", "_part.tmp"), "skip3\n")
	writeFile(t, filepath.Join(dir, "sub", ".hidden"), "skip4\n")
	writeFile(t, filepath.Join(dir, "_temporary", "x.txt"), "skip5\n")
	writeFile(t, filepath.Join(dir, ".git", "y.txt"), "skip6\n")
	want := []string{"a1", "a2", "b1", "b2", "c1", "", "c3", "d1", "z1"}

	t.Run("in order", func(t *testing.T) {
		env := newEnv(1)
		got := stream.ReadTextFile(env, dir).Collect()
		mustExecute(t, env)
		if !slices.Equal(got.Values(), want) {
			t.Fatalf("got %q, want %q", got.Values(), want)
		}
	})
	for p := 1; p <= 4; p++ {
		t.Run(fmt.Sprintf("split=3/p=%d", p), func(t *testing.T) {
			env := newEnv(p)
			got := stream.ReadTextFile(env, dir, stream.FileSplitSize(3)).Collect()
			mustExecute(t, env)
			wantSameElements(t, got.Values(), want)
		})
	}
}

func TestReadTextFileEmptyFileEnds(t *testing.T) {
	path := filepath.Join(t.TempDir(), "empty.txt")
	writeFile(t, path, "")
	env := newEnv(2)
	got := stream.ReadTextFile(env, path).Collect()
	mustExecute(t, env)
	if len(got.Values()) != 0 {
		t.Fatalf("got %q from an empty file", got.Values())
	}
}

func TestReadTextFileMissingPathFails(t *testing.T) {
	checkNoLeaks(t)
	path := filepath.Join(t.TempDir(), "does-not-exist.txt")
	env := newEnv(2)
	stream.ReadTextFile(env, path).Discard()
	err := executeErr(t, env)
	if !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("Execute: %v, want an error wrapping fs.ErrNotExist", err)
	}
	wantErrorContains(t, err, path)
}

func TestReadTextFileBadSplitSizeIsAnExecuteError(t *testing.T) {
	path := filepath.Join(t.TempDir(), "in.txt")
	writeFile(t, path, "x\n")
	env := newEnv(1)
	stream.ReadTextFile(env, path, stream.FileSplitSize(0)).Discard()
	wantErrorContains(t, executeErr(t, env), "split size 0")
}

// serveLines accepts one connection on a loopback listener, writes lines to
// it and closes it. It returns the listener's port and a function that waits
// for the server.
func serveLines(t *testing.T, lines []string, ending string) (port int, wait func()) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		defer ln.Close()
		conn, err := ln.Accept()
		if err != nil {
			t.Errorf("accept: %v", err)
			return
		}
		defer conn.Close()
		w := bufio.NewWriter(conn)
		for _, l := range lines {
			w.WriteString(l + ending)
		}
		if err := w.Flush(); err != nil {
			t.Errorf("write: %v", err)
		}
	}()
	t.Cleanup(func() { ln.Close(); wg.Wait() })
	return ln.Addr().(*net.TCPAddr).Port, wg.Wait
}

func TestSocketTextStreamReadsUntilThePeerCloses(t *testing.T) {
	for _, ending := range []string{"\n", "\r\n"} {
		t.Run(fmt.Sprintf("%q", ending), func(t *testing.T) {
			lines := make([]string, 3000)
			for i := range lines {
				lines[i] = fmt.Sprintf("line %d", i)
			}
			lines[10] = ""
			port, wait := serveLines(t, lines, ending)
			env := newEnv(1)
			got := stream.SocketTextStream(env, "127.0.0.1", port).Collect()
			mustExecute(t, env)
			wait()
			if !slices.Equal(got.Values(), lines) {
				t.Fatalf("got %d lines %q..., want %d lines %q...", len(got.Values()), clip(got.Values()), len(lines), clip(lines))
			}
		})
	}
}

// The end of the connection must end the job however the reader's
// goroutine and the task interleave; a few lines make that race likely.
func TestSocketTextStreamEndsAfterFewLines(t *testing.T) {
	for i := range 50 {
		lines := []string{"a", "b"}[:i%3]
		port, wait := serveLines(t, lines, "\n")
		env := newEnv(1)
		got := stream.SocketTextStream(env, "127.0.0.1", port).Collect()
		mustExecute(t, env)
		wait()
		if !slices.Equal(got.Values(), lines) && !(len(lines) == 0 && len(got.Values()) == 0) {
			t.Fatalf("run %d: got %q, want %q", i, got.Values(), lines)
		}
	}
}

func TestSocketTextStreamRefusedConnectionFails(t *testing.T) {
	checkNoLeaks(t)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := ln.Addr().(*net.TCPAddr).Port
	ln.Close() // nothing listens there now: the connection is refused
	env := newEnv(1)
	stream.SocketTextStream(env, "127.0.0.1", port).Discard()
	err = executeErr(t, env)
	if !errors.Is(err, syscall.ECONNREFUSED) {
		t.Errorf("Execute: %v, want a refused connection", err)
	}
	wantErrorContains(t, err, fmt.Sprintf("127.0.0.1:%d", port))
}

func TestSocketTextStreamIsNonParallel(t *testing.T) {
	env := newEnv(1)
	stream.SocketTextStream(env, "127.0.0.1", 1).Name("socket").SetParallelism(3).Discard()
	wantErrorContains(t, executeErr(t, env), `"socket"`, "parallelism must be 1")
}

func TestFromSeqPanicFailsTheJob(t *testing.T) {
	checkNoLeaks(t)
	env := newEnv(2)
	seq := func(yield func(int) bool) {
		for i := range 1000 {
			if i == 300 {
				panic("sequence broke")
			}
			if !yield(i) {
				return
			}
		}
	}
	stream.FromSeq(env, seq).Name("seq").Rebalance().Discard()
	err := executeErr(t, env)
	wantErrorContains(t, err, "seq (1/1): ", "panic", "sequence broke")
}

// rangeSource is a split source as a user writes one: the integers [0, n)
// in chunks of size, handed out one chunk per request.
type rangeSource struct{ n, size int64 }

// rangeSplit is the chunk [From, To), read up to Next.
type rangeSplit struct{ From, To, Next int64 }

func (s rangeSource) Bounded() bool { return true }

func (s rangeSource) CreateEnumerator(ctx stream.SplitEnumeratorContext[rangeSplit]) (stream.SplitEnumerator[rangeSplit], error) {
	var chunks []rangeSplit
	for from := int64(0); from < s.n; from += s.size {
		chunks = append(chunks, rangeSplit{From: from, To: min(from+s.size, s.n), Next: from})
	}
	return &rangeEnumerator{ctx: ctx, pending: chunks}, nil
}

func (s rangeSource) RestoreEnumerator(ctx stream.SplitEnumeratorContext[rangeSplit], unassigned []rangeSplit) (stream.SplitEnumerator[rangeSplit], error) {
	return &rangeEnumerator{ctx: ctx, pending: unassigned}, nil
}

func (s rangeSource) CreateSplitReader(_ context.Context, _ *stream.RuntimeContext, sc stream.SplitReaderContext) (stream.SplitReader[int64, rangeSplit], error) {
	return &rangeReader{sc: sc}, nil
}

type rangeEnumerator struct {
	ctx     stream.SplitEnumeratorContext[rangeSplit]
	pending []rangeSplit
}

func (e *rangeEnumerator) Start() error        { return nil }
func (e *rangeEnumerator) AddReader(int) error { return nil }
func (e *rangeEnumerator) Close() error        { return nil }
func (e *rangeEnumerator) SnapshotState(int64) ([]rangeSplit, error) {
	return e.pending, nil
}

func (e *rangeEnumerator) HandleSplitRequest(subtask int) error {
	if len(e.pending) == 0 {
		return e.ctx.SignalNoMoreSplits(subtask)
	}
	next := e.pending[0]
	e.pending = e.pending[1:]
	return e.ctx.AssignSplits(subtask, []rangeSplit{next})
}

type rangeReader struct {
	sc        stream.SplitReaderContext
	splits    []rangeSplit
	noMore    bool
	requested bool
}

func (r *rangeReader) PollNext(out stream.ReaderOutput[int64]) (stream.InputStatus, error) {
	if len(r.splits) == 0 {
		switch {
		case r.noMore:
			return stream.EndOfInput, nil
		case !r.requested:
			r.requested = true
			return stream.NothingAvailable, r.sc.SendSplitRequest()
		}
		return stream.NothingAvailable, nil
	}
	sp := &r.splits[0]
	for n := 0; n < 10 && sp.Next < sp.To; n++ {
		out.Collect(sp.Next)
		sp.Next++
	}
	if sp.Next == sp.To {
		r.splits = r.splits[1:]
	}
	return stream.MoreAvailable, nil
}

func (r *rangeReader) AddSplits(splits []rangeSplit) {
	r.splits, r.requested = append(r.splits, splits...), false
}

func (r *rangeReader) NotifyNoMoreSplits() { r.noMore, r.requested = true, false }

func (r *rangeReader) SnapshotState(int64) ([]rangeSplit, error) { return r.splits, nil }
func (r *rangeReader) Available() <-chan struct{}                { return nil }
func (r *rangeReader) Close() error                              { return nil }

// A user's split source runs with its enumerator as the operator's
// coordinator: readers ask for chunks, and every record comes once.
func TestFromSplitSourceRunsAUsersSource(t *testing.T) {
	for p := 1; p <= 3; p++ {
		t.Run(fmt.Sprintf("p=%d", p), func(t *testing.T) {
			env := newEnv(p)
			got := stream.FromSplitSource(env, rangeSource{n: 1000, size: 37}, stream.NoWatermarks[int64](), "ranges").Collect()
			mustExecute(t, env)
			want := make([]int64, 1000)
			for i := range want {
				want[i] = int64(i)
			}
			wantSameElements(t, got.Values(), want)
		})
	}
}

// funcSplit cannot be encoded: splits must have a codec.
type funcSplit struct{ F func() }

type funcSplitSource struct{}

func (funcSplitSource) Bounded() bool { return true }
func (funcSplitSource) CreateEnumerator(stream.SplitEnumeratorContext[funcSplit]) (stream.SplitEnumerator[funcSplit], error) {
	return nil, errBoom
}
func (funcSplitSource) RestoreEnumerator(stream.SplitEnumeratorContext[funcSplit], []funcSplit) (stream.SplitEnumerator[funcSplit], error) {
	return nil, errBoom
}
func (funcSplitSource) CreateSplitReader(context.Context, *stream.RuntimeContext, stream.SplitReaderContext) (stream.SplitReader[int, funcSplit], error) {
	return nil, errBoom
}

func TestFromSplitSourceWithoutASplitCodecIsAnExecuteError(t *testing.T) {
	env := newEnv(1)
	stream.FromSplitSource(env, funcSplitSource{}, stream.NoWatermarks[int](), "funcs").Discard()
	wantErrorContains(t, executeErr(t, env), `stream: split source "funcs": the splits have no codec`)
}

// FromSource adds a TextFileSource as a split source: it reads what
// ReadTextFile reads.
func TestFromSourceOfATextFileSource(t *testing.T) {
	path := filepath.Join(t.TempDir(), "in.txt")
	writeFile(t, path, mixedLines.content)
	for p := 1; p <= 3; p++ {
		env := newEnv(p)
		got := stream.FromSource(env, stream.TextFileSource(path, stream.FileSplitSize(5)), stream.NoWatermarks[string](), "file").Collect()
		mustExecute(t, env)
		wantSameElements(t, got.Values(), mixedLines.lines)
	}
}
