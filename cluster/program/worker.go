package program

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"sync"
	"time"

	"github.com/runnel-io/runnel/cluster/jobmaster"
	"github.com/runnel-io/runnel/cluster/rpc"
	"github.com/runnel-io/runnel/cluster/worker"
	"github.com/runnel-io/runnel/internal/outbox"
	"github.com/runnel-io/runnel/runtime/checkpoint"
	"github.com/runnel-io/runnel/runtime/checkpoint/storage"
	"github.com/runnel-io/runnel/runtime/job"
	"github.com/runnel-io/runnel/runtime/network"
	"github.com/runnel-io/runnel/runtime/network/tcp"
	"github.com/runnel-io/runnel/runtime/operator"
	"github.com/runnel-io/runnel/runtime/task"
)

// host is a worker process: it runs the subtasks its JobMaster places on
// its TaskManager, one attempt at a time, with a cluster/worker.Worker
// per attempt, and exchanges records with the job's other workers through
// its own data server and client.
type host struct {
	p       *Process
	job     *job.Job
	log     *slog.Logger
	client  *rpc.Client
	server  *tcp.Server
	data    *tcp.Client
	reports *outbox.Outbox[rpc.Report]
	st      storage.Storage // nil without checkpoints

	controls chan []rpc.Control

	mu        sync.Mutex
	locations map[int64]storage.StateWriter // of checkpoints in progress

	cur *attemptRun // owned by serve
	w   *worker.Worker
}

// attemptRun is one attempt on this worker.
type attemptRun struct {
	n       int
	cancel  context.CancelFunc
	run     chan struct{} // closed by the JobMaster's run control
	started bool
	done    chan struct{}
	tasks   jobmaster.TaskGateway
}

func runWorker(ctx context.Context, p *Process, j *job.Job, log *slog.Logger) error {
	log = log.With("taskmanager", p.TaskManager)
	tlsServer, tlsClient, err := internalTLS()
	if err != nil {
		return err
	}
	plan := j.Graph.Plan(j.Name)
	h := &host{p: p, job: j, log: log, client: rpc.NewClient(tlsClient), reports: outbox.New[rpc.Report](outboxLimit),
		controls: make(chan []rpc.Control, 64), locations: map[int64]storage.StateWriter{}}
	if c := j.Config.Checkpoints; c != nil {
		h.st = c.Storage
	}
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	var bg sync.WaitGroup
	defer bg.Wait()
	defer cancel(nil)

	ln, err := net.Listen("tcp", net.JoinHostPort(p.listenHost(), "0"))
	if err != nil {
		return fmt.Errorf("program: worker data port: %w", err)
	}
	if tlsServer != nil {
		// The data server completes each connection's handshake before it
		// reads a frame (tcp's invariant 10).
		ln = tls.NewListener(ln, tlsServer)
	}
	segment := j.Config.SegmentSize
	if segment <= 0 {
		segment = network.DefaultSegmentSize
	}
	if h.server, err = tcp.NewServer(ln, tcp.ServerOptions{SegmentSize: segment}); err != nil {
		ln.Close()
		return fmt.Errorf("program: worker data server: %w", err)
	}
	bg.Add(1)
	go func() {
		defer bg.Done()
		if err := h.server.Run(ctx); err != nil && ctx.Err() == nil {
			cancel(fmt.Errorf("program: worker data server: %w", err))
		}
	}()
	var dataOpts tcp.ClientOptions
	if tlsClient != nil {
		dataOpts.Dial = tcp.DialTLS(nil, tlsClient)
	}
	h.data = tcp.NewClient(dataOpts)
	defer h.data.Close()

	srv := rpc.NewServer(log)
	rpc.Handle(srv, rpc.MethodWorkerControl, func(cctx context.Context, r *rpc.WorkerControl) (*rpc.Empty, error) {
		if r.JobID != p.JobID {
			return nil, rpc.Errorf(rpc.CodeNotFound, "this worker runs job %s, not %s", p.JobID, r.JobID)
		}
		select {
		case h.controls <- r.Controls:
			return &rpc.Empty{}, nil
		case <-cctx.Done():
			return nil, cctx.Err()
		case <-ctx.Done():
			return nil, rpc.Errorf(rpc.CodeConflict, "the worker is stopping")
		}
	})
	if err := srv.Listen(net.JoinHostPort(p.listenHost(), "0"), tlsServer); err != nil {
		return fmt.Errorf("program: worker: %w", err)
	}
	defer closeServer(srv)

	reportsDone := make(chan error, 1)
	bg.Add(1)
	go func() {
		defer bg.Done()
		err := h.reports.Run(context.WithoutCancel(ctx), func(ctx context.Context, batch []rpc.Report) error {
			_, err := h.call(ctx, batch)
			return err
		})
		reportsDone <- err
		if err != nil {
			cancel(fmt.Errorf("program: lost the JobMaster at %s: %w", p.JobMaster, err))
		}
	}()

	reg := &rpc.RegisterWorker{TaskManager: p.TaskManager, Address: advertised(p.Host, srv.Addr()),
		DataAddress: advertised(p.Host, h.server.Addr().String()), Fingerprint: plan.Fingerprint}
	cctx, ccancel := context.WithTimeout(ctx, callTimeout)
	_, err = rpc.Call[rpc.RegisterWorker, rpc.Empty](cctx, h.client, p.JobMaster, rpc.MethodRegisterWorker, reg)
	ccancel()
	if err != nil {
		return fmt.Errorf("program: register with the JobMaster at %s: %w", p.JobMaster, err)
	}
	log.Info("worker registered", "jobmaster", p.JobMaster, "data", reg.DataAddress)

	err = h.serve(ctx)
	if h.cur != nil {
		h.cur.cancel()
		<-h.cur.done
	}
	h.reports.Close()
	select {
	case <-reportsDone:
	case <-time.After(callTimeout):
	}
	if err == nil {
		err = context.Cause(ctx)
		if errors.Is(err, context.Canceled) {
			err = nil // the process was asked to stop
		}
	}
	return err
}

