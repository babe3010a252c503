package job

import (
	"context"
	"io"
	"log/slog"
	"time"

	"github.com/runnel-io/runnel/runtime/checkpoint"
	"github.com/runnel-io/runnel/runtime/checkpoint/storage"
	"github.com/runnel-io/runnel/runtime/clock"
	"github.com/runnel-io/runnel/runtime/graph"
	"github.com/runnel-io/runnel/runtime/restart"
)

// Config is how a job runs. Zero values take the defaults.
type Config struct {
	// Logger is the runtime's and the operators' logger (discards if nil).
	Logger *slog.Logger
	// ChannelCapacity is the number of buffers a channel queues
	// (network.DefaultChannelCapacity if 0).
	ChannelCapacity int
	// SegmentSize is the size of a network segment in bytes
	// (network.DefaultSegmentSize if 0).
	SegmentSize int
	// Clock is the processing time of every task (clock.System if nil).
	Clock clock.Clock
	// AutoWatermarkInterval is how often periodic watermark generators
	// emit (0: never).
	AutoWatermarkInterval time.Duration
	// BufferTimeout is how long a record may wait in a partly filled
	// network buffer before its task sends it (Flink's
	// execution.buffer-timeout): positive, at most that long (in the
	// Clock's time); 0, not at all (a flush after every record); negative,
	// until the buffer is full. nil, as in the zero Config, is
	// task.DefaultBufferTimeout, 100 ms.
	BufferTimeout *time.Duration
	// JobID is the job's ID (a random one if empty).
	JobID string
	// Checkpoints enables checkpoints and savepoints; nil: neither.
	Checkpoints *Checkpoints
	// Restart decides whether a failed job restarts; nil: it does not.
	// It holds the state of one run of the job: a Config runs one job.
	Restart restart.Strategy
	// RestorePath is a savepoint or retained checkpoint to start from.
	RestorePath string
	// AllowNonRestoredState lets the job start from a snapshot that holds
	// state of operators it no longer has.
	AllowNonRestoredState bool
}

// Checkpoints configure a job's checkpoints.
type Checkpoints struct {
	// Config is the coordinator's configuration; Interval 0 takes no
	// periodic checkpoints (savepoints can still be taken).
	Config checkpoint.Config
	// Storage is where checkpoints and savepoints are written.
	Storage storage.Storage
}

// Job is a job as an executor takes it.
type Job struct {
	Name   string
	Graph  *graph.JobGraph
	Config Config
	// Stdout receives what a client prints of the job (its ID, its
	// result); Stderr one line per failure and restart. Either may be nil
	// for none.
	Stdout, Stderr io.Writer
}

// Handle is a job an executor started. Its methods are safe for
// concurrent use.
type Handle interface {
	// ID is the job's ID.
	ID() string
	// Wait blocks until the job has ended (or, for a detached client,
	// until it was submitted) and returns its failure: nil if it finished
	// or was stopped with a savepoint, an error wrapping context.Canceled
	// if it was cancelled.
	Wait() error
	// Cancel cancels the job; it does not wait.
	Cancel()
	// TriggerSavepoint takes a savepoint into dir ("" for the default)
	// and returns its location.
	TriggerSavepoint(ctx context.Context, dir string) (string, error)
	// StopWithSavepoint takes a savepoint into dir after which the job
	// ends; with drain, the sources end their input first.
	StopWithSavepoint(ctx context.Context, dir string, drain bool) (string, error)
	// TriggerCheckpoint takes a checkpoint now and returns its ID.
	TriggerCheckpoint(ctx context.Context) (int64, error)
	// CheckpointStats returns the statistics of the job's checkpoints,
	// also after it ended.
	CheckpointStats(ctx context.Context) (checkpoint.Stats, error)
	// Restarts is how many times the job restarted after a failure.
	Restarts() int
}

// Executor runs jobs: the embedded mini-cluster, or the part a cluster
// gave the process (package stream's Executor is this interface). Execute
// starts j and returns its handle without waiting for its end; it must be
// safe for concurrent use.
type Executor interface {
	Execute(ctx context.Context, j *Job) (Handle, error)
	// Mode says where the job's tasks run, which decides the checkpoint
	// storage a Job must carry.
	Mode() Mode
}

// Mode is where an executor runs a job's tasks.
type Mode int

const (
	// InProcess runs every task in this process: any checkpoint storage
	// will do, a temporary directory too.
	InProcess Mode = iota
	// Submit hands the job to a cluster: this process runs no task and
	// needs no checkpoint storage.
	Submit
	// Distributed runs a part of the job in this process and the rest in
	// others: the checkpoint storage must be one every process reaches.
	Distributed
)
