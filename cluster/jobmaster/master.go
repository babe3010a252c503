package jobmaster

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"

	"github.com/runnel-io/runnel/internal/serial"
	"github.com/runnel-io/runnel/runtime/clock"
	"github.com/runnel-io/runnel/runtime/graph"
)

// Runtime places and runs the subtasks of one job for a Master: the
// mini-cluster's in-process worker, or the job's worker processes on
// TaskManagers. The Master calls its methods from its one goroutine, in
// the order the Core decided; they must not block for long (send, do not
// wait for an answer) and report what happens through the Master's event
// methods (SlotsOffered, WorkerStarted, Deployed, TasksEnded, ...), which
// may be called from any goroutine, also from within these methods.
type Runtime interface {
	// RequestSlots asks for n more slots: SlotsOffered or
	// SlotRequestFailed follow.
	RequestSlots(ctx context.Context, n int)
	// ReleaseSlots gives back every slot of the job and cancels its
	// pending requests.
	ReleaseSlots(ctx context.Context)
	// StartWorker starts the job's worker on the TaskManager of s:
	// WorkerStarted or WorkerLost follow.
	StartWorker(ctx context.Context, s Slot)
	// StopWorker stops the job's worker on tm; nothing is reported.
	StopWorker(ctx context.Context, tm string)
	// Deploy sends a worker its subtasks of an attempt: Deployed (or
	// TasksEnded with the failure) follows, and the subtasks wait for Run.
	Deploy(ctx context.Context, d Deploy)
	// Run lets the worker's deployed subtasks of attempt run: TasksEnded
	// follows once they all returned.
	Run(ctx context.Context, tm string, attempt int)
	// CancelAttempt cancels the worker's subtasks of attempt: TasksEnded
	// follows.
	CancelAttempt(ctx context.Context, tm string, attempt int)
	// Tasks reaches the subtasks of attempt, placed as p, for the
	// checkpoints and the operator coordinators; see TaskGateway.
	Tasks(attempt int, p Placement) TaskGateway
}

// MasterConfig configures a Master.
type MasterConfig struct {
	Core CoreConfig
	// Checkpointer runs the job's checkpoints and operator coordinators;
	// nil for a job with neither.
	Checkpointer *Checkpointer
	Clock        clock.Clock  // clock.System if nil
	Logger       *slog.Logger // discards if nil
	// Listener, if not nil, hears every StateChanged and Failure, on the
	// Master's goroutine, in order; it must not block.
	Listener func(Action)
}

// Vertices are the tasks of jg as the core sees them.
func Vertices(jg *graph.JobGraph) []CoreVertex {
	out := make([]CoreVertex, len(jg.Vertices))
	for i, v := range jg.Vertices {
		out[i] = CoreVertex{Name: v.Name(), Parallelism: v.Parallelism}
	}
	return out
}

// ErrSuspended is the result of a job whose JobMaster was suspended.
var ErrSuspended = errors.New("jobmaster: the JobMaster was suspended")

// Master drives one job's Core: it runs the one goroutine that owns the
// core, carries out its actions through a Runtime and a Checkpointer,
// ticks it at its deadlines, and feeds it the events the runtime reports.
// The mini-cluster and the cluster's JobMaster process both run their
// jobs with a Master: there is one scheduling and failover loop.
//
// Its methods are safe for concurrent use. Event methods called before
// Run, or after the job ended, are queued or dropped.
type Master struct {
	core *Core
	cfg  MasterConfig
	loop *serial.Loop
	rt   Runtime
	ctx  context.Context // Run's, for the runtime's calls

	mu    sync.Mutex // guards state
	state JobState

	done chan struct{}
}

