package tcp

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/runnel-io/runnel/codec"
	"github.com/runnel-io/runnel/runtime/checkpoint"
	"github.com/runnel-io/runnel/runtime/network"
)

type mod int

func (m mod) Select(v int64) int { return int(v % int64(m)) }

// entry is one thing a consumer saw on a channel, record or event.
type entry struct {
	kind  string
	v, ts int64
	opts  checkpoint.Options
}

// log collects the entries of one channel; it is a network.Output and,
// with logs, a network.EventHandler.
type log struct{ got []entry }

func (l *log) Collect(v, ts int64) error {
	l.got = append(l.got, entry{kind: "record", v: v, ts: ts})
	return nil
}
func (l *log) EmitWatermark(wm int64) error {
	l.got = append(l.got, entry{kind: "watermark", ts: wm})
	return nil
}
func (l *log) EmitWatermarkStatus(idle bool) error {
	l.got = append(l.got, entry{kind: fmt.Sprint("idle ", idle)})
	return nil
}

type logs []*log

func (ls logs) ChannelWatermark(ch int, wm int64) error { return ls[ch].EmitWatermark(wm) }
func (ls logs) ChannelStatus(ch int, idle bool) error   { return ls[ch].EmitWatermarkStatus(idle) }

func eventEntry(b network.Buffer) entry {
	e := entry{kind: b.Kind.String(), v: b.Value}
	if b.Barrier != nil {
		e.v, e.ts, e.opts = b.Barrier.ID, b.Barrier.Timestamp, b.Barrier.Options
	}
	return e
}

