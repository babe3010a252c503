package rest

import (
	"context"
	"errors"
	"io"
)

// The states of a job, as Flink names them (JobStatus).
const (
	StateInitializing = "INITIALIZING"
	StateCreated      = "CREATED"
	StateRunning      = "RUNNING"
	StateRestarting   = "RESTARTING"
	StateFailing      = "FAILING"
	StateCancelling   = "CANCELLING"
	StateFinished     = "FINISHED"
	StateFailed       = "FAILED"
	StateCanceled     = "CANCELED"
)

// Terminal reports whether a job in state has ended for good.
func Terminal(state string) bool {
	return state == StateFinished || state == StateFailed || state == StateCanceled
}

// JobDetails is one job in detail (/jobs/:jobid): the fields of Flink's
// JobDetailsInfo that runnel has.
type JobDetails struct {
	ID          string `json:"jid"`
	Name        string `json:"name"`
	IsStoppable bool   `json:"isStoppable"`
	State       string `json:"state"`
	StartTime   int64  `json:"start-time"`
	// EndTime is -1 while the job runs.
	EndTime  int64 `json:"end-time"`
	Duration int64 `json:"duration"`
	Now      int64 `json:"now"`
	// Timestamps holds, by state, when the job last entered it (Unix
	// milliseconds).
	Timestamps map[string]int64 `json:"timestamps"`
	Vertices   []JobVertex      `json:"vertices"`
}

// JobVertex is one task of a job (a chain of operators).
type JobVertex struct {
	ID             string `json:"id"`
	Name           string `json:"name"`
	Parallelism    int    `json:"parallelism"`
	MaxParallelism int    `json:"maxParallelism"`
	Status         string `json:"status"`
}

// JobExceptions is the history of a job's failures
// (/jobs/:jobid/exceptions), newest first: Flink's
// JobExceptionsInfoWithHistory.
type JobExceptions struct {
	ExceptionHistory ExceptionHistory `json:"exceptionHistory"`
}

// ExceptionHistory lists failures; Truncated says that older ones were
// dropped.
type ExceptionHistory struct {
	Entries   []Exception `json:"entries"`
	Truncated bool        `json:"truncated"`
}

// Exception is one failure of a job.
type Exception struct {
	// ExceptionName is the kind of failure, Stacktrace its whole message.
	ExceptionName string `json:"exceptionName"`
	Stacktrace    string `json:"stacktrace"`
	Timestamp     int64  `json:"timestamp"`
	// TaskName and TaskManagerID say where it happened, when known.
	TaskName      string `json:"taskName,omitempty"`
	TaskManagerID string `json:"taskManagerId,omitempty"`
	// FailureLabels classify the failure: "attempt", the attempt that
	// failed (from 1), and "restart", the delay before the next attempt
	// or "none".
	FailureLabels map[string]string `json:"failureLabels,omitempty"`
}

// Checkpoints are a job's checkpoint statistics
// (/jobs/:jobid/checkpoints): the fields of Flink's
// CheckpointingStatistics that runnel has.
type Checkpoints struct {
	Counts CheckpointCounts  `json:"counts"`
	Latest LatestCheckpoints `json:"latest"`
}

// CheckpointCounts count a job's checkpoints.
type CheckpointCounts struct {
	Restored   int64 `json:"restored"`
	Total      int64 `json:"total"`
	InProgress int64 `json:"in_progress"`
	Completed  int64 `json:"completed"`
	Failed     int64 `json:"failed"`
}

// LatestCheckpoints are the latest checkpoints of each kind; nil if none.
type LatestCheckpoints struct {
	Completed *CompletedCheckpoint `json:"completed"`
	Savepoint *CompletedCheckpoint `json:"savepoint"`
	Restored  *RestoredCheckpoint  `json:"restored"`
}

// CompletedCheckpoint is a completed checkpoint or savepoint.
type CompletedCheckpoint struct {
	ID          int64  `json:"id"`
	Status      string `json:"status"` // COMPLETED
	IsSavepoint bool   `json:"is_savepoint"`
	// ExternalPath is its location.
	ExternalPath string `json:"external_path"`
	// EndToEndDuration is from trigger to completion, in milliseconds.
	EndToEndDuration int64 `json:"end_to_end_duration"`
}

// RestoredCheckpoint is the snapshot the job last started from.
type RestoredCheckpoint struct {
	ID           int64  `json:"id"`
	IsSavepoint  bool   `json:"is_savepoint"`
	ExternalPath string `json:"external_path"`
}

