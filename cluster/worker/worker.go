package worker

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/runnel-io/runnel/cluster/jobmaster"
	"github.com/runnel-io/runnel/runtime/checkpoint"
	"github.com/runnel-io/runnel/runtime/clock"
	"github.com/runnel-io/runnel/runtime/graph"
	"github.com/runnel-io/runnel/runtime/network"
	"github.com/runnel-io/runnel/runtime/network/tcp"
	"github.com/runnel-io/runnel/runtime/operator"
	"github.com/runnel-io/runnel/runtime/task"
)

// Assignment says where every subtask of one attempt of a job runs. Every
// worker of the attempt gets the same assignment.
type Assignment struct {
	// JobID is the job's ID; with Attempt it names the attempt's channels.
	JobID   string
	Attempt int
	// Workers maps a worker's ID to its data address (host:port of its
	// tcp.Server), which producers on other workers dial.
	Workers map[string]string
	// Subtasks[vertex][subtask] is the ID of the worker that runs the
	// subtask; vertex is the index of the vertex in the job graph.
	Subtasks [][]string
}

// Options tune a worker. Zero values take the defaults.
type Options struct {
	// JobName is the job's name, as its functions see it
	// (RuntimeContext.JobName); the assignment's JobID if empty.
	JobName string
	// ChannelCapacity is the number of buffers an input channel queues,
	// and so the initial credit of a remote channel
	// (network.DefaultChannelCapacity).
	ChannelCapacity int
	// SegmentSize is the size of the producers' segments in bytes
	// (network.DefaultSegmentSize). The worker's tcp.Server should receive
	// into segments of the same size (tcp.ServerOptions.SegmentSize).
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
	// Logger receives the worker's and its tasks' logs (discarded if nil).
	Logger *slog.Logger

	// Checkpoints connects every local subtask to the job's checkpoints;
	// nil when the job does not checkpoint.
	Checkpoints *task.Checkpointing
	// Restore is the state the subtasks start from; nil for none. Only the
	// entries of local subtasks are read.
	Restore *jobmaster.Restore
	// Gateways holds, by stream node ID and subtask, the channels to the
	// operator coordinators (jobmaster.Checkpointer.Gateways).
	Gateways map[int][]operator.CoordinatorGateway
	// Deployed, if not nil, is called by Run once every local subtask of
	// the attempt is deployed and reachable through Tasks, before any of
	// them runs; they run once it returns nil, and Run returns its error
	// otherwise. It may block until the job master has started the
	// attempt's checkpoints and operator coordinators
	// (jobmaster.Checkpointer.StartAttempt), so that no event of a
	// subtask reaches a coordinator before it runs; ctx is Run's.
	Deployed func(ctx context.Context, a Assignment) error
}

// Worker runs the subtasks of a job that its assignments place on it, in
// the calling process, and exchanges records with the other workers of the
// job through its tcp.Server (inputs) and tcp.Client (outputs).
//
// Run is called by one goroutine at a time; Tasks and Metrics are safe for
// concurrent use.
type Worker struct {
	id     string
	graph  *graph.JobGraph
	server *tcp.Server
	client *tcp.Client
	opts   Options
	// edgeIndex is the index of each edge in graph.Stream.Edges: the Edge
	// of the ChannelIDs.
	edgeIndex map[*graph.Edge]int

	running atomic.Bool

	mu    sync.Mutex
	tasks map[checkpoint.TaskID]*task.Task // of the running attempt
	pools []*network.Pool                  // of the last attempt
	gates []*network.InputGate             // of the last attempt
}

