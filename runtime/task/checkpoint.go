package task

import (
	"context"
	"errors"
	"fmt"

	"github.com/runnel-io/runnel/runtime/checkpoint"
	"github.com/runnel-io/runnel/runtime/network"
	"github.com/runnel-io/runnel/runtime/operator"
	"github.com/runnel-io/runnel/state"
)

// Checkpointing connects a subtask to its job's checkpoints.
type Checkpointing struct {
	// Periodic is true when the job takes periodic checkpoints: a subtask
	// whose input ended then waits for the final checkpoint before it
	// ends. Without, it ends at once (and can still take part in
	// savepoints while it runs).
	Periodic bool
	// Reporter receives the subtask's acknowledgements, declines and the
	// end of its input.
	Reporter Reporter
	// Upload writes one state file of checkpoint id durably and returns its
	// handle. It is called from the task's upload goroutines, concurrently
	// for different names, and must return when ctx is done.
	Upload func(ctx context.Context, id int64, name string, data []byte) (checkpoint.StateHandle, error)
}

// Reporter is the job master's side of a subtask's checkpoints. Its methods
// are called from the task's goroutines, concurrently, and must not block
// for long.
type Reporter interface {
	// Acknowledge says that the subtask's state for checkpoint id is
	// durable: states holds it by operator ID.
	Acknowledge(id int64, task checkpoint.TaskID, states map[string]checkpoint.SubtaskState)
	// Decline says that the subtask cannot take part in checkpoint id.
	Decline(id int64, task checkpoint.TaskID, reason error)
	// Finished says that the subtask reached the end of its input; it
	// stays alive, taking part in checkpoints, until a final checkpoint is
	// complete.
	Finished(task checkpoint.TaskID)
}

// OperatorRestore is the state one operator of a subtask starts from.
type OperatorRestore struct {
	// Keyed covers the subtask's key groups (and maybe more).
	Keyed []*state.KeyedSnapshot
	// Operator is the subtask's share of the operator state.
	Operator *state.OperatorSnapshot
}

// aligner tracks the alignment of one checkpoint's barriers over the
// channels of the task's gate (Flink's aligned barrier handler).
//
// Invariants (proved by TestAlignment* in this package):
//  1. A channel that delivered the barrier of the checkpoint being aligned
//     is blocked until the checkpoint is taken or abandoned: no record after
//     a barrier is processed before the snapshot that the barrier ends.
//  2. No buffer is dropped or reordered: a blocked channel keeps its
//     buffers queued (network.InputGate.Block).
//  3. The snapshot is taken once every channel has delivered the barrier or
//     ended (EndOfPartition).
//  4. Barriers of checkpoints at or below last (taken or abandoned) are
//     ignored; a barrier of a newer checkpoint abandons the one being
//     aligned.
type aligner struct {
	id      int64 // checkpoint being aligned, 0 if none
	barrier *network.Barrier
	seen    []bool
	count   int
	last    int64 // highest checkpoint taken or abandoned
}

func (t *Task) checkpointing() bool { return t.d.Checkpoints != nil }

func (t *Task) taskID() checkpoint.TaskID {
	return checkpoint.TaskID{Vertex: t.d.Vertex.ID, Subtask: t.d.Subtask}
}

// onBarrier handles the barrier b that arrived on channel ch.
func (t *Task) onBarrier(ch int, b *network.Barrier) error {
	a := &t.align
	if b.ID <= a.last {
		return nil
	}
	if a.id != 0 && b.ID > a.id {
		t.abandon(fmt.Errorf("task: checkpoint %d overtaken by checkpoint %d before its barriers were aligned", a.id, b.ID), true)
	}
	if a.id == 0 {
		a.id, a.barrier, a.count = b.ID, b, 0
		clear(a.seen)
	}
	if !a.seen[ch] {
		a.seen[ch] = true
		a.count++
		t.d.Gate.Block(ch)
	}
	return t.maybeAligned()
}

// maybeAligned takes the checkpoint being aligned once every channel has
// delivered its barrier or ended.
func (t *Task) maybeAligned() error {
	a := &t.align
	if a.id == 0 {
		return nil
	}
	for ch, seen := range a.seen {
		if !seen && !t.closed[ch] {
			return nil
		}
	}
	b := a.barrier
	t.unblockAll()
	a.last, a.id, a.barrier = b.ID, 0, nil
	return t.takeCheckpoint(b)
}

