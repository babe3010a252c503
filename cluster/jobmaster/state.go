package jobmaster

// JobState is the state of a job: Flink's JobStatus.
//
//	           Start
//	             │
//	             ▼
//	┌────────► CREATED ───── every subtask deployed ─────► RUNNING ─── every subtask finished ──► FINISHED
//	│            │  │                                       │   │
//	│            │  └── failure, no restart ──┐             │   └── failure, no restart ──┐
//	│            │                            ▼             │                             ▼
//	│            │                         FAILING ◄────────┼──────────────────────── FAILING ──► FAILED
//	│            │                                          │
//	│            └──────── failure, restart allowed ──► RESTARTING ◄── failure, restart allowed
//	│                                                       │
//	│                 attempt over, delay passed: the next attempt is scheduled;
//	│                 RESTARTING ──── every subtask deployed ────► RUNNING
//	│
//	└── Cancel in CREATED, RUNNING or RESTARTING ──► CANCELLING ──► CANCELED
//	    Suspend in any of them                   ──► SUSPENDED (another JobMaster takes over)
//
// CREATED, RUNNING and RESTARTING have an attempt in progress (or, in
// RESTARTING, waiting for its delay); FAILING and CANCELLING end one.
// FINISHED, FAILED and CANCELED are globally terminal: the job is over.
// SUSPENDED ends this JobMaster's part but not the job.
type JobState string

const (
	Created    JobState = "CREATED"
	Running    JobState = "RUNNING"
	Failing    JobState = "FAILING"
	Restarting JobState = "RESTARTING"
	Cancelling JobState = "CANCELLING"
	Canceled   JobState = "CANCELED"
	Finished   JobState = "FINISHED"
	Failed     JobState = "FAILED"
	Suspended  JobState = "SUSPENDED"
)

// Terminal reports whether the job is over for this JobMaster: globally
// terminal, or suspended.
func (s JobState) Terminal() bool {
	switch s {
	case Finished, Failed, Canceled, Suspended:
		return true
	}
	return false
}

// transitions are the edges of the diagram above: what the core may
// move a job from each state to (TestRandomized checks every move).
var transitions = map[JobState][]JobState{
	"":         {Created},
	Created:    {Running, Restarting, Failing, Cancelling, Suspended},
	Running:    {Finished, Restarting, Failing, Cancelling, Suspended},
	Restarting: {Running, Failing, Cancelling, Suspended},
	Failing:    {Failed},
	Cancelling: {Canceled},
}

// ExecutionState is the state of one subtask's current attempt: Flink's
// ExecutionState.
type ExecutionState string

const (
	ExecCreated   ExecutionState = "CREATED"
	ExecScheduled ExecutionState = "SCHEDULED" // waiting for slots and workers
	ExecDeploying ExecutionState = "DEPLOYING" // sent to its worker
	ExecRunning   ExecutionState = "RUNNING"   // told to run
	ExecFinished  ExecutionState = "FINISHED"
	ExecCanceling ExecutionState = "CANCELING"
	ExecCanceled  ExecutionState = "CANCELED"
	ExecFailed    ExecutionState = "FAILED"
)
