package network

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"sync"
	"testing"

	"github.com/runnel-io/runnel/codec"
)

// int64Codec is a minimal codec for these tests, so that the package's tests
// do not depend on the codec package's defaults.
type int64Codec struct{}

func (int64Codec) Append(dst []byte, v int64) []byte { return binary.AppendVarint(dst, v) }
func (int64Codec) Decode(src []byte) (int64, error) {
	v, n := binary.Varint(src)
	if n <= 0 || n != len(src) {
		return 0, codec.ErrCorrupt
	}
	return v, nil
}

type mod int

func (m mod) Select(v int64) int { return int(v % int64(m)) }

type record struct{ v, ts int64 }

// collect records what a reader delivers; events are kept as records with
// v = -1 (watermark, ts = the watermark) or v = -2/-3 (idle/active).
type collect struct{ got []record }

func (c *collect) Collect(v int64, ts int64) error {
	c.got = append(c.got, record{v, ts})
	return nil
}

func (c *collect) EmitWatermark(wm int64) error { return c.Collect(-1, wm) }

func (c *collect) EmitWatermarkStatus(idle bool) error {
	if idle {
		return c.Collect(-2, 0)
	}
	return c.Collect(-3, 0)
}

// events forwards channel events to the collect of that channel.
type events []*collect

func (e events) ChannelWatermark(ch int, wm int64) error { return e[ch].EmitWatermark(wm) }
func (e events) ChannelStatus(ch int, idle bool) error   { return e[ch].EmitWatermarkStatus(idle) }

func reader(c codec.Codec[int64], out *collect) *RecordReader[int64] {
	return NewRecordReader(c, out, 0, events{out})
}

// drain reads every buffer of g until n channels delivered EndOfPartition.
func drain(t *testing.T, g *InputGate, readers []*RecordReader[int64]) {
	t.Helper()
	open := g.NumChannels()
	for open > 0 {
		b, ch, ok := g.Poll()
		if !ok {
			<-g.Available()
			continue
		}
		switch b.Kind {
		case Data:
			if err := readers[ch].Read(b.Segment.B); err != nil {
				t.Fatal(err)
			}
			b.Segment.Recycle()
		case EndOfPartition:
			open--
		}
	}
}

func TestChannelOrder(t *testing.T) {
	ctx := context.Background()
	g := NewInputGate(2, 2)
	pool := NewPool(64, 8)
	w := NewRecordWriter[int64](ctx, int64Codec{}, mod(2), []Sender{g.Channel(0), g.Channel(1)}, pool)
	var got [2]collect
	ev := events{&got[0], &got[1]}
	readers := []*RecordReader[int64]{NewRecordReader[int64](int64Codec{}, &got[0], 0, ev), NewRecordReader[int64](int64Codec{}, &got[1], 1, ev)}
	const n = 10000
	done := make(chan error, 1)
	go func() {
		for i := range int64(n) {
			ts := int64(NoTimestamp)
			if i%3 == 0 {
				ts = -i * 1000
			}
			if err := w.Collect(i, ts); err != nil {
				done <- err
				return
			}
		}
		done <- w.SendEvent(Buffer{Kind: EndOfPartition})
	}()
	drain(t, g, readers)
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	for ch := range 2 {
		if len(got[ch].got) != n/2 {
			t.Fatalf("channel %d got %d records, want %d", ch, len(got[ch].got), n/2)
		}
		for k, r := range got[ch].got {
			i := int64(2*k + ch)
			wantTS := int64(NoTimestamp)
			if i%3 == 0 {
				wantTS = -i * 1000
			}
			if r.v != i || r.ts != wantTS {
				t.Fatalf("channel %d record %d = %+v, want {%d %d}", ch, k, r, i, wantTS)
			}
		}
	}
	if pool.InUse() != 0 {
		t.Fatalf("%d segments not recycled", pool.InUse())
	}
}

