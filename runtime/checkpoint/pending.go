package checkpoint

import (
	"fmt"
	"maps"
	"math"
	"slices"
)

// phase is how far a pending checkpoint got.
type phase uint8

const (
	// collecting: waiting for tasks and coordinators to acknowledge; the
	// timeout runs.
	collecting phase = iota
	// writing: WriteMetadata was emitted; waiting for MetadataWritten.
	writing
	// durable: the metadata is written; Complete waits only for every
	// older pending checkpoint to end (completions go in ID order).
	durable
)

// pending is one triggered checkpoint that has not completed or aborted.
type pending struct {
	id        int64
	timestamp int64
	deadline  int64
	opts      Options
	phase     phase

	acked      []bool // by position in Job.Tasks
	numAcked   int
	coordAcked []bool // by position in Job.Coordinators
	numCoords  int
	coordState [][]byte

	subtasks [][]SubtaskState // by operator (sorted by ID), then subtask
	filled   [][]bool

	metadata *Metadata // from the writing phase on
	location string    // once durable
}

func newPending(x *index, id, now, timeout int64, opts Options) *pending {
	p := &pending{
		id:         id,
		timestamp:  now,
		deadline:   addMillis(now, timeout),
		opts:       opts,
		acked:      make([]bool, len(x.tasks)),
		coordAcked: make([]bool, len(x.coords)),
		coordState: make([][]byte, len(x.coords)),
		subtasks:   make([][]SubtaskState, len(x.ops)),
		filled:     make([][]bool, len(x.ops)),
	}
	for i, op := range x.ops {
		p.subtasks[i] = make([]SubtaskState, op.Parallelism)
		p.filled[i] = make([]bool, op.Parallelism)
	}
	return p
}

// subsumable reports whether a later completion makes p pointless: a
// checkpoint, not a savepoint (the user asked for it) nor a final
// checkpoint (the tasks wait for it to end).
func (p *pending) subsumable() bool {
	return p.opts.Kind == KindCheckpoint && !p.opts.Final
}

// name is "checkpoint 7" or "savepoint 7", for reasons.
func (p *pending) name() string {
	return fmt.Sprintf("%v %d", p.opts.Kind, p.id)
}

// checkStates reports why the states a task acknowledged cannot be placed,
// or nil.
func (p *pending) checkStates(x *index, task TaskID, states map[string]SubtaskState) error {
	for _, id := range slices.Sorted(maps.Keys(states)) {
		i, ok := x.opIdx[id]
		switch {
		case !ok:
			return fmt.Errorf("%s acknowledged state of an unknown operator (ID %q)", x.taskName(task), id)
		case task.Subtask >= x.ops[i].Parallelism:
			return fmt.Errorf("%s acknowledged state of operator %s, which has parallelism %d", x.taskName(task), x.opName(id), x.ops[i].Parallelism)
		case p.filled[i][task.Subtask]:
			return fmt.Errorf("%s acknowledged state of operator %s (%d/%d), which another task acknowledged",
				x.taskName(task), x.opName(id), task.Subtask+1, x.ops[i].Parallelism)
		}
	}
	return nil
}

// ack records a task's acknowledgement; checkStates must have passed.
func (p *pending) ack(x *index, task TaskID, states map[string]SubtaskState) {
	for id, s := range states {
		i := x.opIdx[id]
		p.subtasks[i][task.Subtask] = s
		p.filled[i][task.Subtask] = true
	}
	p.acked[x.tasks[task]] = true
	p.numAcked++
}

// acknowledged reports whether every task and coordinator acknowledged.
func (p *pending) acknowledged() bool {
	return p.numAcked == len(p.acked) && p.numCoords == len(p.coordAcked)
}

// buildMetadata assembles the metadata once acknowledged.
func (p *pending) buildMetadata(x *index, jobID string) *Metadata {
	md := &Metadata{
		JobID:        jobID,
		CheckpointID: p.id,
		Timestamp:    p.timestamp,
		Kind:         p.opts.Kind,
		Operators:    make([]OperatorState, len(x.ops)),
	}
	for i, op := range x.ops {
		s := OperatorState{
			ID:             op.ID,
			Name:           op.Name,
			Parallelism:    op.Parallelism,
			MaxParallelism: op.MaxParallelism,
			Subtasks:       p.subtasks[i],
		}
		if c, ok := x.coords[op.ID]; ok {
			s.Coordinator = p.coordState[c]
		}
		md.Operators[i] = s
	}
	p.subtasks, p.filled, p.coordState = nil, nil, nil
	return md
}

// expiry is the reason p expired.
func (p *pending) expiry(timeout int64) error {
	what, got, of := "tasks", p.numAcked, len(p.acked)
	if got == of {
		what, got, of = "coordinators", p.numCoords, len(p.coordAcked)
	}
	return newReason(ErrExpired, nil, "%s expired after %v before all %s acknowledged (%d of %d)",
		p.name(), millis(timeout), what, got, of)
}

// addMillis is t+d without overflowing.
func addMillis(t, d int64) int64 {
	if d > 0 && t > math.MaxInt64-d {
		return math.MaxInt64
	}
	return t + d
}
