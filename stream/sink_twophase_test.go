package stream

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/runnel-io/runnel/codec"
	"github.com/runnel-io/runnel/runtime/clock"
	"github.com/runnel-io/runnel/runtime/operator"
	"github.com/runnel-io/runnel/state"
)

// The tests of this file drive one subtask of a two-phase-commit sink at a
// time through twoPhaseHarness, built by the sink's own factory, with
// checkpoints, notifications, crashes and restores by hand: a crash drops
// the operator without notifying it, a restore builds a new one from the
// operator state snapshots of a checkpoint, redistributed as the runtime
// does. The sink is txnSink, which stages each pre-commit as a transaction
// in a txnStore and makes it visible on commit.

// txn is txnSink's committable: the ID of a staged transaction.
type txn struct{ ID string }

// txnStore is the outside world of txnSink: staged transactions and the
// visible output.
type txnStore struct {
	mu      sync.Mutex
	next    int
	staged  map[string][]string
	visible []string
	// applied counts the commits of each transaction that made it
	// visible (idempotence: at most 1); requested counts every time it
	// was passed to Commit.
	applied, requested map[string]int
	batches            [][]string // the IDs of every Commit call
	events             []string   // what the sink was asked to do, in order
	failPrepare        error      // returned by the next PrepareCommit
	failCreateWriter   error
	writersClosed      int
	committersClosed   int
	flushes            []bool // the endOfInput of every Flush
}

func newTxnStore() *txnStore {
	return &txnStore{staged: map[string][]string{}, applied: map[string]int{}, requested: map[string]int{}}
}

func (s *txnStore) log(format string, args ...any) {
	s.mu.Lock()
	s.events = append(s.events, fmt.Sprintf(format, args...))
	s.mu.Unlock()
}

// Visible returns the visible output, sorted.
func (s *txnStore) Visible() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	v := slices.Clone(s.visible)
	slices.Sort(v)
	return v
}

type txnSink struct{ s *txnStore }

func (k txnSink) CreateWriter(_ context.Context, rc *RuntimeContext) (PrecommittingWriter[string, txn], error) {
	k.s.log("%d: create writer", rc.Subtask)
	if err := k.s.failCreateWriter; err != nil {
		return nil, err
	}
	return &txnWriter{s: k.s, subtask: rc.Subtask}, nil
}

func (k txnSink) CreateCommitter(_ context.Context, rc *RuntimeContext) (Committer[txn], error) {
	k.s.log("%d: create committer", rc.Subtask)
	return &txnCommitter{s: k.s, subtask: rc.Subtask}, nil
}

// Recover logs which earlier subtasks (of 0 to 5) the subtask owns.
func (k txnSink) Recover(_ context.Context, rc *RuntimeContext, owns func(int) bool) error {
	var mine []int
	for i := range 6 {
		if owns(i) {
			mine = append(mine, i)
		}
	}
	k.s.log("%d: recover %v", rc.Subtask, mine)
	return nil
}

type txnWriter struct {
	s       *txnStore
	subtask int
	buf     []string
}

func (w *txnWriter) Write(v string, _ int64) error { w.buf = append(w.buf, v); return nil }

func (w *txnWriter) Flush(endOfInput bool) error {
	w.s.mu.Lock()
	w.s.flushes = append(w.s.flushes, endOfInput)
	w.s.mu.Unlock()
	return nil
}

func (w *txnWriter) PrepareCommit() ([]txn, error) {
	w.s.mu.Lock()
	defer w.s.mu.Unlock()
	if err := w.s.failPrepare; err != nil {
		w.s.failPrepare = nil
		return nil, err
	}
	if len(w.buf) == 0 {
		return nil, nil
	}
	id := fmt.Sprintf("s%d-t%d", w.subtask, w.s.next)
	w.s.next++
	w.s.staged[id] = w.buf
	w.buf = nil
	return []txn{{id}}, nil
}

func (w *txnWriter) Close() error {
	w.s.mu.Lock()
	w.s.writersClosed++
	w.s.mu.Unlock()
	return nil
}

type txnCommitter struct {
	s       *txnStore
	subtask int
}

