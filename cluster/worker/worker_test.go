package worker_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/runnel-io/runnel/cluster/jobmaster"
	"github.com/runnel-io/runnel/cluster/worker"
	"github.com/runnel-io/runnel/internal/clustertest"
	"github.com/runnel-io/runnel/runtime/checkpoint"
	"github.com/runnel-io/runnel/runtime/checkpoint/storage"
	"github.com/runnel-io/runnel/runtime/graph"
	"github.com/runnel-io/runnel/runtime/network/tcp"
	"github.com/runnel-io/runnel/runtime/task"
	"github.com/runnel-io/runnel/stream"
	"github.com/runnel-io/runnel/stream/window"
)

type kv struct{ K, V int64 }

// keyedSums is Generate(p=3) → rebalance → Map(p=2) → KeyBy → Reduce(p=3)
// → sink: per key, the number of sums written and the last (highest) sum.
func keyedSums(n int64, res *results) func(*stream.Environment) {
	return func(env *stream.Environment) {
		env.SetParallelism(3)
		src := stream.Generate(env, n, func(i int64) (kv, error) { return kv{K: i % 17, V: i}, nil })
		mapped := stream.Map(src.Rebalance(), func(r kv) (kv, error) { return kv{K: r.K, V: r.V + 1}, nil }).SetParallelism(2)
		sums := stream.KeyBy(mapped, func(r kv) int64 { return r.K }).Reduce(func(a, b kv) (kv, error) { return kv{K: a.K, V: a.V + b.V}, nil })
		sums.SinkTo(sinkFunc[kv](func(r kv, _ int64) error {
			res.add(fmt.Sprintf("key %d", r.K)) // counts the sums of the key
			res.high(r.K, r.V)
			return nil
		}), "sink")
	}
}

// TestKeyedJobAcrossWorkersEqualsMiniCluster proves invariants 1 and 2: a
// keyed job whose subtasks alternate between two workers writes what it
// writes on the mini-cluster, and ends on both workers.
func TestKeyedJobAcrossWorkersEqualsMiniCluster(t *testing.T) {
	const n = 60000
	want := newResults()
	runMini(t, keyedSums(n, want))

	a, b := newPeer(t, "a", 0), newPeer(t, "b", 0)
	got := newResults()
	errs, ws := runWorkers(context.Background(), t, keyedSums(n, got), func(jg *graph.JobGraph) worker.Assignment { return alternate(jg, a, b) }, worker.Options{}, a, b)
	for i, err := range errs {
		if err != nil {
			t.Fatalf("worker %d: %v", i, err)
		}
	}
	if err := got.equal(want); err != nil {
		t.Fatal(err)
	}
	for _, w := range ws {
		if m := w.Metrics(); m.SegmentsInUse != 0 || m.QueuedBuffers != 0 {
			t.Errorf("worker %s after the job: %d segments in use, %d buffers queued", w.ID(), m.SegmentsInUse, m.QueuedBuffers)
		}
	}
	// Every remote channel was used and ended, and none is left registered.
	if st := a.srv.Stats(); len(st) != 0 {
		t.Errorf("worker a still has %d channels registered: %v", len(st), st)
	}
	if st := b.srv.Stats(); len(st) != 0 {
		t.Errorf("worker b still has %d channels registered: %v", len(st), st)
	}
}

// windowCounts counts the records of each key in tumbling event-time
// windows of 100 ms: its output exists only if watermarks reach the
// windows.
func windowCounts(n int64, res *results) func(*stream.Environment) {
	return func(env *stream.Environment) {
		env.SetParallelism(2)
		// Record i has timestamp i ms; subtask s emits s, s+2, ... in order.
		src := stream.Generate(env, n, func(i int64) (kv, error) { return kv{K: i % 5, V: i}, nil }).
			AssignTimestampsAndWatermarks(stream.ForMonotonousTimestamps[kv]().WithTimestampAssigner(func(r kv, _ int64) int64 { return r.V }))
		ones := stream.Map(src, func(r kv) (kv, error) { return kv{K: r.K, V: 1}, nil })
		keyed := stream.KeyBy(ones, func(r kv) int64 { return r.K })
		counts := stream.WindowReduce(stream.Window(keyed, window.TumblingEventTimeWindows[kv](100*time.Millisecond, 0)),
			func(a, b kv) (kv, error) { return kv{K: a.K, V: a.V + b.V}, nil })
		counts.SinkTo(sinkFunc[kv](func(r kv, ts int64) error {
			res.add(fmt.Sprintf("key %d window ending %d: %d", r.K, ts+1, r.V))
			return nil
		}), "sink")
	}
}