func TestBackPressureBlocksProducer(t *testing.T) {
	ctx := context.Background()
	const capacity = 2
	g := NewInputGate(1, capacity)
	pool := NewPool(64, capacity+2)
	w := NewRecordWriter[int64](ctx, int64Codec{}, mod(1), []Sender{g.Channel(0)}, pool)
	var mu sync.Mutex
	written := 0
	go func() {
		for i := range int64(100000) {
			if w.Collect(i, NoTimestamp) != nil {
				return
			}
			mu.Lock()
			written++
			mu.Unlock()
		}
		_ = w.SendEvent(Buffer{Kind: EndOfPartition})
	}()
	// Consume one buffer at a time; at every step the producer can be at most
	// the queued buffers plus the one it fills ahead of the consumer.
	var got collect
	r := reader(int64Codec{}, &got)
	recordsPerSegment := 64 / 3 // each record is at least 3 bytes (header, 1-2 byte varint)
	for {
		b, _, ok := g.Poll()
		if !ok {
			<-g.Available()
			continue
		}
		if b.Kind == EndOfPartition {
			break
		}
		if err := r.Read(b.Segment.B); err != nil {
			t.Fatal(err)
		}
		b.Segment.Recycle()
		mu.Lock()
		ahead := written - len(got.got)
		mu.Unlock()
		if limit := (capacity + 2) * recordsPerSegment; ahead > limit {
			t.Fatalf("producer is %d records ahead of the consumer; back-pressure allows %d", ahead, limit)
		}
		if q := g.QueuedBuffers(); q > capacity {
			t.Fatalf("%d buffers queued in a channel of capacity %d", q, capacity)
		}
	}
	if len(got.got) != 100000 {
		t.Fatalf("got %d records", len(got.got))
	}
	if pool.MaxInUse() > pool.Limit() {
		t.Fatalf("pool handed out %d segments, limit %d", pool.MaxInUse(), pool.Limit())
	}
}

func TestGateRoundRobin(t *testing.T) {
	ctx := context.Background()
	g := NewInputGate(3, 4)
	for ch := range 3 {
		for range 4 {
			if err := g.Channel(ch).Send(ctx, Buffer{Kind: EndOfPartition, Value: int64(ch)}); err != nil {
				t.Fatal(err)
			}
		}
	}
	var order []int
	for {
		_, ch, ok := g.Poll()
		if !ok {
			break
		}
		order = append(order, ch)
	}
	want := []int{0, 1, 2, 0, 1, 2, 0, 1, 2, 0, 1, 2}
	if fmt.Sprint(order) != fmt.Sprint(want) {
		t.Fatalf("gate served channels %v, want round-robin %v", order, want)
	}
}

func TestSendHonoursContext(t *testing.T) {
	g := NewInputGate(1, 1)
	ctx, cancel := context.WithCancel(context.Background())
	if err := g.Channel(0).Send(ctx, Buffer{Kind: EndOfPartition}); err != nil {
		t.Fatal(err)
	}
	errc := make(chan error)
	go func() { errc <- g.Channel(0).Send(ctx, Buffer{Kind: EndOfPartition}) }()
	cancel()
	if err := <-errc; !errors.Is(err, context.Canceled) {
		t.Fatalf("Send on a full channel after cancel = %v, want context.Canceled", err)
	}
	pool := NewPool(16, 1)
	if _, err := pool.Get(context.Background()); err != nil {
		t.Fatal(err)
	}
	if _, err := pool.Get(ctx); !errors.Is(err, context.Canceled) {
		t.Fatalf("Get on an exhausted pool after cancel = %v, want context.Canceled", err)
	}
}

