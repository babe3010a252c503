package stream

// Two-phase-commit sinks: Flink's Sink V2 TwoPhaseCommittingSink, typed.
//
// A writer pre-commits at every checkpoint barrier (PrepareCommit: close
// what is in progress, make it durable but invisible) and hands back
// committables; the sink's committer makes them visible once the checkpoint
// is complete. The operator that drives them, twoPhaseSinkOp, keeps these
// invariants (sink_twophase_test.go proves each in the test named):
//
//  1. Pre-commit at the barrier. SnapshotState(cp) calls PrepareCommit once
//     and files the committables it returns under cp.ID, so every record
//     that reached the writer before cp's barrier is in a committable filed
//     under cp.ID or an earlier ID. (TestTwoPhaseCommitsOnlyCompletedCheckpoints)
//
//  2. The state holds everything not yet committed. SnapshotState rewrites
//     the operator's union list state with every committable it has not
//     committed, each with the checkpoint ID it was filed under and the
//     subtask that prepared it. Nothing else writes that state, so a
//     snapshot of checkpoint n holds every committable of n and of earlier
//     checkpoints whose commit the subtask had not yet done.
//     (TestTwoPhaseCommitsOnlyCompletedCheckpoints)
//
//  3. Commit on completion, in order. NotifyCheckpointComplete(id) commits
//     the committables filed under IDs ≤ id, one Commit call per
//     checkpoint in increasing order of ID, and forgets each checkpoint's
//     committables only once their Commit returned. A lost notification is
//     made up for by the next one. (TestTwoPhaseCommitsOnlyCompletedCheckpoints)
//
//  4. An abort loses nothing. NotifyCheckpointAborted forgets nothing: the
//     aborted checkpoint's committables stay filed under its ID, are stored
//     again by the next SnapshotState (2) and committed by the next
//     completed checkpoint (3). (TestTwoPhaseAbortedCheckpointIsCommittedByTheNext)
//
//  5. A restore commits first. A subtask that starts from a checkpoint
//     (Context.Restored) commits, in Open and before it creates its
//     writer, the restored committables it owns (6): they belong to a
//     completed checkpoint, whose notification may have been lost. It then
//     forgets them: they stay in the checkpoint it restored from, so if the
//     job fails again before its next checkpoint completes, they are
//     committed again. That, and (3) after a lost notification, is why
//     Commit must be idempotent. Records the failed attempt wrote after the
//     restored checkpoint are in no restored committable and never become
//     visible. (TestTwoPhaseCommitsOnlyCompletedCheckpoints,
//     TestTwoPhaseRestoringTwiceCommitsAgainIdempotently)
//
//  6. Each committable has one owner. On restore with parallelism p, the
//     committables prepared by earlier subtask k belong to the new subtask
//     k mod p, which alone commits them. The state is union list state for
//     that: with split distribution each committable would also reach one
//     subtask, but the runtime would choose which, and no subtask could
//     tell which leftovers of earlier attempts (a file sink's in-progress
//     and pending files) another subtask is about to commit. With union
//     distribution every subtask sees the same list and takes its share by
//     the same rule, and the owner of k is also the only subtask that
//     cleans up after k (TwoPhaseCommitRecoverer), after it committed k's
//     committables, so it never removes what another subtask needs. The
//     price is that every subtask decodes every committable on restore;
//     committables are small. (TestTwoPhaseRescaleCommitsEachCommittableOnce)
//
//  7. Without checkpoints, commit at the end. When the job does not
//     checkpoint (Context.Checkpointing false), Finish calls PrepareCommit
//     and commits the result at once; with checkpoints, Finish only flushes
//     and the final checkpoint commits the rest.
//     (TestTwoPhaseWithoutCheckpointingCommitsAtFinish)
//
//  8. A failed pre-commit fails the subtask. PrepareCommit returning an
//     error leaves it unknown which records are in a committable; the
//     checkpoint is declined, and every later call on the operator returns
//     the error, so the subtask fails and restarts from the last completed
//     checkpoint instead of losing records. (TestTwoPhaseFailedPrepareFailsTheSubtask)
//
//  9. Close closes the writer and the committer exactly once each (those
//     that were created), also when Open failed half-way.
//     (TestTwoPhaseCloseClosesOnce)

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"math"
	"reflect"
	"slices"

	"github.com/runnel-io/runnel/codec"
	"github.com/runnel-io/runnel/runtime/operator"
	"github.com/runnel-io/runnel/state"
)