// TestEventsCrossWorkers proves invariant 2: watermarks cross workers
// (event-time windows fire on the other worker), and the end of data and
// of partitions ends the job on both.
func TestEventsCrossWorkers(t *testing.T) {
	const n = 20000
	want := newResults()
	runMini(t, windowCounts(n, want))

	a, b := newPeer(t, "a", 0), newPeer(t, "b", 0)
	got := newResults()
	// Sources on a, windows and sinks on b: every watermark crosses.
	errs, _ := runWorkers(context.Background(), t, windowCounts(n, got), func(jg *graph.JobGraph) worker.Assignment {
		return place(jg, func(v *graph.Vertex, _ int) *peer {
			if v.Head().Source {
				return a
			}
			return b
		}, a, b)
	}, worker.Options{}, a, b)
	for i, err := range errs {
		if err != nil {
			t.Fatalf("worker %d: %v", i, err)
		}
	}
	if err := got.equal(want); err != nil {
		t.Fatal(err)
	}
}

// TestBackPressureAcrossWorkers proves invariant 3: a sink on worker b
// that stops consuming stops its producer on worker a once the channel's
// credit is spent, with no more than the channel's window of buffers
// between them, while another pipeline between the same two workers, over
// the same connection, runs to its end.
func TestBackPressureAcrossWorkers(t *testing.T) {
	const (
		segment  = 1024
		capacity = 2
		blocked  = 200000 // records of the blocked pipeline
		free     = 50000  // records of the free one
	)
	var emitted atomic.Int64
	release := make(chan struct{})
	var slowGot, freeGot atomic.Int64
	freeDone := make(chan struct{})
	build := func(env *stream.Environment) {
		env.SetParallelism(1)
		slow := stream.Generate(env, blocked, func(i int64) (int64, error) {
			emitted.Add(1)
			return i, nil
		}).Name("slow source")
		slow.Rebalance().SinkTo(sinkFunc[int64](func(int64, int64) error {
			<-release
			slowGot.Add(1)
			return nil
		}), "slow sink")
		fast := stream.Generate(env, free, func(i int64) (int64, error) { return i, nil }).Name("free source")
		fast.Rebalance().SinkTo(sinkFunc[int64](func(int64, int64) error {
			if freeGot.Add(1) == free {
				close(freeDone)
			}
			return nil
		}), "free sink")
	}
	a, b := newPeer(t, "a", segment), newPeer(t, "b", segment)
	opts := worker.Options{SegmentSize: segment, ChannelCapacity: capacity}
	ws := []*worker.Worker{}
	as := []worker.Assignment{}
	var slowID tcp.ChannelID
	for _, p := range []*peer{a, b} {
		jg := jobGraph(t, build)
		ws = append(ws, worker.New(p.id, jg, p.srv, p.client, opts))
		as = append(as, place(jg, func(v *graph.Vertex, _ int) *peer {
			if v.Head().Source {
				return a
			}
			return b
		}, a, b))
		for i, e := range jg.Stream.Edges {
			if e.Source.Name == "slow source" {
				slowID = tcp.ChannelID{Job: "job/0", Edge: i}
			}
		}
	}
	var errs []error
	_, done := clustertest.Go(t, func(ctx context.Context) error {
		errs = runAll(ctx, ws, as)
		return nil
	})
	var unblock sync.Once
	t.Cleanup(func() { unblock.Do(func() { close(release) }) }) // before the workers are cancelled

	// Wait until the slow source waits for credit, the receiver has
	// announced all the credit it had and everything sent has arrived; fail
	// if the source got through all its records instead.
	var snd tcp.SenderStats
	var rcv tcp.ReceiverStats
	for {
		snd, rcv = senderStats(a.client, slowID), receiverStats(b.srv, slowID)
		if rcv.Remote != "" && snd.Granted > 0 && snd.Backlog == 1 && snd.Credit == 0 && rcv.Received == snd.Sent && rcv.Credit == 0 && rcv.Unannounced == 0 {
			break
		}
		if emitted.Load() == blocked {
			t.Fatalf("the slow source emitted all its %d records while its sink consumed none", blocked)
		}
		time.Sleep(time.Millisecond)
	}
	<-freeDone // the other pipeline on the same connection was not held back

	if rcv.Queued != capacity || rcv.Capacity != capacity {
		t.Errorf("the slow sink's channel queues %d buffers, capacity %d; want %d", rcv.Queued, rcv.Capacity, capacity)
	}
	if snd.Sent > capacity+2 || snd.Granted != snd.Sent {
		t.Errorf("the slow channel sent %d buffers with %d credits; want at most %d, all on credit", snd.Sent, snd.Granted, capacity+2)
	}
	// Every record the source emitted sits in a segment that was sent, in
	// the one its Send waits with, or in the one being filled; a record
	// takes at least 2 bytes.
	if n, most := emitted.Load(), (snd.Sent+2)*segment/2+1; n > most {
		t.Errorf("the slow source emitted %d records, more than the %d its buffers can hold", n, most)
	}
	for _, w := range ws {
		if m := w.Metrics(); m.MaxPoolInUse > m.MinPoolLimit {
			t.Errorf("worker %s: a pool handed out %d segments, over its limit %d", w.ID(), m.MaxPoolInUse, m.MinPoolLimit)
		}
	}

	unblock.Do(func() { close(release) })
	<-done
	for i, err := range errs {
		if err != nil {
			t.Fatalf("worker %d: %v", i, err)
		}
	}
	if slowGot.Load() != blocked || freeGot.Load() != free {
		t.Fatalf("the sinks got %d and %d records, want %d and %d", slowGot.Load(), freeGot.Load(), blocked, free)
	}
}

