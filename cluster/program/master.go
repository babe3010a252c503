package program

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"net"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/runnel-io/runnel/cluster/jobmaster"
	"github.com/runnel-io/runnel/cluster/rest"
	"github.com/runnel-io/runnel/cluster/rpc"
	"github.com/runnel-io/runnel/internal/outbox"
	"github.com/runnel-io/runnel/runtime/checkpoint"
	"github.com/runnel-io/runnel/runtime/checkpoint/storage"
	"github.com/runnel-io/runnel/runtime/network"
	"github.com/runnel-io/runnel/runtime/operator"
)

const (
	// outboxLimit bounds the messages queued for one peer; a peer that
	// falls further behind has failed.
	outboxLimit = 1 << 16
	// workerStartTimeout bounds how long a worker may take to register
	// after its TaskManager was asked to start it (the TaskManager may
	// have to fetch the job's binary first).
	workerStartTimeout = 2 * time.Minute
	// callTimeout bounds one control-plane call.
	callTimeout = 30 * time.Second
)

// master is the JobMaster of one job, in a process of the job's program:
// it gets slots from the ResourceManager (through the Dispatcher), has the
// TaskManagers that hold them start the job's workers, places the
// subtasks, drives checkpoints and restarts the job after failures, as
// the mini-cluster does in one process.
//
// One goroutine (run) owns the scheduling state; the RPC handlers hand it
// events. Checkpoint traffic bypasses it: acknowledgements go straight to
// the Checkpointer, and the Checkpointer's triggers and notifications go
// to the workers' outboxes.
type master struct {
	p      *Process
	job    Job
	log    *slog.Logger
	client *rpc.Client
	server *rpc.Server
	cp     *jobmaster.Checkpointer // nil without checkpoints and coordinators
	gws    map[int][]operator.CoordinatorGateway
	need   int // slots: the largest parallelism of a task

	events  chan event
	attempt atomic.Int64 // the attempt whose reports count
	// status goes to the Dispatcher in order.
	status *outbox.Outbox[rpc.JobStatus]

	mu            sync.Mutex // guards state, lastSavepoint and metrics
	state         string
	lastSavepoint rpc.CheckpointStats // its savepoint fields only
	metrics       map[string]rpc.WorkerMetrics

	// Owned by run.
	slots     []rpc.Slot
	pending   int // slots requested and not yet allocated
	workers   map[string]*remoteWorker
	cancelled bool
	wg        sync.WaitGroup // the workers' outboxes
}

// remoteWorker is the worker process of the job on one TaskManager.
type remoteWorker struct {
	tm, tmAddr string
	addr, data string // once registered
	registered bool
	out        *outbox.Outbox[rpc.Control]
	deployed   bool
	ended      bool
}

// Events for run.
type (
	event         any
	evAllocated   struct{ slots []rpc.Slot }
	evLost        struct{ m rpc.SlotsLost }
	evRequestFail struct{ m rpc.SlotRequestFailed }
	evRegistered  struct{ m rpc.RegisterWorker }
	evDeployed    struct{ tm string }
	evEnded       struct{ tm, err string }
	evWorkerLost  struct{ tm, err string }
	evCancel      struct{}
)

// permanent marks a failure no restart can mend.
type permanent struct{ error }

func (p permanent) Unwrap() error { return p.error }