// Metric is one metric of a job (/jobs/:jobid/metrics), in Flink's
// shape: its ID and, when asked for (?get=), its value.
type Metric struct {
	ID    string `json:"id"`
	Value string `json:"value,omitempty"`
}

// Submission is a job to run (POST /jobs): its program and how to start
// it. The request is multipart/form-data with a part "request" holding
// the Submission as JSON and, unless Builtin, a part "program" holding the
// job's binary.
type Submission struct {
	// Name is the job's name.
	Name string `json:"jobName"`
	// Builtin is true when the program is the runnel binary of the
	// cluster itself (a job that ships with runnel); then no binary is
	// sent.
	Builtin bool `json:"builtin"`
	// Args are the program's arguments (without the program's name).
	Args []string `json:"programArgs"`
	// Config is the configuration, by Flink's keys, that every process
	// of the job starts its environment with (parallelism.default,
	// execution.savepoint.path, ...).
	Config map[string]string `json:"config"`
	// WorkingDir is the submitter's working directory; the job's
	// processes run in it when it exists on their host, so that relative
	// paths in Args mean the same everywhere on one host.
	WorkingDir string `json:"workingDir"`
	// Fingerprint is the fingerprint of the job's plan (graph.Plan): every
	// process of the job must build the same plan from the program.
	Fingerprint string `json:"planFingerprint"`
}

// SubmitResponse answers a submission.
type SubmitResponse struct {
	JobURL string `json:"jobUrl"`
	JobID  string `json:"jobid"`
}

// ExecutionResult is the outcome of a job
// (/jobs/:jobid/execution-result): Flink's JobExecutionResultResponseBody.
type ExecutionResult struct {
	// Status is IN_PROGRESS or COMPLETED.
	Status QueueStatus `json:"status"`
	// Result is set once Status is COMPLETED.
	Result *JobResult `json:"job-execution-result,omitempty"`
}

// QueueStatus is the status of an asynchronous operation.
type QueueStatus struct {
	ID string `json:"id"` // IN_PROGRESS or COMPLETED
}

// JobResult is how a job ended.
type JobResult struct {
	ID string `json:"id"`
	// ApplicationStatus is SUCCEEDED, FAILED or CANCELED.
	ApplicationStatus string `json:"application-status"`
	// NetRuntime is the job's run time in milliseconds.
	NetRuntime   int64         `json:"net-runtime"`
	FailureCause *FailureCause `json:"failure-cause,omitempty"`
}

// FailureCause is why an operation or a job failed.
type FailureCause struct {
	Class      string `json:"class"`
	StackTrace string `json:"stack-trace"`
}

// Errors a JobBackend returns to be answered with their status code; wrap
// them with %w and a message.
var (
	// ErrBadRequest: 400.
	ErrBadRequest = errors.New("rest: bad request")
	// ErrConflict: 409, the job cannot do that in its state (not running,
	// no checkpoint storage).
	ErrConflict = errors.New("rest: conflict")
)

// JobBackend runs and controls jobs: the Dispatcher. Its methods are
// called concurrently, from request goroutines (the trigger calls from
// goroutines the server owns; ctx is cancelled when the server closes).
// A job that does not exist is ErrNotFound.
type JobBackend interface {
	Job(ctx context.Context, jobID string) (JobDetails, error)
	JobExceptions(ctx context.Context, jobID string) (JobExceptions, error)
	JobCheckpoints(ctx context.Context, jobID string) (Checkpoints, error)
	// JobMetrics are the job's metrics now, sorted by ID: the network
	// buffers and back-pressure of each of its workers.
	JobMetrics(ctx context.Context, jobID string) ([]Metric, error)
	// Result is nil while the job runs.
	Result(ctx context.Context, jobID string) (*JobResult, error)
	// Submit starts a job; program is the job's binary, nil for a builtin
	// job.
	Submit(ctx context.Context, s Submission, program io.Reader) (jobID string, err error)
	Cancel(ctx context.Context, jobID string) error
	// TriggerSavepoint takes a savepoint into dir ("" for
	// state.savepoints.dir), then cancels the job if cancelJob, and
	// returns the savepoint's location once it is complete.
	TriggerSavepoint(ctx context.Context, jobID, dir string, cancelJob bool) (string, error)
	// StopWithSavepoint takes a savepoint after which the job ends; with
	// drain, the sources end their input first.
	StopWithSavepoint(ctx context.Context, jobID, dir string, drain bool) (string, error)
	// TriggerCheckpoint takes a checkpoint and returns its ID once it is
	// complete.
	TriggerCheckpoint(ctx context.Context, jobID string) (int64, error)
}