// call sends reports to the JobMaster.
func (h *host) call(ctx context.Context, reports []rpc.Report) (*rpc.WorkerReportResult, error) {
	ctx, cancel := context.WithTimeout(ctx, callTimeout)
	defer cancel()
	return rpc.Call[rpc.WorkerReport, rpc.WorkerReportResult](ctx, h.client, h.p.JobMaster, rpc.MethodWorkerReport,
		&rpc.WorkerReport{TaskManager: h.p.TaskManager, Reports: reports})
}

// beat is a heartbeat to the JobMaster, with the worker's metrics.
func (h *host) beat(ctx context.Context) (*rpc.WorkerReportResult, error) {
	ctx, cancel := context.WithTimeout(ctx, callTimeout)
	defer cancel()
	return rpc.Call[rpc.WorkerReport, rpc.WorkerReportResult](ctx, h.client, h.p.JobMaster, rpc.MethodWorkerReport,
		&rpc.WorkerReport{TaskManager: h.p.TaskManager, Metrics: h.metrics()})
}

// metrics reads the worker's network buffers.
func (h *host) metrics() *rpc.WorkerMetrics {
	m := &rpc.WorkerMetrics{}
	h.mu.Lock()
	w := h.w
	h.mu.Unlock()
	if w != nil {
		wm := w.Metrics()
		m.SegmentsInUse, m.MaxSegmentsInUse, m.SegmentLimit, m.QueuedBuffers = wm.SegmentsInUse, wm.MaxSegmentsInUse, wm.SegmentLimit, wm.QueuedBuffers
	}
	for _, s := range h.data.Stats() {
		m.RemoteOutputChannels++
		if s.Backlog > 0 {
			m.BackPressuredChannels++
		}
	}
	m.RemoteInputChannels = len(h.server.Stats())
	return m
}

// serve carries out the JobMaster's controls in order until ctx is done
// (the worker is stopped), or the JobMaster has not answered for the
// heartbeat timeout.
func (h *host) serve(ctx context.Context) error {
	beat := time.NewTicker(h.p.HeartbeatInterval)
	defer beat.Stop()
	lastAck := time.Now()
	for {
		select {
		case batch := <-h.controls:
			for _, c := range batch {
				h.apply(ctx, c)
			}
		case <-beat.C:
			if _, err := h.beat(ctx); err == nil {
				lastAck = time.Now()
			} else if time.Since(lastAck) > h.p.HeartbeatTimeout {
				return fmt.Errorf("program: the JobMaster at %s has not answered for %v: %w", h.p.JobMaster, h.p.HeartbeatTimeout, err)
			}
		case <-ctx.Done():
			return nil
		}
	}
}