func runJobMaster(ctx context.Context, p *Process, job Job, log *slog.Logger) error {
	m := &master{p: p, job: job, log: log, client: &rpc.Client{}, events: make(chan event, 256),
		status: outbox.New[rpc.JobStatus](outboxLimit), workers: map[string]*remoteWorker{}, state: rest.StateCreated}
	plan := job.Graph.Plan(job.Name)
	if p.Fingerprint != "" && plan.Fingerprint != p.Fingerprint {
		return fmt.Errorf("program: the JobMaster built another job than the one submitted: %w", plan.Check(job.Graph))
	}
	for _, v := range job.Graph.Vertices {
		m.need = max(m.need, v.Parallelism)
	}
	opts := job.Options
	cj, coords := jobmaster.CheckpointJob(p.JobID, job.Graph)
	var md *checkpoint.Metadata
	var loc string
	if opts.Checkpoints == nil && opts.RestorePath != "" {
		return errors.New("program: restoring from a savepoint needs checkpoint storage")
	}
	if opts.Checkpoints != nil || len(coords) > 0 {
		cfg := checkpoint.Config{}
		var st storage.Storage
		if opts.Checkpoints != nil {
			cfg, st = opts.Checkpoints.Config, opts.Checkpoints.Storage
			if opts.RestorePath != "" {
				var err error
				if md, loc, err = st.ReadMetadata(ctx, opts.RestorePath); err != nil {
					return fmt.Errorf("program: restore: %w", err)
				}
				if err := jobmaster.CheckRestore(md, loc, job.Graph, opts.AllowNonRestoredState); err != nil {
					return err
				}
			}
		}
		cp, err := jobmaster.NewCheckpointer(cfg, cj, coords, st, opts.Clock, log, md, loc)
		if err != nil {
			return fmt.Errorf("program: job %q: %w", job.Name, err)
		}
		m.cp, m.gws = cp, cp.Gateways()
	}

	m.server = rpc.NewServer(log)
	m.handle()
	if err := m.server.Listen(net.JoinHostPort(p.Host, "0")); err != nil {
		return fmt.Errorf("program: JobMaster: %w", err)
	}
	defer closeServer(m.server)
	addr := advertised(p.Host, m.server.Addr())

	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var bg sync.WaitGroup
	defer bg.Wait()
	defer cancel()
	statusDone := make(chan error, 1)
	bg.Add(1)
	go func() {
		defer bg.Done()
		statusDone <- m.status.Run(context.WithoutCancel(ctx), m.sendStatus)
	}()
	if m.cp != nil {
		bg.Add(1)
		go func() {
			defer bg.Done()
			m.cp.Run(ctx)
		}()
	}

	vertices := make([]rpc.Vertex, 0, len(plan.Vertices))
	for _, v := range plan.Vertices {
		vertices = append(vertices, rpc.Vertex{ID: vertexID(v.ID), Name: v.Name, Parallelism: v.Parallelism, MaxParallelism: v.MaxParallelism})
	}
	reg := &rpc.RegisterJobMaster{JobID: p.JobID, Address: addr, Name: job.Name, Fingerprint: plan.Fingerprint, Vertices: vertices}
	if err := m.call(ctx, p.Dispatcher, rpc.MethodRegisterJobMaster, reg); err != nil {
		return fmt.Errorf("program: register the JobMaster with the Dispatcher at %s: %w", p.Dispatcher, err)
	}
	log.Info("JobMaster running", "name", job.Name, "address", addr, "slots", m.need)

	err := m.run(ctx)
	final, exc := rest.StateFinished, (*rpc.Exception)(nil)
	switch {
	case m.cancelled || (err != nil && ctx.Err() != nil):
		final = rest.StateCanceled
	case err != nil:
		final = rest.StateFailed
		exc = exception(err, m.now())
	}
	if m.cp != nil {
		_ = m.cp.EndAttempt(ctx, err, false)
	}
	m.shutdownWorkers(context.WithoutCancel(ctx))
	if len(m.slots) > 0 || m.pending > 0 {
		_ = m.call(context.WithoutCancel(ctx), p.Dispatcher, rpc.MethodReleaseSlots, &rpc.ReleaseSlots{JobID: p.JobID})
	}
	m.setState(final, exc)
	m.status.Close()
	if serr := <-statusDone; serr != nil {
		return fmt.Errorf("program: report the job's end to the Dispatcher: %w", serr)
	}
	log.Info("job ended", "state", final, "error", err)
	return nil
}

func (m *master) now() int64 { return m.job.Options.Clock.Now().UnixMilli() }

// call calls method at addr with a timeout, discarding the answer.
func (m *master) call(ctx context.Context, addr, method string, req any) error {
	ctx, cancel := context.WithTimeout(ctx, callTimeout)
	defer cancel()
	_, err := rpc.Call[any, rpc.Empty](ctx, m.client, addr, method, &req)
	return err
}

