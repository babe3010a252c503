package checkpoint

// Action is something the driver must do, returned by Coordinator.Ready in
// the order the coordinator decided them. The concrete types are Trigger,
// WriteMetadata, Complete, Abort, Discard and FailJob; no other package can
// add one.
//
// Metadata pointers in actions are shared with the coordinator (Latest and
// Retained return the same ones): the driver must not modify them.
type Action interface {
	action()
}

// Trigger starts checkpoint ID: the driver snapshots every operator
// coordinator (answering with Coordinator.AckCoordinator) and then injects
// barriers carrying ID, Timestamp and Options at Job.Sources. Each task
// answers with Acknowledge or Decline.
type Trigger struct {
	ID int64
	// Timestamp is the trigger time, in milliseconds since the Unix epoch.
	Timestamp int64
	Options   Options
}

// WriteMetadata says that every task and coordinator acknowledged
// checkpoint Metadata.CheckpointID: the driver writes Metadata durably (for
// a savepoint, under Options.TargetDir) and reports the outcome with
// Coordinator.MetadataWritten. The checkpoint is not complete, and nobody
// may be told that it is, before that write succeeded.
type WriteMetadata struct {
	Metadata *Metadata
	Options  Options
}

// Complete says that checkpoint ID is complete and durable at Location.
// The driver notifies every task and coordinator
// (NotifyCheckpointComplete); if Options.Terminate or Options.Final is set
// the tasks end; for a savepoint it answers the requester with Location.
// Completes come in increasing ID order.
type Complete struct {
	ID       int64
	Options  Options
	Metadata *Metadata
	Location string
}

// Abort says that checkpoint ID will not complete. The driver notifies the
// tasks (NotifyCheckpointAborted), answers a savepoint's requester with
// Reason, and deletes what was written for the checkpoint. If the driver is
// still writing its metadata (the abort came from Restart or Stop), it
// deletes once that write has returned; the coordinator ignores the later
// MetadataWritten.
type Abort struct {
	ID      int64
	Options Options
	// Reason wraps one of ErrExpired, ErrDeclined, ErrInvalidAck,
	// ErrMetadataNotWritten, ErrSubsumed, ErrRestarting or ErrEnded.
	Reason error
}

// Discard says that completed checkpoint ID left the retained window
// (Config.NumRetained): the driver deletes it. A savepoint is never
// discarded, nor is the latest completed checkpoint.
type Discard struct {
	ID       int64
	Location string
}

// FailJob says that more than Config.TolerableFailures consecutive
// checkpoints failed: the driver fails the job (which then restarts by its
// restart strategy, calling Coordinator.Restart, or ends, calling Stop).
// Until then the coordinator triggers nothing.
type FailJob struct {
	// Reason wraps ErrTooManyFailures and the last failure's reason.
	Reason error
}

func (Trigger) action()       {}
func (WriteMetadata) action() {}
func (Complete) action()      {}
func (Abort) action()         {}
func (Discard) action()       {}
func (FailJob) action()       {}
