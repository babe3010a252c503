package stream

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/runnel-io/runnel/cluster/minicluster"
	"github.com/runnel-io/runnel/codec"
	"github.com/runnel-io/runnel/runtime/network"
)

// The back-pressure test runs a fast source against a slow sink and checks,
// on every record the sink receives, that the source is never further ahead
// than the network buffers between them can hold. Without back-pressure the
// source would run through all of its records while the sink still waits
// on its first.

// bpRecord is a record of about 100 bytes.
type bpRecord struct {
	Seq  int64
	Data string
}

const bpRecords = 100_000

func bpPayload(i int64) string {
	const alphabet = "abcdefghijklmnopqrstuvwxyz0123456789"
	var b [100]byte
	for j := range b {
		b[j] = alphabet[(int(i)+j)%len(alphabet)]
	}
	return string(b[:])
}

// bpSink checks every record against the bounds of its job's buffers.
type bpSink struct {
	job       *minicluster.Job
	emitted   *atomic.Int64 // counted by the Map chained to the source
	consumed  atomic.Int64
	producers int
	bound     int64 // the most records emitted and not yet consumed
	limit     int   // the job's SegmentLimit
	maxQueued int   // channels × capacity
	release   chan struct{}
	maxLag    atomic.Int64
}

func (s *bpSink) CreateWriter(context.Context, *RuntimeContext) (SinkWriter[bpRecord], error) {
	w := &bpWriter{s: s, next: make([]int64, s.producers)}
	for p := range w.next {
		w.next[p] = int64(p) // producer p generates p, p+producers, ...
	}
	return w, nil
}

type bpWriter struct {
	s    *bpSink
	next []int64 // the next Seq expected from each producer
}

func (w *bpWriter) Write(r bpRecord, _ int64) error {
	s := w.s
	n := s.consumed.Add(1)
	if n == 1 {
		<-s.release // hold the first record until the test has seen the source stop
	}
	// Records of one producer arrive in order, intact.
	p := r.Seq % int64(s.producers)
	if r.Seq != w.next[p] {
		return fmt.Errorf("record %d from producer %d, want %d", r.Seq, p, w.next[p])
	}
	w.next[p] += int64(s.producers)
	if r.Data != bpPayload(r.Seq) {
		return fmt.Errorf("record %d: corrupt payload %q", r.Seq, r.Data)
	}

	lag := s.emitted.Load() - n
	if lag > s.bound {
		return fmt.Errorf("after %d records consumed, %d emitted: the source is %d records ahead, more than the %d the buffers hold", n, n+lag, lag, s.bound)
	}
	for m := s.maxLag.Load(); lag > m && !s.maxLag.CompareAndSwap(m, lag); m = s.maxLag.Load() {
	}
	m := s.job.Metrics()
	if m.SegmentsInUse > m.SegmentLimit || m.SegmentLimit != s.limit {
		return fmt.Errorf("record %d: %d segments in use, limit %d (want limit %d)", n, m.SegmentsInUse, m.SegmentLimit, s.limit)
	}
	if m.QueuedBuffers > s.maxQueued {
		return fmt.Errorf("record %d: %d buffers queued, more than channels × capacity = %d", n, m.QueuedBuffers, s.maxQueued)
	}
	if n%1000 == 0 {
		time.Sleep(time.Millisecond) // stay slow, so that the source keeps running into the bound
	}
	return nil
}

func (w *bpWriter) Flush(bool) error { return nil }
func (w *bpWriter) Close() error     { return nil }

// bpRecordsPerSegment is the most records of the job that fit in one
// segment: the smallest framed record (header and payload) divides the
// segment size.
func bpRecordsPerSegment(t *testing.T, segmentSize int) int64 {
	c, err := codec.For[bpRecord]()
	if err != nil {
		t.Fatal(err)
	}
	smallest := len(c.Append(nil, bpRecord{Seq: 0, Data: bpPayload(0)}))
	header := 1
	for v := uint64(smallest) << 1; v >= 0x80; v >>= 7 {
		header++
	}
	return int64(segmentSize / (header + smallest))
}

