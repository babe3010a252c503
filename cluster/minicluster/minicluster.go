package minicluster

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/runnel-io/runnel/runtime/clock"
	"github.com/runnel-io/runnel/runtime/graph"
	"github.com/runnel-io/runnel/runtime/network"
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
}

// Job is a deployed job graph.
type Job struct {
	name  string
	graph *graph.JobGraph
	opts  Options
	deps  []task.Deployment
	pools []*network.Pool
	gates []*network.InputGate
}

// Deploy wires the subtasks of jg. Nothing runs until Run.
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
	j := &Job{name: name, graph: jg, opts: opts}

	// Consumer side: the channels of each subtask of each vertex, edge by
	// edge, producer by producer.
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
			d := task.Deployment{JobName: name, Job: jg, Vertex: v, Subtask: s, Logger: opts.Logger,
				Clock: opts.Clock, AutoWatermarkInterval: opts.AutoWatermarkInterval}
			var edges []*graph.Edge
			var producers []int
			for _, e := range v.In {
				up := jg.VertexOf[e.Source.ID]
				if e.Partitioner.Pointwise() {
					edges, producers = append(edges, e), append(producers, s)
					continue
				}
				for p := range up.Parallelism {
					edges, producers = append(edges, e), append(producers, p)
				}
			}
			if len(edges) > 0 {
				d.Gate = network.NewInputGate(len(edges), opts.ChannelCapacity)
				d.ChannelEdges = edges
				j.gates = append(j.gates, d.Gate)
				for ch, e := range edges {
					channelOf[key{e, producers[ch], s}] = d.Gate.Channel(ch)
				}
			}
			deps[v.ID][s] = d
		}
	}
	// Producer side: the targets of each output edge of each subtask.
	for _, v := range jg.Vertices {
		for s := range v.Parallelism {
			d := &deps[v.ID][s]
			for _, e := range v.Out {
				down := jg.VertexOf[e.Target.ID]
				var targets []network.Sender
				if e.Partitioner.Pointwise() {
					targets = []network.Sender{channelOf[key{e, s, s}]}
				} else {
					for c := range down.Parallelism {
						targets = append(targets, channelOf[key{e, s, c}])
					}
				}
				for i, t := range targets {
					if t == nil {
						return nil, fmt.Errorf("minicluster: edge %v: no channel from subtask %d to consumer %d", e, s, i)
					}
				}
				pool := network.NewPool(opts.SegmentSize, len(targets)*(opts.ChannelCapacity+2))
				j.pools = append(j.pools, pool)
				d.Outputs = append(d.Outputs, task.OutputChannels{Edge: e, Targets: targets, Pool: pool})
			}
			j.deps = append(j.deps, *d)
		}
	}
	return j, nil
}

// Run runs every subtask until all end, one fails, or ctx is done, and
// returns the first failure (ctx's error if it was cancelled).
func (j *Job) Run(ctx context.Context) error {
	g, gctx := errgroup.WithContext(ctx)
	tasks := make([]*task.Task, 0, len(j.deps))
	for _, d := range j.deps {
		t, err := task.New(gctx, d)
		if err != nil {
			return fmt.Errorf("minicluster: deploy %q: %w", d.Vertex.Name(), err)
		}
		tasks = append(tasks, t)
	}
	j.opts.Logger.Info("job running", "job", j.name, "tasks", len(j.graph.Vertices), "subtasks", len(tasks))
	for _, t := range tasks {
		g.Go(func() error { return t.Run(gctx) })
	}
	err := g.Wait()
	// After a failure or a cancellation, a producer may have sent a segment
	// after its consumer drained its gate and stopped; no task runs now.
	for _, g := range j.gates {
		g.Drain()
	}
	if err == nil && ctx.Err() != nil {
		err = ctx.Err()
	}
	return err
}

// Metrics is a snapshot of the job's network buffers.
type Metrics struct {
	// SegmentLimit is the sum of the pools' limits: the most segments the
	// job can hold at once.
	SegmentLimit int
	// SegmentsInUse and MaxSegmentsInUse sum over the pools.
	SegmentsInUse, MaxSegmentsInUse int
	// MaxPoolInUse is the largest MaxInUse of one pool.
	MaxPoolInUse int
	// QueuedBuffers is the number of buffers waiting in input channels.
	QueuedBuffers int
}

// Metrics returns the current buffer usage. It is safe to call while the
// job runs.
func (j *Job) Metrics() Metrics {
	var m Metrics
	for _, p := range j.pools {
		m.SegmentLimit += p.Limit()
		m.SegmentsInUse += p.InUse()
		m.MaxSegmentsInUse += p.MaxInUse()
		m.MaxPoolInUse = max(m.MaxPoolInUse, p.MaxInUse())
	}
	for _, g := range j.gates {
		m.QueuedBuffers += g.QueuedBuffers()
	}
	return m
}
