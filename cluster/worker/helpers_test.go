package worker_test

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"maps"
	"net"
	"slices"
	"sync"
	"testing"

	"go.uber.org/goleak"

	"github.com/runnel-io/runnel/cluster/jobmaster"
	"github.com/runnel-io/runnel/cluster/minicluster"
	"github.com/runnel-io/runnel/cluster/security"
	"github.com/runnel-io/runnel/cluster/worker"
	"github.com/runnel-io/runnel/runtime/checkpoint"
	"github.com/runnel-io/runnel/runtime/graph"
	"github.com/runnel-io/runnel/runtime/job"
	"github.com/runnel-io/runnel/runtime/network"
	"github.com/runnel-io/runnel/runtime/network/tcp"
	"github.com/runnel-io/runnel/stream"
)

// peer is what one worker process has: a tcp.Server on a loopback port
// and a tcp.Client, stopped when the test ends.
type peer struct {
	id     string
	srv    *tcp.Server
	client *tcp.Client
	addr   string
	stop   context.CancelFunc
	ran    chan error
	once   sync.Once
	err    error
}

func newPeer(tb testing.TB, id string, segmentSize int) *peer {
	tb.Helper()
	return newTLSPeer(tb, id, segmentSize, security.Internal{})
}

// newTLSPeer is newPeer with the internal TLS in, as a worker process
// sets up its data server and client: none if in is disabled.
func newTLSPeer(tb testing.TB, id string, segmentSize int, in security.Internal) *peer {
	tb.Helper()
	checkNoLeaks(tb)
	serverConf, err := in.Server()
	if err != nil {
		tb.Fatal(err)
	}
	clientConf, err := in.Client()
	if err != nil {
		tb.Fatal(err)
	}
	raw, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	ln := raw
	var opts tcp.ClientOptions
	if in.Enabled {
		ln = tls.NewListener(raw, serverConf)
		opts.Dial = tcp.DialTLS(nil, clientConf)
	}
	srv, err := tcp.NewServer(ln, tcp.ServerOptions{SegmentSize: segmentSize})
	if err != nil {
		tb.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	p := &peer{id: id, srv: srv, client: tcp.NewClient(opts), addr: raw.Addr().String(), stop: cancel, ran: make(chan error, 1)}
	go func() { p.ran <- srv.Run(ctx) }()
	tb.Cleanup(func() {
		p.client.Close()
		if err := p.stopServer(); err != nil {
			tb.Errorf("server %s: %v", id, err)
		}
	})
	return p
}

// checkNoLeaks fails tb if a goroutine that did not run when it was
// called, a worker's or the tcp exchange's, still runs once tb and its
// other cleanups are over. The check is tb's own, so that a leak fails the
// test that caused it and no other.
func checkNoLeaks(tb testing.TB) {
	tb.Helper()
	ignore := goleak.IgnoreCurrent()
	tb.Cleanup(func() { goleak.VerifyNone(tb, ignore) })
}

// stopServer stops the server and waits for its Run; it may be called
// again.
func (p *peer) stopServer() error {
	p.once.Do(func() {
		p.stop()
		p.err = <-p.ran
	})
	return p.err
}

// jobGraph builds a job with build, as each process of the job does by
// running the job's program.
func jobGraph(tb testing.TB, build func(env *stream.Environment)) *graph.JobGraph {
	tb.Helper()
	env := stream.NewEnvironment()
	build(env)
	sg, err := env.StreamGraph()
	if err != nil {
		tb.Fatal(err)
	}
	jg, err := sg.JobGraph()
	if err != nil {
		tb.Fatal(err)
	}
	return jg
}

// alternate places subtask s of vertex v on peers[(v+s) mod len(peers)],
// so that every edge has local and remote channels.
func alternate(jg *graph.JobGraph, peers ...*peer) worker.Assignment {
	return place(jg, func(v *graph.Vertex, s int) *peer { return peers[(v.ID+s)%len(peers)] }, peers...)
}

func place(jg *graph.JobGraph, on func(v *graph.Vertex, s int) *peer, peers ...*peer) worker.Assignment {
	a := worker.Assignment{JobID: "job", Workers: map[string]string{}}
	for _, p := range peers {
		a.Workers[p.id] = p.addr
	}
	for _, v := range jg.Vertices {
		ids := make([]string, v.Parallelism)
		for s := range ids {
			ids[s] = on(v, s).id
		}
		a.Subtasks = append(a.Subtasks, ids)
	}
	return a
}

// runWorkers runs one worker per peer, each on its own job graph built by
// build, and returns their errors in peer order.
func runWorkers(ctx context.Context, tb testing.TB, build func(*stream.Environment), a func(*graph.JobGraph) worker.Assignment, opts worker.Options, peers ...*peer) ([]error, []*worker.Worker) {
	tb.Helper()
	ws := make([]*worker.Worker, len(peers))
	var as []worker.Assignment
	for i, p := range peers {
		jg := jobGraph(tb, build)
		ws[i] = worker.New(p.id, jg, p.srv, p.client, opts)
		as = append(as, a(jg))
	}
	return runAll(ctx, ws, as), ws
}

func runAll(ctx context.Context, ws []*worker.Worker, as []worker.Assignment) []error {
	errs := make([]error, len(ws))
	var wg sync.WaitGroup
	for i, w := range ws {
		wg.Go(func() { errs[i] = w.Run(ctx, as[i]) })
	}
	wg.Wait()
	return errs
}

// runMini runs the job on the mini-cluster.
func runMini(tb testing.TB, build func(*stream.Environment)) {
	tb.Helper()
	mj, err := minicluster.Deploy("job", jobGraph(tb, build), job.Config{}, nil)
	if err != nil {
		tb.Fatal(err)
	}
	if err := mj.Run(context.Background()); err != nil {
		tb.Fatal(err)
	}
}

// results is what a job's sinks wrote, shared by every worker of a test.
type results struct {
	mu sync.Mutex
	n  map[string]int  // line -> how often it was written
	hi map[int64]int64 // key -> highest value written
}

func newResults() *results { return &results{n: map[string]int{}, hi: map[int64]int64{}} }

func (r *results) add(line string) {
	r.mu.Lock()
	r.n[line]++
	r.mu.Unlock()
}

func (r *results) high(k, v int64) {
	r.mu.Lock()
	if old, ok := r.hi[k]; !ok || v > old {
		r.hi[k] = v
	}
	r.mu.Unlock()
}

func (r *results) keys() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.hi)
}