func TestOversizedRecord(t *testing.T) {
	ctx := context.Background()
	g := NewInputGate(1, 4)
	pool := NewPool(16, 6)
	w := NewRecordWriter[int64](ctx, bigCodec{}, mod(1), []Sender{g.Channel(0)}, pool)
	for _, v := range []int64{1, 100, 2} {
		if err := w.Collect(v, 7); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.SendEvent(Buffer{Kind: EndOfPartition}); err != nil {
		t.Fatal(err)
	}
	var got collect
	drain(t, g, []*RecordReader[int64]{reader(bigCodec{}, &got)})
	if fmt.Sprint(got.got) != "[{1 7} {100 7} {2 7}]" {
		t.Fatalf("got %v", got.got)
	}
	if pool.InUse() != 0 {
		t.Fatalf("%d segments not recycled", pool.InUse())
	}
}

// bigCodec encodes v as v bytes, to make records larger than a segment.
type bigCodec struct{}

func (bigCodec) Append(dst []byte, v int64) []byte {
	for range v {
		dst = append(dst, 'x')
	}
	return dst
}
func (bigCodec) Decode(src []byte) (int64, error) { return int64(len(src)), nil }

func TestReaderRejectsGarbage(t *testing.T) {
	var got collect
	r := reader(int64Codec{}, &got)
	for _, seg := range [][]byte{{0xff}, {0x11}, {0x08, 0x01}, {0x05, 0x80}, {0x02}, {0x06, 0x00}, {0x0b}} {
		if err := r.Read(seg); !errors.Is(err, codec.ErrCorrupt) {
			t.Errorf("Read(%x) = %v, want ErrCorrupt", seg, err)
		}
	}
}

// FuzzRecordReader feeds arbitrary segments to a reader: it must return an
// error or records, never panic.
func FuzzRecordReader(f *testing.F) {
	f.Add([]byte{0x04, 0x02})
	f.Add([]byte{0x05, 0x80, 0x01, 0x02})
	f.Add([]byte{0x02, 0x80, 0x01, 0x03, 0x07})
	f.Add([]byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01})
	f.Fuzz(func(t *testing.T, seg []byte) {
		var got collect
		_ = reader(int64Codec{}, &got).Read(seg)
	})
}

