package program

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"net"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/runnel-io/runnel/cluster/jobmaster"
	"github.com/runnel-io/runnel/cluster/rest"
	"github.com/runnel-io/runnel/cluster/rpc"
	"github.com/runnel-io/runnel/internal/httpserve"
	"github.com/runnel-io/runnel/internal/outbox"
	"github.com/runnel-io/runnel/runtime/checkpoint"
	"github.com/runnel-io/runnel/runtime/job"
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
// a jobmaster.Master whose Runtime (this type) gets slots from the
// ResourceManager through the Dispatcher, has the TaskManagers that hold
// them start the job's workers, and sends those workers their controls
// through one ordered outbox each. The RPC handlers hand the Master the
// events; checkpoint traffic bypasses it: acknowledgements go straight to
// the Checkpointer, and the Checkpointer's triggers and notifications go
// to the workers' outboxes.
type master struct {
	p      *Process
	job    *job.Job
	log    *slog.Logger
	client *rpc.Client
	server *rpc.Server
	cp     *jobmaster.Checkpointer // nil without checkpoints and coordinators
	gws    map[int][]operator.CoordinatorGateway
	jm     *jobmaster.Master
	ctx    context.Context // the process's, for the outboxes and calls

	attempt atomic.Int64 // the attempt whose checkpoint reports count
	// status goes to the Dispatcher in order.
	status *outbox.Outbox[rpc.JobStatus]

	mu            sync.Mutex // guards state, lastSavepoint, metrics and workers
	state         string
	lastSavepoint rpc.CheckpointStats // its savepoint fields only
	metrics       map[string]rpc.WorkerMetrics
	workers       map[string]*remoteWorker

	wg sync.WaitGroup // the outboxes and the calls to TaskManagers
}

// remoteWorker is the worker process of the job on one TaskManager.
type remoteWorker struct {
	tm, tmAddr string
	addr, data string // once registered
	out        *outbox.Outbox[rpc.Control]
}

// stopWorkerTimeout bounds the call that has a TaskManager stop a worker.
const stopWorkerTimeout = 10 * time.Second

func runJobMaster(ctx context.Context, p *Process, j *job.Job, log *slog.Logger) error {
	tlsServer, tlsClient, err := internalTLS()
	if err != nil {
		return err
	}
	m := &master{p: p, job: j, log: log, client: rpc.NewClient(tlsClient), ctx: ctx,
		status: outbox.New[rpc.JobStatus](outboxLimit), workers: map[string]*remoteWorker{}, state: rest.StateCreated}
	plan := j.Graph.Plan(j.Name)
	var setupErr error
	if p.Fingerprint != "" && plan.Fingerprint != p.Fingerprint {
		setupErr = jobmaster.NonRecoverable(fmt.Errorf("program: the JobMaster built another job than the one submitted "+
			"(the program must build the same job in every process): %w", plan.Check(j.Graph)))
	} else {
		setupErr = m.setup(ctx)
	}

	m.server = rpc.NewServer(log)
	m.handle()
	if err := m.server.Listen(net.JoinHostPort(p.listenHost(), "0"), tlsServer); err != nil {
		return fmt.Errorf("program: JobMaster: %w", err)
	}
	defer closeServer(m.server)
	addr := advertised(p.Host, m.server.Addr())

	statusDone := make(chan error, 1)
	go func() { statusDone <- m.status.Run(context.WithoutCancel(ctx), m.sendStatus) }()
	vertices := make([]rpc.Vertex, 0, len(plan.Vertices))
	for _, v := range plan.Vertices {
		vertices = append(vertices, rpc.Vertex{ID: vertexID(v.ID), Name: v.Name, Parallelism: v.Parallelism, MaxParallelism: v.MaxParallelism})
	}
	reg := &rpc.RegisterJobMaster{JobID: p.JobID, Address: addr, Name: j.Name, Fingerprint: plan.Fingerprint, Vertices: vertices}
	if err := m.call(ctx, p.Dispatcher, rpc.MethodRegisterJobMaster, reg); err != nil {
		m.status.Close()
		<-statusDone
		return fmt.Errorf("program: register the JobMaster with the Dispatcher at %s: %w", p.Dispatcher, err)
	}
	if setupErr != nil {
		// The job cannot start: it fails, and the Dispatcher hears why.
		log.Error("the job cannot start", "error", setupErr)
		m.report(rest.StateFailed, m.exception(setupErr, 0, false, 0))
		err = setupErr
	} else {
		log.Info("JobMaster running", "name", j.Name, "address", addr)
		err = m.jm.Run(ctx, m)
	}
	m.stopAll()
	m.wg.Wait()
	m.status.Close()
	if serr := <-statusDone; serr != nil {
		return fmt.Errorf("program: report the job's end to the Dispatcher: %w", serr)
	}
	if err != nil {
		log.Info("job ended", "state", m.currentState(), "error", err)
	} else {
		log.Info("job ended", "state", m.currentState())
	}
	return nil
}