func senderStats(c *tcp.Client, id tcp.ChannelID) tcp.SenderStats {
	for _, s := range c.Stats() {
		if s.ID == id {
			return s
		}
	}
	return tcp.SenderStats{}
}

func receiverStats(s *tcp.Server, id tcp.ChannelID) tcp.ReceiverStats {
	for _, r := range s.Stats() {
		if r.ID == id {
			return r
		}
	}
	return tcp.ReceiverStats{}
}

// TestConsumerServerClosedFailsProducer proves invariant 4: when the
// server of the consumer's worker stops mid-run, the producer's Run fails
// with an error naming the consumer's address, and the consumer's with its
// failed input; neither waits for its context.
func TestConsumerServerClosedFailsProducer(t *testing.T) {
	first := make(chan struct{})
	var once sync.Once
	build := func(env *stream.Environment) {
		env.SetParallelism(1)
		stream.Generate(env, stream.Unbounded, func(i int64) (int64, error) { return i, nil }).
			Rebalance().SinkTo(sinkFunc[int64](func(int64, int64) error {
			once.Do(func() { close(first) })
			return nil
		}), "sink")
	}
	a, b := newPeer(t, "a", 0), newPeer(t, "b", 0)
	var errs []error
	_, done := clustertest.Go(t, func(ctx context.Context) error {
		errs, _ = runWorkers(ctx, t, build, func(jg *graph.JobGraph) worker.Assignment {
			return place(jg, func(v *graph.Vertex, _ int) *peer {
				if v.Head().Source {
					return a
				}
				return b
			}, a, b)
		}, worker.Options{}, a, b)
		return nil
	})
	<-first
	if err := b.stopServer(); err != nil {
		t.Fatal(err)
	}
	<-done
	if errs[0] == nil || !strings.Contains(errs[0].Error(), b.addr) {
		t.Errorf("producer's worker: %v; want an error naming %s", errs[0], b.addr)
	}
	if errs[1] == nil || !strings.HasPrefix(errs[1].Error(), "worker: b: the channel ") ||
		!strings.Contains(errs[1].Error(), " (1/1) -> sink (1/1) from worker a: ") || !errors.Is(errs[1], tcp.ErrClosed) {
		t.Errorf("consumer's worker: %v; want its input channel failed because its server closed", errs[1])
	}
}

