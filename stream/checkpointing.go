package stream

import (
	"context"
	"errors"
	"fmt"
	"os"
	"sync"
	"time"

	"github.com/runnel-io/runnel/runtime/checkpoint"
	"github.com/runnel-io/runnel/runtime/checkpoint/storage"
	"github.com/runnel-io/runnel/runtime/job"
	"github.com/runnel-io/runnel/runtime/restart"
)

// CheckpointConfig configures a job's checkpoints, with Flink's keys and
// defaults: the coordinator's settings (interval, timeout, min pause,
// concurrency, tolerable failures, retention; see checkpoint.Config) and
// where checkpoints go. Get it with Environment.CheckpointConfig and set
// its fields before Execute; set the interval with EnableCheckpointing.
type CheckpointConfig struct {
	checkpoint.Config
	// Dir is where checkpoints are written (state.checkpoints.dir): a path
	// or a file:// URI. If checkpoints are enabled without one, a directory
	// under the system's temporary directory is used and removed when the
	// job ends.
	Dir string
	// SavepointDir is the default target of savepoints (state.savepoints.dir).
	SavepointDir string
	// Storage, if set, is where checkpoints and savepoints go instead of
	// Dir and SavepointDir: a storage of one's own (another file system,
	// one that injects faults in tests).
	Storage storage.Storage
}

// EnableCheckpointing makes the job take a checkpoint every interval
// (Flink's execution.checkpointing.interval): after a failure it resumes
// from the latest one, and two-phase-commit sinks commit their output when
// a checkpoint completes. It also makes the default restart strategy
// exponential-delay, as in Flink: unlimited restarts, 1 s after the first
// failure and twice as long after each further one, up to 1 min (see
// restart.Default; SetRestartStrategy chooses another).
func (e *Environment) EnableCheckpointing(interval time.Duration) *Environment {
	if interval <= 0 {
		e.errorf("stream: EnableCheckpointing(%v): the interval must be positive", interval)
		return e
	}
	e.checkpoints.Interval = interval
	return e
}

// CheckpointConfig returns the job's checkpoint configuration, to modify
// before Execute.
func (e *Environment) CheckpointConfig() *CheckpointConfig { return &e.checkpoints }

// SetRestartStrategy sets how the job restarts after a failure (Flink's
// restart-strategy.* keys; see restart.Parse).
func (e *Environment) SetRestartStrategy(c restart.Config) *Environment {
	e.restart = &c
	return e
}

// SetRestoreFrom makes the job start from a savepoint or retained
// checkpoint (Flink's execution.savepoint.path). With allowNonRestored
// (execution.savepoint.ignore-unclaimed-state), state of operators the job
// no longer has is skipped instead of failing the start.
func (e *Environment) SetRestoreFrom(path string, allowNonRestored bool) *Environment {
	e.restorePath, e.allowNonRestored = path, allowNonRestored
	return e
}

// checkpointOptions fills the job's checkpoint and restart options;
// cleanup removes a temporary checkpoint directory. A job submitted to a
// cluster gets no storage (its client writes no checkpoint); one that
// runs in several processes needs one they all reach: see storage.
func (e *Environment) checkpointOptions(cfg *job.Config, mode job.Mode) (cleanup func(), err error) {
	cleanup = func() {}
	c := e.checkpoints
	rc := restart.Default(c.Interval > 0)
	if e.restart != nil {
		rc = *e.restart
	}
	cfg.Restart = rc.New()
	needStorage := c.Interval > 0 || c.Dir != "" || c.SavepointDir != "" || e.restorePath != "" || c.Storage != nil
	if !needStorage || mode == job.Submit {
		return cleanup, nil
	}
	st, cleanup, err := e.storage(mode == job.Distributed)
	if err != nil {
		return func() {}, err
	}
	ccfg := c.Config
	ccfg.EnsureDefaults()
	if err := ccfg.Validate(); err != nil {
		cleanup()
		return func() {}, fmt.Errorf("stream: %w", err)
	}
	cfg.Checkpoints = &job.Checkpoints{Config: ccfg, Storage: st}
	cfg.RestorePath, cfg.AllowNonRestoredState = e.restorePath, e.allowNonRestored
	return cleanup, nil
}