// TestRecordsAndEventsInOrder sends records, watermarks, a barrier, a
// cancel barrier, EndOfData and EndOfPartition through RecordWriter →
// Sender → loopback TCP → Server → InputGate → RecordReader on three
// channels of one connection: each channel delivers exactly what was
// written to it, in order. On every poll it also checks that the buffers
// sent and not yet polled never exceed the channel's capacity.
func TestRecordsAndEventsInOrder(t *testing.T) {
	const (
		channels = 3
		capacity = 2
		n        = 30000
	)
	c := newCluster(t, ServerOptions{SegmentSize: 256})
	gate := network.NewInputGate(channels, capacity)
	ids := make([]ChannelID, channels)
	senders := make([]*Sender, channels)
	targets := make([]network.Sender, channels)
	for ch := range channels {
		ids[ch] = ChannelID{Job: "job", Edge: 1, Producer: 0, Consumer: ch}
		senders[ch] = c.sender(t, ids[ch])
		targets[ch] = senders[ch]
	}
	// The producers opened first; the consumer registers once the server
	// knows the channels, so that the open-before-register path runs.
	waitFor(t, "the opens", func() bool {
		st := c.srv.Stats()
		return len(st) == channels && st[channels-1].Remote != ""
	})
	receivers := make([]*Receiver, channels)
	for ch := range channels {
		receivers[ch] = c.register(t, ids[ch], gate, ch)
	}

	want := make([][]entry, channels)
	all := func(e entry) {
		for ch := range want {
			want[ch] = append(want[ch], e)
		}
	}
	pool := network.NewPool(256, 2*channels)
	produced := make(chan error, 1)
	go func() {
		w := network.NewRecordWriter[int64](context.Background(), codec.Int64(), mod(channels), targets, pool)
		defer w.Release()
		produced <- func() error {
			for i := range int64(n) {
				ts := int64(network.NoTimestamp)
				if i%5 == 0 {
					ts = i * 10
				}
				if err := w.Collect(i, ts); err != nil {
					return err
				}
				want[i%channels] = append(want[i%channels], entry{kind: "record", v: i, ts: ts})
				if i%997 == 0 {
					if err := w.EmitWatermark(i); err != nil {
						return err
					}
					all(entry{kind: "watermark", ts: i})
				}
				if i == n/2 {
					b := &network.Barrier{ID: 7, Timestamp: 1234, Options: checkpoint.Options{Kind: checkpoint.KindSavepoint, Terminate: true, TargetDir: "file:///sp"}}
					if err := w.SendEvent(network.Buffer{Kind: network.CheckpointBarrier, Barrier: b}); err != nil {
						return err
					}
					all(entry{kind: "checkpoint-barrier", v: 7, ts: 1234, opts: b.Options})
					if err := w.SendEvent(network.Buffer{Kind: network.CancelBarrier, Value: 6}); err != nil {
						return err
					}
					all(entry{kind: "cancel-barrier", v: 6})
				}
			}
			if err := w.SendEvent(network.Buffer{Kind: network.EndOfData}); err != nil {
				return err
			}
			all(entry{kind: "end-of-data"})
			if err := w.SendEvent(network.Buffer{Kind: network.EndOfPartition}); err != nil {
				return err
			}
			all(entry{kind: "end-of-partition"})
			return nil
		}()
	}()

	got := make(logs, channels)
	readers := make([]*network.RecordReader[int64], channels)
	for ch := range channels {
		got[ch] = &log{}
		readers[ch] = network.NewRecordReader[int64](codec.Int64(), got[ch], ch, got)
	}
	polled := make([]int64, channels)
	for open := channels; open > 0; {
		b, ch := pollOne(gate)
		polled[ch]++
		if inFlight := senders[ch].Stats().Sent - polled[ch]; inFlight > capacity {
			t.Fatalf("channel %d: %d buffers sent and not polled, capacity %d", ch, inFlight, capacity)
		}
		switch b.Kind {
		case network.Data:
			if err := readers[ch].Read(b.Segment.B); err != nil {
				t.Fatal(err)
			}
			b.Segment.Recycle()
		case network.EndOfPartition:
			open--
			fallthrough
		default:
			got[ch].got = append(got[ch].got, eventEntry(b))
		}
	}
	if err := <-produced; err != nil {
		t.Fatal(err)
	}
	for ch := range channels {
		if len(got[ch].got) != len(want[ch]) {
			t.Fatalf("channel %d: got %d entries, want %d", ch, len(got[ch].got), len(want[ch]))
		}
		for i := range want[ch] {
			if got[ch].got[i] != want[ch][i] {
				t.Fatalf("channel %d, entry %d: got %+v, want %+v", ch, i, got[ch].got[i], want[ch][i])
			}
		}
		st := receivers[ch].Stats()
		if !st.Ended || st.Failed || st.Received != polled[ch] || st.SegmentsInUse != 0 {
			t.Errorf("channel %d: stats %+v after the end, %d buffers polled", ch, st, polled[ch])
		}
		if err := receivers[ch].Err(); err != nil {
			t.Errorf("channel %d: %v", ch, err)
		}
	}
	// One connection carried every channel.
	if n := c.numConns(); n != 1 {
		t.Errorf("%d connections, want 1", n)
	}
	if pool.InUse() != 0 {
		t.Errorf("producer pool: %d segments not recycled", pool.InUse())
	}
}