// apply carries out one control.
func (h *host) apply(ctx context.Context, c rpc.Control) {
	cur := h.cur
	if c.Kind != rpc.ControlDeploy && (cur == nil || cur.n != c.Attempt) {
		return // for an attempt that is over
	}
	switch c.Kind {
	case rpc.ControlDeploy:
		if cur != nil {
			cur.cancel()
			<-cur.done
		}
		h.deploy(ctx, c)
	case rpc.ControlRun:
		if !cur.started {
			cur.started = true
			close(cur.run)
		}
	case rpc.ControlCancelAt:
		cur.cancel()
	case rpc.ControlTrigger:
		if c.Barrier != nil {
			cur.tasks.TriggerCheckpoint(c.Task, c.Barrier)
		}
	case rpc.ControlComplete:
		cur.tasks.NotifyCheckpointComplete(c.Task, c.CheckpointID, c.Options)
		h.forgetLocation(c.CheckpointID)
	case rpc.ControlAbort:
		cur.tasks.NotifyCheckpointAborted(c.Task, c.CheckpointID)
		h.forgetLocation(c.CheckpointID)
	case rpc.ControlEvent:
		cur.tasks.DeliverOperatorEvent(c.Task, c.Node, c.Event)
	default:
		h.log.Warn("unknown control", "kind", c.Kind)
	}
}

// deploy starts an attempt: its subtasks are deployed at once and run
// when the JobMaster says so.
func (h *host) deploy(ctx context.Context, c rpc.Control) {
	actx, cancel := context.WithCancel(ctx)
	run := &attemptRun{n: c.Attempt, cancel: cancel, run: make(chan struct{}), done: make(chan struct{})}
	h.cur = run
	opts := h.job.Config
	ended := func(err error) {
		r := rpc.Report{Kind: rpc.ReportEnded, Attempt: c.Attempt}
		if err != nil {
			r.Error, r.NonRecoverable = err.Error(), jobmaster.IsNonRecoverable(err)
		}
		h.reports.Add(r)
		close(run.done)
	}
	if c.Assignment == nil {
		cancel()
		ended(errors.New("program: a deployment without an assignment"))
		return
	}
	var restore *jobmaster.Restore
	if c.RestoreLocation != "" {
		var err error
		if restore, err = h.restore(actx, c.RestoreLocation, c.AllowNonRestored, c.Assignment); err != nil {
			cancel()
			ended(err)
			return
		}
	}
	wopts := worker.Options{JobName: h.job.Name, ChannelCapacity: opts.ChannelCapacity, SegmentSize: opts.SegmentSize, Clock: opts.Clock,
		AutoWatermarkInterval: opts.AutoWatermarkInterval, BufferTimeout: opts.BufferTimeout, Logger: h.log, Restore: restore,
		Gateways: h.coordinatorGateways(c.Attempt),
		Deployed: func(ctx context.Context, _ worker.Assignment) error {
			h.reports.Add(rpc.Report{Kind: rpc.ReportDeployed, Attempt: c.Attempt})
			select {
			case <-run.run:
				return nil
			case <-ctx.Done():
				return ctx.Err()
			}
		}}
	if opts.Checkpoints != nil {
		wopts.Checkpoints = &task.Checkpointing{Periodic: opts.Checkpoints.Config.Interval > 0,
			Reporter: reporter{h, c.Attempt}, Upload: h.upload}
	}
	w := worker.New(h.p.TaskManager, h.job.Graph, h.server, h.data, wopts)
	run.tasks = w.Tasks()
	h.mu.Lock()
	h.w = w
	h.mu.Unlock()
	a := worker.Assignment{JobID: h.p.JobID, Attempt: c.Attempt, Workers: c.Assignment.Workers, Subtasks: c.Assignment.Subtasks}
	go func() {
		defer cancel()
		err := w.Run(actx, a)
		if errors.Is(err, context.Canceled) && actx.Err() != nil {
			err = nil // cancelled by the JobMaster: nothing to report but the end
		}
		ended(err)
	}()
}

