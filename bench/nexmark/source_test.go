package nexmark

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/runnel-io/runnel/stream"
)

// recordingOutput is a stream.ReaderOutput that records, per split, the
// events emitted through it, and which splits existed when the first
// event was emitted.
type recordingOutput struct {
	splits   map[string]*recordedSplit
	atFirst  []string // the splits when the first event came
	released []string
}

type recordedSplit struct {
	out    *recordingOutput
	events []string // dumps
}

func (o *recordingOutput) Collect(Event) { panic("an event without its split") }
func (o *recordingOutput) CollectWithTimestamp(Event, int64) {
	panic("an event through the reader's own output, not its share's")
}

func (o *recordingOutput) Split(id string) stream.ReaderOutput[Event] {
	if s, ok := o.splits[id]; ok {
		return s
	}
	s := &recordedSplit{out: o}
	o.splits[id] = s
	return s
}

func (o *recordingOutput) ReleaseSplit(id string) { o.released = append(o.released, id) }

func (s *recordedSplit) Collect(Event) { panic("an event without its timestamp") }

func (s *recordedSplit) CollectWithTimestamp(e Event, ts int64) {
	if ts != EventTimestamp(e) {
		panic(fmt.Sprintf("event at %d emitted at %d", EventTimestamp(e), ts))
	}
	if s.out.atFirst == nil {
		for id := range s.out.splits {
			s.out.atFirst = append(s.out.atFirst, id)
		}
		slices.Sort(s.out.atFirst)
	}
	s.events = append(s.events, dump(e))
}

func (s *recordedSplit) Split(id string) stream.ReaderOutput[Event] { return s.out.Split(id) }
func (s *recordedSplit) ReleaseSplit(id string)                     { s.out.ReleaseSplit(id) }

