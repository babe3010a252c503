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

	"github.com/runnel-io/runnel/cluster/jobmaster"
	"github.com/runnel-io/runnel/cluster/worker"
	"github.com/runnel-io/runnel/runtime/checkpoint"
	"github.com/runnel-io/runnel/runtime/clock"
	"github.com/runnel-io/runnel/runtime/graph"
	"github.com/runnel-io/runnel/runtime/job"
	"github.com/runnel-io/runnel/runtime/network"
	"github.com/runnel-io/runnel/runtime/task"
)

// Job is a deployed job graph: it runs, fails over and takes checkpoints
// and savepoints.
type Job struct {
	name   string
	id     string
	graph  *graph.JobGraph
	cfg    job.Config
	cp     *jobmaster.Checkpointer // nil without checkpoints and operator coordinators
	master *jobmaster.Master
	// listener hears the master's state changes and failures.
	listener func(jobmaster.Action)

	mu       sync.Mutex
	w        *worker.Worker // of the running or last attempt
	restarts int
}

// Deploy prepares jg to run with cfg. Nothing runs until Run. listener,
// if not nil, hears every state change and failure of the job (see
// jobmaster.MasterConfig.Listener).
func Deploy(name string, jg *graph.JobGraph, cfg job.Config, listener func(jobmaster.Action)) (*Job, error) {
	if cfg.ChannelCapacity <= 0 {
		cfg.ChannelCapacity = network.DefaultChannelCapacity
	}
	if cfg.SegmentSize <= 0 {
		cfg.SegmentSize = network.DefaultSegmentSize
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Clock == nil {
		cfg.Clock = clock.System{}
	}
	j := &Job{name: name, id: cfg.JobID, graph: jg, cfg: cfg, listener: listener}
	if j.id == "" {
		j.id = newJobID()
	}
	cp, restoreFrom, err := jobmaster.CheckpointerFor(context.Background(), j.id, jg, cfg)
	if err != nil {
		return nil, fmt.Errorf("minicluster: job %q: %w", name, err)
	}
	j.cp = cp
	m, err := jobmaster.NewMaster(jobmaster.MasterConfig{
		Core:         jobmaster.CoreConfig{Vertices: jobmaster.Vertices(jg), Restart: cfg.Restart, RestoreFrom: restoreFrom},
		Checkpointer: j.cp, Clock: cfg.Clock, Logger: cfg.Logger.With("job", name), Listener: j.hear,
	})
	if err != nil {
		return nil, fmt.Errorf("minicluster: job %q: %w", name, err)
	}
	j.master = m
	return j, nil
}

// ID is the job's ID.
func (j *Job) ID() string { return j.id }

func newJobID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

func (j *Job) hear(a jobmaster.Action) {
	if f, ok := a.(jobmaster.Failure); ok && f.Restart {
		j.mu.Lock()
		j.restarts++
		j.mu.Unlock()
	}
	if j.listener != nil {
		j.listener(a)
	}
}

// Run runs the job until it ends, fails for good, or ctx is done, and
// returns the failure (an error wrapping context.Canceled if it was
// cancelled). A failed attempt is restarted as the restart strategy
// allows, from the latest completed checkpoint if there is one: the
// jobmaster.Master decides, on the one in-process worker this runtime
// has.
func (j *Job) Run(ctx context.Context) error {
	rt := &local{j: j}
	err := j.master.Run(ctx, rt)
	rt.wg.Wait()
	return err
}

// Cancel cancels the job; Run returns once it is cancelled.
func (j *Job) Cancel() { j.master.Cancel() }

// State returns the job's state.
func (j *Job) State() jobmaster.JobState { return j.master.State() }

// localTM is the one TaskManager of the mini-cluster.
const localTM = "local"

// local is the mini-cluster's jobmaster.Runtime: it has as many slots as
// the job asks for, all on one worker that is always there, and runs each
// attempt on a fresh cluster/worker.Worker that has every subtask.
type local struct {
	j   *Job
	wg  sync.WaitGroup // the attempts' goroutines
	cur *localAttempt  // owned by the master's goroutine
}

type localAttempt struct {
	n      int
	cancel context.CancelFunc
	run    chan struct{} // closed by Run
	w      *worker.Worker
}

func (l *local) RequestSlots(_ context.Context, n int) {
	l.j.master.SlotsOffered(slices.Repeat([]jobmaster.Slot{{TaskManager: localTM}}, n))
}

func (l *local) ReleaseSlots(context.Context) {}

func (l *local) StartWorker(_ context.Context, s jobmaster.Slot) {
	l.j.master.WorkerStarted(s.TaskManager)
}

// StopWorker cancels what runs: goroutines cannot be stopped, and the
// core waits for them to end (no cancel timeout).
func (l *local) StopWorker(context.Context, string) {
	if l.cur != nil {
		l.cur.cancel()
	}
}

func (l *local) Deploy(ctx context.Context, d jobmaster.Deploy) {
	j := l.j
	actx, cancel := context.WithCancel(ctx)
	at := &localAttempt{n: d.Attempt, cancel: cancel, run: make(chan struct{})}
	l.cur = at
	opts := worker.Options{JobName: j.name, ChannelCapacity: j.cfg.ChannelCapacity, SegmentSize: j.cfg.SegmentSize,
		Clock: j.cfg.Clock, AutoWatermarkInterval: j.cfg.AutoWatermarkInterval, BufferTimeout: j.cfg.BufferTimeout, Logger: j.cfg.Logger,
		Deployed: func(ctx context.Context, _ worker.Assignment) error {
			j.master.Deployed(localTM, d.Attempt)
			select {
			case <-at.run:
				return nil
			case <-ctx.Done():
				return ctx.Err()
			}
		}}
	if j.cp != nil {
		opts.Gateways = j.cp.Gateways()
	}
	if c := j.cfg.Checkpoints; c != nil {
		opts.Checkpoints = &task.Checkpointing{Periodic: c.Config.Interval > 0, Reporter: j.cp.Reporter(), Upload: j.cp.Upload}
	}
	a := worker.Assignment{JobID: j.id, Attempt: d.Attempt, Workers: map[string]string{}, Subtasks: d.Placement.Subtasks}
	l.wg.Add(1)
	go func() {
		defer l.wg.Done()
		defer cancel()
		if d.Restore != "" {
			r, err := jobmaster.ReadRestore(actx, j.cfg.Checkpoints.Storage, d.Restore, j.graph, j.cfg.AllowNonRestoredState, nil)
			if err != nil {
				j.master.TasksEnded(localTM, d.Attempt, err)
				return
			}
			opts.Restore = r
		}
		w := worker.New(localTM, j.graph, nil, nil, opts)
		j.mu.Lock()
		j.w = w
		j.mu.Unlock()
		at.w = w // read by Tasks after Deployed, which w.Run calls
		err := w.Run(actx, a)
		if errors.Is(err, context.Canceled) && actx.Err() != nil {
			err = nil // cancelled by the master: nothing to report but the end
		}
		j.master.TasksEnded(localTM, d.Attempt, err)
	}()
}

func (l *local) Run(_ context.Context, _ string, n int) {
	if l.cur != nil && l.cur.n == n {
		close(l.cur.run)
	}
}

func (l *local) CancelAttempt(_ context.Context, _ string, n int) {
	if l.cur != nil && l.cur.n == n {
		l.cur.cancel()
	}
}

func (l *local) Tasks(int, jobmaster.Placement) jobmaster.TaskGateway { return l.cur.w.Tasks() }

// ErrNoCheckpoints is returned by the savepoint and checkpoint calls of a
// job without checkpoint storage.
var ErrNoCheckpoints = errors.New("minicluster: the job has no checkpoint storage (set state.checkpoints.dir)")

// TriggerSavepoint takes a savepoint into dir ("" for the configured
// default) and returns its location once it is complete.
func (j *Job) TriggerSavepoint(ctx context.Context, dir string) (string, error) {
	if j.cfg.Checkpoints == nil {
		return "", ErrNoCheckpoints
	}
	return j.cp.TriggerSavepoint(ctx, checkpoint.Options{TargetDir: dir})
}

// StopWithSavepoint takes a savepoint into dir after which the job ends
// (Run returns nil); with drain, the sources end their input first so that
// every window and timer fires.
func (j *Job) StopWithSavepoint(ctx context.Context, dir string, drain bool) (string, error) {
	if j.cfg.Checkpoints == nil {
		return "", ErrNoCheckpoints
	}
	return j.cp.TriggerSavepoint(ctx, checkpoint.Options{TargetDir: dir, Terminate: true, Drain: drain})
}

// TriggerCheckpoint takes a checkpoint now and returns its ID.
func (j *Job) TriggerCheckpoint(ctx context.Context) (int64, error) {
	if j.cfg.Checkpoints == nil {
		return 0, ErrNoCheckpoints
	}
	return j.cp.TriggerCheckpoint(ctx)
}

// CheckpointStats returns the statistics of the job's checkpoints, also
// after it ended.
func (j *Job) CheckpointStats(ctx context.Context) (checkpoint.Stats, error) {
	if j.cfg.Checkpoints == nil {
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
