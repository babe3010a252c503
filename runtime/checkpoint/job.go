package checkpoint

import (
	"cmp"
	"fmt"
	"slices"

	"github.com/runnel-io/runnel/state/keygroup"
)

// TaskID names one subtask of one job vertex (a chain of operators). It is
// a comparable value.
type TaskID struct {
	Vertex  int
	Subtask int
}

// OperatorInfo describes one operator of the job, for the Metadata.
type OperatorInfo struct {
	// ID is the operator's stable ID; Name is for messages only.
	ID, Name       string
	Parallelism    int
	MaxParallelism int
}

// Job is what the coordinator knows of the job it checkpoints. New copies
// it; the caller may reuse its slices afterwards.
type Job struct {
	ID string
	// Tasks is every subtask; each must acknowledge every checkpoint,
	// finished or not.
	Tasks []TaskID
	// Sources are the subtasks the barriers are injected at.
	Sources []TaskID
	// Coordinators are the IDs of the operators that have an operator
	// coordinator; each must AckCoordinator every checkpoint.
	Coordinators []string
	// Operators are every operator of the job. A task acknowledges the
	// state of the operators of its chain, by operator ID, as subtask
	// TaskID.Subtask of each.
	Operators []OperatorInfo
}

// index is the validated Job with lookups by task and operator.
type index struct {
	tasks  map[TaskID]int // position in Job.Tasks
	coords map[string]int // position in Job.Coordinators
	ops    []OperatorInfo // sorted by ID
	opIdx  map[string]int // position in ops
}

func newIndex(job Job) (*index, error) {
	x := &index{
		tasks:  make(map[TaskID]int, len(job.Tasks)),
		coords: make(map[string]int, len(job.Coordinators)),
		ops:    slices.Clone(job.Operators),
		opIdx:  make(map[string]int, len(job.Operators)),
	}
	if len(job.Tasks) == 0 {
		return nil, fmt.Errorf("%w: no tasks", ErrInvalidJob)
	}
	for i, t := range job.Tasks {
		if t.Vertex < 0 || t.Subtask < 0 {
			return nil, fmt.Errorf("%w: task %v has a negative index", ErrInvalidJob, t)
		}
		if _, dup := x.tasks[t]; dup {
			return nil, fmt.Errorf("%w: task %v listed twice", ErrInvalidJob, t)
		}
		x.tasks[t] = i
	}
	if len(job.Sources) == 0 {
		return nil, fmt.Errorf("%w: no sources", ErrInvalidJob)
	}
	for _, t := range job.Sources {
		if _, ok := x.tasks[t]; !ok {
			return nil, fmt.Errorf("%w: source %v is not a task", ErrInvalidJob, t)
		}
	}
	slices.SortFunc(x.ops, func(a, b OperatorInfo) int { return cmp.Compare(a.ID, b.ID) })
	for i, op := range x.ops {
		if op.ID == "" {
			return nil, fmt.Errorf("%w: operator %q has no ID", ErrInvalidJob, op.Name)
		}
		if _, dup := x.opIdx[op.ID]; dup {
			return nil, fmt.Errorf("%w: operator %q listed twice", ErrInvalidJob, op.ID)
		}
		if err := keygroup.Validate(op.MaxParallelism, op.Parallelism); err != nil {
			return nil, fmt.Errorf("%w: operator %q: %w", ErrInvalidJob, op.ID, err)
		}
		x.opIdx[op.ID] = i
	}
	for i, id := range job.Coordinators {
		if _, ok := x.opIdx[id]; !ok {
			return nil, fmt.Errorf("%w: coordinator %q is not an operator", ErrInvalidJob, id)
		}
		if _, dup := x.coords[id]; dup {
			return nil, fmt.Errorf("%w: coordinator %q listed twice", ErrInvalidJob, id)
		}
		x.coords[id] = i
	}
	return x, nil
}