// TestSourceReaderShares checks the reader of a subtask that holds several
// shares, as after a restore at a lower parallelism: each share emits
// through its own split, all splits exist before the first event, each
// share's events are those of its generator from its position on, in
// order, a finished share is dropped and released, and SnapshotState has
// the positions of the unfinished ones.
func TestSourceReaderShares(t *testing.T) {
	cfg := GeneratorConfig{Events: 5_000}
	src := Source{Config: cfg}
	sr, err := src.CreateSplitReader(context.Background(), &stream.RuntimeContext{Parallelism: 2}, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer sr.Close()
	whole := newGen(t, cfg, 3, 4).Remaining()
	shares := []Share{{Index: 0, Count: 4, Position: 10}, {Index: 2, Count: 4}, {Index: 3, Count: 4, Position: whole}}
	sr.AddSplits(shares)
	sr.NotifyNoMoreSplits()

	out := &recordingOutput{splits: map[string]*recordedSplit{}}
	// Two polls: one batch of each share.
	for range 2 {
		if st, err := sr.PollNext(out); st != stream.MoreAvailable || err != nil {
			t.Fatalf("PollNext = %v, %v, want MoreAvailable", st, err)
		}
	}
	if want := []string{"0/4", "2/4"}; !slices.Equal(out.atFirst, want) {
		t.Errorf("splits at the first event %q, want %q (the finished share 3/4 dropped)", out.atFirst, want)
	}
	snap, err := sr.SnapshotState(1)
	if err != nil {
		t.Fatal(err)
	}
	want := []Share{{Index: 0, Count: 4, Position: 10 + sourceBatch}, {Index: 2, Count: 4, Position: sourceBatch}}
	if !slices.Equal(snap, want) {
		t.Errorf("SnapshotState = %+v, want %+v", snap, want)
	}

	for {
		st, err := sr.PollNext(out)
		if err != nil {
			t.Fatal(err)
		}
		if st == stream.EndOfInput {
			break
		}
		if st != stream.MoreAvailable {
			t.Fatalf("PollNext = %v, want MoreAvailable or EndOfInput", st)
		}
	}
	for _, sh := range shares[:2] {
		g := newGen(t, cfg, sh.Index, sh.Count)
		if err := g.Restore(sh.Position); err != nil {
			t.Fatal(err)
		}
		var want []string
		for _, e := range collect(g) {
			want = append(want, dump(e))
		}
		id := fmt.Sprintf("%d/%d", sh.Index, sh.Count)
		if got := out.splits[id].events; !slices.Equal(got, want) {
			t.Errorf("share %s: %d events, want its generator's %d from position %d, in order", id, len(got), len(want), sh.Position)
		}
	}
	if slices.Sort(out.released); !slices.Equal(out.released, []string{"0/4", "2/4"}) {
		t.Errorf("released %q, want both shares", out.released)
	}
	if snap, _ := sr.SnapshotState(2); len(snap) != 0 {
		t.Errorf("SnapshotState at the end = %+v, want nothing", snap)
	}
}

// TestSourceReaderRejectsShares checks that a share the config does not
// have fails the reader, naming it.
func TestSourceReaderRejectsShares(t *testing.T) {
	for _, sh := range []Share{{Index: 2, Count: 2}, {Index: 0, Count: 2, Position: 10_000}} {
		sr, err := Source{Config: GeneratorConfig{Events: 100}}.CreateSplitReader(context.Background(), &stream.RuntimeContext{Parallelism: 1}, nil)
		if err != nil {
			t.Fatal(err)
		}
		sr.AddSplits([]Share{sh})
		_, err = sr.PollNext(&recordingOutput{splits: map[string]*recordedSplit{}})
		want := fmt.Sprintf("share %d of %d at position %d", sh.Index, sh.Count, sh.Position)
		if err == nil || !errors.Is(err, ErrInvalidConfig) && !errors.Is(err, ErrInvalidPosition) || !strings.Contains(err.Error(), want) {
			t.Errorf("share %+v: PollNext error %v, want one naming %q", sh, err, want)
		}
		sr.Close()
	}
	if _, err := (Source{Config: GeneratorConfig{BidProportion: -1}}).CreateSplitReader(context.Background(), &stream.RuntimeContext{Parallelism: 1}, nil); !errors.Is(err, ErrInvalidConfig) {
		t.Errorf("CreateSplitReader of an invalid config: %v, want ErrInvalidConfig", err)
	}
}

// batchIDs numbers the line batches and writers of every linesSink, so
// that IDs are unique across jobs.
var batchIDs atomic.Int64

// lineBatch is a committable of linesSink: the lines one writer wrote
// between two checkpoints. The lines themselves are the committable, so
// they are stored in the checkpoint until committed, as a write-ahead
// sink stores them.
type lineBatch struct {
	ID     int64
	Writer int64 // the writer that prepared it
	Seq    int   // its place among its writer's batches
	Lines  []string
}

// committedLines is the visible output of a linesSink: the batches
// committed, each once, by ID (Commit is idempotent).
type committedLines struct {
	mu      sync.Mutex
	batches map[int64]lineBatch
	commits int
}

func newCommittedLines() *committedLines {
	return &committedLines{batches: map[int64]lineBatch{}}
}

func (c *committedLines) commit(bs []lineBatch) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, b := range bs {
		if _, ok := c.batches[b.ID]; !ok {
			b.Lines = slices.Clone(b.Lines)
			c.batches[b.ID] = b
		}
	}
	c.commits++
}

// committed returns how many times batches were committed: a commit
// follows every completed checkpoint.
func (c *committedLines) committed() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.commits
}

// lines returns every committed line, sorted.
func (c *committedLines) lines() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	var all []string
	for _, b := range c.batches {
		all = append(all, b.Lines...)
	}
	slices.Sort(all)
	return all
}

// byWriter returns the committed lines of each writer, in the order it
// wrote them.
func (c *committedLines) byWriter() map[int64][]string {
	c.mu.Lock()
	defer c.mu.Unlock()
	var bs []lineBatch
	for _, b := range c.batches {
		bs = append(bs, b)
	}
	slices.SortFunc(bs, func(a, b lineBatch) int { return a.Seq - b.Seq })
	out := map[int64][]string{}
	for _, b := range bs {
		out[b.Writer] = append(out[b.Writer], b.Lines...)
	}
	return out
}

func (c *committedLines) clone() *committedLines {
	c.mu.Lock()
	defer c.mu.Unlock()
	return &committedLines{batches: maps.Clone(c.batches), commits: c.commits}
}

// linesSink is a two-phase-commit sink of lines into a committedLines:
// exactly once, as the engine's two-phase-commit protocol makes it. Lines
// written after the last completed checkpoint by an attempt that fails
// are in no committed batch and never become visible.
type linesSink struct{ to *committedLines }

func (s linesSink) CreateWriter(context.Context, *stream.RuntimeContext) (stream.PrecommittingWriter[string, lineBatch], error) {
	return &linesWriter{id: batchIDs.Add(1)}, nil
}

func (s linesSink) CreateCommitter(context.Context, *stream.RuntimeContext) (stream.Committer[lineBatch], error) {
	return linesCommitter(s), nil
}