func (t *Task) unblockAll() {
	a := &t.align
	for ch, seen := range a.seen {
		if seen {
			t.d.Gate.Unblock(ch)
			a.seen[ch] = false
		}
	}
	a.count = 0
}

// abandon gives up the checkpoint being aligned: unblocks the channels,
// tells the consumers (a cancel barrier) and, if decline, the coordinator.
func (t *Task) abandon(reason error, decline bool) {
	a := &t.align
	if a.id == 0 {
		return
	}
	id := a.id
	t.unblockAll()
	a.last, a.id, a.barrier = max(a.last, id), 0, nil
	if decline {
		t.d.Checkpoints.Reporter.Decline(id, t.taskID(), reason)
	}
	t.cancelDownstream(id)
}

// onCancelBarrier handles the cancellation of checkpoint id from upstream.
func (t *Task) onCancelBarrier(id int64) {
	a := &t.align
	switch {
	case id == a.id:
		t.abandon(nil, false)
	case id > a.last && a.id == 0:
		a.last = id
		t.cancelDownstream(id)
	}
}

// cancelDownstream sends a cancel barrier for checkpoint id to every
// consumer, so that none waits for a barrier that will not come. An error
// (the task is stopping) is left to the task's next send.
func (t *Task) cancelDownstream(id int64) {
	for _, w := range t.writers {
		_ = w.SendEvent(network.Buffer{Kind: network.CancelBarrier, Value: id})
	}
}

// takeCheckpoint snapshots the chain's state for the checkpoint of b,
// sends b downstream and uploads the snapshot in the background. A failure
// to snapshot declines the checkpoint; only a failure to send fails the
// task.
func (t *Task) takeCheckpoint(b *network.Barrier) error {
	cp := operator.Checkpoint{ID: b.ID, Timestamp: b.Timestamp, Savepoint: b.Options.Kind == checkpoint.KindSavepoint}
	snaps, err := t.snapshot(cp)
	if err != nil {
		t.d.Checkpoints.Reporter.Decline(b.ID, t.taskID(), err)
		t.cancelDownstream(b.ID)
		return nil
	}
	for _, w := range t.writers {
		if err := w.SendEvent(network.Buffer{Kind: network.CheckpointBarrier, Barrier: b}); err != nil {
			return err
		}
	}
	if b.Options.Terminate {
		t.suspended = b.ID // nothing more leaves the task until it completes or fails
	}
	t.uploads.Add(1)
	go func() {
		defer t.uploads.Done()
		states, err := t.upload(b.ID, snaps)
		if err != nil {
			t.d.Checkpoints.Reporter.Decline(b.ID, t.taskID(), err)
			return
		}
		t.d.Checkpoints.Reporter.Acknowledge(b.ID, t.taskID(), states)
	}()
	return nil
}

// operatorSnapshot is the synchronous part of one operator's snapshot.
type operatorSnapshot struct {
	id       string
	keyed    *state.KeyedSnapshot
	operator *state.OperatorSnapshot
}

// snapshot runs the operators' snapshot hooks, head first, and copies the
// state of their backends.
func (t *Task) snapshot(cp operator.Checkpoint) ([]operatorSnapshot, error) {
	for i, op := range t.ops {
		if s, ok := op.(operator.Snapshotter); ok {
			if err := s.SnapshotState(cp); err != nil {
				return nil, fmt.Errorf("task: operator %q: snapshot for checkpoint %d: %w", t.ctxs[i].OperatorName, cp.ID, err)
			}
		}
	}
	snaps := make([]operatorSnapshot, len(t.ops))
	for i, c := range t.ctxs {
		s := operatorSnapshot{id: c.OperatorID}
		var err error
		if s.operator, err = c.OperatorState.Snapshot(); err != nil {
			return nil, fmt.Errorf("task: operator %q: operator state for checkpoint %d: %w", c.OperatorName, cp.ID, err)
		}
		if c.KeyedState != nil {
			if s.keyed, err = c.KeyedState.Snapshot(); err != nil {
				return nil, fmt.Errorf("task: operator %q: keyed state for checkpoint %d: %w", c.OperatorName, cp.ID, err)
			}
		}
		snaps[i] = s
	}
	return snaps, nil
}