// TestBackPressureIsolation runs two channels on one connection. The
// consumer of channel A does not poll: A's producer blocks after exactly
// its credit (the gate channel's capacity) of buffers, while channel B
// delivers all of its buffers. The memory held for A stays within its
// credit. Once A's consumer polls, A completes in order.
func TestBackPressureIsolation(t *testing.T) {
	const (
		capacity = 3
		n        = 200
	)
	c := newCluster(t, ServerOptions{SegmentSize: 64})
	gateA, gateB := network.NewInputGate(1, capacity), network.NewInputGate(1, capacity)
	idA := ChannelID{Job: "j", Edge: 0, Producer: 0, Consumer: 0}
	idB := ChannelID{Job: "j", Edge: 0, Producer: 0, Consumer: 1}
	recvA := c.register(t, idA, gateA, 0)
	recvB := c.register(t, idB, gateB, 0)
	sendA, sendB := c.sender(t, idA), c.sender(t, idB)
	poolA, poolB := network.NewPool(64, 2), network.NewPool(64, 2)

	produce := func(s *Sender, pool *network.Pool, sent *atomic.Int64, done chan<- error) {
		done <- func() error {
			for i := range n {
				if err := s.Send(context.Background(), seqBuffer(t, pool, fmt.Sprint(i))); err != nil {
					return err
				}
				sent.Add(1)
			}
			return s.Send(context.Background(), network.Buffer{Kind: network.EndOfPartition})
		}()
	}
	consume := func(g *network.InputGate) error {
		for i := 0; ; i++ {
			b, _ := pollOne(g)
			if b.Kind == network.EndOfPartition {
				if i != n {
					return fmt.Errorf("end of partition after %d buffers, want %d", i, n)
				}
				return nil
			}
			if got := string(b.Segment.B); got != fmt.Sprint(i) {
				return fmt.Errorf("buffer %d holds %q", i, got)
			}
			b.Segment.Recycle()
		}
	}
	var sentA, sentB atomic.Int64
	doneA, doneB := make(chan error, 1), make(chan error, 1)
	go produce(sendA, poolA, &sentA, doneA)
	go produce(sendB, poolB, &sentB, doneB)

	// B flows to the end while A's consumer does not poll.
	if err := consume(gateB); err != nil {
		t.Fatalf("channel B: %v", err)
	}
	if err := <-doneB; err != nil {
		t.Fatalf("channel B: %v", err)
	}
	waitFor(t, "A's producer to wait for credit", func() bool { return sendA.Stats().Backlog == 1 })
	if got := sentA.Load(); got != capacity {
		t.Fatalf("A's producer sent %d buffers before blocking, want exactly its credit %d", got, capacity)
	}
	stA := sendA.Stats()
	if stA.Credit != 0 || stA.Sent != capacity || stA.Granted != capacity || stA.Waits < 1 {
		t.Errorf("A's sender: %+v", stA)
	}
	waitFor(t, "A's buffers to arrive", func() bool { return recvA.Stats().Received == capacity })
	rA := recvA.Stats()
	if rA.Credit != 0 || rA.Queued != capacity || rA.Unannounced != 0 || rA.Capacity != capacity {
		t.Errorf("A's receiver: %+v, want credit 0, queued = capacity = %d", rA, capacity)
	}
	if rA.Credit+rA.Queued+rA.Unannounced != rA.Capacity {
		t.Errorf("A's receiver: credit + queued + unannounced != capacity: %+v", rA)
	}
	if rA.SegmentsInUse > capacity || gateA.QueuedBuffers() != capacity {
		t.Errorf("A holds %d segments and queues %d buffers, more than its credit %d", rA.SegmentsInUse, gateA.QueuedBuffers(), capacity)
	}
	if poolA.InUse() > 1 {
		t.Errorf("A's producer holds %d segments, want at most the one it waits to send", poolA.InUse())
	}
	if rB := recvB.Stats(); !rB.Ended || rB.Received != n+1 || rB.Remote != rA.Remote {
		t.Errorf("B's receiver: %+v; want ended after %d buffers on A's connection %s", rB, n+1, rA.Remote)
	}

	if err := consume(gateA); err != nil {
		t.Fatalf("channel A: %v", err)
	}
	if err := <-doneA; err != nil {
		t.Fatalf("channel A: %v", err)
	}
	if stA := sendA.Stats(); stA.Sent != n+1 {
		t.Errorf("A's sender after the end: %+v", stA)
	}
}