type linesWriter struct {
	id    int64
	seq   int
	lines []string
}

func (w *linesWriter) Write(v string, _ int64) error {
	w.lines = append(w.lines, v)
	return nil
}

func (w *linesWriter) Flush(bool) error { return nil }
func (w *linesWriter) Close() error     { return nil }

// PrepareCommit returns one batch at every checkpoint, empty or not, so
// that every completed checkpoint commits.
func (w *linesWriter) PrepareCommit() ([]lineBatch, error) {
	b := lineBatch{ID: batchIDs.Add(1), Writer: w.id, Seq: w.seq, Lines: w.lines}
	w.seq++
	w.lines = nil
	return []lineBatch{b}, nil
}

type linesCommitter struct{ to *committedLines }

func (c linesCommitter) Commit(_ context.Context, bs []lineBatch) error {
	c.to.commit(bs)
	return nil
}

func (c linesCommitter) Close() error { return nil }

// eventJob adds src to env, each event as its dump into out exactly once.
func eventJob(env *stream.Environment, src Source, out *committedLines) {
	lines := stream.Map(Events(env, src), func(e Event) (string, error) { return dump(e), nil }).Name("Dump")
	stream.SinkToTwoPhase(lines, linesSink{to: out}, "Committed Events")
}

// TestSourceRescaledFromSavepoint stops a job of 4 shares with a savepoint
// midway and restores it at parallelism 1, 2, 3 and 5: every event of the
// stream is emitted exactly once over the two runs, and every subtask
// emits each share's events in order, one after the other (event numbers
// n, n+4, ...), also when it holds several.
func TestSourceRescaledFromSavepoint(t *testing.T) {
	cfg := GeneratorConfig{Events: 20_000}
	numbers := map[string]int64{} // event number by dump
	var all []string
	for n, e := range collect(newGen(t, cfg, 0, 1)) {
		d := dump(e)
		if _, dup := numbers[d]; dup {
			t.Fatalf("events %d and %d are the same: the test cannot tell them apart", numbers[d], n)
		}
		numbers[d] = int64(n)
		all = append(all, d)
	}
	slices.Sort(all)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()

	first := newCommittedLines()
	env := stream.NewEnvironment().SetParallelism(4).EnableCheckpointing(10 * time.Millisecond)
	env.CheckpointConfig().Dir = t.TempDir()
	// Paced to take 2 s, stopped after about a tenth.
	eventJob(env, Source{Config: cfg, Rate: 10_000}, first)
	job, err := env.ExecuteAsync(ctx, "first")
	if err != nil {
		t.Fatal(err)
	}
	for len(first.lines()) < 2_000 {
		select {
		case <-ctx.Done():
			t.Fatal("the first run committed no events")
		case <-time.After(5 * time.Millisecond):
		}
	}
	savepoint, err := job.StopWithSavepoint(ctx, t.TempDir(), false)
	if err != nil {
		t.Fatal(err)
	}
	if err := job.Wait(); err != nil {
		t.Fatal(err)
	}
	stopped := len(first.lines())
	if stopped >= len(all) {
		t.Fatalf("the first run emitted all %d events before it stopped", stopped)
	}

	for _, p := range []int{1, 2, 3, 5} {
		t.Run(fmt.Sprintf("p=%d", p), func(t *testing.T) {
			out := first.clone()
			env := stream.NewEnvironment().SetParallelism(p).EnableCheckpointing(10 * time.Millisecond)
			env.CheckpointConfig().Dir = t.TempDir()
			env.SetRestoreFrom(savepoint, false)
			eventJob(env, Source{Config: cfg}, out)
			if err := env.Execute(ctx, fmt.Sprintf("restored at %d", p)); err != nil {
				t.Fatal(err)
			}
			compareLines(t, "events", p, out.lines(), all)
			most := 0
			for w, lines := range out.byWriter() {
				last := map[int64]int64{} // the last event number of each share
				for _, d := range lines {
					n := numbers[d]
					if prev, ok := last[n%4]; ok && n != prev+4 {
						t.Fatalf("writer %d: event %d of share %d/4 after %d", w, n, n%4, prev)
					}
					last[n%4] = n
				}
				most = max(most, len(last))
			}
			if p < 4 && most < 2 {
				t.Errorf("no subtask emitted more than one share at parallelism %d", p)
			}
		})
	}
	t.Logf("the first run emitted %d of %d events", stopped, len(all))
}
