package filesink_test

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/runnel-io/runnel/connectors/filesink"
	"github.com/runnel-io/runnel/runtime/clock"
	"github.com/runnel-io/runnel/runtime/operator"
	"github.com/runnel-io/runnel/runtime/restart"
	"github.com/runnel-io/runnel/state"
	"github.com/runnel-io/runnel/stream"
)

// The tests of this file run one subtask of the file sink at a time, built
// by stream.SinkToTwoPhase's own factory, and drive records, processing
// time (a manual clock), checkpoints, crashes and restores by hand.

// harness drives one subtask of a file sink of strings.
type harness struct {
	t       *testing.T
	op      operator.Operator
	in      operator.Output[string]
	backend *state.OperatorBackend
	clock   *clock.Manual
	crashed bool
}

type config struct {
	subtask, parallelism int
	checkpointing        bool
	restored             *state.OperatorSnapshot // nil: a fresh start
	clock                *clock.Manual
}

// t0 is when the tests' clocks start, 2024-03-01 10:00 UTC.
var t0 = time.Date(2024, 3, 1, 10, 0, 0, 0, time.UTC)

func newHarness(t *testing.T, sink *filesink.Sink[string], cfg config) *harness {
	t.Helper()
	h, err := tryHarness(t, sink, cfg)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	return h
}

