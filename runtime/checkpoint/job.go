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

// String names the subtask by its 0-based indexes, for messages that know
// no better: the coordinator's messages name a task by its name and its
// subtask by index+1 and parallelism, "count (2/4)", as Flink does (see
// Job.TaskNames).
func (t TaskID) String() string {
	return fmt.Sprintf("vertex %d subtask %d", t.Vertex, t.Subtask)
}

// OperatorInfo describes one operator of the job, for the Metadata.
type OperatorInfo struct {
	// ID is the operator's stable ID; Name is for messages only.
	ID, Name       string
	Parallelism    int
	MaxParallelism int
}

// label is the operator's name, or its ID if it has none.
func (op OperatorInfo) label() string {
	if op.Name == "" {
		return op.ID
	}
	return op.Name
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
	// TaskNames[v], for messages only, is the name of vertex v's task (the
	// names of its chain, "A -> B"); a vertex without one is called
	// "task v".
	TaskNames []string
}

// index is the validated Job with lookups by task and operator.
type index struct {
	tasks  map[TaskID]int // position in Job.Tasks
	coords map[string]int // position in Job.Coordinators
	ops    []OperatorInfo // sorted by ID
	opIdx  map[string]int // position in ops
	names  []string       // Job.TaskNames
	par    map[int]int    // parallelism by vertex: its number of tasks
}

// taskName names task t for messages, the way Flink names a subtask:
// "count (2/4)".
func (x *index) taskName(t TaskID) string {
	name := fmt.Sprintf("task %d", t.Vertex)
	if t.Vertex < len(x.names) && x.names[t.Vertex] != "" {
		name = x.names[t.Vertex]
	}
	return fmt.Sprintf("%s (%d/%d)", name, t.Subtask+1, x.par[t.Vertex])
}

// opName names the operator with ID id for messages: by its name (its ID
// if it has none, or is not one of the job's).
func (x *index) opName(id string) string {
	if i, ok := x.opIdx[id]; ok {
		return fmt.Sprintf("%q", x.ops[i].label())
	}
	return fmt.Sprintf("with ID %q", id)
}

func newIndex(job Job) (*index, error) {
	x := &index{
		tasks:  make(map[TaskID]int, len(job.Tasks)),
		coords: make(map[string]int, len(job.Coordinators)),
		ops:    slices.Clone(job.Operators),
		opIdx:  make(map[string]int, len(job.Operators)),
		names:  slices.Clone(job.TaskNames),
		par:    map[int]int{},
	}
	if len(job.Tasks) == 0 {
		return nil, fmt.Errorf("%w: no tasks", ErrInvalidJob)
	}
	for i, t := range job.Tasks {
		if t.Vertex < 0 || t.Subtask < 0 {
			return nil, fmt.Errorf("%w: %v has a negative index", ErrInvalidJob, t)
		}
		if _, dup := x.tasks[t]; dup {
			return nil, fmt.Errorf("%w: %v listed twice", ErrInvalidJob, t)
		}
		x.tasks[t] = i
		x.par[t.Vertex]++
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
			return nil, fmt.Errorf("%w: operator %q listed twice", ErrInvalidJob, op.label())
		}
		if err := keygroup.Validate(op.MaxParallelism, op.Parallelism); err != nil {
			return nil, fmt.Errorf("%w: operator %q: %w", ErrInvalidJob, op.label(), err)
		}
		x.opIdx[op.ID] = i
	}
	for i, id := range job.Coordinators {
		if _, ok := x.opIdx[id]; !ok {
			return nil, fmt.Errorf("%w: coordinator %q is not an operator", ErrInvalidJob, id)
		}
		if _, dup := x.coords[id]; dup {
			return nil, fmt.Errorf("%w: the coordinator of operator %s listed twice", ErrInvalidJob, x.opName(id))
		}
		x.coords[id] = i
	}
	return x, nil
}
