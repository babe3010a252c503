package task

import (
	"context"
	"fmt"
	"runtime"
	"slices"
	"sync"
	"testing"

	"github.com/runnel-io/runnel/codec"
	"github.com/runnel-io/runnel/runtime/checkpoint"
	"github.com/runnel-io/runnel/runtime/graph"
	"github.com/runnel-io/runnel/runtime/network"
	"github.com/runnel-io/runnel/runtime/operator"
	"github.com/runnel-io/runnel/runtime/partition"
)

// probe is a sink operator that logs its records and snapshots.
type probe struct {
	mu  sync.Mutex
	log []string
}

func (p *probe) add(s string) {
	p.mu.Lock()
	p.log = append(p.log, s)
	p.mu.Unlock()
}

func (p *probe) take() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	l := p.log
	p.log = nil
	return l
}

type probeOp struct{ p *probe }

func (o probeOp) Open(context.Context) error { return nil }
func (o probeOp) Finish() error              { o.p.add("finish"); return nil }
func (o probeOp) Close() error               { return nil }
func (o probeOp) Collect(v int64, _ int64) error {
	o.p.add(fmt.Sprint(v))
	return nil
}
func (o probeOp) EmitWatermark(wm int64) error {
	o.p.add(fmt.Sprintf("wm %d", wm))
	return nil
}
func (o probeOp) EmitWatermarkStatus(bool) error { return nil }
func (o probeOp) SnapshotState(cp operator.Checkpoint) error {
	o.p.add(fmt.Sprintf("snapshot %d", cp.ID))
	return nil
}
func (o probeOp) NotifyCheckpointComplete(id int64) error {
	o.p.add(fmt.Sprintf("complete %d", id))
	return nil
}
func (o probeOp) NotifyCheckpointAborted(id int64) error {
	o.p.add(fmt.Sprintf("aborted %d", id))
	return nil
}

// acks records what the task reports.
type acks struct {
	mu       sync.Mutex
	acked    []int64
	declined []int64
	finished int
	done     chan struct{}
}

func (a *acks) Acknowledge(id int64, _ checkpoint.TaskID, _ map[string]checkpoint.SubtaskState) {
	a.mu.Lock()
	a.acked = append(a.acked, id)
	a.mu.Unlock()
	a.done <- struct{}{}
}

func (a *acks) Decline(id int64, _ checkpoint.TaskID, _ error) {
	a.mu.Lock()
	a.declined = append(a.declined, id)
	a.mu.Unlock()
	a.done <- struct{}{}
}

func (a *acks) Finished(checkpoint.TaskID) {
	a.mu.Lock()
	a.finished++
	a.mu.Unlock()
}

// alignmentTask builds the consumer task of source(p=2) → probe(p=1):
// a gate of two channels that the test feeds by hand.
func alignmentTask(t *testing.T, periodic bool) (*Task, *probe, *acks, *network.InputGate, context.CancelFunc, chan error) {
	t.Helper()
	c, err := codec.For[int64]()
	if err != nil {
		t.Fatal(err)
	}
	var g graph.StreamGraph
	g.Parallelism, g.MaxParallelism = 1, 128
	src := g.AddNode(&graph.Node{Kind: "Source", Name: "src", Source: true, Parallelism: 2, OutType: operator.TypeOf(c),
		Factory: operator.FactoryFunc(func(*operator.Context, any) (operator.Operator, []any, error) { return nil, nil, nil })})
	p := &probe{}
	sink := g.AddNode(&graph.Node{Kind: "Sink", Name: "probe", Parallelism: 1, OutType: operator.TypeOf(c),
		Factory: operator.FactoryFunc(func(*operator.Context, any) (operator.Operator, []any, error) {
			op := probeOp{p}
			return op, []any{operator.Output[int64](op)}, nil
		})})
	g.Connect(src, "", sink, 0, partition.Of[int64](partition.Rebalance))
	jg, err := g.JobGraph()
	if err != nil {
		t.Fatal(err)
	}
	v := jg.VertexOf[sink.ID]
	gate := network.NewInputGate(2, 4)
	a := &acks{done: make(chan struct{}, 16)}
	d := Deployment{JobName: "test", Job: jg, Vertex: v, Gate: gate, ChannelEdges: []*graph.Edge{v.In[0], v.In[0]},
		Checkpoints: &Checkpointing{Periodic: periodic, Reporter: a,
			Upload: func(context.Context, int64, string, []byte) (checkpoint.StateHandle, error) {
				return checkpoint.StateHandle{Path: "x"}, nil
			}}}
	ctx, cancel := context.WithCancel(context.Background())
	task, err := New(ctx, d)
	if err != nil {
		t.Fatal(err)
	}
	errs := make(chan error, 1)
	go func() { errs <- task.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		<-errs
	})
	return task, p, a, gate, cancel, errs
}