// NewMaster returns the master of a job that has not started.
func NewMaster(cfg MasterConfig) (*Master, error) {
	core, err := NewCore(cfg.Core)
	if err != nil {
		return nil, err
	}
	if cfg.Clock == nil {
		cfg.Clock = clock.System{}
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	return &Master{core: core, cfg: cfg, loop: serial.New(), state: Created, done: make(chan struct{})}, nil
}

func (m *Master) now() int64 { return m.cfg.Clock.Now().UnixMilli() }

// Run runs the job with rt until it ends, and returns its end: nil when
// it finished, its failure when it failed, an error wrapping
// context.Canceled when it was cancelled, ErrSuspended when it was
// suspended. When ctx is done the job is cancelled, and Run still
// returns only once every subtask and the checkpointer have ended.
func (m *Master) Run(ctx context.Context, rt Runtime) error {
	defer close(m.done)
	m.rt = rt
	runCtx, stop := context.WithCancel(context.WithoutCancel(ctx))
	defer stop()
	m.ctx = runCtx
	var bg sync.WaitGroup
	defer bg.Wait()
	cp := m.cfg.Checkpointer
	cpCtx, stopCP := context.WithCancel(runCtx)
	defer stopCP()
	if cp != nil {
		bg.Add(2)
		go func() {
			defer bg.Done()
			cp.Run(cpCtx)
		}()
		go func() {
			defer bg.Done()
			for {
				select {
				case f := <-cp.Failed():
					m.loop.Do(func() {
						m.core.AttemptFailed(m.now(), f.Attempt, f.Err)
						m.execute()
					})
				case <-cpCtx.Done():
					return
				}
			}
		}()
	}
	bg.Add(1)
	go func() {
		defer bg.Done()
		select {
		case <-ctx.Done():
			m.Cancel()
		case <-runCtx.Done():
		}
	}()
	m.loop.Do(func() { m.core.Start(m.now()) })
	m.loop.Run(runCtx, m.cfg.Clock, func() (int64, bool) {
		m.core.Tick(m.now())
		m.execute()
		if m.core.State().Terminal() {
			stop()
		}
		return m.core.NextDeadline()
	})
	stopCP()
	switch m.core.State() {
	case Finished:
		return nil
	case Canceled:
		return fmt.Errorf("jobmaster: the job was cancelled: %w", context.Canceled)
	case Suspended:
		return ErrSuspended
	}
	return m.core.Cause()
}

// Done is closed once Run has returned.
func (m *Master) Done() <-chan struct{} { return m.done }

// State returns the job's state.
func (m *Master) State() JobState {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.state
}

// execute carries out the core's actions until it has none.
func (m *Master) execute() {
	for {
		acts := m.core.Ready()
		if len(acts) == 0 {
			return
		}
		for _, a := range acts {
			m.act(a)
		}
	}
}

func (m *Master) act(a Action) {
	ctx, rt, log := m.ctx, m.rt, m.cfg.Logger
	switch a := a.(type) {
	case RequestSlots:
		rt.RequestSlots(ctx, a.N)
	case ReleaseSlots:
		rt.ReleaseSlots(ctx)
	case StartWorker:
		rt.StartWorker(ctx, a.Slot)
	case StopWorker:
		rt.StopWorker(ctx, a.TaskManager)
	case Deploy:
		rt.Deploy(ctx, a)
	case StartCheckpoints:
		if cp := m.cfg.Checkpointer; cp != nil {
			if err := cp.StartAttempt(ctx, a.Attempt, rt.Tasks(a.Attempt, a.Placement)); err != nil {
				m.core.AttemptFailed(m.now(), a.Attempt, err)
			}
		}
	case RunAttempt:
		rt.Run(ctx, a.TaskManager, a.Attempt)
	case CancelAttempt:
		rt.CancelAttempt(ctx, a.TaskManager, a.Attempt)
	case EndCheckpoints:
		latest := ""
		if cp := m.cfg.Checkpointer; cp != nil {
			if err := cp.EndAttempt(ctx, a.Cause, a.Restart); err != nil {
				log.Warn("ending the checkpoints of an attempt", "attempt", a.Attempt, "error", err)
			}
			if _, loc, err := cp.Latest(ctx); err == nil {
				latest = loc
			}
		}
		m.core.CheckpointsEnded(m.now(), a.Attempt, latest)
	case StateChanged:
		m.mu.Lock()
		m.state = a.To
		m.mu.Unlock()
		log.Info("job state", "from", a.From, "to", a.To, "attempt", a.Attempt)
		if m.cfg.Listener != nil {
			m.cfg.Listener(a)
		}
	case Failure:
		if a.Restart {
			log.Warn("job failed; restarting", "attempt", a.Attempt, "next", a.Attempt+1, "delay", a.Delay, "error", a.Cause)
		} else {
			log.Error("job failed", "attempt", a.Attempt, "error", a.Cause)
		}
		if m.cfg.Listener != nil {
			m.cfg.Listener(a)
		}
	}
}

// on queues an event for the core.
func (m *Master) on(event func(now int64)) {
	m.loop.Do(func() {
		event(m.now())
		m.execute()
	})
}

// SlotsOffered reports slots the job asked for.
func (m *Master) SlotsOffered(slots []Slot) {
	m.on(func(now int64) { m.core.SlotsOffered(now, slots) })
}

// SlotRequestFailed reports that a request of n slots cannot be served.
func (m *Master) SlotRequestFailed(n int, reason error) {
	m.on(func(now int64) { m.core.SlotRequestFailed(now, n, reason) })
}

// SlotsLost reports that the job's slots on tm are gone.
func (m *Master) SlotsLost(tm string, reason error) {
	m.on(func(now int64) { m.core.SlotsLost(now, tm, reason) })
}

// WorkerStarted reports that the worker on tm registered.
func (m *Master) WorkerStarted(tm string) {
	m.on(func(now int64) { m.core.WorkerStarted(now, tm) })
}

// WorkerLost reports that the worker on tm is gone.
func (m *Master) WorkerLost(tm string, err error) {
	m.on(func(now int64) { m.core.WorkerLost(now, tm, err) })
}

// Deployed reports that the worker on tm deployed its subtasks of
// attempt.
func (m *Master) Deployed(tm string, attempt int) {
	m.on(func(now int64) { m.core.Deployed(now, tm, attempt) })
}

// TaskFinished reports that subtask s of vertex v finished in attempt.
func (m *Master) TaskFinished(attempt, v, s int) {
	m.on(func(now int64) { m.core.TaskFinished(now, attempt, v, s) })
}

// TasksEnded reports that the subtasks of attempt on tm returned, with
// the first failure, if any.
func (m *Master) TasksEnded(tm string, attempt int, err error) {
	m.on(func(now int64) { m.core.TasksEnded(now, tm, attempt, err) })
}

// Cancel cancels the job.
func (m *Master) Cancel() { m.on(m.core.Cancel) }

// Suspend ends this JobMaster's part of the job without ending the job.
func (m *Master) Suspend() { m.on(m.core.Suspend) }