func (m *master) sendStatus(ctx context.Context, batch []rpc.JobStatus) error {
	for i := range batch {
		var err error
		for try := 0; try < 5; try++ {
			if err = m.call(ctx, m.p.Dispatcher, rpc.MethodJobStatus, &batch[i]); err == nil {
				break
			}
			if sleepCtx(ctx, time.Duration(try+1)*200*time.Millisecond) != nil {
				return err
			}
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// setState records the job's state and reports it to the Dispatcher.
func (m *master) setState(state string, exc *rpc.Exception) {
	m.mu.Lock()
	m.state = state
	m.mu.Unlock()
	st := rpc.JobStatus{JobID: m.p.JobID, State: state, Timestamp: m.now(), Exception: exc, Checkpoints: m.checkpointStats()}
	m.status.Add(st)
}

func (m *master) checkpointStats() *rpc.CheckpointStats {
	if m.cp == nil || m.job.Options.Checkpoints == nil {
		return nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), callTimeout)
	defer cancel()
	s, err := m.cp.Stats(ctx)
	if err != nil {
		return nil
	}
	m.mu.Lock()
	stats := m.lastSavepoint
	m.mu.Unlock()
	stats.Stats = s
	stats.RestoredIsSavepoint = s.RestoredLocation != "" && m.job.Options.RestorePath != ""
	return &stats
}

func exception(err error, now int64) *rpc.Exception {
	name := "JobFailure"
	var lost interface{ TaskManagerLost() bool }
	if errors.As(err, &lost) {
		name = "TaskManagerLost"
	}
	return &rpc.Exception{Name: name, Message: err.Error(), Timestamp: now}
}

// handle registers the JobMaster's RPC methods.
func (m *master) handle() {
	s := m.server
	push := func(ctx context.Context, ev event) (*rpc.Empty, error) {
		select {
		case m.events <- ev:
			return &rpc.Empty{}, nil
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
	rpc.Handle(s, rpc.MethodSlotsAllocated, func(ctx context.Context, r *rpc.SlotsAllocated) (*rpc.Empty, error) {
		return push(ctx, evAllocated{r.Slots})
	})
	rpc.Handle(s, rpc.MethodSlotsLost, func(ctx context.Context, r *rpc.SlotsLost) (*rpc.Empty, error) {
		return push(ctx, evLost{*r})
	})
	rpc.Handle(s, rpc.MethodSlotRequestFailed, func(ctx context.Context, r *rpc.SlotRequestFailed) (*rpc.Empty, error) {
		return push(ctx, evRequestFail{*r})
	})
	rpc.Handle(s, rpc.MethodRegisterWorker, func(ctx context.Context, r *rpc.RegisterWorker) (*rpc.Empty, error) {
		return push(ctx, evRegistered{*r})
	})
	rpc.Handle(s, rpc.MethodWorkerExited, func(ctx context.Context, r *rpc.WorkerExited) (*rpc.Empty, error) {
		return push(ctx, evWorkerLost{r.TaskManager, "its process ended: " + r.Error})
	})
	rpc.Handle(s, rpc.MethodWorkerReport, func(ctx context.Context, r *rpc.WorkerReport) (*rpc.WorkerReportResult, error) {
		return m.report(ctx, r)
	})
	rpc.Handle(s, rpc.MethodJobControl, func(ctx context.Context, r *rpc.JobControl) (*rpc.JobControlResult, error) {
		return m.control(ctx, r)
	})
}

// report takes a worker's reports: scheduling ones go to run, checkpoint
// ones to the Checkpointer, in order. Reports of an earlier attempt are
// dropped.
func (m *master) report(ctx context.Context, r *rpc.WorkerReport) (*rpc.WorkerReportResult, error) {
	res := &rpc.WorkerReportResult{}
	if r.Metrics != nil {
		m.mu.Lock()
		if m.metrics == nil {
			m.metrics = map[string]rpc.WorkerMetrics{}
		}
		m.metrics[r.TaskManager] = *r.Metrics
		m.mu.Unlock()
	}
	current := int(m.attempt.Load())
	for _, x := range r.Reports {
		if x.Kind == rpc.ReportLocation {
			if m.cp != nil {
				res.Location, _ = m.cp.Location(x.CheckpointID)
			}
			continue
		}
		if x.Attempt != current {
			continue
		}
		var ev event
		switch x.Kind {
		case rpc.ReportDeployed:
			ev = evDeployed{r.TaskManager}
		case rpc.ReportEnded:
			ev = evEnded{r.TaskManager, x.Error}
		case rpc.ReportAcknowledge, rpc.ReportDecline, rpc.ReportFinished:
			if m.cp == nil {
				continue
			}
			rep := m.cp.Reporter()
			switch x.Kind {
			case rpc.ReportAcknowledge:
				rep.Acknowledge(x.CheckpointID, x.Task, x.States)
			case rpc.ReportDecline:
				rep.Decline(x.CheckpointID, x.Task, errors.New(x.Error))
			default:
				rep.Finished(x.Task)
			}
		case rpc.ReportEvent:
			if gws, ok := m.gws[x.Node]; ok && x.Task.Subtask >= 0 && x.Task.Subtask < len(gws) {
				_ = gws[x.Task.Subtask].SendEvent(x.Event)
			}
		default:
			return nil, rpc.Errorf(rpc.CodeBadRequest, "unknown report %q", x.Kind)
		}
		if ev != nil {
			select {
			case m.events <- ev:
			case <-ctx.Done():
				return nil, ctx.Err()
			}
		}
	}
	return res, nil
}

// control carries out an operation of the REST API on the running job.
func (m *master) control(ctx context.Context, r *rpc.JobControl) (*rpc.JobControlResult, error) {
	noCheckpoints := func() error {
		return rpc.Errorf(rpc.CodeConflict, "job %s has no checkpoint storage (set state.checkpoints.dir)", m.p.JobID)
	}
	switch r.Op {
	case rpc.ControlDetails:
		m.mu.Lock()
		state, metrics := m.state, maps.Clone(m.metrics)
		m.mu.Unlock()
		return &rpc.JobControlResult{Metrics: metrics,
			Status: &rpc.JobStatus{JobID: m.p.JobID, State: state, Timestamp: m.now(), Checkpoints: m.checkpointStats()}}, nil
	case rpc.ControlCancel:
		select {
		case m.events <- evCancel{}:
			return &rpc.JobControlResult{}, nil
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	case rpc.ControlSavepoint, rpc.ControlStop:
		if m.cp == nil || m.job.Options.Checkpoints == nil {
			return nil, noCheckpoints()
		}
		opts := checkpoint.Options{TargetDir: r.Dir}
		if r.Op == rpc.ControlStop {
			opts.Terminate, opts.Drain = true, r.Drain
		}
		loc, err := m.cp.TriggerSavepoint(ctx, opts)
		if err != nil {
			return nil, err
		}
		if s, err := m.cp.Stats(ctx); err == nil {
			m.mu.Lock()
			m.lastSavepoint.LastSavepointID, m.lastSavepoint.LastSavepointLocation = s.LastCompletedID, loc
			m.mu.Unlock()
		}
		if r.CancelJob {
			select {
			case m.events <- evCancel{}:
			case <-ctx.Done():
			}
		}
		return &rpc.JobControlResult{Location: loc}, nil
	case rpc.ControlTriggerCheckpoint:
		if m.cp == nil || m.job.Options.Checkpoints == nil {
			return nil, noCheckpoints()
		}
		id, err := m.cp.TriggerCheckpoint(ctx)
		if err != nil {
			return nil, err
		}
		return &rpc.JobControlResult{CheckpointID: id}, nil
	}
	return nil, rpc.Errorf(rpc.CodeBadRequest, "unknown operation %q", r.Op)
}

// run runs attempts until the job ends, fails for good or is cancelled.
func (m *master) run(ctx context.Context) error {
	opts := m.job.Options
	restore := opts.RestorePath
	if restore != "" && m.cp != nil {
		if _, loc, err := m.cp.Latest(ctx); err == nil && loc != "" {
			restore = loc
		}
	}
	for attempt := 0; ; attempt++ {
		m.attempt.Store(int64(attempt))
		m.drain(ctx)
		if m.cancelled {
			return context.Canceled
		}
		err := m.runAttempt(ctx, attempt, restore)
		if err == nil || m.cancelled || ctx.Err() != nil {
			return err
		}
		var perm permanent
		if opts.Restart == nil || errors.As(err, &perm) {
			return err
		}
		delay, ok := opts.Restart.OnFailure(opts.Clock.Now(), err)
		if !ok {
			m.log.Error("job failed; the restart strategy allows no more restarts", "strategy", opts.Restart.String(), "error", err)
			return err
		}
		m.log.Warn("job failed; restarting", "attempt", attempt+1, "delay", delay, "error", err)
		m.setState(rest.StateRestarting, exception(err, m.now()))
		if m.cp != nil {
			if err := m.cp.EndAttempt(ctx, err, true); err != nil {
				return err
			}
			if _, loc, err := m.cp.Latest(ctx); err != nil {
				return err
			} else if loc != "" {
				restore = loc
			}
		}
		if err := m.wait(ctx, delay); err != nil {
			return err
		}
	}
}

// drain takes the events that have come, without waiting: slots lost
// while no attempt ran are known before the next one is placed.
func (m *master) drain(ctx context.Context) {
	for {
		select {
		case ev := <-m.events:
			_ = m.apply(ctx, ev)
		default:
			return
		}
	}
}

// wait waits for d, taking the events that come meanwhile.
func (m *master) wait(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return nil
	}
	t := time.NewTimer(d)
	defer t.Stop()
	for {
		select {
		case ev := <-m.events:
			m.apply(ctx, ev)
			if m.cancelled {
				return context.Canceled
			}
		case <-t.C:
			return nil
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// apply takes an event that changes the slots or workers, and returns
// the failure it means for a running attempt, if any.
func (m *master) apply(ctx context.Context, ev event) error {
	switch ev := ev.(type) {
	case evAllocated:
		m.slots = append(m.slots, ev.slots...)
		m.pending = max(0, m.pending-len(ev.slots))
	case evRequestFail:
		m.pending = max(0, m.pending-ev.m.Slots)
		// The reason says what was missing ("not enough slots: needs 5,
		// the cluster has 4 ..."): it is the job's failure as it is.
		return fmt.Errorf("program: %s", ev.m.Reason)
	case evLost:
		m.slots = slices.DeleteFunc(m.slots, func(s rpc.Slot) bool { return s.TaskManager == ev.m.TaskManager })
		m.forgetWorker(ctx, ev.m.TaskManager)
		return taskManagerLost{fmt.Errorf("program: TaskManager %s is lost: %s", ev.m.TaskManager, ev.m.Reason)}
	case evWorkerLost:
		if w := m.workers[ev.tm]; w != nil {
			m.forgetWorker(ctx, ev.tm)
			return fmt.Errorf("program: the worker on TaskManager %s failed: %s", ev.tm, ev.err)
		}
	case evRegistered:
		w := m.workers[ev.m.TaskManager]
		if w == nil {
			m.log.Warn("a worker registered that was not asked for", "taskmanager", ev.m.TaskManager)
			return nil
		}
		if fp := m.job.Graph.Plan(m.job.Name).Fingerprint; ev.m.Fingerprint != fp {
			return permanent{fmt.Errorf("program: the worker on TaskManager %s built another job graph from the program (fingerprint %s, want %s): "+
				"the program must build the same job in every process", w.tm, ev.m.Fingerprint, fp)}
		}
		w.addr, w.data, w.registered = ev.m.Address, ev.m.DataAddress, true
		m.startOutbox(ctx, w)
	case evDeployed:
		if w := m.workers[ev.tm]; w != nil {
			w.deployed = true
		}
	case evEnded:
		if w := m.workers[ev.tm]; w != nil {
			w.ended = true
			if ev.err != "" {
				return fmt.Errorf("program: the subtasks on TaskManager %s failed: %s", ev.tm, ev.err)
			}
		}
	case evCancel:
		m.cancelled = true
		return context.Canceled
	}
	return nil
}

// taskManagerLost marks the failure of a lost TaskManager.
type taskManagerLost struct{ error }

func (taskManagerLost) TaskManagerLost() bool { return true }
func (t taskManagerLost) Unwrap() error       { return t.error }

// next waits for the next event and applies it.
func (m *master) next(ctx context.Context, timeout <-chan time.Time) error {
	var failed <-chan error
	if m.cp != nil {
		failed = m.cp.Failed()
	}
	select {
	case ev := <-m.events:
		return m.apply(ctx, ev)
	case err := <-failed:
		return err
	case <-timeout:
		return errors.New("program: timed out")
	case <-ctx.Done():
		return ctx.Err()
	}
}

// used are the workers of the TaskManagers that hold the job's slots, in
// slot order.
func (m *master) used() []*remoteWorker {
	var list []*remoteWorker
	seen := map[string]bool{}
	for _, s := range m.slots[:min(m.need, len(m.slots))] {
		if !seen[s.TaskManager] {
			seen[s.TaskManager] = true
			list = append(list, m.workers[s.TaskManager])
		}
	}
	return list
}

// runAttempt gets slots and workers, deploys the subtasks, starts the
// checkpoints and runs the attempt to its end.
func (m *master) runAttempt(ctx context.Context, attempt int, restore string) error {
	if err := m.ensureSlots(ctx); err != nil {
		return err
	}
	if err := m.ensureWorkers(ctx); err != nil {
		return err
	}
	a := m.assignment()
	workers := m.used()
	for _, w := range workers {
		w.deployed, w.ended = false, false
		w.out.Add(rpc.Control{Kind: rpc.ControlDeploy, Attempt: attempt, Assignment: a,
			RestoreLocation: restore, AllowNonRestored: m.job.Options.AllowNonRestoredState})
	}
	all := func(f func(*remoteWorker) bool) bool {
		for _, w := range workers {
			if !f(w) {
				return false
			}
		}
		return true
	}
	for !all(func(w *remoteWorker) bool { return w.deployed }) {
		if err := m.next(ctx, nil); err != nil {
			return m.abort(ctx, attempt, workers, err)
		}
	}
	if m.cp != nil {
		if err := m.cp.StartAttempt(ctx, m.gateway(attempt, a)); err != nil {
			return m.abort(ctx, attempt, workers, err)
		}
	}
	for _, w := range workers {
		w.out.Add(rpc.Control{Kind: rpc.ControlRun, Attempt: attempt})
	}
	m.setState(rest.StateRunning, nil)
	m.log.Info("job running", "attempt", attempt, "workers", len(workers))
	for !all(func(w *remoteWorker) bool { return w.ended }) {
		if err := m.next(ctx, nil); err != nil {
			return m.abort(ctx, attempt, workers, err)
		}
	}
	return nil
}

// abort cancels the attempt on every worker and waits until each has
// ended it or is gone; a worker that does not answer within the heartbeat
// timeout is stopped.
func (m *master) abort(ctx context.Context, attempt int, workers []*remoteWorker, cause error) error {
	m.log.Warn("cancelling the attempt", "attempt", attempt, "cause", cause)
	if m.cancelled {
		m.setState(rest.StateCancelling, nil)
	}
	for _, w := range workers {
		if m.workers[w.tm] == w && w.registered && !w.ended {
			w.out.Add(rpc.Control{Kind: rpc.ControlCancelAt, Attempt: attempt})
		}
	}
	timeout := time.NewTimer(m.p.HeartbeatTimeout)
	defer timeout.Stop()
	for {
		waiting := false
		for _, w := range workers {
			if m.workers[w.tm] == w && w.registered && w.deployed && !w.ended {
				waiting = true
			}
		}
		if !waiting || ctx.Err() != nil {
			return cause
		}
		select {
		case ev := <-m.events:
			_ = m.apply(ctx, ev)
		case <-timeout.C:
			for _, w := range workers {
				if m.workers[w.tm] == w && !w.ended {
					m.log.Warn("a worker did not end its attempt; stopping it", "taskmanager", w.tm)
					m.forgetWorker(ctx, w.tm)
				}
			}
			return cause
		case <-ctx.Done():
			return cause
		}
	}
}

// ensureSlots requests what the job misses and waits until it has them.
func (m *master) ensureSlots(ctx context.Context) error {
	for len(m.slots) < m.need {
		if missing := m.need - len(m.slots) - m.pending; missing > 0 {
			m.setState(rest.StateCreated, nil)
			req := &rpc.RequestSlots{JobID: m.p.JobID, Slots: missing}
			if err := m.call(ctx, m.p.Dispatcher, rpc.MethodRequestSlots, req); err != nil {
				return fmt.Errorf("program: request %d slots: %w", missing, err)
			}
			m.pending += missing
		}
		if err := m.next(ctx, nil); err != nil {
			var lost taskManagerLost
			if errors.As(err, &lost) {
				continue // not running yet: request again
			}
			return err
		}
	}
	if len(m.slots) > m.need {
		// More than asked for (a request that raced a loss): keep them,
		// the job uses the first.
		m.log.Debug("the job holds more slots than it uses", "slots", len(m.slots), "need", m.need)
	}
	return nil
}

// ensureWorkers starts a worker on every TaskManager that holds slots of
// the job and has none, and waits until all have registered.
func (m *master) ensureWorkers(ctx context.Context) error {
	for _, s := range m.slots[:m.need] {
		if m.workers[s.TaskManager] != nil {
			continue
		}
		w := &remoteWorker{tm: s.TaskManager, tmAddr: s.Address}
		m.workers[w.tm] = w
		proc := *m.p
		proc.Role, proc.TaskManager, proc.JobMaster = RoleWorker, w.tm, advertised(m.p.Host, m.server.Addr())
		proc.Dispatcher, proc.Program, proc.BlobAddress, proc.Args = "", "", "", nil
		req := &rpc.StartWorker{JobID: m.p.JobID, Builtin: m.p.Program == "", Program: m.p.Program, BlobAddress: m.p.BlobAddress,
			Args: m.p.Args, WorkingDir: m.p.WorkingDir, JobMaster: proc.JobMaster, Env: proc.Env()}
		if err := m.call(ctx, w.tmAddr, rpc.MethodStartWorker, req); err != nil {
			delete(m.workers, w.tm)
			var re *rpc.Error
			if !errors.As(err, &re) {
				// The TaskManager is not there: have the ResourceManager
				// take it as lost now, not after the heartbeat timeout, and
				// give up its slots (its SlotsLost follows).
				_ = m.call(ctx, m.p.Dispatcher, rpc.MethodTaskManagerUnreachable,
					&rpc.TaskManagerUnreachable{JobID: m.p.JobID, TaskManager: w.tm, Reason: err.Error()})
				m.slots = slices.DeleteFunc(m.slots, func(s rpc.Slot) bool { return s.TaskManager == w.tm })
				return taskManagerLost{fmt.Errorf("program: TaskManager %s is unreachable: %w", w.tm, err)}
			}
			return fmt.Errorf("program: start the worker on TaskManager %s: %w", w.tm, err)
		}
		m.log.Info("worker starting", "taskmanager", w.tm)
	}
	deadline := time.NewTimer(workerStartTimeout)
	defer deadline.Stop()
	for {
		ready := true
		for _, w := range m.used() {
			if w == nil {
				return errors.New("program: a TaskManager of the job's slots has no worker")
			}
			ready = ready && w.registered
		}
		if ready {
			return nil
		}
		if err := m.next(ctx, deadline.C); err != nil {
			return err
		}
	}
}

// startOutbox starts the goroutine that sends w's controls.
func (m *master) startOutbox(ctx context.Context, w *remoteWorker) {
	w.out = outbox.New[rpc.Control](outboxLimit)
	m.wg.Add(1)
	go func() {
		defer m.wg.Done()
		err := w.out.Run(ctx, func(ctx context.Context, batch []rpc.Control) error {
			return m.call(ctx, w.addr, rpc.MethodWorkerControl, &rpc.WorkerControl{JobID: m.p.JobID, Controls: batch})
		})
		if err != nil && ctx.Err() == nil {
			select {
			case m.events <- evWorkerLost{w.tm, err.Error()}:
			case <-ctx.Done():
			}
		}
	}()
}

// forgetWorker drops the worker of tm and has its TaskManager stop its
// process, if it still runs.
func (m *master) forgetWorker(ctx context.Context, tm string) {
	w := m.workers[tm]
	if w == nil {
		return
	}
	delete(m.workers, tm)
	if w.out != nil {
		w.out.Close()
	}
	cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	_ = m.call(cctx, w.tmAddr, rpc.MethodStopWorker, &rpc.StopWorker{JobID: m.p.JobID})
}

// shutdownWorkers stops every worker at the job's end.
func (m *master) shutdownWorkers(ctx context.Context) {
	var wg sync.WaitGroup
	for tm, w := range m.workers {
		delete(m.workers, tm)
		if w.out != nil {
			w.out.Close()
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			_ = m.call(ctx, w.tmAddr, rpc.MethodStopWorker, &rpc.StopWorker{JobID: m.p.JobID})
		}()
	}
	wg.Wait()
	m.wg.Wait()
}

// assignment places subtask s of every task into the job's slot s:
// Flink's slot sharing, one slot per parallel pipeline.
func (m *master) assignment() *rpc.Assignment {
	a := &rpc.Assignment{Workers: map[string]string{}}
	for _, w := range m.used() {
		a.Workers[w.tm] = w.data
	}
	for _, v := range m.job.Graph.Vertices {
		row := make([]string, v.Parallelism)
		for s := range row {
			row[s] = m.slots[s].TaskManager
		}
		a.Subtasks = append(a.Subtasks, row)
	}
	return a
}

// gateway reaches the subtasks of one attempt through their workers'
// outboxes; it never blocks.
func (m *master) gateway(attempt int, a *rpc.Assignment) jobmaster.TaskGateway {
	g := remoteTasks{attempt: attempt, at: make([][]*outbox.Outbox[rpc.Control], len(a.Subtasks))}
	for v, row := range a.Subtasks {
		g.at[v] = make([]*outbox.Outbox[rpc.Control], len(row))
		for s, tm := range row {
			g.at[v][s] = m.workers[tm].out
		}
	}
	return g
}

type remoteTasks struct {
	attempt int
	at      [][]*outbox.Outbox[rpc.Control]
}

func (g remoteTasks) send(t checkpoint.TaskID, c rpc.Control) {
	if t.Vertex < 0 || t.Vertex >= len(g.at) || t.Subtask < 0 || t.Subtask >= len(g.at[t.Vertex]) {
		return
	}
	c.Attempt, c.Task = g.attempt, t
	g.at[t.Vertex][t.Subtask].Add(c)
}

func (g remoteTasks) TriggerCheckpoint(t checkpoint.TaskID, b *network.Barrier) {
	g.send(t, rpc.Control{Kind: rpc.ControlTrigger, Barrier: b})
}

func (g remoteTasks) NotifyCheckpointComplete(t checkpoint.TaskID, id int64, opts checkpoint.Options) {
	g.send(t, rpc.Control{Kind: rpc.ControlComplete, CheckpointID: id, Options: opts})
}

func (g remoteTasks) NotifyCheckpointAborted(t checkpoint.TaskID, id int64) {
	g.send(t, rpc.Control{Kind: rpc.ControlAbort, CheckpointID: id})
}

func (g remoteTasks) DeliverOperatorEvent(t checkpoint.TaskID, node int, event []byte) {
	g.send(t, rpc.Control{Kind: rpc.ControlEvent, Node: node, Event: event})
}

func vertexID(id int) string { return fmt.Sprintf("v%d", id) }

// advertised is the address others reach a server bound to addr at: host
// if it is set, else the bound address.
func advertised(host, addr string) string {
	_, port, err := net.SplitHostPort(addr)
	if err != nil || host == "" || host == "0.0.0.0" || host == "::" {
		return addr
	}
	return net.JoinHostPort(host, port)
}

func closeServer(s *rpc.Server) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_ = s.Close(ctx)
}

func sleepCtx(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