func TestBackPressure(t *testing.T) {
	for _, tc := range []struct {
		producers   int
		perChannel  int // 0: default
		segmentSize int // 0: default
	}{
		{producers: 1},
		{producers: 2, perChannel: 1, segmentSize: 1024},
		{producers: 3, perChannel: 4, segmentSize: 4096},
	} {
		t.Run(fmt.Sprintf("producers=%d/buffers=%dx%d", tc.producers, tc.perChannel, tc.segmentSize), func(t *testing.T) {
			testBackPressure(t, tc.producers, tc.perChannel, tc.segmentSize)
		})
	}
}

func testBackPressure(t *testing.T, producers, perChannel, segmentSize int) {
	checkNoLeaks(t)
	env := NewEnvironment().SetParallelism(producers).SetNetworkBuffers(perChannel, segmentSize)
	capacity, size := perChannel, segmentSize
	if capacity == 0 {
		capacity = network.DefaultChannelCapacity
	}
	if size == 0 {
		size = network.DefaultSegmentSize
	}
	// One output edge per producer, one channel each to the one sink
	// subtask: a pool of capacity+2 segments per producer (see
	// minicluster's doc), and a gate of `producers` channels.
	limit := producers * (capacity + 2)
	perSegment := bpRecordsPerSegment(t, size)
	// Records between the Map's counter and the sink: those in the
	// producers' segments, and per producer the one record counted and
	// waiting for a segment. The generator emits each record through the
	// chain as it makes it, so its poll batch holds none back.
	bound := int64(limit)*perSegment + int64(producers)
	if bound*10 > bpRecords {
		t.Fatalf("bound %d is too close to the %d records for the test to prove anything", bound, bpRecords)
	}

	var emitted atomic.Int64
	src := Generate(env, bpRecords, func(i int64) (bpRecord, error) {
		return bpRecord{Seq: i, Data: bpPayload(i)}, nil
	})
	counted := Map(src, func(r bpRecord) (bpRecord, error) {
		emitted.Add(1)
		return r, nil
	})
	sink := &bpSink{
		emitted:   &emitted,
		producers: producers,
		bound:     bound,
		limit:     limit,
		maxQueued: producers * capacity,
		release:   make(chan struct{}),
	}
	counted.Rebalance().SinkTo(sink, "slow sink").SetParallelism(1)

	job, _, err := env.deploy(t.Name())
	if err != nil {
		t.Fatal(err)
	}
	sink.job = job
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	done := make(chan error, 1)
	go func() { done <- job.Run(ctx) }()
	released, finished := false, false
	t.Cleanup(func() { // on a failure of the test: stop the job
		if !released {
			close(sink.release)
		}
		cancel()
		if !finished {
			<-done
		}
	})

	// Phase 1: the sink holds its first record. Wait until the channels'
	// queues are full and the source has stopped emitting (or ended); it
	// must have stopped within the bound.
	var last int64 = -1
	for stable := 0; stable < 5; {
		if ctx.Err() != nil {
			t.Fatalf("the source did not come to a stop: %d records emitted, metrics %+v", emitted.Load(), job.Metrics())
		}
		time.Sleep(5 * time.Millisecond)
		e := emitted.Load()
		if e == last && job.Metrics().QueuedBuffers >= producers*capacity {
			stable++
		} else {
			stable = 0
		}
		last = e
	}
	m := job.Metrics()
	if m.SegmentLimit != limit {
		t.Fatalf("SegmentLimit %d, want %d", m.SegmentLimit, limit)
	}
	if e := emitted.Load(); e > bound+1 {
		t.Errorf("while the sink holds its first record, the source emitted %d records; the buffers hold at most %d", e, bound+1)
	}
	if m.SegmentsInUse > m.SegmentLimit || m.QueuedBuffers > producers*capacity {
		t.Errorf("blocked: %+v, want at most %d segments in use and %d buffers queued", m, m.SegmentLimit, producers*capacity)
	}
	t.Logf("blocked after %d of %d records; bound %d; metrics %+v", emitted.Load(), bpRecords, bound, m)

	// Phase 2: the sink runs, slowly; it checks the bounds on every record.
	close(sink.release)
	released = true
	err = <-done
	finished = true
	if err != nil {
		t.Fatal(err)
	}
	if got := sink.consumed.Load(); got != bpRecords || emitted.Load() != bpRecords {
		t.Errorf("%d records emitted and %d consumed, want %d", emitted.Load(), got, bpRecords)
	}
	m = job.Metrics()
	if m.MaxSegmentsInUse > m.SegmentLimit || m.MaxPoolInUse > capacity+2 {
		t.Errorf("final metrics %+v: more segments were in use than the limit", m)
	}
	if m.SegmentsInUse != 0 || m.QueuedBuffers != 0 {
		t.Errorf("final metrics %+v: segments still in use or queued after the job", m)
	}
	t.Logf("largest lag %d records (bound %d); final metrics %+v", sink.maxLag.Load(), bound, m)
}

