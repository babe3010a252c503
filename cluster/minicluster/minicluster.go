package minicluster

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"time"

	"github.com/runnel-io/runnel/cluster/jobmaster"
	"github.com/runnel-io/runnel/cluster/worker"
	"github.com/runnel-io/runnel/runtime/checkpoint"
	"github.com/runnel-io/runnel/runtime/checkpoint/storage"
	"github.com/runnel-io/runnel/runtime/clock"
	"github.com/runnel-io/runnel/runtime/graph"
	"github.com/runnel-io/runnel/runtime/network"
	"github.com/runnel-io/runnel/runtime/restart"
	"github.com/runnel-io/runnel/runtime/task"
)

// Options tune the in-process exchange. Zero values take the defaults.
type Options struct {
	Logger *slog.Logger
	// ChannelCapacity is the number of buffers a channel queues
	// (network.DefaultChannelCapacity).
	ChannelCapacity int
	// SegmentSize is the size of a network segment in bytes
	// (network.DefaultSegmentSize).
	SegmentSize int
	// Clock is the processing time of every task (clock.System).
	Clock clock.Clock
	// AutoWatermarkInterval is how often periodic watermark generators emit
	// (0: never).
	AutoWatermarkInterval time.Duration
	// BufferTimeout is how long a record may wait in a partly filled
	// network buffer before its task sends it (Flink's
	// execution.buffer-timeout): positive, at most that long (in the
	// Clock's time); 0, not at all (a flush after every record); negative,
	// until the buffer is full. nil, as in the zero Options, is
	// task.DefaultBufferTimeout, 100 ms.
	BufferTimeout *time.Duration

	// JobID is the job's ID (a random one if empty).
	JobID string
	// Checkpoints enables checkpoints and savepoints; nil: neither.
	Checkpoints *Checkpoints
	// Restart decides whether a failed job restarts; nil: it does not.
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

// Job is a deployed job graph: it runs, fails over and takes checkpoints
// and savepoints.
type Job struct {
	name  string
	id    string
	graph *graph.JobGraph
	opts  Options
	cp    *jobmaster.Checkpointer // nil without checkpoints and operator coordinators
	// restore is what the first attempt starts from, nil for nothing.
	restore *jobmaster.Restore

	mu       sync.Mutex
	w        *worker.Worker // of the running or last attempt
	restarts int
}

// Deploy prepares jg to run. Nothing runs until Run.
func Deploy(name string, jg *graph.JobGraph, opts Options) (*Job, error) {
	if opts.ChannelCapacity <= 0 {
		opts.ChannelCapacity = network.DefaultChannelCapacity
	}
	if opts.SegmentSize <= 0 {
		opts.SegmentSize = network.DefaultSegmentSize
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.Clock == nil {
		opts.Clock = clock.System{}
	}
	j := &Job{name: name, id: opts.JobID, graph: jg, opts: opts}
	if j.id == "" {
		j.id = newJobID()
	}
	cj, coords := jobmaster.CheckpointJob(j.id, jg)
	if opts.Checkpoints == nil {
		if opts.RestorePath != "" {
			return nil, errors.New("minicluster: restoring from a savepoint needs checkpoint storage")
		}
		if len(coords) == 0 {
			return j, nil
		}
		// No checkpoints, but operator coordinators to run.
		cp, err := jobmaster.NewCheckpointer(checkpoint.Config{}, cj, coords, nil, opts.Clock, opts.Logger, nil, "")
		if err != nil {
			return nil, fmt.Errorf("minicluster: job %q: %w", name, err)
		}
		j.cp = cp
		return j, nil
	}
	ctx := context.Background()
	var md *checkpoint.Metadata
	var loc string
	if opts.RestorePath != "" {
		var err error
		if md, loc, err = opts.Checkpoints.Storage.ReadMetadata(ctx, opts.RestorePath); err != nil {
			return nil, fmt.Errorf("minicluster: restore job %q: %w", name, err)
		}
		if j.restore, err = jobmaster.BuildRestore(ctx, opts.Checkpoints.Storage, md, loc, jg, opts.AllowNonRestoredState); err != nil {
			return nil, fmt.Errorf("minicluster: restore job %q from %s: %w", name, loc, err)
		}
	}
	cp, err := jobmaster.NewCheckpointer(opts.Checkpoints.Config, cj, coords, opts.Checkpoints.Storage, opts.Clock, opts.Logger, md, loc)
	if err != nil {
		return nil, fmt.Errorf("minicluster: job %q: %w", name, err)
	}
	j.cp = cp
	return j, nil
}

// ID is the job's ID.
func (j *Job) ID() string { return j.id }

func newJobID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// Run runs the job until it ends, fails for good, or ctx is done, and
// returns the failure (ctx's error if it was cancelled). A failed attempt
// is restarted as the restart strategy allows, from the latest completed
// checkpoint if there is one.
func (j *Job) Run(ctx context.Context) error {
	runCtx, cancel := context.WithCancel(ctx)
	var driver sync.WaitGroup
	defer func() {
		cancel()
		driver.Wait()
	}()
	if j.cp != nil {
		driver.Add(1)
		go func() {
			defer driver.Done()
			j.cp.Run(runCtx)
		}()
	}
	restore := j.restore
	for attempt := 0; ; attempt++ {
		err := j.runAttempt(runCtx, attempt, restore)
		if err == nil || ctx.Err() != nil {
			if j.cp != nil {
				_ = j.cp.EndAttempt(runCtx, err, false)
			}
			if err == nil && ctx.Err() != nil {
				err = ctx.Err()
			}
			return err
		}
		if j.opts.Restart == nil {
			return err
		}
		delay, ok := j.opts.Restart.OnFailure(j.opts.Clock.Now(), err)
		if !ok {
			j.opts.Logger.Error("job failed; the restart strategy allows no more restarts", "job", j.name, "strategy", j.opts.Restart.String(), "error", err)
			return err
		}
		j.mu.Lock()
		j.restarts++
		j.mu.Unlock()
		j.opts.Logger.Warn("job failed; restarting", "job", j.name, "attempt", attempt+1, "delay", delay, "error", err)
		restore = nil
		if j.cp != nil {
			if err := j.cp.EndAttempt(runCtx, err, true); err != nil {
				return err
			}
		}
		if j.opts.Checkpoints != nil {
			md, loc, err := j.cp.Latest(runCtx)
			if err != nil {
				return err
			}
			if md != nil {
				if restore, err = jobmaster.BuildRestore(runCtx, j.opts.Checkpoints.Storage, md, loc, j.graph, j.opts.AllowNonRestoredState); err != nil {
					return fmt.Errorf("minicluster: restore job %q from %s: %w", j.name, loc, err)
				}
			}
		}
		if err := sleep(ctx, j.opts.Clock, delay); err != nil {
			return err
		}
	}
}

func sleep(ctx context.Context, clk clock.Clock, d time.Duration) error {
	if d <= 0 {
		return nil
	}
	done := make(chan struct{})
	t := clk.AfterFunc(d, func() { close(done) })
	defer t.Stop()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// local is the ID of the mini-cluster's one worker.
const local = "local"

// runAttempt runs every subtask once, on one worker that has them all:
// the wiring of a job split over processes, with only local channels.
func (j *Job) runAttempt(ctx context.Context, attempt int, restore *jobmaster.Restore) error {
	actx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	opts := worker.Options{JobName: j.name, ChannelCapacity: j.opts.ChannelCapacity, SegmentSize: j.opts.SegmentSize,
		Clock: j.opts.Clock, AutoWatermarkInterval: j.opts.AutoWatermarkInterval, BufferTimeout: j.opts.BufferTimeout,
		Logger: j.opts.Logger, Restore: restore}
	var w *worker.Worker
	if j.cp != nil {
		opts.Gateways = j.cp.Gateways()
		opts.Deployed = func(ctx context.Context, _ worker.Assignment) error { return j.cp.StartAttempt(ctx, w.Tasks()) }
	}
	if j.opts.Checkpoints != nil {
		opts.Checkpoints = &task.Checkpointing{
			Periodic: j.opts.Checkpoints.Config.Interval > 0,
			Reporter: j.cp.Reporter(),
			Upload:   j.cp.Upload,
		}
	}
	w = worker.New(local, j.graph, nil, nil, opts)
	j.mu.Lock()
	j.w = w
	j.mu.Unlock()
	a := worker.Assignment{JobID: j.id, Attempt: attempt, Workers: map[string]string{}}
	for _, v := range j.graph.Vertices {
		a.Subtasks = append(a.Subtasks, slices.Repeat([]string{local}, v.Parallelism))
	}
	stop := make(chan struct{})
	defer close(stop)
	if j.cp != nil {
		go func() {
			select {
			case err := <-j.cp.Failed():
				cancel(err)
			case <-stop:
			}
		}()
	}
	err := w.Run(actx, a)
	if cause := context.Cause(actx); cause != nil && !errors.Is(cause, context.Canceled) {
		return cause
	}
	return err
}

// ErrNoCheckpoints is returned by the savepoint and checkpoint calls of a
// job without checkpoint storage.
var ErrNoCheckpoints = errors.New("minicluster: the job has no checkpoint storage (set state.checkpoints.dir)")

// TriggerSavepoint takes a savepoint into dir ("" for the configured
// default) and returns its location once it is complete.
func (j *Job) TriggerSavepoint(ctx context.Context, dir string) (string, error) {
	if j.opts.Checkpoints == nil {
		return "", ErrNoCheckpoints
	}
	return j.cp.TriggerSavepoint(ctx, checkpoint.Options{TargetDir: dir})
}

// StopWithSavepoint takes a savepoint into dir after which the job ends
// (Run returns nil); with drain, the sources end their input first so that
// every window and timer fires.
func (j *Job) StopWithSavepoint(ctx context.Context, dir string, drain bool) (string, error) {
	if j.opts.Checkpoints == nil {
		return "", ErrNoCheckpoints
	}
	return j.cp.TriggerSavepoint(ctx, checkpoint.Options{TargetDir: dir, Terminate: true, Drain: drain})
}

// TriggerCheckpoint takes a checkpoint now and returns its ID.
func (j *Job) TriggerCheckpoint(ctx context.Context) (int64, error) {
	if j.opts.Checkpoints == nil {
		return 0, ErrNoCheckpoints
	}
	return j.cp.TriggerCheckpoint(ctx)
}

// CheckpointStats returns the statistics of the job's checkpoints, also
// after it ended.
func (j *Job) CheckpointStats(ctx context.Context) (checkpoint.Stats, error) {
	if j.opts.Checkpoints == nil {
		return checkpoint.Stats{}, ErrNoCheckpoints
	}
	return j.cp.Stats(ctx)
}

// Restarts is how many times the job was restarted.
func (j *Job) Restarts() int {
	j.mu.Lock()
	defer j.mu.Unlock()
	return j.restarts
}

// Metrics is a snapshot of the job's network buffers.
type Metrics = worker.Metrics

// Metrics returns the current buffer usage. It is safe to call while the
// job runs.
func (j *Job) Metrics() Metrics {
	j.mu.Lock()
	w := j.w
	j.mu.Unlock()
	if w == nil {
		return Metrics{}
	}
	return w.Metrics()
}
