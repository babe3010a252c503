package jobmaster

import "time"

// Action is something the driver of a Core must do, returned by
// Core.Ready in the order the core decided them. The concrete types are
// RequestSlots, ReleaseSlots, StartWorker, StopWorker, Deploy,
// StartCheckpoints, RunAttempt, CancelAttempt, EndCheckpoints,
// StateChanged and Failure; no other package can add one.
//
// Slices in actions are the driver's to keep: the core does not modify
// them afterwards.
type Action interface{ action() }

// RequestSlots asks the ResourceManager for N more slots for the job.
// Each is answered with a SlotsOffered or, for the whole request, a
// SlotRequestFailed.
type RequestSlots struct{ N int }

// ReleaseSlots gives every slot of the job back, and cancels its pending
// requests: the job is over.
type ReleaseSlots struct{}

// StartWorker has the TaskManager that holds a slot of the job start the
// job's worker there. The driver answers with WorkerStarted once it has
// registered, or WorkerLost.
type StartWorker struct{ Slot Slot }

// StopWorker stops the job's worker on a TaskManager: it is no longer
// used, the job is over, or it did not end its attempt in time. The core
// takes it as gone at once; the driver reports nothing back.
type StopWorker struct{ TaskManager string }

// Deploy sends a worker its subtasks of an attempt: Placement says where
// every subtask runs, Restore is the checkpoint or savepoint to start
// from ("" for none). The worker deploys them, answers with Deployed, and
// does not let them run before RunAttempt.
type Deploy struct {
	TaskManager string
	Attempt     int
	Placement   Placement
	Restore     string
}

// StartCheckpoints starts the checkpoints and operator coordinators of an
// attempt whose every subtask is deployed: it comes before any
// RunAttempt of the attempt, so that no operator event is lost.
type StartCheckpoints struct {
	Attempt   int
	Placement Placement
}

// RunAttempt lets a worker's deployed subtasks of Attempt run.
type RunAttempt struct {
	TaskManager string
	Attempt     int
}

// CancelAttempt cancels a worker's subtasks of Attempt; the worker
// answers with TasksEnded once they have all returned.
type CancelAttempt struct {
	TaskManager string
	Attempt     int
}

// EndCheckpoints ends the checkpoints of an attempt that is over: pending
// ones are aborted and, with Restart, the coordinators are reset for the
// next attempt. The driver answers with CheckpointsEnded, naming the
// latest completed checkpoint.
type EndCheckpoints struct {
	Attempt int
	Restart bool
	Cause   error // nil when the attempt finished
}

// StateChanged says the job moved from one state to another. Cause is
// the failure that moved it into RESTARTING, FAILING or FAILED (nil
// otherwise).
type StateChanged struct {
	From, To JobState
	Attempt  int
	Cause    error
}

// Failure says that an attempt failed, why, and what follows: a restart
// as attempt Attempt+1 after Delay, or (Restart false) the end of the
// job. It comes once per failure of a running or scheduled attempt, before
// the StateChanged it causes.
type Failure struct {
	Attempt int
	Cause   error
	Restart bool
	Delay   time.Duration
}

func (RequestSlots) action()     {}
func (ReleaseSlots) action()     {}
func (StartWorker) action()      {}
func (StopWorker) action()       {}
func (Deploy) action()           {}
func (StartCheckpoints) action() {}
func (RunAttempt) action()       {}
func (CancelAttempt) action()    {}
func (EndCheckpoints) action()   {}
func (StateChanged) action()     {}
func (Failure) action()          {}

// Slot is a slot offered to the job: the TaskManager that holds it and
// that TaskManager's RPC address.
type Slot struct {
	TaskManager string
	Address     string
}

// Placement says where the subtasks of an attempt run: Subtasks[v][s] is
// the TaskManager of subtask s of vertex v, and Workers lists each
// TaskManager used once, in the order of the job's slots. Subtask s of
// every vertex shares slot s (Flink's slot sharing).
type Placement struct {
	Subtasks [][]string
	Workers  []string
}
