package jobmaster

import (
	"context"
	"errors"
	"fmt"
	"slices"

	"github.com/runnel-io/runnel/config"
	"github.com/runnel-io/runnel/runtime/checkpoint"
	"github.com/runnel-io/runnel/runtime/checkpoint/storage"
	"github.com/runnel-io/runnel/runtime/graph"
	"github.com/runnel-io/runnel/runtime/task"
	"github.com/runnel-io/runnel/state"
	"github.com/runnel-io/runnel/state/keygroup"
)

// Restore is the state every subtask of a job starts from.
type Restore struct {
	// Tasks[vertex][subtask] holds the subtask's operators' state by
	// operator ID.
	Tasks [][]map[string]*task.OperatorRestore
}

// ReadRestore reads the snapshot at location from st and builds the state
// the subtasks of jg for which want is true start from (BuildRestoreFor).
// A snapshot that is corrupt, incomplete, of an unknown format or that
// does not fit the job is a non-recoverable failure (see
// RestoreFailure); a failure to read it is not.
func ReadRestore(ctx context.Context, st storage.Storage, location string, jg *graph.JobGraph, allowNonRestored bool,
	want func(vertex, subtask int) bool) (*Restore, error) {
	if st == nil {
		return nil, NonRecoverable(fmt.Errorf("jobmaster: restoring from %s needs checkpoint storage (%s)", location, config.CheckpointsDir.Key()))
	}
	md, loc, err := st.ReadMetadata(ctx, location)
	if err != nil {
		return nil, RestoreFailure(fmt.Errorf("jobmaster: restore from %s: %w", location, err))
	}
	r, err := BuildRestoreFor(ctx, st, md, loc, jg, allowNonRestored, want)
	if err != nil {
		return nil, RestoreFailure(fmt.Errorf("jobmaster: restore from %s: %w", loc, err))
	}
	return r, nil
}

// RestoreFailure classifies the failure of a restore: err marked
// NonRecoverable if the snapshot is corrupt (a checksum or format
// error), incomplete, of an unsupported version or scheme, or does not
// fit the job; err as it is otherwise (a read that may succeed later).
func RestoreFailure(err error) error {
	for _, target := range []error{storage.ErrCorrupt, storage.ErrIncomplete, storage.ErrVersion, storage.ErrUnsupported,
		state.ErrCorruptSnapshot, state.ErrIncompatibleState, errIncompatible} {
		if errors.Is(err, target) {
			return NonRecoverable(err)
		}
	}
	return err
}

// errIncompatible marks a snapshot that does not fit the job.
var errIncompatible = errors.New("jobmaster: the snapshot does not fit the job")

// BuildRestore reads the snapshot md at location and redistributes it over
// the subtasks of jg, whose parallelism may differ from the snapshot's:
// each subtask gets the key groups of its range from every old subtask
// that held some, and its share of the operator state
// (state.RedistributeOperatorState). State of an operator the job no
// longer has is an error unless allowNonRestored.
func BuildRestore(ctx context.Context, st storage.Storage, md *checkpoint.Metadata, location string, jg *graph.JobGraph, allowNonRestored bool) (*Restore, error) {
	return BuildRestoreFor(ctx, st, md, location, jg, allowNonRestored, nil)
}

// BuildRestoreFor is BuildRestore for the subtasks for which want is true
// (every subtask if want is nil): a process that runs some of a job's
// subtasks reads only the keyed state files they need. The entries of
// other subtasks are empty.
func BuildRestoreFor(ctx context.Context, st storage.Storage, md *checkpoint.Metadata, location string, jg *graph.JobGraph, allowNonRestored bool,
	want func(vertex, subtask int) bool) (*Restore, error) {
	if err := CheckRestore(md, location, jg, allowNonRestored); err != nil {
		return nil, err
	}
	r := &Restore{Tasks: make([][]map[string]*task.OperatorRestore, len(jg.Vertices))}
	for _, v := range jg.Vertices {
		r.Tasks[v.ID] = make([]map[string]*task.OperatorRestore, v.Parallelism)
		for s := range v.Parallelism {
			r.Tasks[v.ID][s] = map[string]*task.OperatorRestore{}
		}
	}
	read := reader{ctx: ctx, st: st, location: location, keyed: map[string]*state.KeyedSnapshot{}}
	for _, v := range jg.Vertices {
		for _, n := range v.Nodes {
			id := jg.OperatorIDs[n.ID]
			op, ok := md.Operator(id)
			if !ok {
				continue
			}
			maxP := jg.Stream.MaxParallelismOf(n)
			if err := restoreOperator(&read, op, v, maxP, r.Tasks[v.ID], want); err != nil {
				return nil, fmt.Errorf("jobmaster: operator %s: %w", n, err)
			}
		}
	}
	return r, nil
}

