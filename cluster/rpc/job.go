package rpc

import (
	"github.com/runnel-io/runnel/runtime/checkpoint"
	"github.com/runnel-io/runnel/runtime/network"
)

// The methods that run a job across processes. A job's JobMaster runs in a
// process of the job's program, started by the Dispatcher; its subtasks run
// in worker processes of the program, one per TaskManager that holds slots
// of the job, started by the TaskManager. The messages go:
//
//	JobMaster → Dispatcher     RegisterJobMaster, JobStatus, RequestSlots, ReleaseSlots, TaskManagerUnreachable
//	Dispatcher → JobMaster     SlotsAllocated, SlotsLost, SlotRequestFailed, JobControl
//	JobMaster → TaskManager    StartWorker, StopWorker
//	TaskManager → JobManager   CheckWorker (before it starts a worker)
//	TaskManager → JobMaster    WorkerExited
//	worker → JobMaster         RegisterWorker, WorkerReport
//	JobMaster → worker         WorkerControl
const (
	MethodRegisterJobMaster      = "Dispatcher.RegisterJobMaster"
	MethodJobStatus              = "Dispatcher.JobStatus"
	MethodRequestSlots           = "ResourceManager.RequestSlots"
	MethodReleaseSlots           = "ResourceManager.ReleaseSlots"
	MethodTaskManagerUnreachable = "ResourceManager.TaskManagerUnreachable"
	MethodCheckWorker            = "ResourceManager.CheckWorker"

	MethodSlotsAllocated    = "JobMaster.SlotsAllocated"
	MethodSlotsLost         = "JobMaster.SlotsLost"
	MethodSlotRequestFailed = "JobMaster.SlotRequestFailed"
	MethodJobControl        = "JobMaster.JobControl"
	MethodRegisterWorker    = "JobMaster.RegisterWorker"
	MethodWorkerReport      = "JobMaster.WorkerReport"
	MethodWorkerExited      = "JobMaster.WorkerExited"

	MethodStartWorker = "TaskManager.StartWorker"
	MethodStopWorker  = "TaskManager.StopWorker"

	MethodWorkerControl = "Worker.Control"
)

// Empty is the answer of calls that return nothing.
type Empty struct{}

// Vertex describes one task of a job's graph.
type Vertex struct {
	ID             string `json:"id"`
	Name           string `json:"name"`
	Parallelism    int    `json:"parallelism"`
	MaxParallelism int    `json:"maxParallelism"`
}

// RegisterJobMaster tells the Dispatcher that the JobMaster of JobID runs
// and listens at Address.
type RegisterJobMaster struct {
	JobID       string   `json:"jobId"`
	Address     string   `json:"address"`
	Name        string   `json:"name"`
	Fingerprint string   `json:"fingerprint"`
	Vertices    []Vertex `json:"vertices"`
}

// JobStatus reports a job's state to the Dispatcher: State is one of the
// rest.State* names. Exception, if set, is a failure that caused the
// change. Checkpoints is the job's checkpoint statistics now.
type JobStatus struct {
	JobID       string           `json:"jobId"`
	State       string           `json:"state"`
	Timestamp   int64            `json:"timestamp"`
	Exception   *Exception       `json:"exception,omitempty"`
	Checkpoints *CheckpointStats `json:"checkpoints,omitempty"`
}

// Exception is one failure of a job.
type Exception struct {
	Name      string `json:"name"`
	Message   string `json:"message"`
	Timestamp int64  `json:"timestamp"`
	// Labels classify the failure (Flink's failure labels): "attempt",
	// the attempt that failed (from 1), and "restart", the delay before
	// the next attempt or "none".
	Labels map[string]string `json:"labels,omitempty"`
}

// CheckpointStats are a job's checkpoint statistics.
type CheckpointStats struct {
	checkpoint.Stats
	// LastSavepointID and LastSavepointLocation name the latest savepoint
	// taken by the job, if any.
	LastSavepointID       int64  `json:"lastSavepointId"`
	LastSavepointLocation string `json:"lastSavepointLocation"`
	// RestoredIsSavepoint says whether RestoredLocation is a savepoint.
	RestoredIsSavepoint bool `json:"restoredIsSavepoint"`
}

// RequestSlots asks the ResourceManager for Slots slots for JobID; the
// outcome reaches the JobMaster as SlotsAllocated or SlotRequestFailed.
type RequestSlots struct {
	JobID string `json:"jobId"`
	Slots int    `json:"slots"`
}

// ReleaseSlots frees every slot of JobID.
type ReleaseSlots struct {
	JobID string `json:"jobId"`
}

// TaskManagerUnreachable tells the ResourceManager that a JobMaster cannot
// reach TaskManager: it is taken as lost at once rather than after the
// heartbeat timeout.
type TaskManagerUnreachable struct {
	JobID       string `json:"jobId"`
	TaskManager string `json:"taskManager"`
	Reason      string `json:"reason"`
}