// TestConnectionCutFailsBothSides cuts the connection under two channels,
// one of whose producers waits for credit: every Send fails with an error
// naming the consumer's address, and both receivers fail with an error
// naming the producer's.
func TestConnectionCutFailsBothSides(t *testing.T) {
	c := newCluster(t, ServerOptions{})
	gate := network.NewInputGate(2, 1)
	ids := []ChannelID{{Job: "j", Consumer: 0}, {Job: "j", Consumer: 1}}
	recv := []*Receiver{c.register(t, ids[0], gate, 0), c.register(t, ids[1], gate, 1)}
	send := []*Sender{c.sender(t, ids[0]), c.sender(t, ids[1])}
	pool := network.NewPool(64, 4)
	// Channel 0 uses its only credit; its next Send waits.
	if err := send[0].Send(context.Background(), seqBuffer(t, pool, "x")); err != nil {
		t.Fatal(err)
	}
	blocked := make(chan error, 1)
	b := seqBuffer(t, pool, "y")
	go func() { blocked <- send[0].Send(context.Background(), b) }()
	waitFor(t, "the Send to wait for credit", func() bool { return send[0].Stats().Backlog == 1 })

	c.mu.Lock()
	conn := c.conns[0]
	c.mu.Unlock()
	producerAddr := conn.LocalAddr().String()
	conn.Close()

	errs := []error{<-blocked, send[1].Send(context.Background(), seqBuffer(t, pool, "z"))}
	for i, err := range errs {
		if err == nil || !strings.Contains(err.Error(), "tcp: connection to "+c.addr) {
			t.Errorf("Send %d: %v, want an error naming %s", i, err, c.addr)
		}
	}
	b.Segment.Recycle() // a failed Send leaves the buffer to its caller
	for i, r := range recv {
		<-r.Failed()
		if err := r.Err(); err == nil || !strings.Contains(err.Error(), "tcp: connection from "+producerAddr) {
			t.Errorf("receiver %d: %v, want an error naming %s", i, err, producerAddr)
		}
		if !r.Stats().Failed {
			t.Errorf("receiver %d: stats do not show the failure", i)
		}
	}
	gate.Drain()
	// A new Sender dials a new connection.
	if _, err := c.client.Sender(context.Background(), c.addr, ChannelID{Job: "k"}); err != nil {
		t.Fatal(err)
	}
	if n := c.numConns(); n != 2 {
		t.Errorf("%d connections, want a second one", n)
	}
}

// TestServerStopFailsSenders stops the server: a producer waiting for
// credit fails with an error naming the server's address, and a registered
// channel fails with ErrClosed.
func TestServerStopFailsSenders(t *testing.T) {
	c := newCluster(t, ServerOptions{})
	gate := network.NewInputGate(2, 1)
	r := c.register(t, ChannelID{Job: "j", Consumer: 1}, gate, 1)
	s := c.sender(t, ChannelID{Job: "j"}) // never registered: no credit
	pool := network.NewPool(64, 1)
	b := seqBuffer(t, pool, "x")
	done := make(chan error, 1)
	go func() { done <- s.Send(context.Background(), b) }()
	waitFor(t, "the Send to wait for credit", func() bool { return s.Stats().Backlog == 1 })
	c.stopServer(t)
	if err := <-done; err == nil || !strings.Contains(err.Error(), "tcp: connection to "+c.addr) {
		t.Errorf("Send: %v, want an error naming %s", err, c.addr)
	}
	b.Segment.Recycle()
	<-r.Failed()
	if !errors.Is(r.Err(), ErrClosed) {
		t.Errorf("receiver: %v, want ErrClosed", r.Err())
	}
	if _, err := c.srv.Register(ChannelID{Job: "late"}, gate, 0); !errors.Is(err, ErrClosed) {
		t.Errorf("Register after Run: %v, want ErrClosed", err)
	}
}

// TestSendHonoursContext: a Send waiting for credit returns ctx's error
// and leaves the buffer to its caller.
func TestSendHonoursContext(t *testing.T) {
	c := newCluster(t, ServerOptions{})
	s := c.sender(t, ChannelID{Job: "j"})
	pool := network.NewPool(64, 1)
	b := seqBuffer(t, pool, "x")
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Send(ctx, b) }()
	waitFor(t, "the Send to wait for credit", func() bool { return s.Stats().Backlog == 1 })
	cancel()
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Fatalf("Send: %v, want context.Canceled", err)
	}
	if pool.InUse() != 1 || string(b.Segment.B) != "x" {
		t.Fatal("the failed Send recycled the caller's buffer")
	}
	b.Segment.Recycle()
	if st := s.Stats(); st.Backlog != 0 || st.Sent != 0 || st.Waits < 1 {
		t.Errorf("stats %+v", st)
	}
}