// CheckRestore reports whether jg can start from the snapshot md at
// location without reading its state: state of an operator the job no
// longer has is an error unless allowNonRestored.
func CheckRestore(md *checkpoint.Metadata, location string, jg *graph.JobGraph, allowNonRestored bool) error {
	ids := map[string]bool{}
	for _, n := range jg.Stream.Nodes {
		ids[jg.OperatorIDs[n.ID]] = true
	}
	for _, op := range md.Operators {
		if !ids[op.ID] && !allowNonRestored && hasState(op) {
			// The snapshot does not keep UIDs, and the operator's ID is a
			// hash that no user wrote: its name is what there is to say.
			return NonRecoverable(fmt.Errorf("%w: the snapshot at %s has state for operator %q, which the job does not have "+
				"(an operator keeps its state across versions of a job through its UID); "+
				"allow non-restored state (--allowNonRestoredState, %s) to start without it",
				errIncompatible, location, op.Name, config.SavepointIgnoreUnclaimedState.Key()))
		}
	}
	return nil
}

func hasState(op checkpoint.OperatorState) bool {
	if op.Coordinator != nil {
		return true
	}
	for _, s := range op.Subtasks {
		if !s.Keyed.IsZero() || !s.Operator.IsZero() {
			return true
		}
	}
	return false
}

func restoreOperator(read *reader, op *checkpoint.OperatorState, v *graph.Vertex, maxP int, tasks []map[string]*task.OperatorRestore,
	want func(vertex, subtask int) bool) error {
	p := v.Parallelism
	hasKeyed := slices.ContainsFunc(op.Subtasks, func(s checkpoint.SubtaskState) bool { return !s.Keyed.IsZero() })
	if hasKeyed && op.MaxParallelism != maxP {
		return fmt.Errorf("%w: its keyed state has max parallelism %d, the job %d: key groups cannot be split differently (keep the max parallelism)", errIncompatible, op.MaxParallelism, maxP)
	}
	// Operator state: the old subtasks' snapshots, redistributed.
	old := make([]*state.OperatorSnapshot, len(op.Subtasks))
	any := false
	for i, s := range op.Subtasks {
		if s.Operator.IsZero() {
			continue
		}
		data, err := read.st.ReadState(read.ctx, read.location, s.Operator)
		if err != nil {
			return err
		}
		snap := &state.OperatorSnapshot{}
		if err := snap.UnmarshalBinary(data); err != nil {
			return fmt.Errorf("the operator state of its subtask %d/%d: %w", i+1, len(op.Subtasks), err)
		}
		old[i], any = snap, true
	}
	var shares []*state.OperatorSnapshot
	if any {
		var err error
		if shares, err = state.RedistributeOperatorState(old, p); err != nil {
			return err
		}
	}
	for s := range p {
		if want != nil && !want(v.ID, s) {
			continue
		}
		or := &task.OperatorRestore{}
		if shares != nil {
			or.Operator = shares[s]
		}
		if hasKeyed {
			r := keygroup.RangeFor(maxP, p, s)
			for _, sub := range op.Subtasks {
				if sub.Keyed.IsZero() || !overlaps(sub.KeyGroups, r) {
					continue
				}
				ks, err := read.keyedSnapshot(sub.Keyed)
				if err != nil {
					return err
				}
				or.Keyed = append(or.Keyed, ks)
			}
		}
		tasks[s][op.ID] = or
	}
	return nil
}

func overlaps(a, b keygroup.Range) bool { return a.Start <= b.End && b.Start <= a.End }

// reader reads and decodes state files, each keyed file once.
type reader struct {
	ctx      context.Context
	st       storage.Storage
	location string
	keyed    map[string]*state.KeyedSnapshot
}

func (r *reader) keyedSnapshot(h checkpoint.StateHandle) (*state.KeyedSnapshot, error) {
	if ks, ok := r.keyed[h.Path]; ok {
		return ks, nil
	}
	data, err := r.st.ReadState(r.ctx, r.location, h)
	if err != nil {
		return nil, err
	}
	ks := &state.KeyedSnapshot{}
	if err := ks.UnmarshalBinary(data); err != nil {
		return nil, fmt.Errorf("keyed state %s: %w", h.Path, err)
	}
	r.keyed[h.Path] = ks
	return ks, nil
}

// CheckpointJob describes jg to the checkpoint coordinator, and lists the
// coordinators of its operators.
func CheckpointJob(id string, jg *graph.JobGraph) (checkpoint.Job, []OperatorCoordinator) {
	cj := checkpoint.Job{ID: id}
	var coords []OperatorCoordinator
	for _, v := range jg.Vertices {
		cj.TaskNames = append(cj.TaskNames, v.Name())
		for s := range v.Parallelism {
			t := checkpoint.TaskID{Vertex: v.ID, Subtask: s}
			cj.Tasks = append(cj.Tasks, t)
			if v.Head().Source {
				cj.Sources = append(cj.Sources, t)
			}
		}
		for _, n := range v.Nodes {
			opID := jg.OperatorIDs[n.ID]
			cj.Operators = append(cj.Operators, checkpoint.OperatorInfo{
				ID: opID, Name: n.Name, Parallelism: v.Parallelism, MaxParallelism: jg.Stream.MaxParallelismOf(n),
			})
			if n.Coordinator != nil {
				coords = append(coords, OperatorCoordinator{
					Node: n.ID, OperatorID: opID, Name: n.String(), Vertex: v.ID, Parallelism: v.Parallelism, Factory: n.Coordinator,
				})
			}
		}
	}
	return cj, coords
}
