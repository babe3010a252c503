package operator

import "github.com/runnel-io/runnel/state"

// Checkpoint identifies a checkpoint or savepoint as operators see it.
type Checkpoint struct {
	ID int64
	// Timestamp is when the checkpoint was triggered, in milliseconds since
	// the Unix epoch.
	Timestamp int64
	Savepoint bool
}

// Snapshotter is implemented by operators that hold state outside their
// backends (a source's reader positions, a sink's pending transactions).
// SnapshotState is called on the task's goroutine when the checkpoint's
// barrier reaches the operator, after every record before the barrier and
// before any record after it; the operator writes what it holds into its
// operator state (Context.OperatorState) or keyed state, which the task
// then snapshots. Flink's CheckpointedFunction.snapshotState.
//
// An error declines the checkpoint; it does not fail the task.
type Snapshotter interface {
	SnapshotState(cp Checkpoint) error
}

// CheckpointListener is implemented by operators that act when a checkpoint
// they took part in completes or is aborted: a two-phase-commit sink
// commits on completion. Both are called on the task's goroutine, in
// checkpoint order for completions; a notification may be lost (the task
// failed first), so an operator must also handle the completion of a later
// checkpoint as covering earlier ones. An error fails the task.
type CheckpointListener interface {
	NotifyCheckpointComplete(id int64) error
	NotifyCheckpointAborted(id int64) error
}

// KeyedSnapshotter is a keyed state backend as the task sees it:
// state.KeyedBackend[K] for any K.
type KeyedSnapshotter interface {
	// Snapshot copies the backend's state, synchronously; the result is
	// the caller's and is written out while the operator goes on.
	Snapshot() (*state.KeyedSnapshot, error)
}

// CoordinatorGateway sends events from a subtask to its operator's
// coordinator (a source reader's split requests to its enumerator). It is
// safe for use from the task's goroutine; events from one subtask arrive in
// order.
type CoordinatorGateway interface {
	SendEvent(event []byte) error
}

// EventReceiver is implemented by operators that receive events from their
// coordinator (a source reader, its split assignments). HandleOperatorEvent
// is called on the task's goroutine, ordered with checkpoint barriers: an
// event the coordinator sent before it snapshotted for a checkpoint is
// handled before the subtask takes part in that checkpoint, and one it sent
// after, after. An error fails the task.
type EventReceiver interface {
	HandleOperatorEvent(event []byte) error
}

// Coordinator runs once per operator beside its subtasks, in the job's
// master: Flink's OperatorCoordinator (a source's split enumerator). Its
// methods are called from one goroutine, the job master's, never
// concurrently; they must not block for long.
type Coordinator interface {
	// Start starts the coordinator; it may send events from here on.
	Start() error
	// HandleEventFromOperator receives an event a subtask sent through its
	// CoordinatorGateway.
	HandleEventFromOperator(subtask int, event []byte) error
	// SnapshotState returns the coordinator's state for checkpoint id. It
	// is called before the checkpoint's barriers enter the job: events the
	// coordinator sends afterwards reach the subtasks after they took part
	// in the checkpoint.
	SnapshotState(checkpointID int64) ([]byte, error)
	// NotifyCheckpointComplete says that checkpoint id is complete.
	NotifyCheckpointComplete(checkpointID int64)
	// Close releases the coordinator's resources.
	Close() error
}

// CoordinatorContext is what a Coordinator may call, from its own methods.
type CoordinatorContext interface {
	// SendEvent queues event for subtask; it does not block.
	SendEvent(subtask int, event []byte) error
	// Parallelism is the number of subtasks of the operator.
	Parallelism() int
}

// CoordinatorFactory creates an operator's coordinator; restored is its
// state from the checkpoint the job restores, or nil on a fresh start.
type CoordinatorFactory func(ctx CoordinatorContext, restored []byte) (Coordinator, error)

// InputEnder is implemented by source operators that can end their input on
// request, for a stop with a savepoint that drains the job. EndInput stops
// reading and emits what the end of the input would (the final
// watermark); PollNext is not called afterwards.
type InputEnder interface {
	EndInput() error
}