// TestBackPressureCancel cancels a job whose producer is blocked on a full
// channel: Run must return with the context's error.
func TestBackPressureCancel(t *testing.T) {
	checkNoLeaks(t)
	env := NewEnvironment().SetParallelism(1).SetNetworkBuffers(1, 256)
	block := make(chan struct{})
	src := Generate(env, Unbounded, func(i int64) (bpRecord, error) { return bpRecord{Seq: i, Data: bpPayload(i)}, nil })
	src.Rebalance().SinkTo(blockingSink{block}, "blocked")
	job, _, err := env.deploy(t.Name())
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	over := make(chan struct{})
	go func() {
		defer close(over)
		done <- job.Run(ctx)
	}()
	var unblock sync.Once
	t.Cleanup(func() { // also when the test stops half-way
		cancel()
		unblock.Do(func() { close(block) })
		<-over
	})
	deadline := time.After(30 * time.Second)
	for job.Metrics().QueuedBuffers < 1 {
		select {
		case <-deadline:
			t.Fatal("no buffer was ever queued")
		case <-time.After(time.Millisecond):
		}
	}
	cancel()
	unblock.Do(func() { close(block) })
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Errorf("Run after cancel = %v, want context.Canceled", err)
	}
	if m := job.Metrics(); m.SegmentsInUse != 0 || m.QueuedBuffers != 0 {
		t.Errorf("after cancel %d segments are still in use and %d queued: %+v", m.SegmentsInUse, m.QueuedBuffers, m)
	}
}

type blockingSink struct{ block chan struct{} }

func (s blockingSink) CreateWriter(context.Context, *RuntimeContext) (SinkWriter[bpRecord], error) {
	return s, nil
}

func (s blockingSink) Write(bpRecord, int64) error {
	<-s.block
	return nil
}
func (s blockingSink) Flush(bool) error { return nil }
func (s blockingSink) Close() error     { return nil }

// TestCancelRecyclesEverySegment cancels running jobs whose producers keep
// sending into a busy consumer: after Run returns, every segment is back in
// its pool, also one a producer sent after its consumer had stopped.
func TestCancelRecyclesEverySegment(t *testing.T) {
	checkNoLeaks(t)
	for i := range 20 {
		env := NewEnvironment().SetParallelism(4).SetNetworkBuffers(1, 64)
		src := Generate(env, Unbounded, func(i int64) (int64, error) { return i, nil })
		src.Rebalance().SinkTo(discardSink[int64]{}, "discard").SetParallelism(1)
		job, _, err := env.deploy(t.Name())
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan error, 1)
		go func() { done <- job.Run(ctx) }()
		deadline := time.After(30 * time.Second)
		for job.Metrics().MaxSegmentsInUse < 4 { // records are flowing
			select {
			case <-deadline:
				cancel()
				<-done
				t.Fatal("no records flowed")
			case <-time.After(100 * time.Microsecond):
			}
		}
		cancel()
		if err := <-done; !errors.Is(err, context.Canceled) {
			t.Fatalf("run %d: Run after cancel = %v, want context.Canceled", i, err)
		}
		if m := job.Metrics(); m.SegmentsInUse != 0 || m.QueuedBuffers != 0 {
			t.Fatalf("run %d: after cancel %d segments in use and %d queued, want none: %+v", i, m.SegmentsInUse, m.QueuedBuffers, m)
		}
	}
}

// deploy builds the environment's job and deploys it on a mini-cluster
// of its own, for tests that look into the running job.
func (e *Environment) deploy(name string) (*minicluster.Job, func(), error) {
	j, cleanup, err := e.build(name)
	if err != nil {
		return nil, nil, err
	}
	mj, err := minicluster.Deploy(j.Name, j.Graph, j.Config, nil)
	if err != nil {
		cleanup()
		return nil, nil, err
	}
	return mj, cleanup, nil
}