// setup makes the job's checkpointer and Master.
func (m *master) setup(ctx context.Context) error {
	j, cfg := m.job, m.job.Config
	cfg.Logger = m.log
	cp, loc, err := jobmaster.CheckpointerFor(ctx, m.p.JobID, j.Graph, cfg)
	if err != nil {
		return fmt.Errorf("program: job %q: %w", j.Name, err)
	}
	if cp != nil {
		m.cp, m.gws = cp, cp.Gateways()
	}
	jm, err := jobmaster.NewMaster(jobmaster.MasterConfig{
		Core: jobmaster.CoreConfig{Vertices: jobmaster.Vertices(j.Graph), Restart: cfg.Restart, RestoreFrom: loc,
			WorkerStartTimeout: workerStartTimeout, CancelTimeout: m.p.HeartbeatTimeout},
		Checkpointer: m.cp, Clock: cfg.Clock, Logger: m.log, Listener: m.hear,
	})
	if err != nil {
		return jobmaster.NonRecoverable(err)
	}
	m.jm = jm
	return nil
}

func (m *master) now() int64 { return m.job.Config.Clock.Now().UnixMilli() }

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

// hear reports the Master's state changes and failures to the
// Dispatcher: each failure is an entry of the exception history.
func (m *master) hear(a jobmaster.Action) {
	switch a := a.(type) {
	case jobmaster.StateChanged:
		m.report(string(a.To), nil)
	case jobmaster.Failure:
		m.report("", m.exception(a.Cause, a.Attempt, a.Restart, a.Delay))
	}
}

func (m *master) currentState() string {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.state
}

// report records the job's state ("" to keep it) and reports it, with
// exc, to the Dispatcher.
func (m *master) report(state string, exc *rpc.Exception) {
	m.mu.Lock()
	if state == "" {
		state = m.state
	}
	m.state = state
	m.mu.Unlock()
	st := rpc.JobStatus{JobID: m.p.JobID, State: state, Timestamp: m.now(), Exception: exc, Checkpoints: m.checkpointStats()}
	m.status.Add(st)
}