// storage opens the checkpoint storage: CheckpointConfig.Storage, or a
// file storage in Dir (a temporary directory, removed by cleanup, if none;
// an error for a clustered job, where a temporary directory would be
// another one in each process).
func (e *Environment) storage(clustered bool) (_ storage.Storage, cleanup func(), err error) {
	c := e.checkpoints
	cleanup = func() {}
	if c.Storage != nil {
		return c.Storage, cleanup, nil
	}
	dir := c.Dir
	if dir == "" && clustered {
		return nil, cleanup, errors.New("stream: checkpoints of a job on a cluster need state.checkpoints.dir: a directory that every process of the job reaches")
	}
	if dir == "" {
		if dir, err = os.MkdirTemp("", "runnel-checkpoints-"); err != nil {
			return nil, cleanup, fmt.Errorf("stream: checkpoint directory: %w", err)
		}
		tmp := dir
		cleanup = func() { _ = os.RemoveAll(tmp) }
		e.logger.Info("checkpoints go to a temporary directory (set state.checkpoints.dir to keep them)", "dir", dir)
	}
	st, err := storage.Open(dir, c.SavepointDir)
	if err != nil {
		cleanup()
		return nil, func() {}, fmt.Errorf("stream: %w", err)
	}
	return st, cleanup, nil
}

// JobClient controls a job started with ExecuteAsync: Flink's JobClient.
type JobClient struct {
	name    string
	job     job.Handle
	once    sync.Once
	err     error
	cleanup func()
}

// ExecuteAsync starts the job and returns at once; Wait returns its
// result. Where it runs is the executor's choice: see Execute.
func (e *Environment) ExecuteAsync(ctx context.Context, name string) (*JobClient, error) {
	j, cleanup, err := e.build(name)
	if err != nil {
		return nil, err
	}
	h, err := e.exec.Execute(ctx, j)
	if err != nil {
		cleanup()
		return nil, fmt.Errorf("stream: job %q: %w", name, err)
	}
	return &JobClient{name: name, job: h, cleanup: cleanup}, nil
}

// JobID returns the job's ID.
func (c *JobClient) JobID() string { return c.job.ID() }

// Wait waits for the job to end and returns its error: nil when it
// finished or was stopped with a savepoint, an error wrapping
// context.Canceled when it was cancelled.
func (c *JobClient) Wait() error {
	c.once.Do(func() {
		if err := c.job.Wait(); err != nil {
			c.err = fmt.Errorf("stream: job %q: %w", c.name, err)
		}
		c.cleanup()
	})
	return c.err
}

// Cancel cancels the job; Wait then returns an error wrapping
// context.Canceled.
func (c *JobClient) Cancel() { c.job.Cancel() }

// TriggerSavepoint takes a savepoint into dir ("" for state.savepoints.dir)
// and returns its location.
func (c *JobClient) TriggerSavepoint(ctx context.Context, dir string) (string, error) {
	p, err := c.job.TriggerSavepoint(ctx, dir)
	if err != nil {
		return "", fmt.Errorf("stream: job %q: savepoint: %w", c.name, err)
	}
	return p, nil
}

// StopWithSavepoint takes a savepoint into dir and then ends the job; with
// drain, the sources end their input first, so that event time reaches its
// end and every window fires (Flink's stop --drain).
func (c *JobClient) StopWithSavepoint(ctx context.Context, dir string, drain bool) (string, error) {
	p, err := c.job.StopWithSavepoint(ctx, dir, drain)
	if err != nil {
		return "", fmt.Errorf("stream: job %q: stop with savepoint: %w", c.name, err)
	}
	return p, nil
}

// TriggerCheckpoint takes a checkpoint now and returns its ID.
func (c *JobClient) TriggerCheckpoint(ctx context.Context) (int64, error) {
	return c.job.TriggerCheckpoint(ctx)
}

// CheckpointStats returns the statistics of the job's checkpoints, also
// after it ended.
func (c *JobClient) CheckpointStats(ctx context.Context) (checkpoint.Stats, error) {
	return c.job.CheckpointStats(ctx)
}

// Restarts is how many times the job restarted after a failure.
func (c *JobClient) Restarts() int { return c.job.Restarts() }