func (r *results) equal(o *results) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	o.mu.Lock()
	defer o.mu.Unlock()
	if len(r.n) == 0 && len(r.hi) == 0 {
		return errors.New("nothing was written")
	}
	if !maps.Equal(r.n, o.n) || !maps.Equal(r.hi, o.hi) {
		return fmt.Errorf("got %s, want %s", r.describe(), o.describe())
	}
	return nil
}

func (r *results) describe() string {
	keys := slices.Sorted(maps.Keys(r.n))
	if len(keys) > 8 {
		keys = keys[:8]
	}
	return fmt.Sprintf("%d lines (first %v), highs %v", len(r.n), keys, r.hi)
}

// sinkFunc is a stream.Sink calling write for each record.
type sinkFunc[T any] func(v T, ts int64) error

func (f sinkFunc[T]) CreateWriter(context.Context, *stream.RuntimeContext) (stream.SinkWriter[T], error) {
	return f, nil
}

func (f sinkFunc[T]) Write(v T, ts int64) error { return f(v, ts) }
func (sinkFunc[T]) Flush(bool) error            { return nil }
func (sinkFunc[T]) Close() error                { return nil }

// gateways reaches the tasks of several workers: the job master's view.
type gateways []jobmaster.TaskGateway

func (g gateways) TriggerCheckpoint(t checkpoint.TaskID, b *network.Barrier) {
	for _, x := range g {
		x.TriggerCheckpoint(t, b)
	}
}

func (g gateways) NotifyCheckpointComplete(t checkpoint.TaskID, id int64, opts checkpoint.Options) {
	for _, x := range g {
		x.NotifyCheckpointComplete(t, id, opts)
	}
}

func (g gateways) NotifyCheckpointAborted(t checkpoint.TaskID, id int64) {
	for _, x := range g {
		x.NotifyCheckpointAborted(t, id)
	}
}

func (g gateways) DeliverOperatorEvent(t checkpoint.TaskID, node int, event []byte) {
	for _, x := range g {
		x.DeliverOperatorEvent(t, node, event)
	}
}