func (m *master) checkpointStats() *rpc.CheckpointStats {
	if m.cp == nil || m.job.Config.Checkpoints == nil {
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
	stats.RestoredIsSavepoint = s.RestoredLocation != "" && m.job.Config.RestorePath != ""
	return &stats
}

// exception describes a failure of attempt for the exception history.
func (m *master) exception(err error, attempt int, restart bool, delay time.Duration) *rpc.Exception {
	next := "none"
	if restart {
		next = delay.String()
	}
	return &rpc.Exception{Name: jobmaster.ExceptionName(err), Message: err.Error(), Timestamp: m.now(),
		Labels: map[string]string{"attempt": strconv.Itoa(attempt + 1), "restart": next}}
}

// handle registers the JobMaster's RPC methods. A JobMaster whose job
// could not start (m.jm is nil) only reports that and ends: nothing asks
// it for slots or workers, and control calls are refused.
func (m *master) handle() {
	s := m.server
	rpc.Handle(s, rpc.MethodJobControl, func(ctx context.Context, r *rpc.JobControl) (*rpc.JobControlResult, error) {
		return m.control(ctx, r)
	})
	if m.jm == nil {
		return
	}
	ok := &rpc.Empty{}
	rpc.Handle(s, rpc.MethodSlotsAllocated, func(_ context.Context, r *rpc.SlotsAllocated) (*rpc.Empty, error) {
		slots := make([]jobmaster.Slot, len(r.Slots))
		for i, x := range r.Slots {
			slots[i] = jobmaster.Slot{TaskManager: x.TaskManager, Address: x.Address}
		}
		m.jm.SlotsOffered(slots)
		return ok, nil
	})
	rpc.Handle(s, rpc.MethodSlotsLost, func(_ context.Context, r *rpc.SlotsLost) (*rpc.Empty, error) {
		m.jm.SlotsLost(r.TaskManager, remoteError(r.Reason))
		return ok, nil
	})
	rpc.Handle(s, rpc.MethodSlotRequestFailed, func(_ context.Context, r *rpc.SlotRequestFailed) (*rpc.Empty, error) {
		m.jm.SlotRequestFailed(r.Slots, remoteError(r.Reason))
		return ok, nil
	})
	rpc.Handle(s, rpc.MethodRegisterWorker, func(_ context.Context, r *rpc.RegisterWorker) (*rpc.Empty, error) {
		m.registered(r)
		return ok, nil
	})
	rpc.Handle(s, rpc.MethodWorkerExited, func(_ context.Context, r *rpc.WorkerExited) (*rpc.Empty, error) {
		err := fmt.Errorf("program: the worker process on TaskManager %s ended", r.TaskManager)
		if r.Error != "" {
			err = fmt.Errorf("%w: %s", err, r.Error)
		}
		m.jm.WorkerLost(r.TaskManager, err)
		return ok, nil
	})
	rpc.Handle(s, rpc.MethodWorkerReport, func(ctx context.Context, r *rpc.WorkerReport) (*rpc.WorkerReportResult, error) {
		return m.reports(ctx, r)
	})
}

// registered takes the registration of a worker: it must have built the
// job graph the client submitted.
func (m *master) registered(r *rpc.RegisterWorker) {
	m.mu.Lock()
	w := m.workers[r.TaskManager]
	m.mu.Unlock()
	if w == nil {
		m.log.Warn("a worker registered that was not asked for", "taskmanager", r.TaskManager)
		return
	}
	if fp := m.job.Graph.Plan(m.job.Name).Fingerprint; r.Fingerprint != fp {
		m.jm.WorkerLost(r.TaskManager, jobmaster.NonRecoverable(fmt.Errorf(
			"program: the worker on TaskManager %s built another job graph from the program (fingerprint %s, want %s): "+
				"the program must build the same job in every process", r.TaskManager, r.Fingerprint, fp)))
		return
	}
	m.mu.Lock()
	w.addr, w.data = r.Address, r.DataAddress
	m.mu.Unlock()
	m.startOutbox(w)
	m.jm.WorkerStarted(r.TaskManager)
}

// reports takes a worker's reports: scheduling ones go to the Master,
// checkpoint ones to the Checkpointer, in order. Checkpoint reports of an
// earlier attempt are dropped; the Master drops the others itself.
func (m *master) reports(ctx context.Context, r *rpc.WorkerReport) (*rpc.WorkerReportResult, error) {
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
		switch x.Kind {
		case rpc.ReportDeployed:
			m.jm.Deployed(r.TaskManager, x.Attempt)
			continue
		case rpc.ReportEnded:
			err := remoteError(x.Error)
			if x.NonRecoverable {
				err = jobmaster.NonRecoverable(err) // nil stays nil
			}
			m.jm.TasksEnded(r.TaskManager, x.Attempt, err)
			continue
		}
		if x.Attempt != current {
			continue
		}
		switch x.Kind {
		case rpc.ReportAcknowledge, rpc.ReportDecline, rpc.ReportFinished:
			if x.Kind == rpc.ReportFinished {
				m.jm.TaskFinished(x.Attempt, x.Task.Vertex, x.Task.Subtask)
			}
			if m.cp == nil {
				continue
			}
			rep := m.cp.Reporter()
			switch x.Kind {
			case rpc.ReportAcknowledge:
				rep.Acknowledge(x.CheckpointID, x.Task, x.States)
			case rpc.ReportDecline:
				rep.Decline(x.CheckpointID, x.Task, remoteError(x.Error))
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
	}
	return res, nil
}

// control carries out an operation of the REST API on the running job.
func (m *master) control(ctx context.Context, r *rpc.JobControl) (*rpc.JobControlResult, error) {
	if m.jm == nil {
		return nil, rpc.Errorf(rpc.CodeConflict, "job %s could not start", m.p.JobID)
	}
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
		m.jm.Cancel()
		return &rpc.JobControlResult{}, nil
	case rpc.ControlSavepoint, rpc.ControlStop:
		if m.cp == nil || m.job.Config.Checkpoints == nil {
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
			m.jm.Cancel()
		}
		return &rpc.JobControlResult{Location: loc}, nil
	case rpc.ControlTriggerCheckpoint:
		if m.cp == nil || m.job.Config.Checkpoints == nil {
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

// startOutbox starts the goroutine that sends w's controls; its failure
// is the worker's loss.
func (m *master) startOutbox(w *remoteWorker) {
	out := outbox.New[rpc.Control](outboxLimit)
	m.mu.Lock()
	w.out = out
	addr := w.addr
	m.mu.Unlock()
	m.wg.Add(1)
	go func() {
		defer m.wg.Done()
		err := out.Run(m.ctx, func(ctx context.Context, batch []rpc.Control) error {
			return m.call(ctx, addr, rpc.MethodWorkerControl, &rpc.WorkerControl{JobID: m.p.JobID, Controls: batch})
		})
		if err != nil && m.ctx.Err() == nil {
			m.jm.WorkerLost(w.tm, fmt.Errorf("the worker on TaskManager %s cannot be reached: %w", w.tm, err))
		}
	}()
}

// The jobmaster.Runtime of a cluster. Its methods run on the Master's
// goroutine and only send: calls that may take long run on goroutines of
// their own, and the sends to workers go through their outboxes.

func (m *master) RequestSlots(ctx context.Context, n int) {
	if err := m.call(ctx, m.p.Dispatcher, rpc.MethodRequestSlots, &rpc.RequestSlots{JobID: m.p.JobID, Slots: n}); err != nil {
		m.jm.SlotRequestFailed(n, fmt.Errorf("program: request %d slots from the Dispatcher at %s: %w", n, m.p.Dispatcher, err))
	}
}

func (m *master) ReleaseSlots(ctx context.Context) {
	if err := m.call(ctx, m.p.Dispatcher, rpc.MethodReleaseSlots, &rpc.ReleaseSlots{JobID: m.p.JobID}); err != nil {
		m.log.Warn("releasing the job's slots", "error", err)
	}
}

func (m *master) StartWorker(ctx context.Context, s jobmaster.Slot) {
	w := &remoteWorker{tm: s.TaskManager, tmAddr: s.Address}
	m.mu.Lock()
	m.workers[w.tm] = w
	m.mu.Unlock()
	proc := *m.p
	proc.Role, proc.TaskManager, proc.JobMaster = RoleWorker, w.tm, advertised(m.p.Host, m.server.Addr())
	proc.Dispatcher, proc.Program, proc.BlobAddress, proc.Args = "", "", "", nil
	req := &rpc.StartWorker{JobID: m.p.JobID, Builtin: m.p.Program == "", Program: m.p.Program, BlobAddress: m.p.BlobAddress,
		Args: m.p.Args, WorkingDir: m.p.WorkingDir, JobMaster: proc.JobMaster, Env: proc.Env()}
	m.log.Info("worker starting", "taskmanager", w.tm)
	m.wg.Add(1)
	go func() {
		defer m.wg.Done()
		cctx, cancel := context.WithTimeout(ctx, workerStartTimeout)
		defer cancel()
		_, err := rpc.Call[rpc.StartWorker, rpc.Empty](cctx, m.client, w.tmAddr, rpc.MethodStartWorker, req)
		if err == nil {
			return // it registers
		}
		var re *rpc.Error
		if !errors.As(err, &re) {
			// The TaskManager is not there: have the ResourceManager take
			// it as lost now, not after the heartbeat timeout (its
			// SlotsLost follows).
			_ = m.call(ctx, m.p.Dispatcher, rpc.MethodTaskManagerUnreachable,
				&rpc.TaskManagerUnreachable{JobID: m.p.JobID, TaskManager: w.tm, Reason: err.Error()})
			m.jm.WorkerLost(w.tm, &jobmaster.TaskManagerLostError{TaskManager: w.tm, Reason: fmt.Errorf("unreachable: %w", err)})
			return
		}
		m.jm.WorkerLost(w.tm, fmt.Errorf("program: start the worker on TaskManager %s: %w", w.tm, err))
	}()
}

// StopWorker drops the worker of tm and has its TaskManager stop its
// process, if it still runs.
func (m *master) StopWorker(ctx context.Context, tm string) {
	m.mu.Lock()
	w := m.workers[tm]
	delete(m.workers, tm)
	m.mu.Unlock()
	if w != nil {
		m.stop(ctx, w)
	}
}

func (m *master) stop(ctx context.Context, w *remoteWorker) {
	m.mu.Lock()
	out := w.out
	m.mu.Unlock()
	if out != nil {
		out.Close()
	}
	m.wg.Add(1)
	go func() {
		defer m.wg.Done()
		cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), stopWorkerTimeout)
		defer cancel()
		_ = m.call(cctx, w.tmAddr, rpc.MethodStopWorker, &rpc.StopWorker{JobID: m.p.JobID})
	}()
}

// stopAll stops every worker left at the job's end.
func (m *master) stopAll() {
	m.mu.Lock()
	workers := m.workers
	m.workers = map[string]*remoteWorker{}
	m.mu.Unlock()
	for _, w := range workers {
		m.stop(context.WithoutCancel(m.ctx), w)
	}
}

// send adds c to the outbox of the worker on tm.
func (m *master) send(tm string, c rpc.Control) {
	var out *outbox.Outbox[rpc.Control]
	m.mu.Lock()
	if w := m.workers[tm]; w != nil {
		out = w.out
	}
	m.mu.Unlock()
	if out == nil || !out.Add(c) {
		m.jm.WorkerLost(tm, fmt.Errorf("program: the worker on TaskManager %s cannot be reached", tm))
	}
}

func (m *master) Deploy(_ context.Context, d jobmaster.Deploy) {
	m.attempt.Store(int64(d.Attempt))
	a := &rpc.Assignment{Workers: map[string]string{}, Subtasks: d.Placement.Subtasks}
	m.mu.Lock()
	for _, tm := range d.Placement.Workers {
		if w := m.workers[tm]; w != nil {
			a.Workers[tm] = w.data
		}
	}
	m.mu.Unlock()
	m.send(d.TaskManager, rpc.Control{Kind: rpc.ControlDeploy, Attempt: d.Attempt, Assignment: a,
		RestoreLocation: d.Restore, AllowNonRestored: m.job.Config.AllowNonRestoredState})
}

func (m *master) Run(_ context.Context, tm string, attempt int) {
	m.send(tm, rpc.Control{Kind: rpc.ControlRun, Attempt: attempt})
}

func (m *master) CancelAttempt(_ context.Context, tm string, attempt int) {
	m.send(tm, rpc.Control{Kind: rpc.ControlCancelAt, Attempt: attempt})
}

// Tasks reaches the subtasks of one attempt through their workers'
// outboxes; it never blocks.
func (m *master) Tasks(attempt int, p jobmaster.Placement) jobmaster.TaskGateway {
	g := remoteTasks{attempt: attempt, at: make([][]*outbox.Outbox[rpc.Control], len(p.Subtasks))}
	m.mu.Lock()
	defer m.mu.Unlock()
	for v, row := range p.Subtasks {
		g.at[v] = make([]*outbox.Outbox[rpc.Control], len(row))
		for s, tm := range row {
			if w := m.workers[tm]; w != nil {
				g.at[v][s] = w.out
			}
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
	if out := g.at[t.Vertex][t.Subtask]; out != nil {
		out.Add(c)
	}
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
// if it is set, else the bound address, loopback for one bound to all
// interfaces.
func advertised(host, addr string) string {
	_, port, err := net.SplitHostPort(addr)
	if ip := net.ParseIP(host); err != nil || host == "" || ip != nil && ip.IsUnspecified() {
		return httpserve.Reachable(addr)
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

// remoteError is the error another process reported as msg: nil if it
// reported none, so that no message ends in an empty cause.
func remoteError(msg string) error {
	if msg == "" {
		return nil
	}
	return errors.New(msg)
}