// TwoPhaseCommitSink is a sink with exactly-once output: Flink's Sink V2
// TwoPhaseCommittingSink. Its writers pre-commit what they wrote at every
// checkpoint and return committables of type C (a file to rename, a
// transaction to commit); its committers make committables visible once
// the checkpoint they belong to is complete. C must have a codec
// (codec.For): committables are stored in checkpoints until committed.
//
// The methods are called from the subtask's goroutine, once per subtask
// each, CreateCommitter first: a restored subtask commits what it restored
// before CreateWriter is called. An error fails the subtask.
type TwoPhaseCommitSink[T, C any] interface {
	CreateWriter(ctx context.Context, rc *RuntimeContext) (PrecommittingWriter[T, C], error)
	CreateCommitter(ctx context.Context, rc *RuntimeContext) (Committer[C], error)
}

// PrecommittingWriter is the writer of one subtask of a TwoPhaseCommitSink.
// Its methods are called from the subtask's goroutine only; Close is called
// exactly once, also when the job fails, and is the only call after a
// failed one.
type PrecommittingWriter[T, C any] interface {
	SinkWriter[T]
	// PrepareCommit ends what is in progress and returns the committables
	// for everything written since the last call (pre-commit): once it
	// returns, that output must survive a crash of the process, without
	// being visible. It is called at every checkpoint barrier, and at the
	// end of input when the job does not checkpoint. The returned slice is
	// the caller's. An error fails the subtask (once a pre-commit failed
	// half-way, it is no longer known which records a committable holds),
	// which then restarts from its last completed checkpoint.
	PrepareCommit() ([]C, error)
}

// Committer makes the committables of one subtask of a TwoPhaseCommitSink
// visible. Its methods are called from the subtask's goroutine only, in the
// order of the checkpoints the committables belong to.
type Committer[C any] interface {
	// Commit makes committables visible. It must be idempotent:
	// committables of a completed checkpoint are committed again after a
	// restore, some of which may already be committed. ctx is the
	// subtask's: it is cancelled when the subtask is. An error fails the
	// subtask, which commits the same committables again after it restarts
	// from the checkpoint that holds them. committables is the caller's
	// and not retained.
	Commit(ctx context.Context, committables []C) error
	// Close releases the committer's resources; it is called exactly
	// once, also when the job fails.
	Close() error
}

// TwoPhaseCommitRecoverer is implemented by a TwoPhaseCommitSink whose
// failed attempts leave work behind that is in no committable of a
// completed checkpoint (a file sink's in-progress and pending files), to
// clean it up.
//
// Recover is called once, on the subtask's goroutine, when a subtask starts
// from a checkpoint, after it committed the restored committables it owns
// and before CreateWriter. owns(k) reports whether this subtask is
// responsible for what subtask k of an earlier attempt or run left behind:
// every k ≥ 0 has exactly one owner among the current subtasks (k mod the
// parallelism), and that owner has, by the time Recover is called,
// committed every restored committable that subtask k prepared; no other
// subtask commits them. So an owner may remove whatever subtask k left
// that is not committed yet — provided the sink's committables of subtask
// k only refer to what subtask k wrote. It must not touch what other
// subtasks (k not owned) left or are writing: they run concurrently. An
// error fails the subtask.
type TwoPhaseCommitRecoverer interface {
	Recover(ctx context.Context, rc *RuntimeContext, owns func(subtask int) bool) error
}

// SinkToTwoPhase adds sink at the end of s: the output becomes visible
// checkpoint by checkpoint, each record exactly once, when the job
// checkpoints, and at the end of input when it does not. It is an error of
// the job (reported by Execute) if C has no codec.
func SinkToTwoPhase[T, C any](s DataStream[T], sink TwoPhaseCommitSink[T, C], name string) DataStreamSink {
	var desc state.ListDescriptor[pendingCommittable[C]]
	cc, err := codec.For[C]()
	if err != nil {
		err = fmt.Errorf("stream: two-phase-commit sink %q: committable type %v has no codec: %w", name, reflect.TypeFor[C](), err)
		s.env.errorf("%w", err)
	} else {
		desc = state.List[pendingCommittable[C]](committablesState).WithCodec(newPendingCodec(cc))
	}
	n := newNode[struct{}](s.env, "Sink", name, oneInput[T, struct{}](func(c *operator.Context, _ operator.Output[struct{}]) (interface {
		operator.Operator
		operator.Output[T]
	}, error) {
		if err != nil {
			return nil, err
		}
		return &twoPhaseSinkOp[T, C]{c: c, sink: sink, desc: desc}, nil
	}), s.ports)
	return DataStreamSink{env: s.env, node: n}
}

// committablesState is the name of the operator state that holds the
// committables not yet committed.
const committablesState = "two-phase-commit-sink-committables"

// pendingCommittable is one committable not yet committed, as stored in
// operator state.
type pendingCommittable[C any] struct {
	checkpoint int64 // the ID it was filed under
	subtask    int   // the subtask that prepared it
	c          C
}