// Slot is one slot of a TaskManager.
type Slot struct {
	TaskManager string `json:"taskManager"`
	Index       int    `json:"index"`
	// Address is the TaskManager's RPC address.
	Address string `json:"address"`
}

// SlotsAllocated hands slots to a job.
type SlotsAllocated struct {
	JobID string `json:"jobId"`
	Slots []Slot `json:"slots"`
}

// SlotsLost takes slots away from a job: their TaskManager is gone.
type SlotsLost struct {
	JobID       string `json:"jobId"`
	TaskManager string `json:"taskManager"`
	Slots       []Slot `json:"slots"`
	Reason      string `json:"reason"`
}

// SlotRequestFailed fails a job's oldest slot request.
type SlotRequestFailed struct {
	JobID  string `json:"jobId"`
	Slots  int    `json:"slots"`
	Reason string `json:"reason"`
}

// The operations of JobControl.
const (
	ControlDetails           = "details"
	ControlCancel            = "cancel"
	ControlSavepoint         = "savepoint"
	ControlStop              = "stop"
	ControlTriggerCheckpoint = "checkpoint"
)

// JobControl is an operation on a running job, from the Dispatcher's REST
// API: Op is one of the Control* names.
type JobControl struct {
	JobID string `json:"jobId"`
	Op    string `json:"op"`
	// Dir is a savepoint's target directory ("" for the default).
	Dir string `json:"dir,omitempty"`
	// CancelJob (savepoint) cancels the job after the savepoint; Drain
	// (stop) ends the sources' input first.
	CancelJob bool `json:"cancelJob,omitempty"`
	Drain     bool `json:"drain,omitempty"`
}

// JobControlResult answers JobControl: the savepoint's location or the
// checkpoint's ID.
type JobControlResult struct {
	Location     string     `json:"location,omitempty"`
	CheckpointID int64      `json:"checkpointId,omitempty"`
	Status       *JobStatus `json:"status,omitempty"`
	// Metrics (details) are the latest metrics of each worker, by
	// TaskManager.
	Metrics map[string]WorkerMetrics `json:"metrics,omitempty"`
}

// StartWorker asks a TaskManager to start the worker process of JobID,
// which then registers with the JobMaster at JobMaster. A TaskManager
// runs at most one worker per job: starting one that runs does nothing.
type StartWorker struct {
	JobID string `json:"jobId"`
	// Builtin: the program is the TaskManager's own runnel binary;
	// otherwise Program is the BlobServer key of the job's binary, served
	// at BlobAddress.
	Builtin     bool     `json:"builtin"`
	Program     string   `json:"program,omitempty"`
	BlobAddress string   `json:"blobAddress,omitempty"`
	Args        []string `json:"args"`
	WorkingDir  string   `json:"workingDir,omitempty"`
	JobMaster   string   `json:"jobMaster"`
	// Env is the environment entry (NAME=value) that tells the program
	// its role and its configuration; the TaskManager adds it to its own
	// environment.
	Env string `json:"env"`
}

// CheckWorker is what a TaskManager asks the JobManager it registered
// with before it starts a worker (StartWorker): whether JobID holds slots
// on TaskManager, and has its JobMaster at JobMaster. The answer is a
// WorkerGrant, or a CodeForbidden error saying why not.
type CheckWorker struct {
	TaskManager string `json:"taskManager"`
	JobID       string `json:"jobId"`
	JobMaster   string `json:"jobMaster"`
}

// WorkerGrant is what the worker of a job runs, as the job was
// submitted: the TaskManager runs this, not what a StartWorker says. The
// worker's configuration (Config, Fingerprint, heartbeats) is the one the
// Dispatcher gave the job's JobMaster: a caller cannot point a worker at
// other checkpoint storage.
type WorkerGrant struct {
	Builtin     bool     `json:"builtin"`
	Program     string   `json:"program,omitempty"`
	BlobAddress string   `json:"blobAddress,omitempty"`
	Args        []string `json:"args"`
	WorkingDir  string   `json:"workingDir,omitempty"`

	Config                  map[string]string `json:"config,omitempty"`
	Fingerprint             string            `json:"fingerprint,omitempty"`
	HeartbeatIntervalMillis int64             `json:"heartbeatIntervalMillis,omitempty"`
	HeartbeatTimeoutMillis  int64             `json:"heartbeatTimeoutMillis,omitempty"`
}

// StopWorker stops the worker process of JobID, if one runs.
type StopWorker struct {
	JobID string `json:"jobId"`
}

// WorkerExited tells a JobMaster that the worker process of its job on
// TaskManager ended without being asked to stop.
type WorkerExited struct {
	JobID       string `json:"jobId"`
	TaskManager string `json:"taskManager"`
	Error       string `json:"error"`
}