func (c *txnCommitter) Commit(_ context.Context, ts []txn) error {
	c.s.mu.Lock()
	defer c.s.mu.Unlock()
	var ids []string
	for _, t := range ts {
		ids = append(ids, t.ID)
		c.s.requested[t.ID]++
		if c.s.applied[t.ID] > 0 {
			continue // committed before
		}
		vs, ok := c.s.staged[t.ID]
		if !ok {
			return fmt.Errorf("no transaction %s", t.ID)
		}
		c.s.visible = append(c.s.visible, vs...)
		c.s.applied[t.ID]++
	}
	c.s.batches = append(c.s.batches, ids)
	c.s.events = append(c.s.events, fmt.Sprintf("%d: commit %v", c.subtask, ids))
	return nil
}

func (c *txnCommitter) Close() error {
	c.s.mu.Lock()
	c.s.committersClosed++
	c.s.mu.Unlock()
	return nil
}

// twoPhaseHarness drives one subtask of a two-phase-commit sink operator.
type twoPhaseHarness[T any] struct {
	t       *testing.T
	op      operator.Operator
	in      operator.Output[T]
	backend *state.OperatorBackend
	clock   *clock.Manual
	openErr error
}

type harnessConfig struct {
	subtask, parallelism int
	checkpointing        bool
	// restored is the subtask's operator state of the checkpoint it
	// starts from; nil for a fresh start.
	restored *state.OperatorSnapshot
	clock    *clock.Manual
}