// New returns the worker id, running subtasks of jg. jg must be the
// worker's own instance of the job graph (its operator factories are used
// by this worker only), built by the same program as every other worker's,
// so that vertices, edges and their order agree (graph.Plan.Check). The
// worker does not own server and client: whoever created them runs and
// closes them, and may share them between the workers of several jobs.
// Both may be nil when every subtask of every assignment is local (the
// mini-cluster's one worker).
func New(id string, jg *graph.JobGraph, server *tcp.Server, client *tcp.Client, opts Options) *Worker {
	if opts.ChannelCapacity <= 0 {
		opts.ChannelCapacity = network.DefaultChannelCapacity
	}
	if opts.SegmentSize <= 0 {
		opts.SegmentSize = network.DefaultSegmentSize
	}
	if opts.Clock == nil {
		opts.Clock = clock.System{}
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	w := &Worker{id: id, graph: jg, server: server, client: client, opts: opts, edgeIndex: map[*graph.Edge]int{}}
	for i, e := range jg.Stream.Edges {
		w.edgeIndex[e] = i
	}
	return w
}

// ID is the worker's ID.
func (w *Worker) ID() string { return w.id }

// ErrRunning is returned by Run while another Run of the worker runs.
var ErrRunning = errors.New("worker: already running an attempt")

// Run deploys the worker's subtasks of the assignment and runs them until
// they all end, one fails, an input channel from another worker fails, or
// ctx is done. It returns the first failure (ctx's error if ctx was
// cancelled) and returns only once every local task has returned, every
// remote input channel is unregistered and every gate drained.
//
// A failure on this worker reaches the others only through their
// channels: a producer elsewhere whose consumer stopped waits for credit
// until its own Run is cancelled. Cancelling the attempt on every worker
// is the job master's part, as in Flink, where the JobMaster cancels the
// tasks of a failed attempt.
func (w *Worker) Run(ctx context.Context, a Assignment) error {
	if !w.running.CompareAndSwap(false, true) {
		return ErrRunning
	}
	defer w.running.Store(false)
	if err := w.check(a); err != nil {
		return err
	}
	actx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	at := &attempt{}
	defer at.release()
	deps, err := w.wire(actx, a, at)
	if err != nil {
		return err
	}
	w.mu.Lock()
	w.pools, w.gates = at.pools, at.gates
	w.mu.Unlock()

	g, gctx := errgroup.WithContext(actx)
	tasks := make(map[checkpoint.TaskID]*task.Task, len(deps))
	list := make([]*task.Task, 0, len(deps))
	for _, d := range deps {
		d.Checkpoints = w.opts.Checkpoints
		t, err := task.New(gctx, d)
		if err != nil {
			// err names the subtask (a *task.Error or an *operator.Error).
			return fmt.Errorf("worker: %s: deploy: %w", w.id, err)
		}
		tasks[checkpoint.TaskID{Vertex: d.Vertex.ID, Subtask: d.Subtask}] = t
		list = append(list, t)
	}
	w.mu.Lock()
	w.tasks = tasks
	w.mu.Unlock()
	defer func() {
		w.mu.Lock()
		w.tasks = nil
		w.mu.Unlock()
	}()
	if w.opts.Deployed != nil {
		if err := w.opts.Deployed(gctx, a); err != nil {
			return err
		}
	}
	w.opts.Logger.Info("worker running", "worker", w.id, "job", a.JobID, "attempt", a.Attempt,
		"subtasks", len(list), "remoteInputs", len(at.receivers))

	// One watcher per remote input channel: its failure fails the attempt.
	stop := make(chan struct{})
	var watchers sync.WaitGroup
	for _, r := range at.receivers {
		watchers.Add(1)
		go func() {
			defer watchers.Done()
			select {
			case <-r.Failed():
				cancel(fmt.Errorf("worker: %s: the channel %s from worker %s: %w", w.id, r.name, r.from, r.Err()))
			case <-stop:
			case <-actx.Done():
			}
		}()
	}
	for _, t := range list {
		g.Go(func() error { return t.Run(gctx) })
	}
	err = g.Wait()
	close(stop)
	watchers.Wait()
	if cause := context.Cause(actx); cause != nil && !errors.Is(cause, context.Canceled) {
		return cause
	}
	if err == nil && ctx.Err() != nil {
		err = ctx.Err()
	}
	return err
}

// check validates the assignment against the worker's job graph.
func (w *Worker) check(a Assignment) error {
	jg := w.graph
	if a.JobID == "" {
		return errors.New("worker: the assignment has no job ID")
	}
	if a.Attempt < 0 {
		return fmt.Errorf("worker: attempt %d is negative", a.Attempt)
	}
	if len(a.Subtasks) != len(jg.Vertices) {
		return fmt.Errorf("worker: the assignment places %d tasks, the job graph has %d", len(a.Subtasks), len(jg.Vertices))
	}
	for _, v := range jg.Vertices {
		if len(a.Subtasks[v.ID]) != v.Parallelism {
			return fmt.Errorf("worker: the assignment places %d subtasks of task %q, its parallelism is %d",
				len(a.Subtasks[v.ID]), v.Name(), v.Parallelism)
		}
		for s, id := range a.Subtasks[v.ID] {
			if _, ok := a.Workers[id]; !ok && id != w.id {
				return fmt.Errorf("worker: %s is placed on worker %q, which has no address", operator.SubtaskName(v.Name(), s, v.Parallelism), id)
			}
		}
	}
	return nil
}

// channelJob is the Job of the attempt's ChannelIDs: the job ID and the
// attempt, so that a producer left over from an earlier attempt can never
// feed a channel of a later one.
func channelJob(a Assignment) string { return a.JobID + "/" + strconv.Itoa(a.Attempt) }

// attempt is what one Run holds and releases.
type attempt struct {
	pools     []*network.Pool
	gates     []*network.InputGate
	receivers []receiver
}

// receiver is a remote input channel of a local gate.
type receiver struct {
	*tcp.Receiver
	name string // for messages: channelName
	from string // the producer's worker
}

// channelName names the channel of edge e from subtask producer of its
// source's vertex to subtask consumer of its target's, for messages:
// "numbers (1/2) -> count (2/4)".
func channelName(jg *graph.JobGraph, e *graph.Edge, producer, consumer int) string {
	pv, cv := jg.VertexOf[e.Source.ID], jg.VertexOf[e.Target.ID]
	return operator.SubtaskName(pv.Name(), producer, pv.Parallelism) + " -> " + operator.SubtaskName(cv.Name(), consumer, cv.Parallelism)
}

// release unregisters the remote input channels, so that nothing more is
// delivered into the gates, and then drains the gates: a producer may have
// sent a buffer after its consumer stopped. No task runs any more.
func (at *attempt) release() {
	for _, r := range at.receivers {
		r.Close()
	}
	for _, g := range at.gates {
		g.Drain()
	}
}

// wire builds the deployments of the local subtasks: a gate per consumer
// with a local channel from each local producer and a registered tcp
// channel from each remote one, and per producer and output edge a pool
// and the targets in jg.Consumers order, local channels or tcp Senders.
func (w *Worker) wire(ctx context.Context, a Assignment, at *attempt) ([]task.Deployment, error) {
	jg, opts := w.graph, w.opts
	job := channelJob(a)
	local := func(v *graph.Vertex, s int) bool { return a.Subtasks[v.ID][s] == w.id }
	type key struct {
		edge     *graph.Edge
		producer int
		consumer int
	}
	channelOf := map[key]network.Sender{}
	deps := make([][]task.Deployment, len(jg.Vertices))
	for _, v := range jg.Vertices {
		deps[v.ID] = make([]task.Deployment, v.Parallelism)
		for s := range v.Parallelism {
			if !local(v, s) {
				continue
			}
			name := opts.JobName
			if name == "" {
				name = a.JobID
			}
			d := task.Deployment{JobName: name, Job: jg, Vertex: v, Subtask: s, Attempt: a.Attempt, Logger: opts.Logger,
				Clock: opts.Clock, AutoWatermarkInterval: opts.AutoWatermarkInterval, BufferTimeout: opts.BufferTimeout}
			if opts.Restore != nil {
				d.Restored, d.Restore = true, opts.Restore.Tasks[v.ID][s]
			}
			for _, n := range v.Nodes {
				if gws, ok := opts.Gateways[n.ID]; ok {
					if d.Gateways == nil {
						d.Gateways = map[int]operator.CoordinatorGateway{}
					}
					d.Gateways[n.ID] = gws[s]
				}
			}
			layout := jg.GateLayout(v, s)
			if len(layout) > 0 {
				d.Gate = network.NewInputGate(len(layout), opts.ChannelCapacity)
				at.gates = append(at.gates, d.Gate)
				for ch, c := range layout {
					d.ChannelEdges = append(d.ChannelEdges, c.Edge)
					pv := jg.VertexOf[c.Edge.Source.ID]
					if local(pv, c.Producer) {
						channelOf[key{c.Edge, c.Producer, s}] = d.Gate.Channel(ch)
						continue
					}
					id := tcp.ChannelID{Job: job, Edge: w.edgeIndex[c.Edge], Producer: c.Producer, Consumer: s}
					r, err := w.server.Register(id, d.Gate, ch)
					if err != nil {
						return nil, fmt.Errorf("worker: %s: %w", w.id, err)
					}
					at.receivers = append(at.receivers, receiver{Receiver: r, name: channelName(jg, c.Edge, c.Producer, s), from: a.Subtasks[pv.ID][c.Producer]})
				}
			}
			deps[v.ID][s] = d
		}
	}
	var all []task.Deployment
	for _, v := range jg.Vertices {
		for s := range v.Parallelism {
			if !local(v, s) {
				continue
			}
			d := &deps[v.ID][s]
			for _, e := range v.Out {
				cv := jg.VertexOf[e.Target.ID]
				consumers := jg.Consumers(e, s)
				targets := make([]network.Sender, len(consumers))
				for i, c := range consumers {
					if local(cv, c) {
						if targets[i] = channelOf[key{e, s, c}]; targets[i] == nil {
							return nil, fmt.Errorf("worker: %s: edge %v: no local channel %s", w.id, e, channelName(jg, e, s, c))
						}
						continue
					}
					peer := a.Subtasks[cv.ID][c]
					id := tcp.ChannelID{Job: job, Edge: w.edgeIndex[e], Producer: s, Consumer: c}
					snd, err := w.client.Sender(ctx, a.Workers[peer], id)
					if err != nil {
						return nil, fmt.Errorf("worker: %s: open the channel %s to worker %s at %s: %w", w.id, channelName(jg, e, s, c), peer, a.Workers[peer], err)
					}
					targets[i] = snd
				}
				pool := network.NewPool(opts.SegmentSize, PoolLimit(len(targets), opts.ChannelCapacity))
				at.pools = append(at.pools, pool)
				d.Outputs = append(d.Outputs, task.OutputChannels{Edge: e, Targets: targets, Pool: pool})
			}
			all = append(all, *d)
		}
	}
	return all, nil
}

// PoolLimit is the number of segments of the pool of one producer's output
// edge with targets channels of capacity buffers each: per channel, one
// being filled, capacity queued and one being read. A remote channel holds
// fewer of the producer's segments (a tcp.Sender recycles a segment once
// it is written), so the bound holds for every mix of channels.
func PoolLimit(targets, capacity int) int { return targets * (capacity + 2) }

// Tasks returns the gateway to the subtasks of the attempt the worker runs:
// the jobmaster.TaskGateway of its local subtasks. Calls for subtasks that
// are not local, or when no attempt runs, do nothing.
func (w *Worker) Tasks() jobmaster.TaskGateway { return gateway{w} }

// gateway reaches the local subtasks of the running attempt.
type gateway struct{ w *Worker }

var _ jobmaster.TaskGateway = gateway{}

func (g gateway) task(t checkpoint.TaskID) *task.Task {
	g.w.mu.Lock()
	defer g.w.mu.Unlock()
	return g.w.tasks[t]
}

func (g gateway) TriggerCheckpoint(t checkpoint.TaskID, b *network.Barrier) {
	if x := g.task(t); x != nil {
		x.TriggerCheckpoint(b)
	}
}

func (g gateway) NotifyCheckpointComplete(t checkpoint.TaskID, id int64, opts checkpoint.Options) {
	if x := g.task(t); x != nil {
		x.NotifyCheckpointComplete(id, opts)
	}
}

func (g gateway) NotifyCheckpointAborted(t checkpoint.TaskID, id int64) {
	if x := g.task(t); x != nil {
		x.NotifyCheckpointAborted(id)
	}
}

func (g gateway) DeliverOperatorEvent(t checkpoint.TaskID, node int, event []byte) {
	if x := g.task(t); x != nil {
		x.DeliverOperatorEvent(node, event)
	}
}

// Metrics is a snapshot of the worker's network buffers: its producers'
// pools and its consumers' gates (the tcp.Server's receive segments are in
// its own statistics, tcp.Server.Stats).
type Metrics struct {
	// SegmentLimit is the sum of the pools' limits: the most segments the
	// worker's producers can hold at once.
	SegmentLimit int
	// SegmentsInUse and MaxSegmentsInUse sum over the pools.
	SegmentsInUse, MaxSegmentsInUse int
	// MaxPoolInUse is the largest MaxInUse of one pool; MinPoolLimit the
	// smallest limit.
	MaxPoolInUse, MinPoolLimit int
	// QueuedBuffers is the number of buffers waiting in input channels.
	QueuedBuffers int
}

// Metrics returns the buffer usage of the running or last attempt. It is
// safe to call while the worker runs.
func (w *Worker) Metrics() Metrics {
	w.mu.Lock()
	defer w.mu.Unlock()
	var m Metrics
	for i, p := range w.pools {
		m.SegmentLimit += p.Limit()
		m.SegmentsInUse += p.InUse()
		m.MaxSegmentsInUse += p.MaxInUse()
		m.MaxPoolInUse = max(m.MaxPoolInUse, p.MaxInUse())
		if i == 0 || p.Limit() < m.MinPoolLimit {
			m.MinPoolLimit = p.Limit()
		}
	}
	for _, g := range w.gates {
		m.QueuedBuffers += g.QueuedBuffers()
	}
	return m
}