// pendingCodec encodes a pendingCommittable as the tuple (checkpoint,
// subtask, committable).
type pendingCodec[C any] struct {
	t codec.Codec[codec.Tuple3[int64, int64, C]]
}

func newPendingCodec[C any](cc codec.Codec[C]) pendingCodec[C] {
	return pendingCodec[C]{codec.Tuple3Codec(codec.Int64(), codec.Int64(), cc)}
}

func (p pendingCodec[C]) Append(dst []byte, v pendingCommittable[C]) []byte {
	return p.t.Append(dst, codec.T3(v.checkpoint, int64(v.subtask), v.c))
}

func (p pendingCodec[C]) Decode(src []byte) (pendingCommittable[C], error) {
	t, err := p.t.Decode(src)
	if err != nil {
		return pendingCommittable[C]{}, err
	}
	if t.F1 < 0 || t.F1 > math.MaxInt32 {
		return pendingCommittable[C]{}, fmt.Errorf("%w: subtask %d", codec.ErrCorrupt, t.F1)
	}
	return pendingCommittable[C]{checkpoint: t.F0, subtask: int(t.F1), c: t.F2}, nil
}

// twoPhaseSinkOp drives a TwoPhaseCommitSink in one subtask; its
// invariants are listed at the top of this file.
type twoPhaseSinkOp[T, C any] struct {
	c    *operator.Context
	sink TwoPhaseCommitSink[T, C]
	desc state.ListDescriptor[pendingCommittable[C]]

	// ctx is Open's, the subtask's, for the commits that checkpoint
	// notifications start: they have no context of their own.
	ctx       context.Context
	rc        *RuntimeContext
	writer    PrecommittingWriter[T, C]
	committer Committer[C]
	state     state.ListState[pendingCommittable[C]]
	// pending holds the committables not yet committed, in the order
	// they were prepared (so in increasing order of checkpoint).
	pending []pendingCommittable[C]
	// broken is the error of a failed PrepareCommit (invariant 8).
	broken   error
	finished bool
	closed   bool
}

func (o *twoPhaseSinkOp[T, C]) Open(ctx context.Context) (err error) {
	defer operator.Guard(o.c, &err)
	o.ctx = ctx
	o.rc = runtimeContext(o.c)
	backend := o.c.OperatorState
	if backend == nil {
		backend = state.NewOperatorBackend() // nothing to restore, nothing kept
	}
	o.state, err = state.GetUnionListState(backend, o.desc)
	if err != nil {
		return o.fail("registering its state", err)
	}
	o.committer, err = o.sink.CreateCommitter(ctx, o.rc)
	if err != nil {
		return o.fail("creating the committer", err)
	}
	if o.c.Restored {
		if err := o.commitRestored(); err != nil {
			return err
		}
		if r, ok := o.sink.(TwoPhaseCommitRecoverer); ok {
			p, s := o.c.Parallelism, o.c.Subtask
			owns := func(k int) bool { return k >= 0 && k%p == s }
			if err := r.Recover(ctx, o.rc, owns); err != nil {
				return o.fail("recovering", err)
			}
		}
	}
	o.writer, err = o.sink.CreateWriter(ctx, o.rc)
	if err != nil {
		return o.fail("creating the writer", err)
	}
	return nil
}

// commitRestored commits the restored committables the subtask owns
// (invariants 5 and 6) and clears the state.
func (o *twoPhaseSinkOp[T, C]) commitRestored() error {
	all, err := o.state.Get()
	if err != nil {
		return o.fail("reading its restored state", err)
	}
	var mine []pendingCommittable[C]
	for _, e := range all {
		if e.subtask%o.c.Parallelism == o.c.Subtask {
			mine = append(mine, e)
		}
	}
	slices.SortStableFunc(mine, func(a, b pendingCommittable[C]) int { return cmp.Compare(a.checkpoint, b.checkpoint) })
	if _, err := o.commitUpTo(mine, len(mine)); err != nil {
		return err
	}
	if err := o.state.Clear(); err != nil {
		return o.fail("clearing its restored state", err)
	}
	return nil
}

// commitUpTo commits es[:n], which is sorted by checkpoint, one Commit per
// checkpoint. It returns how many of es were committed: n, or fewer with
// the error of the first Commit that failed.
func (o *twoPhaseSinkOp[T, C]) commitUpTo(es []pendingCommittable[C], n int) (int, error) {
	batch := make([]C, 0, n)
	for i := 0; i < n; {
		j := i
		batch = batch[:0]
		for ; j < n && es[j].checkpoint == es[i].checkpoint; j++ {
			batch = append(batch, es[j].c)
		}
		if err := o.committer.Commit(o.ctx, batch); err != nil {
			return i, o.fail(fmt.Sprintf("committing checkpoint %d", es[i].checkpoint), err)
		}
		i = j
	}
	return n, nil
}