// only selects the one channel of a writer.
type only struct{}

func (only) Select(int64) int { return 0 }

// send writes records to gate channel ch as one data buffer each.
func send(t *testing.T, gate *network.InputGate, ch int, vs ...int64) {
	t.Helper()
	c, _ := codec.For[int64]()
	pool := network.NewPool(1024, 16)
	w := network.NewRecordWriter[int64](context.Background(), c, only{}, []network.Sender{gate.Channel(ch)}, pool)
	for _, v := range vs {
		if err := w.Collect(v, network.NoTimestamp); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
}

func event(t *testing.T, gate *network.InputGate, ch int, b network.Buffer) {
	t.Helper()
	if err := gate.Channel(ch).Send(context.Background(), b); err != nil {
		t.Fatal(err)
	}
}

func barrier(id int64) network.Buffer {
	return network.Buffer{Kind: network.CheckpointBarrier, Barrier: &network.Barrier{ID: id, Options: checkpoint.Options{Kind: checkpoint.KindCheckpoint}}}
}

// TestAlignmentBlocksTheChannelsThatDeliveredTheBarrier proves invariants
// 1-3 of the aligner: the record behind the barrier on channel 0 is not
// processed before the snapshot, which waits for channel 1's barrier.
func TestAlignmentBlocksTheChannelsThatDeliveredTheBarrier(t *testing.T) {
	_, p, a, gate, _, _ := alignmentTask(t, false)
	send(t, gate, 0, 1)
	event(t, gate, 0, barrier(1))
	send(t, gate, 0, 2)
	send(t, gate, 1, 10)
	send(t, gate, 1, 11)
	event(t, gate, 1, barrier(1))
	send(t, gate, 1, 12)
	<-a.done
	event(t, gate, 0, network.Buffer{Kind: network.EndOfData})
	event(t, gate, 1, network.Buffer{Kind: network.EndOfData})
	event(t, gate, 0, network.Buffer{Kind: network.EndOfPartition})
	event(t, gate, 1, network.Buffer{Kind: network.EndOfPartition})
	log := waitFor(p, "finish")
	snap := slices.Index(log, "snapshot 1")
	if snap < 0 {
		t.Fatalf("no snapshot in %q", log)
	}
	before, after := log[:snap], log[snap+1:]
	slices.Sort(before)
	if !slices.Equal(before, []string{"1", "10", "11"}) {
		t.Errorf("before the snapshot: %q, want 1, 10, 11 (everything before the barriers)", before)
	}
	if !slices.Contains(after, "2") || !slices.Contains(after, "12") {
		t.Errorf("after the snapshot: %q, want 2 and 12", after)
	}
	if len(a.acked) != 1 || a.acked[0] != 1 {
		t.Errorf("acknowledged %v, want [1]", a.acked)
	}
}

// TestAlignmentEndedChannelCountsAsAligned: a channel that ended does not
// hold a checkpoint back (invariant 3).
func TestAlignmentEndedChannelCountsAsAligned(t *testing.T) {
	_, p, a, gate, _, _ := alignmentTask(t, false)
	event(t, gate, 1, network.Buffer{Kind: network.EndOfData})
	event(t, gate, 1, network.Buffer{Kind: network.EndOfPartition})
	send(t, gate, 0, 1)
	event(t, gate, 0, barrier(3))
	<-a.done
	if len(a.acked) != 1 || a.acked[0] != 3 {
		t.Fatalf("acknowledged %v, want [3]", a.acked)
	}
	if got := p.take(); !slices.Equal(got, []string{"1", "snapshot 3"}) {
		t.Fatalf("log %q", got)
	}
}

// TestAlignmentNewerBarrierAbandonsTheOlder proves invariant 4.
func TestAlignmentNewerBarrierAbandonsTheOlder(t *testing.T) {
	_, p, a, gate, _, _ := alignmentTask(t, false)
	event(t, gate, 0, barrier(1))
	event(t, gate, 1, barrier(2))
	<-a.done // the decline of 1
	event(t, gate, 0, barrier(2))
	<-a.done
	event(t, gate, 1, barrier(1)) // stale: ignored
	send(t, gate, 1, 5)
	event(t, gate, 0, network.Buffer{Kind: network.EndOfData})
	event(t, gate, 1, network.Buffer{Kind: network.EndOfData})
	waitFor(p, "finish")
	if !slices.Equal(a.declined, []int64{1}) || !slices.Equal(a.acked, []int64{2}) {
		t.Fatalf("declined %v, acknowledged %v; want [1] and [2]", a.declined, a.acked)
	}
}

// TestFinishedTaskWaitsForTheFinalCheckpoint: with periodic checkpoints a
// task whose input ended reports it, takes part in the final checkpoint,
// and ends only once it is complete.
func TestFinishedTaskWaitsForTheFinalCheckpoint(t *testing.T) {
	task, p, a, gate, _, errs := alignmentTask(t, true)
	for ch := range 2 {
		event(t, gate, ch, network.Buffer{Kind: network.EndOfData})
	}
	waitFor(p, "finish")
	final := network.Buffer{Kind: network.CheckpointBarrier, Barrier: &network.Barrier{ID: 4, Options: checkpoint.Options{Kind: checkpoint.KindCheckpoint, Final: true}}}
	for ch := range 2 {
		event(t, gate, ch, final)
		event(t, gate, ch, network.Buffer{Kind: network.EndOfPartition})
	}
	<-a.done
	select {
	case err := <-errs:
		t.Fatalf("the task ended (%v) before the final checkpoint completed", err)
	default:
	}
	task.NotifyCheckpointComplete(4, final.Barrier.Options)
	if err := <-errs; err != nil {
		t.Fatal(err)
	}
	errs <- nil // for the cleanup
	if a.finished != 1 {
		t.Errorf("reported the end %d times, want once", a.finished)
	}
	if got := p.take(); !slices.Equal(got, []string{"snapshot 4", "complete 4"}) {
		t.Errorf("log after finish: %q", got)
	}
}

// waitFor waits until the probe has logged s and returns its log.
func waitFor(p *probe, s string) []string {
	var log []string
	for !slices.Contains(log, s) {
		log = append(log, p.take()...)
		runtimeGosched()
	}
	return log
}

func runtimeGosched() { runtime.Gosched() }

// watermark sends watermark wm on gate channel ch.
func watermark(t *testing.T, gate *network.InputGate, ch int, wm int64) {
	t.Helper()
	c, _ := codec.For[int64]()
	w := network.NewRecordWriter[int64](context.Background(), c, only{}, []network.Sender{gate.Channel(ch)}, network.NewPool(1024, 4))
	if err := w.EmitWatermark(wm); err != nil {
		t.Fatal(err)
	}
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
}

// TestStoppedChannelHoldsTheWatermark: a producer that stopped with a
// savepoint (EndOfPartition without EndOfData) does not let the other
// channels' watermarks advance event time after the savepoint; one whose
// input ended does.
func TestStoppedChannelHoldsTheWatermark(t *testing.T) {
	for _, ended := range []bool{false, true} {
		t.Run(fmt.Sprintf("ended=%v", ended), func(t *testing.T) {
			_, p, _, gate, _, _ := alignmentTask(t, false)
			watermark(t, gate, 0, 5)
			watermark(t, gate, 1, 10)
			waitFor(p, "wm 5")
			if ended {
				event(t, gate, 0, network.Buffer{Kind: network.EndOfData})
			}
			event(t, gate, 0, network.Buffer{Kind: network.EndOfPartition})
			send(t, gate, 1, 7) // a record after channel 0's end: its log entry orders the check
			log := waitFor(p, "7")
			if got := slices.Contains(log, "wm 10"); got != ended {
				t.Fatalf("log %q: watermark 10 emitted = %v, want %v", log, got, ended)
			}
		})
	}
}