// restore reads the snapshot at location and redistributes it over the
// job's subtasks, reading the keyed state of the local ones only.
func (h *host) restore(ctx context.Context, location string, allowNonRestored bool, a *rpc.Assignment) (*jobmaster.Restore, error) {
	local := func(v, s int) bool {
		return v < len(a.Subtasks) && s < len(a.Subtasks[v]) && a.Subtasks[v][s] == h.p.TaskManager
	}
	return jobmaster.ReadRestore(ctx, h.st, location, h.job.Graph, allowNonRestored, local)
}

// coordinatorGateways carry the subtasks' operator events to their
// coordinators in the JobMaster.
func (h *host) coordinatorGateways(attempt int) map[int][]operator.CoordinatorGateway {
	gws := map[int][]operator.CoordinatorGateway{}
	for _, v := range h.job.Graph.Vertices {
		for _, n := range v.Nodes {
			if n.Coordinator == nil {
				continue
			}
			list := make([]operator.CoordinatorGateway, v.Parallelism)
			for s := range list {
				list[s] = eventGateway{h: h, attempt: attempt, task: checkpoint.TaskID{Vertex: v.ID, Subtask: s}, node: n.ID}
			}
			gws[n.ID] = list
		}
	}
	return gws
}

type eventGateway struct {
	h       *host
	attempt int
	task    checkpoint.TaskID
	node    int
}

func (g eventGateway) SendEvent(event []byte) error {
	if !g.h.reports.Add(rpc.Report{Kind: rpc.ReportEvent, Attempt: g.attempt, Task: g.task, Node: g.node, Event: event}) {
		return errors.New("program: the JobMaster is unreachable")
	}
	return nil
}

// reporter reports the subtasks' checkpoints to the JobMaster.
type reporter struct {
	h       *host
	attempt int
}

func (r reporter) Acknowledge(id int64, t checkpoint.TaskID, states map[string]checkpoint.SubtaskState) {
	r.h.reports.Add(rpc.Report{Kind: rpc.ReportAcknowledge, Attempt: r.attempt, Task: t, CheckpointID: id, States: states})
}

func (r reporter) Decline(id int64, t checkpoint.TaskID, reason error) {
	msg := "" // the JobMaster's coordinator says that none was given
	if reason != nil {
		msg = reason.Error()
	}
	r.h.reports.Add(rpc.Report{Kind: rpc.ReportDecline, Attempt: r.attempt, Task: t, CheckpointID: id, Error: msg})
}

func (r reporter) Finished(t checkpoint.TaskID) {
	r.h.reports.Add(rpc.Report{Kind: rpc.ReportFinished, Attempt: r.attempt, Task: t})
}

// upload writes a state file of checkpoint id into the location the
// JobMaster began for it.
func (h *host) upload(ctx context.Context, id int64, name string, data []byte) (checkpoint.StateHandle, error) {
	w, err := h.location(ctx, id)
	if err != nil {
		return checkpoint.StateHandle{}, err
	}
	return w.WriteState(ctx, name, data)
}

func (h *host) location(ctx context.Context, id int64) (storage.StateWriter, error) {
	h.mu.Lock()
	w := h.locations[id]
	h.mu.Unlock()
	if w != nil {
		return w, nil
	}
	if h.st == nil {
		return nil, errors.New("program: the worker has no checkpoint storage")
	}
	res, err := h.call(ctx, []rpc.Report{{Kind: rpc.ReportLocation, CheckpointID: id}})
	if err != nil {
		return nil, fmt.Errorf("program: the location of checkpoint %d: %w", id, err)
	}
	if res.Location == "" {
		return nil, fmt.Errorf("program: checkpoint %d is not in progress", id)
	}
	if w, err = h.st.Writer(res.Location); err != nil {
		return nil, err
	}
	h.mu.Lock()
	h.locations[id] = w
	h.mu.Unlock()
	return w, nil
}

// forgetLocation drops the writers of checkpoint id and older ones: they
// are complete or aborted.
func (h *host) forgetLocation(id int64) {
	h.mu.Lock()
	defer h.mu.Unlock()
	for k := range h.locations {
		if k <= id {
			delete(h.locations, k)
		}
	}
}