// upload writes the snapshots of checkpoint id and returns their handles.
func (t *Task) upload(id int64, snaps []operatorSnapshot) (map[string]checkpoint.SubtaskState, error) {
	states := make(map[string]checkpoint.SubtaskState, len(snaps))
	for _, s := range snaps {
		var st checkpoint.SubtaskState
		if s.keyed != nil {
			data, err := s.keyed.MarshalBinary()
			if err != nil {
				return nil, err
			}
			name := fmt.Sprintf("op-%s-%d-keyed", s.id, t.d.Subtask)
			if st.Keyed, err = t.d.Checkpoints.Upload(t.ctx, id, name, data); err != nil {
				return nil, err
			}
			st.KeyGroups = s.keyed.KeyGroups
		}
		if s.operator != nil && len(s.operator.States) > 0 {
			data, err := s.operator.MarshalBinary()
			if err != nil {
				return nil, err
			}
			name := fmt.Sprintf("op-%s-%d-operator", s.id, t.d.Subtask)
			if st.Operator, err = t.d.Checkpoints.Upload(t.ctx, id, name, data); err != nil {
				return nil, err
			}
		}
		states[s.id] = st
	}
	return states, nil
}

// handleMail runs the messages queued for the task, in order.
func (t *Task) handleMail() error {
	t.mailBuf = t.mail.take(t.mailBuf[:0])
	for i := range t.mailBuf {
		m := &t.mailBuf[i]
		var err error
		switch m.kind {
		case mailTrigger:
			err = t.triggered(m.barrier)
		case mailComplete:
			err = t.completed(m.id, m.opts)
		case mailAbort:
			err = t.aborted(m.id)
		case mailEvent:
			err = t.operatorEvent(m.node, m.event)
		}
		*m = mail{}
		if err != nil {
			return err
		}
	}
	return nil
}

// triggered takes part in a checkpoint at a source: Flink's
// triggerCheckpointAsync on a source task.
func (t *Task) triggered(b *network.Barrier) error {
	if t.source == nil {
		return fmt.Errorf("task: checkpoint %d triggered at a task that is not a source", b.ID)
	}
	if b.ID <= t.align.last {
		return nil // a repeated trigger
	}
	if t.ending {
		// The task has ended its outputs (after a stop or the final
		// checkpoint): it cannot take part, and says so rather than let the
		// checkpoint wait for its timeout.
		t.d.Checkpoints.Reporter.Decline(b.ID, t.taskID(), errors.New("task: the subtask has ended its output"))
		return nil
	}
	t.align.last = b.ID
	if b.Options.Terminate && b.Options.Drain && !t.inputEnded {
		// Stop with a savepoint, draining: end the input first, so that
		// event time runs to its end before the savepoint.
		if d, ok := t.source.(operator.InputEnder); ok {
			if err := d.EndInput(); err != nil {
				return err
			}
		}
		if err := t.endOfInput(); err != nil {
			return err
		}
	}
	return t.takeCheckpoint(b)
}

func (t *Task) completed(id int64, opts checkpoint.Options) error {
	for i, op := range t.ops {
		if l, ok := op.(operator.CheckpointListener); ok {
			if err := l.NotifyCheckpointComplete(id); err != nil {
				return t.ctxs[i].Fail(err)
			}
		}
	}
	if opts.Final || opts.Terminate {
		return t.endOutputs()
	}
	return nil
}

func (t *Task) aborted(id int64) error {
	if t.align.id == id {
		t.abandon(nil, false)
	}
	if t.suspended == id {
		t.suspended = 0 // the stop failed: go on reading
	}
	for i, op := range t.ops {
		if l, ok := op.(operator.CheckpointListener); ok {
			if err := l.NotifyCheckpointAborted(id); err != nil {
				return t.ctxs[i].Fail(err)
			}
		}
	}
	return nil
}

func (t *Task) operatorEvent(node int, event []byte) error {
	for i, n := range t.d.Vertex.Nodes {
		if n.ID != node {
			continue
		}
		r, ok := t.ops[i].(operator.EventReceiver)
		if !ok {
			return fmt.Errorf("task: operator %q receives no coordinator events", n.Name)
		}
		return r.HandleOperatorEvent(event)
	}
	return fmt.Errorf("task: no operator of node %d in this task", node)
}