func tryHarness(t *testing.T, sink *filesink.Sink[string], cfg config) (*harness, error) {
	t.Helper()
	env := stream.NewEnvironment()
	stream.SinkToTwoPhase(stream.FromSlice[string](env, nil), sink, "File Sink")
	g, err := env.StreamGraph()
	if err != nil {
		t.Fatalf("building the job: %v", err)
	}
	n := g.Nodes[len(g.Nodes)-1]
	if cfg.parallelism == 0 {
		cfg.parallelism = 1
	}
	if cfg.clock == nil {
		cfg.clock = clock.NewManual(t0)
	}
	backend := state.NewOperatorBackend()
	if err := backend.Restore(cfg.restored); err != nil {
		t.Fatalf("Restore: %v", err)
	}
	c := &operator.Context{
		JobName: t.Name(), TaskName: n.Name, OperatorName: n.Name,
		Subtask: cfg.subtask, Parallelism: cfg.parallelism, MaxParallelism: 128,
		Logger:        slog.New(slog.DiscardHandler),
		Clock:         cfg.clock,
		OperatorState: backend,
		Checkpointing: cfg.checkpointing,
		Restored:      cfg.restored != nil,
	}
	op, ins, err := n.Factory.Create(c, operator.TypeOf[struct{}](nil).Discard())
	if err != nil {
		t.Fatalf("Create: %v", err)
	}
	h := &harness{t: t, op: op, in: ins[0].(operator.Output[string]), backend: backend, clock: cfg.clock}
	t.Cleanup(func() {
		if h.crashed {
			return
		}
		if err := op.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return h, op.Open(context.Background())
}

func (h *harness) must(err error) {
	h.t.Helper()
	if err != nil {
		h.t.Fatal(err)
	}
}

func (h *harness) write(vs ...string) {
	h.t.Helper()
	for _, v := range vs {
		h.must(h.in.Collect(v, operator.NoTimestamp))
	}
}

func (h *harness) snapshot(id int64) *state.OperatorSnapshot {
	h.t.Helper()
	h.must(h.op.(operator.Snapshotter).SnapshotState(operator.Checkpoint{ID: id}))
	s, err := h.backend.Snapshot()
	h.must(err)
	return s
}

func (h *harness) complete(id int64) {
	h.t.Helper()
	h.must(h.op.(operator.CheckpointListener).NotifyCheckpointComplete(id))
}

func (h *harness) flush() {
	h.t.Helper()
	h.must(h.op.(operator.IdleFlusher).Flush())
}

func (h *harness) close() {
	h.t.Helper()
	h.crashed = true // closed now, not at clean-up
	h.must(h.op.Close())
}

// crash abandons the subtask as a killed process would: no notification,
// no Close. Its files stay open until the garbage collector closes them.
func (h *harness) crash() { h.crashed = true }

// files returns the files under dir, relative and slash-separated, sorted.
func files(t *testing.T, dir string) []string {
	t.Helper()
	var out []string
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if !d.IsDir() {
			rel, _ := filepath.Rel(dir, p)
			out = append(out, filepath.ToSlash(rel))
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	slices.Sort(out)
	return out
}

// kinds counts the files under dir by state.
func kinds(t *testing.T, dir string) (inProgress, pending, finished int) {
	t.Helper()
	for _, f := range files(t, dir) {
		switch base := filepath.Base(f); {
		case strings.HasSuffix(base, ".inprogress"):
			inProgress++
		case strings.HasSuffix(base, ".pending"):
			pending++
		case !strings.HasPrefix(base, "."):
			finished++
		}
	}
	return
}

// finished returns the content of every finished file under dir, by
// file.
func finished(t *testing.T, dir string) map[string]string {
	t.Helper()
	out := map[string]string{}
	for _, f := range files(t, dir) {
		if strings.HasPrefix(filepath.Base(f), ".") {
			continue
		}
		b, err := os.ReadFile(filepath.Join(dir, f))
		if err != nil {
			t.Fatal(err)
		}
		out[f] = string(b)
	}
	return out
}

// records returns the lines of every finished file under dir, sorted.
func records(t *testing.T, dir string) []string {
	t.Helper()
	var out []string
	for _, content := range finished(t, dir) {
		out = append(out, strings.Fields(content)...)
	}
	slices.Sort(out)
	return out
}

func flat() filesink.Option[string] {
	return filesink.WithBucketAssigner[string](filesink.BasePathBucketAssigner[string]{})
}

func TestFileSinkRollsBySize(t *testing.T) {
	dir := t.TempDir()
	sink := filesink.New(dir, flat(), filesink.WithRollingPolicy[string](filesink.RollingPolicy{PartSize: 9}))
	h := newHarness(t, sink, config{checkpointing: true})
	h.write("r0", "r1", "r2", "r3", "r4", "r5", "r6") // 3 bytes each
	if ip, p, f := kinds(t, dir); ip != 1 || p != 2 || f != 0 {
		t.Fatalf("%d in-progress, %d pending, %d finished files, want 1, 2, 0: %v", ip, p, f, files(t, dir))
	}
	h.snapshot(1)
	if ip, p, f := kinds(t, dir); ip != 0 || p != 3 || f != 0 {
		t.Fatalf("after the checkpoint: %d in-progress, %d pending, %d finished files, want 0, 3, 0", ip, p, f)
	}
	h.complete(1)
	var got []string
	for _, content := range finished(t, dir) {
		got = append(got, content)
	}
	slices.Sort(got)
	if want := []string{"r0\nr1\nr2\n", "r3\nr4\nr5\n", "r6\n"}; !slices.Equal(got, want) {
		t.Fatalf("finished files hold %q, want %q", got, want)
	}
	name := regexp.MustCompile(`^part-0-[0-9a-f]{8}-[0-2]$`)
	for _, f := range files(t, dir) {
		if !name.MatchString(f) {
			t.Errorf("finished file %s is not named part-<subtask>-<8 hex>-<counter>", f)
		}
	}
}

func TestFileSinkRollsOnRolloverInterval(t *testing.T) {
	dir := t.TempDir()
	sink := filesink.New(dir, flat(), filesink.WithRollingPolicy[string](filesink.RollingPolicy{RolloverInterval: 10 * time.Second, InactivityInterval: time.Hour}))
	h := newHarness(t, sink, config{checkpointing: true})
	h.write("a")
	h.clock.Advance(9 * time.Second)
	h.write("b")
	h.flush()
	if ip, p, _ := kinds(t, dir); ip != 1 || p != 0 {
		t.Fatalf("after 9s: %d in-progress and %d pending files, want 1 and 0", ip, p)
	}
	h.clock.Advance(time.Second)
	h.write("c") // the part of a and b is 10s old: it rolls first
	if ip, p, _ := kinds(t, dir); ip != 1 || p != 1 {
		t.Fatalf("after 10s: %d in-progress and %d pending files, want 1 and 1", ip, p)
	}
	h.clock.Advance(10 * time.Second)
	h.flush() // the part of c rolls when the input runs dry
	if ip, p, _ := kinds(t, dir); ip != 0 || p != 2 {
		t.Fatalf("after 20s: %d in-progress and %d pending files, want 0 and 2", ip, p)
	}
	h.snapshot(1)
	h.complete(1)
	var got []string
	for _, content := range finished(t, dir) {
		got = append(got, content)
	}
	slices.Sort(got)
	if want := []string{"a\nb\n", "c\n"}; !slices.Equal(got, want) {
		t.Fatalf("finished files hold %q, want %q", got, want)
	}
}

func TestFileSinkRollsOnInactivity(t *testing.T) {
	dir := t.TempDir()
	// Records go to the bucket named by their first letter.
	byLetter := filesink.BucketAssignerFunc[string](func(v string, _ filesink.BucketContext) string { return v[:1] })
	sink := filesink.New(dir, filesink.WithBucketAssigner[string](byLetter),
		filesink.WithRollingPolicy[string](filesink.RollingPolicy{RolloverInterval: time.Hour, InactivityInterval: 5 * time.Second}))
	h := newHarness(t, sink, config{checkpointing: true})
	h.write("a1", "b1")
	h.clock.Advance(3 * time.Second)
	h.write("b2") // b stays active
	h.clock.Advance(time.Second)
	h.flush()
	if got := files(t, dir); len(got) != 2 || !strings.HasSuffix(got[0], ".inprogress") || !strings.HasSuffix(got[1], ".inprogress") {
		t.Fatalf("after 4s: %v, want two in-progress files", got)
	}
	h.clock.Advance(time.Second)
	h.write("b3") // a has been inactive for 5s: a write to b rolls it
	got := files(t, dir)
	if len(got) != 2 || !strings.HasPrefix(got[0], "a/.") || !strings.HasSuffix(got[0], ".pending") || !strings.HasSuffix(got[1], ".inprogress") {
		t.Fatalf("after 5s: %v, want a's part pending and b's in progress", got)
	}
	h.clock.Advance(5 * time.Second)
	h.flush()
	if ip, p, _ := kinds(t, dir); ip != 0 || p != 2 {
		t.Fatalf("after 10s: %d in-progress and %d pending files, want 0 and 2", ip, p)
	}
	h.write("a2") // a new part
	h.snapshot(1)
	h.complete(1)
	if got, want := records(t, dir), []string{"a1", "a2", "b1", "b2", "b3"}; !slices.Equal(got, want) {
		t.Fatalf("finished records %v, want %v", got, want)
	}
	if _, _, f := kinds(t, dir); f != 3 {
		t.Fatalf("%d finished files, want 3: %v", f, files(t, dir))
	}
}

func TestFileSinkBucketsByProcessingTime(t *testing.T) {
	dir := t.TempDir()
	sink := filesink.New(dir, filesink.WithBucketAssigner[string](filesink.DateTimeBucketAssigner[string]{Location: time.UTC}))
	clk := clock.NewManual(t0.Add(59*time.Minute + 59*time.Second))
	h := newHarness(t, sink, config{checkpointing: true, clock: clk})
	h.write("x")
	clk.Advance(time.Second)
	h.write("y")
	h.snapshot(1)
	h.complete(1)

	nested := t.TempDir()
	sink = filesink.New(nested, filesink.WithBucketAssigner[string](filesink.DateTimeBucketAssigner[string]{Layout: "2006/01/02", Location: time.UTC}))
	h = newHarness(t, sink, config{checkpointing: true, clock: clk})
	h.write("z")
	h.snapshot(1)
	h.complete(1)

	for _, tc := range []struct {
		dir  string
		want map[string]string
	}{
		{dir, map[string]string{"2024-03-01--10": "x\n", "2024-03-01--11": "y\n"}},
		{nested, map[string]string{"2024/03/01": "z\n"}},
	} {
		got := map[string]string{}
		for f, content := range finished(t, tc.dir) {
			got[filepath.ToSlash(filepath.Dir(filepath.FromSlash(f)))] += content
		}
		if fmt.Sprint(got) != fmt.Sprint(tc.want) {
			t.Errorf("buckets %v, want %v", got, tc.want)
		}
	}
}

func TestFileSinkEncoderAndFileNames(t *testing.T) {
	dir := t.TempDir()
	sink := filesink.New(dir, flat(),
		filesink.WithEncoder(func(dst []byte, v string) []byte { return append(append(dst, strings.ToUpper(v)...), ';') }),
		filesink.WithOutputFileConfig[string](filesink.OutputFileConfig{Prefix: "data", Suffix: ".txt"}))
	h := newHarness(t, sink, config{checkpointing: true, subtask: 2, parallelism: 3})
	h.write("a", "b")
	h.snapshot(1)
	h.complete(1)
	got := finished(t, dir)
	if len(got) != 1 {
		t.Fatalf("finished files %v, want one", got)
	}
	for f, content := range got {
		if !regexp.MustCompile(`^data-2-[0-9a-f]{8}-0\.txt$`).MatchString(f) || content != "A;B;" {
			t.Fatalf("finished file %s holds %q, want data-2-<8 hex>-0.txt holding %q", f, content, "A;B;")
		}
	}
}

// TestFileSinkExactlyOnceAcrossCrashAndRescale runs two subtasks, crashes
// them after checkpoint 2 (whose completion only subtask 0 heard of, and of
// checkpoint 1 only subtask 0 too), and restores three from checkpoint 2:
// the finished files hold the records of checkpoints 1 and 2 and of the
// restored run's checkpoint 3, each once, and no hidden file of the failed
// run survives.
func TestFileSinkExactlyOnceAcrossCrashAndRescale(t *testing.T) {
	dir := t.TempDir()
	newSink := func() *filesink.Sink[string] {
		return filesink.New(dir, flat(), filesink.WithRollingPolicy[string](filesink.RollingPolicy{PartSize: 12}))
	}
	var snaps []*state.OperatorSnapshot
	var want []string
	for s := range 2 {
		h := newHarness(t, newSink(), config{subtask: s, parallelism: 2, checkpointing: true})
		r := func(i int) string { return fmt.Sprintf("s%d-%02d", s, i) } // 6 bytes a line: two a part
		h.write(r(0), r(1), r(2))
		h.snapshot(1)
		if s == 0 {
			h.complete(1)
		}
		h.write(r(3), r(4), r(5))
		snaps = append(snaps, h.snapshot(2))
		if s == 0 {
			h.complete(2)
		}
		h.write(r(6), r(7), r(8)) // after checkpoint 2: one part pending, one in progress
		h.crash()
		want = append(want, r(0), r(1), r(2), r(3), r(4), r(5))
	}
	// Litter of an even earlier run with 6 subtasks, and files that are
	// not the sink's.
	for _, f := range []string{".part-5-0123abcd-0.pending", ".part-4-0123abcd-7.inprogress", "notes.txt", ".other-1-0123abcd-0.pending"} {
		if err := os.WriteFile(filepath.Join(dir, f), []byte("litter\n"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if got := records(t, dir); len(got) >= len(want) {
		t.Fatalf("before the restore, finished records %v, want only those of subtask 0", got)
	}

	restored, err := state.RedistributeOperatorState(snaps, 3)
	if err != nil {
		t.Fatal(err)
	}
	// Subtasks 2 and 1 start first and write: subtask 0's clean-up must
	// leave their files alone.
	var hs [3]*harness
	for _, s := range []int{2, 1, 0} {
		hs[s] = newHarness(t, newSink(), config{subtask: s, parallelism: 3, checkpointing: true, restored: restored[s]})
		hs[s].write(fmt.Sprintf("n%d-00", s))
	}
	got := files(t, dir)
	var hidden []string
	for _, f := range got {
		if strings.HasPrefix(f, ".") {
			hidden = append(hidden, f)
		}
	}
	if len(hidden) != 4 || !slices.Contains(got, "notes.txt") || !slices.Contains(got, ".other-1-0123abcd-0.pending") {
		t.Fatalf("after the restore: %v, want the new run's three in-progress files, the other prefix's file and notes.txt", got)
	}
	for s, h := range hs {
		h.snapshot(3)
		h.complete(3)
		want = append(want, fmt.Sprintf("n%d-00", s))
	}
	slices.Sort(want)
	got = records(t, dir)
	got = slices.DeleteFunc(got, func(s string) bool { return s == "litter" }) // notes.txt
	if !slices.Equal(got, want) {
		t.Fatalf("finished records\n %v\nwant\n %v", got, want)
	}
}

func TestFileSinkRecoverRemovesOnlyOwnedLeftovers(t *testing.T) {
	dir := t.TempDir()
	if err := os.MkdirAll(filepath.Join(dir, "b", "c"), 0o755); err != nil {
		t.Fatal(err)
	}
	all := []string{
		".part-0-0000000a-0.inprogress",    // owned: removed
		"b/.part-2-0000000b-3.pending",     // owned: removed
		"b/c/.part-4-0000000c-1.pending",   // owned: removed
		".part-1-0000000d-0.inprogress",    // subtask 1's
		"b/.part-3-0000000e-0.pending",     // subtask 1's
		"part-0-0000000a-1",                // finished
		"b/.part-0-0000000a-1",             // no extension
		".part-0-xyz-0.pending",            // not a writer ID
		".part-00-0000000a-0.pending",      // not a subtask as written
		".log-0-0000000a-0.pending",        // another prefix
		"b/.part-0-0000000a-0.csv.pending", // another suffix
	}
	for _, f := range all {
		if err := os.WriteFile(filepath.Join(dir, filepath.FromSlash(f)), nil, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	sink := filesink.New[string](dir)
	owns := func(k int) bool { return k%2 == 0 }
	if err := sink.Recover(context.Background(), &stream.RuntimeContext{Subtask: 0, Parallelism: 2}, owns); err != nil {
		t.Fatal(err)
	}
	want := slices.Clone(all[3:])
	slices.Sort(want)
	if got := files(t, dir); !slices.Equal(got, want) {
		t.Fatalf("left\n %v\nwant\n %v", got, want)
	}
	if err := filesink.New[string](filepath.Join(dir, "missing")).Recover(context.Background(), &stream.RuntimeContext{}, owns); err != nil {
		t.Fatalf("Recover of a directory that does not exist: %v", err)
	}
}

func TestFileSinkCommitIsIdempotent(t *testing.T) {
	dir := t.TempDir()
	sink := filesink.New(dir, flat())
	h := newHarness(t, sink, config{checkpointing: true})
	h.write("a")
	s1 := h.snapshot(1)
	h.complete(1)
	before := finished(t, dir)

	// Restoring from checkpoint 1 commits its committable again.
	r := newHarness(t, filesink.New(dir, flat()), config{checkpointing: true, restored: s1})
	r.close()
	if got := finished(t, dir); fmt.Sprint(got) != fmt.Sprint(before) {
		t.Fatalf("after the second commit: %v, want %v", got, before)
	}

	// Once the finished file is gone too, the commit fails naming it.
	for f := range before {
		if err := os.Remove(filepath.Join(dir, f)); err != nil {
			t.Fatal(err)
		}
	}
	_, err := tryHarness(t, filesink.New(dir, flat()), config{checkpointing: true, restored: s1})
	if err == nil || !strings.Contains(err.Error(), "filesink: committing") || !strings.Contains(err.Error(), ".pending") || !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("commit without either file: %v", err)
	}
}

func TestFileSinkCloseRemovesWhatNoCheckpointHolds(t *testing.T) {
	dir := t.TempDir()
	sink := filesink.New(dir, flat(), filesink.WithRollingPolicy[string](filesink.RollingPolicy{PartSize: 4}))
	h := newHarness(t, sink, config{checkpointing: true})
	h.write("abc")
	h.snapshot(1) // pending, held by checkpoint 1
	h.write("def", "g")
	if ip, p, _ := kinds(t, dir); ip != 1 || p != 2 {
		t.Fatalf("%d in-progress and %d pending files, want 1 and 2", ip, p)
	}
	h.close()
	if ip, p, _ := kinds(t, dir); ip != 0 || p != 1 {
		t.Fatalf("after Close: %d in-progress and %d pending files, want 0 and the 1 checkpoint 1 holds", ip, p)
	}
}

func TestFileSinkWithoutCheckpointingCommitsAtTheEnd(t *testing.T) {
	dir := t.TempDir()
	env := stream.NewEnvironment().SetParallelism(2)
	src := stream.Generate(env, 50, func(i int64) (string, error) { return fmt.Sprintf("%02d", i), nil })
	stream.SinkToTwoPhase(src, filesink.New(dir, filesink.WithRollingPolicy[string](filesink.RollingPolicy{PartSize: 30})), "File Sink")
	if err := env.Execute(context.Background(), t.Name()); err != nil {
		t.Fatal(err)
	}
	var want []string
	for i := range 50 {
		want = append(want, fmt.Sprintf("%02d", i))
	}
	if got := records(t, dir); !slices.Equal(got, want) {
		t.Fatalf("finished records %v, want %v", got, want)
	}
	if ip, p, _ := kinds(t, dir); ip != 0 || p != 0 {
		t.Fatalf("%d in-progress and %d pending files left: %v", ip, p, files(t, dir))
	}
}

func TestFileSinkConfigurationMistakes(t *testing.T) {
	dir := t.TempDir()
	for _, tc := range []struct {
		sink *filesink.Sink[string]
		want string
	}{
		{filesink.New(dir, filesink.WithRollingPolicy[string](filesink.RollingPolicy{PartSize: -1})), "PartSize -1 is negative"},
		{filesink.New(dir, filesink.WithOutputFileConfig[string](filesink.OutputFileConfig{Prefix: "a/b"})), "path separator"},
		{filesink.New(dir, filesink.WithOutputFileConfig[string](filesink.OutputFileConfig{Prefix: ".hidden"})), "starts with a dot"},
		{filesink.New[string](""), "no directory"},
	} {
		_, err := tryHarness(t, tc.sink, config{})
		if err == nil || !strings.Contains(err.Error(), "filesink: ") || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("Open: %v, want an error saying %q", err, tc.want)
		}
	}

	escape := filesink.BucketAssignerFunc[string](func(string, filesink.BucketContext) string { return "../out" })
	h := newHarness(t, filesink.New(dir, filesink.WithBucketAssigner[string](escape)), config{})
	if err := h.in.Collect("x", 0); err == nil || !strings.Contains(err.Error(), `bucket ID "../out"`) {
		t.Fatalf("Write to bucket ../out: %v", err)
	}
}

// observedSink is a file sink that reports its first commit and its
// restores.
type observedSink struct {
	*filesink.Sink[string]
	committed *atomic.Bool
	recovered *atomic.Int32
}

func (s observedSink) CreateCommitter(ctx context.Context, rc *stream.RuntimeContext) (stream.Committer[filesink.Committable], error) {
	c, err := s.Sink.CreateCommitter(ctx, rc)
	return observedCommitter{c, s.committed}, err
}

func (s observedSink) Recover(ctx context.Context, rc *stream.RuntimeContext, owns func(int) bool) error {
	s.recovered.Add(1)
	return s.Sink.Recover(ctx, rc, owns)
}

type observedCommitter struct {
	stream.Committer[filesink.Committable]
	committed *atomic.Bool
}

func (c observedCommitter) Commit(ctx context.Context, cs []filesink.Committable) error {
	c.committed.Store(true)
	return c.Committer.Commit(ctx, cs)
}

// TestFileSinkJobExactlyOnceAcrossFailure runs a checkpointed job on the
// mini-cluster whose map fails once, after a checkpoint has been committed:
// the job restarts from its latest checkpoint, and the finished files hold
// every record once, with nothing hidden left over.
func TestFileSinkJobExactlyOnceAcrossFailure(t *testing.T) {
	dir := t.TempDir()
	env := stream.NewEnvironment().SetParallelism(2).EnableCheckpointing(10 * time.Millisecond)
	env.SetRestartStrategy(restart.Config{Type: restart.FixedDelay, FixedDelay: restart.FixedDelayConfig{Attempts: 1}})
	// A checkpoint triggered while the job restarts fails; that is not
	// what this test is about.
	env.CheckpointConfig().TolerableFailures = 1000
	const n = 3000
	src := stream.Generate(env, n, func(i int64) (int64, error) { return i, nil }, stream.WithRate(10000))
	sink := observedSink{
		Sink:      filesink.New(dir, flat(), filesink.WithRollingPolicy[string](filesink.RollingPolicy{PartSize: 300})),
		committed: new(atomic.Bool),
		recovered: new(atomic.Int32),
	}
	var failed atomic.Bool
	lines := stream.Map(src, func(i int64) (string, error) {
		if sink.committed.Load() && !failed.Swap(true) {
			return "", fmt.Errorf("failure injected at record %d", i)
		}
		return fmt.Sprintf("%04d", i), nil
	})
	stream.SinkToTwoPhase(lines, stream.TwoPhaseCommitSink[string, filesink.Committable](sink), "File Sink")
	if err := env.Execute(context.Background(), t.Name()); err != nil {
		t.Fatal(err)
	}
	var want []string
	for i := range n {
		want = append(want, fmt.Sprintf("%04d", i))
	}
	if got := records(t, dir); !slices.Equal(got, want) {
		t.Fatalf("finished records: %d, want %d, each once", len(got), len(want))
	}
	if ip, p, _ := kinds(t, dir); ip != 0 || p != 0 {
		t.Fatalf("%d in-progress and %d pending files left", ip, p)
	}
	if !failed.Load() {
		t.Log("the job ended before its first commit: no failure was injected")
	} else if sink.recovered.Load() == 0 {
		t.Fatal("the job restarted, but no subtask was restored from a checkpoint")
	}
}