// indexed is a key's running sum V and the index I of the last record
// summed.
type indexed struct{ K, V, I int64 }

// counted is Generate(unbounded) → KeyBy → Reduce(p=2) → sink; record i
// has value 1 if i < n, else 0, so the final sum of each of the 100 keys
// is n/100. The sink keeps the highest sum per key and calls done once
// every key has summed a record at or above n: a key's records all come
// from one source subtask, in order, so all of its records below n were
// summed by then. emitted, if not nil, sees every index the source emits.
func counted(n int64, res *results, done func(), emitted func(i int64)) func(*stream.Environment) {
	var mu sync.Mutex
	ended := map[int64]bool{}
	return func(env *stream.Environment) {
		env.SetParallelism(2)
		src := stream.Generate(env, stream.Unbounded, func(i int64) (indexed, error) {
			if emitted != nil {
				emitted(i)
			}
			r := indexed{K: i % 100, I: i}
			if i < n {
				r.V = 1
			}
			return r, nil
		}).UID("source")
		sums := stream.KeyBy(src, func(r indexed) int64 { return r.K }).
			Reduce(func(a, b indexed) (indexed, error) { return indexed{K: a.K, V: a.V + b.V, I: b.I}, nil }).UID("sum")
		sums.SinkTo(sinkFunc[indexed](func(r indexed, _ int64) error {
			res.high(r.K, r.V)
			if r.I >= n {
				mu.Lock()
				if !ended[r.K] {
					if ended[r.K] = true; len(ended) == 100 {
						done()
					}
				}
				mu.Unlock()
			}
			return nil
		}), "sink").UID("sink")
	}
}