// TestOversizedRecord: a record larger than a segment travels in an
// oversized buffer; one larger than the consumer's MaxBufferSize is
// refused by Send before it reaches the wire.
func TestOversizedRecord(t *testing.T) {
	c := newCluster(t, ServerOptions{SegmentSize: 1 << 10, MaxBufferSize: 64 << 10})
	gate := network.NewInputGate(1, 2)
	id := ChannelID{Job: "big"}
	c.register(t, id, gate, 0)
	s := c.sender(t, id)
	pool := network.NewPool(1<<10, 2)
	w := network.NewRecordWriter[[]byte](context.Background(), codec.Bytes(), single{}, []network.Sender{s}, pool)
	defer w.Release()
	big := make([]byte, 40<<10)
	for i := range big {
		big[i] = byte(i * 7)
	}
	if err := w.Collect(big, network.NoTimestamp); err != nil {
		t.Fatal(err)
	}
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
	b, _ := pollOne(gate)
	var got [][]byte
	r := network.NewRecordReader[[]byte](codec.Bytes(), collectBytes{&got}, 0, nil)
	if err := r.Read(b.Segment.B); err != nil {
		t.Fatal(err)
	}
	b.Segment.Recycle()
	if len(got) != 1 || string(got[0]) != string(big) {
		t.Fatalf("got %d records, want the %d-byte one", len(got), len(big))
	}
	if err := w.Collect(make([]byte, 100<<10), network.NoTimestamp); err != nil {
		t.Fatal(err) // buffered in the writer, sent on Flush
	}
	err := w.Flush()
	if err == nil || !strings.Contains(err.Error(), "exceeds") {
		t.Fatalf("Flush of a record over MaxBufferSize: %v", err)
	}
}

type single struct{}

func (single) Select([]byte) int { return 0 }

type collectBytes struct{ got *[][]byte }

func (c collectBytes) Collect(v []byte, _ int64) error {
	*c.got = append(*c.got, append([]byte(nil), v...))
	return nil
}
func (collectBytes) EmitWatermark(int64) error      { return nil }
func (collectBytes) EmitWatermarkStatus(bool) error { return nil }

// TestSecondProducerRejected: a channel has one producer; a second one
// that opens the same ID fails, and the first flows on.
func TestSecondProducerRejected(t *testing.T) {
	c := newCluster(t, ServerOptions{})
	gate := network.NewInputGate(1, 1)
	id := ChannelID{Job: "j"}
	c.register(t, id, gate, 0)
	first := c.sender(t, id)
	second := c.sender(t, id)
	pool := network.NewPool(64, 2)
	b := seqBuffer(t, pool, "2")
	if err := second.Send(context.Background(), b); err == nil || !strings.Contains(err.Error(), "already has a producer") {
		t.Fatalf("second producer's Send: %v", err)
	}
	b.Segment.Recycle()
	if err := first.Send(context.Background(), seqBuffer(t, pool, "1")); err != nil {
		t.Fatal(err)
	}
	if b, _ := pollOne(gate); string(b.Segment.B) != "1" {
		t.Fatalf("got %q", b.Segment.B)
	}
}

// TestRegisterTwice and friends: misuse is an error, not a panic.
func TestRegisterErrors(t *testing.T) {
	c := newCluster(t, ServerOptions{})
	gate := network.NewInputGate(1, 1)
	id := ChannelID{Job: "j"}
	r := c.register(t, id, gate, 0)
	if _, err := c.srv.Register(id, gate, 0); err == nil {
		t.Error("second Register of one ID succeeded")
	}
	if _, err := c.srv.Register(ChannelID{Job: "k"}, gate, 1); err == nil {
		t.Error("Register of a channel the gate lacks succeeded")
	}
	if _, err := c.srv.Register(ChannelID{Edge: -1}, gate, 0); err == nil {
		t.Error("Register of a negative edge succeeded")
	}
	r.Close()
	if _, err := c.srv.Register(id, gate, 0); err != nil {
		t.Errorf("Register after Close: %v", err)
	}
	if _, err := NewServer(nil, ServerOptions{SegmentSize: 64 << 10, MaxBufferSize: 32 << 10}); err == nil {
		t.Error("NewServer accepted a max buffer size below the segment size")
	}
}