// fail wraps err with what the sink was doing and attributes it to the
// operator.
func (o *twoPhaseSinkOp[T, C]) fail(doing string, err error) error {
	return o.c.Fail(fmt.Errorf("stream: two-phase-commit sink %q: %s: %w", o.c.OperatorName, doing, err))
}

func (o *twoPhaseSinkOp[T, C]) Collect(v T, ts int64) (err error) {
	defer operator.Guard(o.c, &err)
	if o.broken != nil {
		return o.broken
	}
	return o.c.Fail(o.writer.Write(v, ts))
}

// EmitWatermark drops the watermark: sinks are the end of event time.
func (o *twoPhaseSinkOp[T, C]) EmitWatermark(int64) error { return nil }

// EmitWatermarkStatus drops the status.
func (o *twoPhaseSinkOp[T, C]) EmitWatermarkStatus(bool) error { return nil }

// Flush implements operator.IdleFlusher. The task also calls it after
// Finish, when the writer has already had its last flush.
func (o *twoPhaseSinkOp[T, C]) Flush() (err error) {
	defer operator.Guard(o.c, &err)
	if o.broken != nil {
		return o.broken
	}
	if o.finished {
		return nil
	}
	return o.c.Fail(o.writer.Flush(false))
}

func (o *twoPhaseSinkOp[T, C]) Finish() (err error) {
	defer operator.Guard(o.c, &err)
	if o.broken != nil {
		return o.broken
	}
	o.finished = true
	if err := o.writer.Flush(true); err != nil {
		return o.c.Fail(err)
	}
	if o.c.Checkpointing {
		return nil // invariant 7: the final checkpoint commits
	}
	cs, err := o.writer.PrepareCommit()
	if err != nil {
		o.broken = o.fail("pre-committing at the end of input", err)
		return o.broken
	}
	if len(cs) == 0 {
		return nil
	}
	if err := o.committer.Commit(o.ctx, cs); err != nil {
		return o.fail("committing at the end of input", err)
	}
	return nil
}

// SnapshotState implements operator.Snapshotter (invariants 1 and 2).
func (o *twoPhaseSinkOp[T, C]) SnapshotState(cp operator.Checkpoint) (err error) {
	defer operator.Guard(o.c, &err)
	if o.broken != nil {
		return o.broken
	}
	cs, err := o.writer.PrepareCommit()
	if err != nil {
		o.broken = o.fail(fmt.Sprintf("pre-committing for checkpoint %d", cp.ID), err)
		return o.broken
	}
	for _, c := range cs {
		o.pending = append(o.pending, pendingCommittable[C]{checkpoint: cp.ID, subtask: o.c.Subtask, c: c})
	}
	if err := o.state.Update(o.pending); err != nil {
		return o.fail(fmt.Sprintf("storing the committables of checkpoint %d", cp.ID), err)
	}
	return nil
}

// NotifyCheckpointComplete implements operator.CheckpointListener
// (invariant 3).
func (o *twoPhaseSinkOp[T, C]) NotifyCheckpointComplete(id int64) (err error) {
	defer operator.Guard(o.c, &err)
	if o.broken != nil {
		return o.broken
	}
	n := 0
	for n < len(o.pending) && o.pending[n].checkpoint <= id {
		n++
	}
	if n == 0 {
		return nil
	}
	done, err := o.commitUpTo(o.pending, n)
	o.pending = slices.Delete(o.pending, 0, done)
	return err
}

// NotifyCheckpointAborted implements operator.CheckpointListener
// (invariant 4): the committables of id are committed with the next
// completed checkpoint.
func (o *twoPhaseSinkOp[T, C]) NotifyCheckpointAborted(int64) error {
	return o.broken
}

func (o *twoPhaseSinkOp[T, C]) Close() (err error) {
	defer operator.Guard(o.c, &err)
	if o.closed {
		return nil
	}
	o.closed = true
	var errs []error
	if o.writer != nil {
		if err := o.writer.Close(); err != nil {
			errs = append(errs, fmt.Errorf("stream: two-phase-commit sink %q: closing the writer: %w", o.c.OperatorName, err))
		}
	}
	if o.committer != nil {
		if err := o.committer.Close(); err != nil {
			errs = append(errs, fmt.Errorf("stream: two-phase-commit sink %q: closing the committer: %w", o.c.OperatorName, err))
		}
	}
	return o.c.Fail(errors.Join(errs...))
}