// RegisterWorker tells a JobMaster that the worker of its job on
// TaskManager runs: its RPC endpoint is at Address, its data server at
// DataAddress. Fingerprint is the plan the worker built from the program.
type RegisterWorker struct {
	TaskManager string `json:"taskManager"`
	Address     string `json:"address"`
	DataAddress string `json:"dataAddress"`
	Fingerprint string `json:"fingerprint"`
}

// The kinds of Report.
const (
	ReportDeployed    = "deployed"    // Attempt's subtasks are deployed
	ReportEnded       = "ended"       // Attempt ended on the worker (Error if failed)
	ReportAcknowledge = "acknowledge" // a checkpoint's state is durable
	ReportDecline     = "decline"
	ReportFinished    = "finished" // a subtask reached the end of its input
	ReportEvent       = "event"    // an operator event for a coordinator
	ReportLocation    = "location" // asks for a checkpoint's location (answered in WorkerReportResult)
)

// Report is one thing a worker tells its JobMaster.
type Report struct {
	Kind         string                             `json:"kind"`
	Attempt      int                                `json:"attempt"`
	Task         checkpoint.TaskID                  `json:"task"`
	CheckpointID int64                              `json:"checkpointId,omitempty"`
	States       map[string]checkpoint.SubtaskState `json:"states,omitempty"`
	Error        string                             `json:"error,omitempty"`
	// NonRecoverable marks an Error that no restart can mend.
	NonRecoverable bool   `json:"nonRecoverable,omitempty"`
	Node           int    `json:"node,omitempty"`
	Event          []byte `json:"event,omitempty"`
}

// WorkerReport carries a worker's reports, in order; a heartbeat carries
// none but the worker's Metrics.
type WorkerReport struct {
	TaskManager string         `json:"taskManager"`
	Reports     []Report       `json:"reports"`
	Metrics     *WorkerMetrics `json:"metrics,omitempty"`
}

// WorkerMetrics are a worker's network buffers and back-pressure now.
type WorkerMetrics struct {
	// SegmentsInUse, MaxSegmentsInUse and SegmentLimit sum over the
	// producers' pools (worker.Metrics).
	SegmentsInUse    int `json:"segmentsInUse"`
	MaxSegmentsInUse int `json:"maxSegmentsInUse"`
	SegmentLimit     int `json:"segmentLimit"`
	// QueuedBuffers wait in input channels.
	QueuedBuffers int `json:"queuedBuffers"`
	// BackPressuredChannels are remote output channels waiting for
	// credit now.
	BackPressuredChannels int `json:"backPressuredChannels"`
	RemoteOutputChannels  int `json:"remoteOutputChannels"`
	RemoteInputChannels   int `json:"remoteInputChannels"`
}

// WorkerReportResult answers WorkerReport; Location answers a
// ReportLocation.
type WorkerReportResult struct {
	Location string `json:"location,omitempty"`
}

// The kinds of Control.
const (
	ControlDeploy   = "deploy"   // deploy Attempt (Assignment, Restore)
	ControlRun      = "run"      // run the deployed subtasks of Attempt
	ControlCancelAt = "cancel"   // cancel Attempt
	ControlTrigger  = "trigger"  // trigger a checkpoint at a source subtask
	ControlComplete = "complete" // a checkpoint completed
	ControlAbort    = "abort"    // a checkpoint was aborted
	ControlEvent    = "event"    // an operator event from a coordinator
)

// Assignment places the subtasks of an attempt: Workers maps a
// TaskManager ID to its worker's data address, Subtasks[vertex][subtask]
// is the TaskManager that runs the subtask.
type Assignment struct {
	Workers  map[string]string `json:"workers"`
	Subtasks [][]string        `json:"subtasks"`
}

// Control is one thing a JobMaster tells a worker.
type Control struct {
	Kind    string            `json:"kind"`
	Attempt int               `json:"attempt"`
	Task    checkpoint.TaskID `json:"task"`
	// Deploy: the placement, and the snapshot to restore (its location;
	// "" for none).
	Assignment       *Assignment `json:"assignment,omitempty"`
	RestoreLocation  string      `json:"restoreLocation,omitempty"`
	AllowNonRestored bool        `json:"allowNonRestored,omitempty"`
	// Trigger, Complete, Abort.
	Barrier      *network.Barrier   `json:"barrier,omitempty"`
	CheckpointID int64              `json:"checkpointId,omitempty"`
	Options      checkpoint.Options `json:"options"`
	// Event.
	Node  int    `json:"node,omitempty"`
	Event []byte `json:"event,omitempty"`
}

// WorkerControl carries a JobMaster's controls for one worker, in order.
type WorkerControl struct {
	JobID    string    `json:"jobId"`
	Controls []Control `json:"controls"`
}
