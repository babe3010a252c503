package jobmaster

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"

	"github.com/runnel-io/runnel/internal/serial"
	"github.com/runnel-io/runnel/runtime/checkpoint"
	"github.com/runnel-io/runnel/runtime/checkpoint/storage"
	"github.com/runnel-io/runnel/runtime/clock"
	"github.com/runnel-io/runnel/runtime/graph"
	"github.com/runnel-io/runnel/runtime/job"
	"github.com/runnel-io/runnel/runtime/network"
	"github.com/runnel-io/runnel/runtime/operator"
	"github.com/runnel-io/runnel/runtime/task"
)

// TaskGateway reaches the subtasks of the running attempt. Its methods must
// not block for long; they may be called after the subtask ended (and do
// nothing then).
type TaskGateway interface {
	TriggerCheckpoint(t checkpoint.TaskID, b *network.Barrier)
	NotifyCheckpointComplete(t checkpoint.TaskID, id int64, opts checkpoint.Options)
	NotifyCheckpointAborted(t checkpoint.TaskID, id int64)
	DeliverOperatorEvent(t checkpoint.TaskID, node int, event []byte)
}

// OperatorCoordinator is an operator's coordinator as the job master holds
// it: the stream node it belongs to, its operator ID and the vertex whose
// subtasks run the operator.
type OperatorCoordinator struct {
	Node       int
	OperatorID string
	// Name is how messages name the operator: its name and UID
	// (graph.Node's String).
	Name        string
	Vertex      int
	Parallelism int
	Factory     operator.CoordinatorFactory
}

// Checkpointer runs the checkpoints of one job over all its attempts.
type Checkpointer struct {
	coord   *checkpoint.Coordinator
	storage storage.Storage
	jobID   string
	clk     clock.Clock
	log     *slog.Logger
	job     checkpoint.Job
	opCoord []OperatorCoordinator

	loop      *serial.Loop // the driver goroutine
	mu        sync.Mutex
	locations map[int64]storage.Location // guarded by mu: read by uploads

	// Owned by the driver goroutine.
	gateway   TaskGateway
	running   map[int]operator.Coordinator // by node
	waiters   map[int64]chan<- savepointResult
	failed    chan AttemptFailure
	attempt   int // the attempt of the running (or last) StartAttempt
	latestMD  *checkpoint.Metadata
	latestLoc string

	finalStats checkpoint.Stats // set when Run returns, before finished is closed
	finished   chan struct{}
}

// ErrStopped is returned by calls on a checkpointer whose Run returned.
var ErrStopped = serial.ErrStopped

type savepointResult struct {
	path string
	err  error
}