// TestCheckpointAcrossWorkers proves invariant 5: with a job master's
// checkpointer reaching the tasks of both workers, a checkpoint completes
// (barriers align over TCP channels), a stop with a savepoint ends both
// workers, and the job restored from that savepoint on two workers counts
// every record exactly once.
func TestCheckpointAcrossWorkers(t *testing.T) {
	const n = 30000
	ctx := context.Background()
	st, err := storage.Open(t.TempDir(), "")
	if err != nil {
		t.Fatal(err)
	}
	a, b := newPeer(t, "a", 0), newPeer(t, "b", 0)
	res := newResults()
	build := counted(n, res, func() {}, nil)
	cp, err := jobmaster.NewCheckpointer(checkpoint.Config{}, checkpointJobOf("job", jobGraph(t, build)), nil, st, nil, nil, nil, "")
	if err != nil {
		t.Fatal(err)
	}
	cpCtx, stopCP := context.WithCancel(ctx)
	var cpDone sync.WaitGroup
	cpDone.Go(func() { cp.Run(cpCtx) })
	t.Cleanup(func() { // after the workers' (cleanups run last first)
		stopCP()
		cpDone.Wait()
	})

	var deployed sync.WaitGroup
	deployed.Add(2)
	opts := worker.Options{
		Checkpoints: &task.Checkpointing{Reporter: cp.Reporter(), Upload: cp.Upload},
		Deployed:    func(context.Context, worker.Assignment) error { deployed.Done(); return nil },
	}
	// Sources on a, sums on b, sinks on both (chained to the sums).
	on := func(jg *graph.JobGraph) worker.Assignment { return alternate(jg, a, b) }
	var ws []*worker.Worker
	var as []worker.Assignment
	for _, p := range []*peer{a, b} {
		jg := jobGraph(t, build)
		ws = append(ws, worker.New(p.id, jg, p.srv, p.client, opts))
		as = append(as, on(jg))
	}
	var errs []error
	_, done := clustertest.Go(t, func(ctx context.Context) error {
		errs = runAll(ctx, ws, as)
		return nil
	})
	deployed.Wait()
	if err := cp.StartAttempt(ctx, 0, gateways{ws[0].Tasks(), ws[1].Tasks()}); err != nil {
		t.Fatal(err)
	}
	id, err := cp.TriggerCheckpoint(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for {
		s, err := cp.Stats(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if s.LastCompletedID == id {
			break
		}
		if s.Failed > 0 {
			t.Fatalf("checkpoint %d failed: %+v", id, s)
		}
		time.Sleep(time.Millisecond)
	}
	// Once the sink has seen every key, each source subtask has emitted
	// its first 50 records.
	for res.keys() < 100 {
		time.Sleep(time.Millisecond)
	}
	sp, err := cp.TriggerSavepoint(ctx, checkpoint.Options{TargetDir: t.TempDir(), Terminate: true})
	if err != nil {
		t.Fatal(err)
	}
	<-done
	for i, err := range errs {
		if err != nil {
			t.Fatalf("worker %d after the stop with a savepoint: %v", i, err)
		}
	}
	if err := cp.EndAttempt(ctx, nil, false); err != nil {
		t.Fatal(err)
	}

	// Resume from the savepoint on two workers until every key has summed
	// all its records below n.
	md, loc, err := st.ReadMetadata(ctx, sp)
	if err != nil {
		t.Fatal(err)
	}
	rctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var replayed atomic.Int64 // records below 100: the savepoint is past them
	build = counted(n, res, cancel, func(i int64) {
		if i < 100 {
			replayed.Add(1)
		}
	})
	ws, as = nil, nil
	for _, p := range []*peer{a, b} {
		jg := jobGraph(t, build)
		r, err := jobmaster.BuildRestore(ctx, st, md, loc, jg, false)
		if err != nil {
			t.Fatal(err)
		}
		ws = append(ws, worker.New(p.id, jg, p.srv, p.client, worker.Options{Restore: r}))
		a := on(jg)
		a.Attempt = 1
		as = append(as, a)
	}
	for i, err := range runAll(rctx, ws, as) {
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("restored worker %d: %v, want context.Canceled", i, err)
		}
	}
	if n := replayed.Load(); n != 0 {
		t.Errorf("the restored sources emitted %d records that the savepoint was past", n)
	}
	want := newResults()
	for k := range int64(100) {
		want.high(k, n/100)
	}
	if err := res.equal(want); err != nil {
		t.Fatal(err)
	}
}

// TestAssignmentMustMatchTheGraph: a worker refuses an assignment that
// does not place every subtask of its job graph.
func TestAssignmentMustMatchTheGraph(t *testing.T) {
	a := newPeer(t, "a", 0)
	jg := jobGraph(t, keyedSums(10, newResults()))
	w := worker.New("a", jg, a.srv, a.client, worker.Options{})
	as := alternate(jg, a)
	as.Subtasks[1] = as.Subtasks[1][:1]
	if err := w.Run(context.Background(), as); err == nil || !strings.HasPrefix(err.Error(), "worker: ") {
		t.Fatalf("Run = %v, want an error about the placement", err)
	}
	as = alternate(jg, a)
	as.Subtasks[0][0] = "nowhere"
	if err := w.Run(context.Background(), as); err == nil || !strings.Contains(err.Error(), `"nowhere"`) {
		t.Fatalf("Run = %v, want an error naming the unknown worker", err)
	}
}

// checkpointJobOf describes jg to a job master's checkpoint coordinator.
func checkpointJobOf(id string, jg *graph.JobGraph) checkpoint.Job {
	cj, _ := jobmaster.CheckpointJob(id, jg)
	return cj
}