// TestEventsStayInOrder: watermarks and statuses written between records
// reach the reader between the same records, on every channel.
func TestEventsStayInOrder(t *testing.T) {
	ctx := context.Background()
	g := NewInputGate(2, 4)
	pool := NewPool(64, 12)
	w := NewRecordWriter[int64](ctx, int64Codec{}, mod(2), []Sender{g.Channel(0), g.Channel(1)}, pool)
	steps := []func() error{
		func() error { return w.Collect(0, 5) },
		func() error { return w.EmitWatermark(4) },
		func() error { return w.Collect(1, NoTimestamp) },
		func() error { return w.EmitWatermarkStatus(true) },
		func() error { return w.EmitWatermarkStatus(false) },
		func() error { return w.Collect(2, 9) },
		func() error { return w.EmitWatermark(-7) },
	}
	for _, s := range steps {
		if err := s(); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.SendEvent(Buffer{Kind: EndOfPartition}); err != nil {
		t.Fatal(err)
	}
	var got [2]collect
	ev := events{&got[0], &got[1]}
	drain(t, g, []*RecordReader[int64]{NewRecordReader[int64](int64Codec{}, &got[0], 0, ev), NewRecordReader[int64](int64Codec{}, &got[1], 1, ev)})
	want0 := "[{0 5} {-1 4} {-2 0} {-3 0} {2 9} {-1 -7}]"
	want1 := fmt.Sprintf("[{-1 4} {1 %d} {-2 0} {-3 0} {-1 -7}]", int64(NoTimestamp))
	if fmt.Sprint(got[0].got) != want0 || fmt.Sprint(got[1].got) != want1 {
		t.Fatalf("channel 0: %v\nwant       %s\nchannel 1: %v\nwant       %s", got[0].got, want0, got[1].got, want1)
	}
}

func TestBlockedChannelKeepsItsBuffersInOrder(t *testing.T) {
	g := NewInputGate(2, 2)
	ctx := context.Background()
	ev := func(v int64) Buffer { return Buffer{Kind: CancelBarrier, Value: v} }
	for _, b := range []Buffer{ev(1), ev(2)} {
		if err := g.Channel(0).Send(ctx, b); err != nil {
			t.Fatal(err)
		}
	}
	if err := g.Channel(1).Send(ctx, ev(10)); err != nil {
		t.Fatal(err)
	}
	b, ch, ok := g.Poll()
	if !ok || ch != 0 || b.Value != 1 {
		t.Fatalf("first poll = %v from %d (%v), want 1 from channel 0", b.Value, ch, ok)
	}
	g.Block(0)
	if err := g.Channel(0).Send(ctx, ev(3)); err != nil {
		t.Fatal(err)
	}
	// Channel 0 is full now: its producer must block, not overtake.
	cancelled, cancel := context.WithCancel(ctx)
	cancel()
	if err := g.Channel(0).Send(cancelled, ev(4)); err == nil {
		t.Fatal("send to a full blocked channel succeeded")
	}
	b, ch, ok = g.Poll()
	if !ok || ch != 1 || b.Value != 10 {
		t.Fatalf("poll while channel 0 blocked = %v from %d (%v), want 10 from channel 1", b.Value, ch, ok)
	}
	if _, _, ok := g.Poll(); ok {
		t.Fatal("poll returned a buffer of the blocked channel")
	}
	if n := g.QueuedBuffers(); n != 2 {
		t.Fatalf("queued = %d, want 2", n)
	}
	g.Unblock(0)
	select {
	case <-g.Available():
	default:
		t.Fatal("unblocking a channel with queued buffers did not signal")
	}
	for _, want := range []int64{2, 3} {
		b, ch, ok = g.Poll()
		if !ok || ch != 0 || b.Value != want {
			t.Fatalf("after unblock poll = %v from %d (%v), want %d from channel 0", b.Value, ch, ok, want)
		}
	}
	if _, _, ok := g.Poll(); ok {
		t.Fatal("gate not empty")
	}
}

// TestFlushingOutputSendsEveryEntryAtOnce: what goes through a writer's
// FlushingOutput is in its consumer's channel as soon as the call returns,
// one segment per record (per channel for a watermark or status), and in
// order; the writer keeps nothing back.
func TestFlushingOutputSendsEveryEntryAtOnce(t *testing.T) {
	ctx := context.Background()
	g := NewInputGate(2, 8)
	pool := NewPool(64, 8)
	w := NewRecordWriter[int64](ctx, int64Codec{}, mod(2), []Sender{g.Channel(0), g.Channel(1)}, pool)
	out := w.FlushingOutput()
	var got [2]collect
	ev := events{&got[0], &got[1]}
	readers := []*RecordReader[int64]{NewRecordReader[int64](int64Codec{}, &got[0], 0, ev), NewRecordReader[int64](int64Codec{}, &got[1], 1, ev)}
	segments := [2]int{}
	// take reads what the gate holds now, without waiting.
	take := func() {
		for {
			b, ch, ok := g.Poll()
			if !ok {
				return
			}
			segments[ch]++
			if err := readers[ch].Read(b.Segment.B); err != nil {
				t.Fatal(err)
			}
			b.Segment.Recycle()
		}
	}
	for _, step := range []struct {
		do   func() error
		want [2]string
	}{
		{func() error { return out.Collect(0, 5) }, [2]string{"[{0 5}]", "[]"}},
		{func() error { return out.Collect(1, NoTimestamp) }, [2]string{"[{0 5}]", fmt.Sprintf("[{1 %d}]", int64(NoTimestamp))}},
		{func() error { return out.EmitWatermark(7) }, [2]string{"[{0 5} {-1 7}]", fmt.Sprintf("[{1 %d} {-1 7}]", int64(NoTimestamp))}},
		{func() error { return out.EmitWatermarkStatus(true) }, [2]string{"[{0 5} {-1 7} {-2 0}]", fmt.Sprintf("[{1 %d} {-1 7} {-2 0}]", int64(NoTimestamp))}},
		{func() error { return out.Collect(2, 9) }, [2]string{"[{0 5} {-1 7} {-2 0} {2 9}]", fmt.Sprintf("[{1 %d} {-1 7} {-2 0}]", int64(NoTimestamp))}},
	} {
		if err := step.do(); err != nil {
			t.Fatal(err)
		}
		take()
		for ch := range 2 {
			if s := fmt.Sprint(got[ch].got); s != step.want[ch] {
				t.Fatalf("channel %d holds %s, want %s", ch, s, step.want[ch])
			}
		}
	}
	if segments != [2]int{4, 3} {
		t.Errorf("segments per channel %v, want [4 3]: one per record, watermark and status", segments)
	}
	if pool.InUse() != 0 {
		t.Errorf("the writer holds %d segments", pool.InUse())
	}
}