// newTwoPhaseHarness builds and opens one subtask of a sink like
// SinkToTwoPhase(src, sink, "Test Sink") would run.
func newTwoPhaseHarness[T, C any](t *testing.T, sink TwoPhaseCommitSink[T, C], cfg harnessConfig) *twoPhaseHarness[T] {
	t.Helper()
	env := NewEnvironment()
	ds := SinkToTwoPhase(FromSlice[T](env, nil), sink, "Test Sink")
	if len(env.errs) > 0 {
		t.Fatalf("building the job: %v", errors.Join(env.errs...))
	}
	if cfg.parallelism == 0 {
		cfg.parallelism = 1
	}
	if cfg.clock == nil {
		cfg.clock = clock.NewManual(time.UnixMilli(0))
	}
	backend := state.NewOperatorBackend()
	if cfg.restored != nil {
		if err := backend.Restore(cfg.restored); err != nil {
			t.Fatalf("Restore: %v", err)
		}
	}
	c := &operator.Context{
		JobName: t.Name(), TaskName: ds.node.Name, OperatorName: ds.node.Name,
		Subtask: cfg.subtask, Parallelism: cfg.parallelism, MaxParallelism: 128,
		Logger:        slog.New(slog.DiscardHandler),
		Clock:         cfg.clock,
		OperatorState: backend,
		Checkpointing: cfg.checkpointing,
		Restored:      cfg.restored != nil,
	}
	op, ins, err := ds.node.Factory.Create(c, operator.TypeOf[struct{}](nil).Discard())
	if err != nil {
		t.Fatalf("Create: %v", err)
	}
	h := &twoPhaseHarness[T]{t: t, op: op, in: ins[0].(operator.Output[T]), backend: backend, clock: cfg.clock}
	h.openErr = op.Open(context.Background())
	t.Cleanup(func() {
		if err := op.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return h
}

func (h *twoPhaseHarness[T]) must(err error) {
	h.t.Helper()
	if err != nil {
		h.t.Fatal(err)
	}
}

func (h *twoPhaseHarness[T]) opened() *twoPhaseHarness[T] {
	h.t.Helper()
	h.must(h.openErr)
	return h
}

func (h *twoPhaseHarness[T]) write(vs ...T) {
	h.t.Helper()
	for _, v := range vs {
		h.must(h.in.Collect(v, operator.NoTimestamp))
	}
}

// snapshot takes part in checkpoint id and returns the subtask's operator
// state snapshot.
func (h *twoPhaseHarness[T]) snapshot(id int64) *state.OperatorSnapshot {
	h.t.Helper()
	h.must(h.op.(operator.Snapshotter).SnapshotState(operator.Checkpoint{ID: id, Timestamp: id}))
	s, err := h.backend.Snapshot()
	h.must(err)
	return s
}

func (h *twoPhaseHarness[T]) complete(id int64) {
	h.t.Helper()
	h.must(h.op.(operator.CheckpointListener).NotifyCheckpointComplete(id))
}

func (h *twoPhaseHarness[T]) abort(id int64) {
	h.t.Helper()
	h.must(h.op.(operator.CheckpointListener).NotifyCheckpointAborted(id))
}

func (h *twoPhaseHarness[T]) flush() {
	h.t.Helper()
	h.must(h.op.(operator.IdleFlusher).Flush())
}

func (h *twoPhaseHarness[T]) finish() {
	h.t.Helper()
	h.must(h.op.Finish())
}

// redistribute returns the operator state of each of p subtasks restored
// from the snapshots of the old subtasks.
func redistribute(t *testing.T, old []*state.OperatorSnapshot, p int) []*state.OperatorSnapshot {
	t.Helper()
	out, err := state.RedistributeOperatorState(old, p)
	if err != nil {
		t.Fatalf("RedistributeOperatorState: %v", err)
	}
	return out
}

// storedCheckpoints returns the checkpoint IDs of the committables stored
// in a sink's snapshot.
func storedCheckpoints(t *testing.T, s *state.OperatorSnapshot) []int64 {
	t.Helper()
	b := state.NewOperatorBackend()
	if err := b.Restore(s); err != nil {
		t.Fatal(err)
	}
	cc, err := codec.For[txn]()
	if err != nil {
		t.Fatal(err)
	}
	st, err := state.GetUnionListState(b, state.List[pendingCommittable[txn]](committablesState).WithCodec(newPendingCodec(cc)))
	if err != nil {
		t.Fatal(err)
	}
	es, err := st.Get()
	if err != nil {
		t.Fatal(err)
	}
	var ids []int64
	for _, e := range es {
		ids = append(ids, e.checkpoint)
	}
	return ids
}

func TestTwoPhaseCommitsOnlyCompletedCheckpoints(t *testing.T) {
	store := newTxnStore()
	h := newTwoPhaseHarness(t, TwoPhaseCommitSink[string, txn](txnSink{store}), harnessConfig{checkpointing: true}).opened()
	h.write("a", "b")
	h.snapshot(1)
	h.write("c")
	s2 := h.snapshot(2)
	h.write("d") // after checkpoint 2: the attempt fails before the next
	if got := store.Visible(); len(got) != 0 {
		t.Fatalf("visible before any checkpoint completed: %v", got)
	}
	if got := storedCheckpoints(t, s2); !slices.Equal(got, []int64{1, 2}) {
		t.Fatalf("checkpoint 2 stores the committables of checkpoints %v, want [1 2]", got)
	}
	h.complete(1)
	if got := store.Visible(); !slices.Equal(got, []string{"a", "b"}) {
		t.Fatalf("visible after checkpoint 1 completed: %v, want [a b]", got)
	}
	if got := storedCheckpoints(t, h.snapshot(3)); !slices.Equal(got, []int64{2, 3}) {
		t.Fatalf("checkpoint 3 stores the committables of checkpoints %v, want [2 3]", got)
	}
	// The attempt crashes: no further notification. The job restores from
	// checkpoint 2, whose completion the attempt never heard of.
	restored := redistribute(t, []*state.OperatorSnapshot{s2}, 1)
	store.log("restart")
	r := newTwoPhaseHarness(t, TwoPhaseCommitSink[string, txn](txnSink{store}), harnessConfig{checkpointing: true, restored: restored[0]}).opened()
	if got := store.Visible(); !slices.Equal(got, []string{"a", "b", "c"}) {
		t.Fatalf("visible after the restore from checkpoint 2: %v, want [a b c]", got)
	}
	r.write("e")
	r.snapshot(3)
	r.complete(3)
	if got := store.Visible(); !slices.Equal(got, []string{"a", "b", "c", "e"}) {
		t.Fatalf("visible at the end: %v, want [a b c e] (d was written after the restored checkpoint)", got)
	}
	for id, n := range store.applied {
		if n != 1 {
			t.Errorf("transaction %s applied %d times", id, n)
		}
	}
	// The restored subtask commits before it creates its writer.
	i := slices.Index(store.events, "restart")
	want := []string{"restart", "0: create committer", "0: commit [s0-t0]", "0: commit [s0-t1]", "0: recover [0 1 2 3 4 5]", "0: create writer", "0: commit [s0-t3]"}
	if got := store.events[i:]; !slices.Equal(got, want) {
		t.Fatalf("after the restart:\n got %q\nwant %q", got, want)
	}
}

func TestTwoPhaseAbortedCheckpointIsCommittedByTheNext(t *testing.T) {
	store := newTxnStore()
	h := newTwoPhaseHarness(t, TwoPhaseCommitSink[string, txn](txnSink{store}), harnessConfig{checkpointing: true}).opened()
	h.write("a")
	h.snapshot(1)
	h.abort(1)
	h.write("b")
	if got := storedCheckpoints(t, h.snapshot(2)); !slices.Equal(got, []int64{1, 2}) {
		t.Fatalf("checkpoint 2 stores the committables of checkpoints %v, want [1 2]", got)
	}
	h.write("c")
	h.snapshot(3)
	h.write("d")
	h.snapshot(4)
	h.abort(4)
	h.complete(3) // the notification of 2 is lost: 3 covers it
	if got := store.Visible(); !slices.Equal(got, []string{"a", "b", "c"}) {
		t.Fatalf("visible: %v, want [a b c]", got)
	}
	if want := [][]string{{"s0-t0"}, {"s0-t1"}, {"s0-t2"}}; !slices.EqualFunc(store.batches, want, slices.Equal) {
		t.Fatalf("Commit calls %v, want one per checkpoint in order: %v", store.batches, want)
	}
	h.complete(4)
	if got := store.Visible(); !slices.Equal(got, []string{"a", "b", "c", "d"}) {
		t.Fatalf("visible: %v, want [a b c d]", got)
	}
	if got := storedCheckpoints(t, h.snapshot(5)); len(got) != 0 {
		t.Fatalf("checkpoint 5 stores committables of checkpoints %v, want none", got)
	}
}

func TestTwoPhaseRescaleCommitsEachCommittableOnce(t *testing.T) {
	for _, tc := range []struct{ from, to int }{{2, 3}, {3, 1}, {3, 2}, {1, 1}} {
		t.Run(fmt.Sprintf("%dto%d", tc.from, tc.to), func(t *testing.T) {
			store := newTxnStore()
			var (
				snaps      []*state.OperatorSnapshot
				want, late []string
			)
			for s := range tc.from {
				h := newTwoPhaseHarness(t, TwoPhaseCommitSink[string, txn](txnSink{store}), harnessConfig{subtask: s, parallelism: tc.from, checkpointing: true}).opened()
				v := func(i int) string { return fmt.Sprintf("%d.%d", s, i) }
				h.write(v(0))
				h.snapshot(1)
				if s == 0 {
					h.complete(1) // the others lose the notification
				}
				h.write(v(1), v(2))
				snaps = append(snaps, h.snapshot(2))
				h.write(v(3)) // after the restored checkpoint
				h.snapshot(3)
				want = append(want, v(0), v(1), v(2))
				late = append(late, v(3))
			}
			store.mu.Lock()
			clear(store.requested)
			store.mu.Unlock()
			restored := redistribute(t, snaps, tc.to)
			owners := map[int][]int{}
			for s := range tc.to {
				newTwoPhaseHarness(t, TwoPhaseCommitSink[string, txn](txnSink{store}), harnessConfig{subtask: s, parallelism: tc.to, checkpointing: true, restored: restored[s]}).opened()
				for k := range 6 {
					if k%tc.to == s {
						owners[k] = append(owners[k], s)
					}
				}
			}
			slices.Sort(want)
			if got := store.Visible(); !slices.Equal(got, want) {
				t.Fatalf("visible %v, want %v (never any of %v)", got, want, late)
			}
			// Every committable of checkpoints 1 and 2 not committed before
			// checkpoint 2 (subtask 0 committed its first) was passed to
			// Commit by exactly one new subtask, and each was applied once.
			var stored []string
			for s := range tc.from {
				if s > 0 {
					stored = append(stored, fmt.Sprintf("s%d-t%d", s, 3*s))
				}
				stored = append(stored, fmt.Sprintf("s%d-t%d", s, 3*s+1))
			}
			for _, id := range stored {
				if store.requested[id] != 1 {
					t.Errorf("%s: passed to Commit %d times after the restore, want 1", id, store.requested[id])
				}
			}
			if len(store.requested) != len(stored) {
				t.Errorf("committed after the restore: %v, want %v", store.requested, stored)
			}
			for id, n := range store.applied {
				if n != 1 {
					t.Errorf("%s applied %d times", id, n)
				}
			}
			for s := range tc.to {
				want := fmt.Sprintf("%d: recover %v", s, ownedBy(s, tc.to))
				if !slices.Contains(store.events, want) {
					t.Errorf("no %q in %q", want, store.events)
				}
			}
			for k, o := range owners {
				if len(o) != 1 {
					t.Errorf("earlier subtask %d has owners %v", k, o)
				}
			}
		})
	}
}

// ownedBy returns the earlier subtasks of 0 to 5 that subtask s of p owns.
func ownedBy(s, p int) []int {
	var ks []int
	for k := range 6 {
		if k%p == s {
			ks = append(ks, k)
		}
	}
	return ks
}

func TestTwoPhaseRestoringTwiceCommitsAgainIdempotently(t *testing.T) {
	store := newTxnStore()
	h := newTwoPhaseHarness(t, TwoPhaseCommitSink[string, txn](txnSink{store}), harnessConfig{checkpointing: true}).opened()
	h.write("a")
	s1 := h.snapshot(1)
	h.write("b")
	// Restored twice from checkpoint 1: the first restored attempt fails
	// before its next checkpoint completes.
	for range 2 {
		r := newTwoPhaseHarness(t, TwoPhaseCommitSink[string, txn](txnSink{store}), harnessConfig{checkpointing: true, restored: s1}).opened()
		r.write("x")
		if got := store.Visible(); !slices.Equal(got, []string{"a"}) {
			t.Fatalf("visible %v, want [a]", got)
		}
	}
	if store.requested["s0-t0"] != 2 || store.applied["s0-t0"] != 1 {
		t.Fatalf("passed to Commit %d times, applied %d times; want 2 and 1", store.requested["s0-t0"], store.applied["s0-t0"])
	}
}

func TestTwoPhaseWithoutCheckpointingCommitsAtFinish(t *testing.T) {
	store := newTxnStore()
	h := newTwoPhaseHarness(t, TwoPhaseCommitSink[string, txn](txnSink{store}), harnessConfig{}).opened()
	h.write("a", "b")
	h.flush()
	if got := store.Visible(); len(got) != 0 {
		t.Fatalf("visible before the end: %v", got)
	}
	h.finish()
	if got := store.Visible(); !slices.Equal(got, []string{"a", "b"}) {
		t.Fatalf("visible after Finish: %v, want [a b]", got)
	}
	h.flush() // the task flushes once more after Finish
	if want := []bool{false, true}; !slices.Equal(store.flushes, want) {
		t.Fatalf("writer flushes %v, want %v", store.flushes, want)
	}

	// With checkpointing, the final checkpoint commits instead.
	store = newTxnStore()
	h = newTwoPhaseHarness(t, TwoPhaseCommitSink[string, txn](txnSink{store}), harnessConfig{checkpointing: true}).opened()
	h.write("a")
	h.finish()
	if got := store.Visible(); len(got) != 0 {
		t.Fatalf("visible after Finish with checkpointing: %v", got)
	}
	h.snapshot(1)
	h.complete(1)
	if got := store.Visible(); !slices.Equal(got, []string{"a"}) {
		t.Fatalf("visible after the final checkpoint: %v, want [a]", got)
	}
}

func TestTwoPhaseFailedPrepareFailsTheSubtask(t *testing.T) {
	store := newTxnStore()
	h := newTwoPhaseHarness(t, TwoPhaseCommitSink[string, txn](txnSink{store}), harnessConfig{checkpointing: true}).opened()
	h.write("a")
	boom := errors.New("boom")
	store.failPrepare = boom
	err := h.op.(operator.Snapshotter).SnapshotState(operator.Checkpoint{ID: 1})
	if !errors.Is(err, boom) || !strings.Contains(err.Error(), `"Test Sink"`) {
		t.Fatalf("SnapshotState: %v, want boom naming the sink", err)
	}
	for name, call := range map[string]func() error{
		"Collect":                 func() error { return h.in.Collect("b", 0) },
		"Flush":                   h.op.(operator.IdleFlusher).Flush,
		"NotifyCheckpointAborted": func() error { return h.op.(operator.CheckpointListener).NotifyCheckpointAborted(1) },
		"SnapshotState":           func() error { return h.op.(operator.Snapshotter).SnapshotState(operator.Checkpoint{ID: 2}) },
		"Finish":                  h.op.Finish,
	} {
		if err := call(); !errors.Is(err, boom) {
			t.Errorf("%s after the failed pre-commit: %v, want boom", name, err)
		}
	}
}

func TestTwoPhaseCloseClosesOnce(t *testing.T) {
	store := newTxnStore()
	h := newTwoPhaseHarness(t, TwoPhaseCommitSink[string, txn](txnSink{store}), harnessConfig{}).opened()
	h.must(h.op.Close())
	h.must(h.op.Close())
	if store.writersClosed != 1 || store.committersClosed != 1 {
		t.Fatalf("closed %d writers and %d committers, want 1 and 1", store.writersClosed, store.committersClosed)
	}

	// Open fails after the committer was created.
	store = newTxnStore()
	store.failCreateWriter = errors.New("no writer")
	h = newTwoPhaseHarness(t, TwoPhaseCommitSink[string, txn](txnSink{store}), harnessConfig{})
	if !errors.Is(h.openErr, store.failCreateWriter) || !strings.Contains(h.openErr.Error(), "creating the writer") {
		t.Fatalf("Open: %v", h.openErr)
	}
	h.must(h.op.Close())
	if store.writersClosed != 0 || store.committersClosed != 1 {
		t.Fatalf("closed %d writers and %d committers, want 0 and 1", store.writersClosed, store.committersClosed)
	}
}

// funcSink has a committable type without a codec.
type funcSink struct{}

func (funcSink) CreateWriter(context.Context, *RuntimeContext) (PrecommittingWriter[string, func()], error) {
	return nil, nil
}
func (funcSink) CreateCommitter(context.Context, *RuntimeContext) (Committer[func()], error) {
	return nil, nil
}

func TestTwoPhaseCommittableWithoutCodecIsAnError(t *testing.T) {
	env := NewEnvironment()
	SinkToTwoPhase(FromValues(env, "a"), funcSink{}, "Func Sink")
	_, err := env.StreamGraph()
	if err == nil || !strings.Contains(err.Error(), `"Func Sink"`) || !strings.Contains(err.Error(), "func()") {
		t.Fatalf("StreamGraph: %v, want an error naming the sink and the committable type", err)
	}
}

func TestTwoPhaseJobWithoutCheckpointsCommitsEverything(t *testing.T) {
	checkNoLeaks(t)
	store := newTxnStore()
	env := NewEnvironment().SetParallelism(2)
	src := Generate(env, 100, func(i int64) (string, error) { return fmt.Sprintf("%03d", i), nil })
	SinkToTwoPhase(src, TwoPhaseCommitSink[string, txn](txnSink{store}), "Txn Sink")
	if err := env.Execute(context.Background(), t.Name()); err != nil {
		t.Fatal(err)
	}
	got := store.Visible()
	if len(got) != 100 || got[0] != "000" || got[99] != "099" {
		t.Fatalf("visible %v, want 000 to 099", got)
	}
	if store.writersClosed != 2 || store.committersClosed != 2 {
		t.Fatalf("closed %d writers and %d committers, want 2 and 2", store.writersClosed, store.committersClosed)
	}
}