// NewCheckpointer returns the checkpointer of a job; restored, if not nil,
// is the checkpoint or savepoint at location the job starts from.
func NewCheckpointer(cfg checkpoint.Config, job checkpoint.Job, coords []OperatorCoordinator, st storage.Storage, clk clock.Clock, log *slog.Logger, restored *checkpoint.Metadata, location string) (*Checkpointer, error) {
	if clk == nil {
		clk = clock.System{}
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	job.Coordinators = nil
	for _, c := range coords {
		job.Coordinators = append(job.Coordinators, c.OperatorID)
	}
	co, err := checkpoint.New(cfg, job, clk.Now().UnixMilli())
	if err != nil {
		return nil, fmt.Errorf("jobmaster: %w", err)
	}
	if restored != nil {
		co.RestoreFrom(restored, location)
	}
	return &Checkpointer{
		coord: co, storage: st, jobID: job.ID, clk: clk, log: log, job: job, opCoord: coords,
		loop:      serial.New(),
		finished:  make(chan struct{}),
		locations: map[int64]storage.Location{},
		running:   map[int]operator.Coordinator{},
		waiters:   map[int64]chan<- savepointResult{},
		failed:    make(chan AttemptFailure, 1),
		latestMD:  restored, latestLoc: location,
	}, nil
}

// do queues fn for the driver goroutine.
func (c *Checkpointer) do(fn func()) { c.loop.Do(fn) }

// call runs fn on the driver goroutine and waits for it.
func (c *Checkpointer) call(ctx context.Context, fn func()) error { return c.loop.Call(ctx, fn) }

// Failed receives the reason when too many checkpoints failed in a row
// (execution.checkpointing.tolerable-failed-checkpoints): the job must
// fail over.
//
// Each failure names the attempt whose checkpoints or coordinators met
// it: one that arrives after that attempt ended is stale, and its
// receiver must drop it.
func (c *Checkpointer) Failed() <-chan AttemptFailure { return c.failed }

// AttemptFailure is a failure of the checkpoints or operator coordinators
// of one attempt.
type AttemptFailure struct {
	Attempt int
	Err     error
}

// fail reports a failure of the current attempt, unless one is pending.
func (c *Checkpointer) fail(err error) {
	select {
	case c.failed <- AttemptFailure{Attempt: c.attempt, Err: err}:
	default:
	}
}

// Run drives the checkpoints until ctx is done. It is the one goroutine
// that touches the coordinator.
func (c *Checkpointer) Run(ctx context.Context) {
	defer func() {
		c.coord.Stop(c.now())
		c.execute(ctx)
		c.closeCoordinators()
		c.finalStats = c.coord.Stats()
		close(c.finished)
	}()
	c.loop.Run(ctx, c.clk, func() (int64, bool) {
		c.coord.Tick(c.now())
		c.execute(ctx)
		return c.coord.NextDeadline()
	})
}

func (c *Checkpointer) now() int64 { return c.clk.Now().UnixMilli() }

// execute carries out the coordinator's actions until it has none.
func (c *Checkpointer) execute(ctx context.Context) {
	for {
		actions := c.coord.Ready()
		if len(actions) == 0 {
			return
		}
		for _, a := range actions {
			c.act(ctx, a)
		}
	}
}

func (c *Checkpointer) act(ctx context.Context, a checkpoint.Action) {
	switch a := a.(type) {
	case checkpoint.Trigger:
		c.trigger(ctx, a)
	case checkpoint.WriteMetadata:
		c.mu.Lock()
		loc := c.locations[a.Metadata.CheckpointID]
		c.mu.Unlock()
		var err error
		path := ""
		if loc == nil {
			err = fmt.Errorf("jobmaster: checkpoint %d has no location", a.Metadata.CheckpointID)
		} else {
			err = loc.Commit(ctx, a.Metadata)
			path = loc.Path()
		}
		c.coord.MetadataWritten(c.now(), a.Metadata.CheckpointID, path, err)
	case checkpoint.Complete:
		c.forget(a.ID)
		c.latestMD, c.latestLoc = a.Metadata, a.Location
		c.log.Info("checkpoint complete", "job", c.jobID, "checkpoint", a.ID, "kind", a.Options.Kind, "location", a.Location)
		if c.gateway != nil {
			for _, t := range c.job.Tasks {
				c.gateway.NotifyCheckpointComplete(t, a.ID, a.Options)
			}
		}
		for _, oc := range c.running {
			oc.NotifyCheckpointComplete(a.ID)
		}
		c.answer(a.ID, savepointResult{path: a.Location})
	case checkpoint.Abort:
		loc := c.forget(a.ID)
		c.log.Info("checkpoint aborted", "job", c.jobID, "checkpoint", a.ID, "reason", a.Reason)
		if c.gateway != nil {
			for _, t := range c.job.Tasks {
				c.gateway.NotifyCheckpointAborted(t, a.ID)
			}
		}
		if loc != nil {
			if err := loc.Discard(ctx); err != nil {
				c.log.Warn("discarding an aborted checkpoint", "checkpoint", a.ID, "error", err)
			}
		}
		c.answer(a.ID, savepointResult{err: a.Reason})
	case checkpoint.Discard:
		if err := c.storage.Discard(ctx, a.Location); err != nil {
			c.log.Warn("discarding a checkpoint", "checkpoint", a.ID, "location", a.Location, "error", err)
		}
	case checkpoint.FailJob:
		c.fail(a.Reason)
	}
}

func (c *Checkpointer) forget(id int64) storage.Location {
	c.mu.Lock()
	defer c.mu.Unlock()
	loc := c.locations[id]
	delete(c.locations, id)
	return loc
}

func (c *Checkpointer) answer(id int64, r savepointResult) {
	if w, ok := c.waiters[id]; ok {
		w <- r
		delete(c.waiters, id)
	}
}

func (c *Checkpointer) trigger(ctx context.Context, a checkpoint.Trigger) {
	loc, err := c.storage.Begin(ctx, c.jobID, a.ID, a.Options)
	if err != nil {
		c.coord.Fail(c.now(), a.ID, err)
		return
	}
	c.mu.Lock()
	c.locations[a.ID] = loc
	c.mu.Unlock()
	if c.gateway == nil {
		// Between two attempts: the next attempt's start aborts it
		// (Coordinator.Restart), which does not count as a failure.
		return
	}
	for _, oc := range c.opCoord {
		r, ok := c.running[oc.Node]
		if !ok {
			c.coord.Fail(c.now(), a.ID, fmt.Errorf("jobmaster: the coordinator of operator %s is not running", oc.Name))
			return
		}
		data, err := r.SnapshotState(a.ID)
		if err != nil {
			c.coord.Fail(c.now(), a.ID, fmt.Errorf("jobmaster: the coordinator of operator %s: %w", oc.Name, err))
			return
		}
		c.coord.AckCoordinator(c.now(), a.ID, oc.OperatorID, data)
	}
	b := &network.Barrier{ID: a.ID, Timestamp: a.Timestamp, Options: a.Options}
	for _, t := range c.job.Sources {
		c.gateway.TriggerCheckpoint(t, b)
	}
}

// Upload writes a state file of checkpoint id: task.Checkpointing.Upload.
func (c *Checkpointer) Upload(ctx context.Context, id int64, name string, data []byte) (checkpoint.StateHandle, error) {
	c.mu.Lock()
	loc := c.locations[id]
	c.mu.Unlock()
	if loc == nil {
		return checkpoint.StateHandle{}, fmt.Errorf("jobmaster: checkpoint %d is not in progress", id)
	}
	return loc.WriteState(ctx, name, data)
}

// Location returns the path of the location of checkpoint id while it is
// in progress: where the tasks of other processes write their state
// (storage.Storage.Writer).
func (c *Checkpointer) Location(id int64) (string, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	loc := c.locations[id]
	if loc == nil {
		return "", false
	}
	return loc.Path(), true
}

// Reporter returns the tasks' side of the checkpoints.
func (c *Checkpointer) Reporter() task.Reporter { return reporter{c} }

type reporter struct{ c *Checkpointer }

func (r reporter) Acknowledge(id int64, t checkpoint.TaskID, states map[string]checkpoint.SubtaskState) {
	r.c.do(func() { r.c.coord.Acknowledge(r.c.now(), id, t, states) })
}

func (r reporter) Decline(id int64, t checkpoint.TaskID, reason error) {
	r.c.do(func() { r.c.coord.Decline(r.c.now(), id, t, reason) })
}

func (r reporter) Finished(t checkpoint.TaskID) {
	r.c.do(func() { r.c.coord.TaskFinished(r.c.now(), t) })
}

// StartAttempt starts the operator coordinators of attempt, restored
// from the latest completed checkpoint, and sends triggers, notifications
// and coordinator events to gw from now on.
func (c *Checkpointer) StartAttempt(ctx context.Context, attempt int, gw TaskGateway) error {
	var err error
	if cerr := c.call(ctx, func() { c.attempt = attempt; err = c.startAttempt(gw) }); cerr != nil {
		return cerr
	}
	return err
}

func (c *Checkpointer) startAttempt(gw TaskGateway) error {
	// Abort what was triggered while no tasks ran, without counting it as
	// a failure, and start the periodic schedule afresh.
	c.coord.Restart(c.now(), errors.New("jobmaster: a new attempt starts"))
	c.execute(context.Background())
	c.gateway = gw
	for _, oc := range c.opCoord {
		var restored []byte
		if c.latestMD != nil {
			if st, ok := c.latestMD.Operator(oc.OperatorID); ok {
				restored = st.Coordinator
				if restored == nil {
					restored = []byte{}
				}
			}
		}
		r, err := oc.Factory(coordContext{c: c, oc: oc}, restored)
		if err != nil {
			return fmt.Errorf("jobmaster: create the coordinator of operator %s: %w", oc.Name, err)
		}
		c.running[oc.Node] = r
	}
	for _, oc := range c.opCoord {
		if err := c.running[oc.Node].Start(); err != nil {
			return fmt.Errorf("jobmaster: start the coordinator of operator %s: %w", oc.Name, err)
		}
	}
	return nil
}

// EndAttempt ends the running attempt: pending checkpoints are aborted and
// the operator coordinators closed. If restart, the next attempt follows.
func (c *Checkpointer) EndAttempt(ctx context.Context, reason error, restart bool) error {
	return c.call(ctx, func() {
		if restart {
			c.coord.Restart(c.now(), reason)
		} else {
			c.coord.Stop(c.now())
		}
		c.execute(ctx)
		c.gateway = nil
		c.closeCoordinators()
	})
}

func (c *Checkpointer) closeCoordinators() {
	for _, oc := range c.opCoord {
		r, ok := c.running[oc.Node]
		if !ok {
			continue
		}
		if err := r.Close(); err != nil {
			c.log.Warn("closing an operator coordinator", "operator", oc.Name, "error", err)
		}
		delete(c.running, oc.Node)
	}
}

// Latest returns the latest completed checkpoint or savepoint (or the one
// the job started from) and its location; nil if there is none.
func (c *Checkpointer) Latest(ctx context.Context) (*checkpoint.Metadata, string, error) {
	var md *checkpoint.Metadata
	var loc string
	err := c.call(ctx, func() { md, loc = c.latestMD, c.latestLoc })
	return md, loc, err
}

// TriggerSavepoint takes a savepoint (a stop with a savepoint with
// opts.Terminate) and returns its location once it is complete.
func (c *Checkpointer) TriggerSavepoint(ctx context.Context, opts checkpoint.Options) (string, error) {
	opts.Kind = checkpoint.KindSavepoint
	res := make(chan savepointResult, 1)
	var err error
	if cerr := c.call(ctx, func() {
		var id int64
		if id, err = c.coord.TriggerSavepoint(c.now(), opts); err == nil {
			c.waiters[id] = res
		}
		c.execute(ctx)
	}); cerr != nil {
		return "", cerr
	}
	if err != nil {
		return "", fmt.Errorf("jobmaster: %w", err)
	}
	select {
	case r := <-res:
		return r.path, r.err
	case <-ctx.Done():
		return "", ctx.Err()
	}
}

// TriggerCheckpoint takes a checkpoint now, out of the periodic schedule,
// and returns its ID once it is triggered.
func (c *Checkpointer) TriggerCheckpoint(ctx context.Context) (int64, error) {
	var id int64
	var err error
	if cerr := c.call(ctx, func() {
		id, err = c.coord.TriggerCheckpoint(c.now())
		c.execute(ctx)
	}); cerr != nil {
		return 0, cerr
	}
	return id, err
}

// Stats returns the coordinator's statistics, also after Run returned.
func (c *Checkpointer) Stats(ctx context.Context) (checkpoint.Stats, error) {
	var s checkpoint.Stats
	err := c.call(ctx, func() { s = c.coord.Stats() })
	if errors.Is(err, ErrStopped) {
		<-c.finished
		return c.finalStats, nil
	}
	return s, err
}

// coordContext is the operator.CoordinatorContext of one coordinator; its
// methods run on the driver goroutine (from the coordinator's own).
type coordContext struct {
	c  *Checkpointer
	oc OperatorCoordinator
}

func (x coordContext) SendEvent(subtask int, event []byte) error {
	if subtask < 0 || subtask >= x.oc.Parallelism {
		return fmt.Errorf("jobmaster: operator %s has no subtask %d: its parallelism is %d", x.oc.Name, subtask, x.oc.Parallelism)
	}
	if x.c.gateway == nil {
		return errors.New("jobmaster: no tasks are running")
	}
	x.c.gateway.DeliverOperatorEvent(checkpoint.TaskID{Vertex: x.oc.Vertex, Subtask: subtask}, x.oc.Node, event)
	return nil
}

func (x coordContext) Parallelism() int { return x.oc.Parallelism }

// subtaskGateway carries a subtask's events to its operator's coordinator.
type subtaskGateway struct {
	c       *Checkpointer
	node    int
	name    string // the operator's, for messages
	subtask int
}

func (g subtaskGateway) SendEvent(event []byte) error {
	g.c.do(func() {
		r, ok := g.c.running[g.node]
		if !ok {
			return // the attempt ended
		}
		if err := r.HandleEventFromOperator(g.subtask, event); err != nil {
			g.c.fail(fmt.Errorf("jobmaster: the coordinator of operator %s: %w", g.name, err))
		}
	})
	return nil
}

// Gateways returns, by stream node, the gateway each subtask of an
// operator with a coordinator sends its events through. They stay valid
// over attempts: an event reaches the coordinator of the attempt running
// when the driver handles it.
func (c *Checkpointer) Gateways() map[int][]operator.CoordinatorGateway {
	gws := map[int][]operator.CoordinatorGateway{}
	for _, oc := range c.opCoord {
		list := make([]operator.CoordinatorGateway, oc.Parallelism)
		for s := range list {
			list[s] = subtaskGateway{c: c, node: oc.Node, name: oc.Name, subtask: s}
		}
		gws[oc.Node] = list
	}
	return gws
}

// CheckpointerFor returns the checkpointer of job id with graph jg as cfg
// configures it, and the normalized location of the snapshot it starts
// from ("" for none). It returns no checkpointer for a job with neither
// checkpoint storage nor operator coordinators. A snapshot that cannot
// be read or does not fit the job is a failure RestoreFailure
// classifies; a configuration that cannot work is non-recoverable.
func CheckpointerFor(ctx context.Context, id string, jg *graph.JobGraph, cfg job.Config) (*Checkpointer, string, error) {
	cj, coords := CheckpointJob(id, jg)
	if cfg.Checkpoints == nil && cfg.RestorePath != "" {
		return nil, "", NonRecoverable(errors.New("jobmaster: restoring from a savepoint needs checkpoint storage (state.checkpoints.dir)"))
	}
	if cfg.Checkpoints == nil && len(coords) == 0 {
		return nil, "", nil
	}
	var ccfg checkpoint.Config
	var st storage.Storage
	var md *checkpoint.Metadata
	var loc string
	if cfg.Checkpoints != nil {
		ccfg, st = cfg.Checkpoints.Config, cfg.Checkpoints.Storage
		if cfg.RestorePath != "" {
			var err error
			if md, loc, err = st.ReadMetadata(ctx, cfg.RestorePath); err != nil {
				return nil, "", RestoreFailure(fmt.Errorf("jobmaster: restore from %s: %w", cfg.RestorePath, err))
			}
			if err := CheckRestore(md, loc, jg, cfg.AllowNonRestoredState); err != nil {
				return nil, "", err
			}
		}
	}
	cp, err := NewCheckpointer(ccfg, cj, coords, st, cfg.Clock, cfg.Logger, md, loc)
	if err != nil {
		return nil, "", NonRecoverable(err)
	}
	return cp, loc, nil
}
