package checkpoint

import (
	"fmt"

	"github.com/runnel-io/runnel/state/keygroup"
)

// Kind says whether a snapshot is a checkpoint or a savepoint.
type Kind uint8

const (
	// KindCheckpoint is a periodic checkpoint, owned by the runtime: it is
	// retained or discarded by state.checkpoints.num-retained.
	KindCheckpoint Kind = iota + 1
	// KindSavepoint is a savepoint, owned by the user: it is never
	// discarded by the runtime.
	KindSavepoint
)

func (k Kind) String() string {
	switch k {
	case KindCheckpoint:
		return "checkpoint"
	case KindSavepoint:
		return "savepoint"
	}
	return fmt.Sprintf("Kind(%d)", uint8(k))
}

// Options say how to take one checkpoint or savepoint.
type Options struct {
	Kind Kind
	// Terminate (stop with savepoint): the job's tasks end once the
	// savepoint is complete.
	Terminate bool
	// Drain (with Terminate): the sources end their input first, and event
	// time advances to the end (the maximum watermark), so that every
	// window and timer fires before the savepoint is taken.
	Drain bool
	// Final marks the checkpoint taken after every task has reached the end
	// of its input: the tasks end once it is complete, so that
	// two-phase-commit sinks commit the last of their output.
	Final bool
	// TargetDir is where a savepoint is written ("" for the configured
	// default). Unused for checkpoints.
	TargetDir string
}

// StateHandle locates one file of a snapshot. A path is relative to the
// snapshot's directory (so that a savepoint can be moved as a whole) unless
// it is an absolute path or a URI.
type StateHandle struct {
	Path string
	Size int64
}

// IsZero reports whether h locates nothing.
func (h StateHandle) IsZero() bool { return h.Path == "" }

// SubtaskState is the snapshot of one subtask of one operator.
type SubtaskState struct {
	// Keyed holds the operator's keyed state (a state.KeyedSnapshot) for
	// the key groups KeyGroups; zero if the operator has no keyed state.
	Keyed     StateHandle
	KeyGroups keygroup.Range
	// Operator holds the operator's non-keyed state (a
	// state.OperatorSnapshot); zero if it has none.
	Operator StateHandle
}

// OperatorState is the snapshot of every subtask of one operator.
type OperatorState struct {
	// ID is the operator's stable ID (graph.JobGraph.OperatorIDs).
	ID string
	// Name is the operator's name, for messages only.
	Name           string
	Parallelism    int
	MaxParallelism int
	// Coordinator is the state of the operator's coordinator (a source's
	// split enumerator), nil if it has none.
	Coordinator []byte
	// Subtasks has Parallelism entries, subtask by subtask.
	Subtasks []SubtaskState
}

// Metadata describes one completed checkpoint or savepoint: everything a
// restore reads. It is written last, once every file it refers to is
// durable; its presence is what makes the snapshot complete.
type Metadata struct {
	JobID        string
	CheckpointID int64
	// Timestamp is when the checkpoint was triggered, in milliseconds since
	// the Unix epoch.
	Timestamp int64
	Kind      Kind
	// Operators are sorted by ID.
	Operators []OperatorState
}

// Operator returns the state of the operator with the given ID, if any.
func (m *Metadata) Operator(id string) (*OperatorState, bool) {
	for i := range m.Operators {
		if m.Operators[i].ID == id {
			return &m.Operators[i], true
		}
	}
	return nil, false
}
