package task

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/runnel-io/runnel/codec"
	"github.com/runnel-io/runnel/runtime/clock"
	"github.com/runnel-io/runnel/runtime/graph"
	"github.com/runnel-io/runnel/runtime/network"
	"github.com/runnel-io/runnel/runtime/operator"
	"github.com/runnel-io/runnel/runtime/partition"
)

// busySource is a source that always has a record: poll i advances the
// task's manual clock by 1 ms and emits record i, until n records. Before
// each poll it counts, on the task's goroutine, the records that have
// reached the consumer's gate, so that what the flusher sent is observed
// between two polls, without a race.
type busySource struct {
	out      operator.Output[int64]
	clk      *clock.Manual
	consumer *network.InputGate
	reader   *network.RecordReader[int64]
	n, next  int64
	arrived  int
	// log[i] is the number of records at the consumer before poll i.
	log []int
}

func (s *busySource) Open(context.Context) error { return nil }
func (s *busySource) Finish() error              { return nil }
func (s *busySource) Close() error               { return nil }

func (s *busySource) Available() <-chan struct{} { return nil }

func (s *busySource) PollNext() (operator.InputStatus, error) {
	if err := s.drain(); err != nil {
		return operator.EndOfInput, err
	}
	s.log = append(s.log, s.arrived)
	if s.next == s.n {
		return operator.EndOfInput, nil
	}
	s.clk.Advance(time.Millisecond)
	s.next++
	return operator.MoreAvailable, s.out.Collect(s.next-1, operator.NoTimestamp)
}

// drain reads the records waiting in the consumer's gate.
func (s *busySource) drain() error {
	for {
		b, _, ok := s.consumer.Poll()
		if !ok {
			return nil
		}
		if b.Kind != network.Data {
			continue
		}
		err := s.reader.Read(b.Segment.B)
		b.Segment.Recycle()
		if err != nil {
			return err
		}
	}
}

// Collect, EmitWatermark and EmitWatermarkStatus make the source the output
// of its own reader, which counts the records that arrived.
func (s *busySource) Collect(int64, int64) error        { s.arrived++; return nil }
func (s *busySource) EmitWatermark(int64) error         { return nil }
func (s *busySource) EmitWatermarkStatus(bool) error    { return nil }
func (s *busySource) ChannelWatermark(int, int64) error { return nil }
func (s *busySource) ChannelStatus(int, bool) error     { return nil }

// runBusySource runs a source task of n records with the given buffer
// timeout on a manual clock, its one output channel going to a gate of
// which the source itself counts the arrivals, and returns the source's
// log and the number of records that had arrived when the task ended.
func runBusySource(t *testing.T, n int64, timeout *time.Duration) (log []int, total int) {
	t.Helper()
	c, err := codec.For[int64]()
	if err != nil {
		t.Fatal(err)
	}
	clk := clock.NewManual(time.UnixMilli(t0))
	consumer := network.NewInputGate(1, 64)
	src := &busySource{clk: clk, consumer: consumer, n: n}
	src.reader = network.NewRecordReader[int64](c, src, 0, src)
	var g graph.StreamGraph
	g.Parallelism, g.MaxParallelism = 1, 128
	sn := g.AddNode(&graph.Node{Kind: "Source", Name: "busy", Source: true, Parallelism: 1, OutType: operator.TypeOf(c),
		Factory: operator.FactoryFunc(func(_ *operator.Context, out any) (operator.Operator, []any, error) {
			src.out = out.(operator.Output[int64])
			return src, nil, nil
		})})
	sink := g.AddNode(&graph.Node{Kind: "Sink", Name: "consumer", Parallelism: 1, OutType: operator.TypeOf(c),
		Factory: operator.FactoryFunc(func(*operator.Context, any) (operator.Operator, []any, error) { return nil, nil, nil })})
	g.Connect(sn, "", sink, 0, partition.Of[int64](partition.Rebalance))
	jg, err := g.JobGraph()
	if err != nil {
		t.Fatal(err)
	}
	v := jg.VertexOf[sn.ID]
	d := Deployment{JobName: "test", Job: jg, Vertex: v, Clock: clk, BufferTimeout: timeout,
		// Segments large enough for every record of these tests: none
		// leaves because it is full.
		Outputs: []OutputChannels{{Edge: v.Out[0], Targets: []network.Sender{consumer.Channel(0)}, Pool: network.NewPool(4096, 64)}}}
	ctx := context.Background()
	task, err := New(ctx, d)
	if err != nil {
		t.Fatal(err)
	}
	if err := task.Run(ctx); err != nil {
		t.Fatal(err)
	}
	if err := src.drain(); err != nil {
		t.Fatal(err)
	}
	return src.log, src.arrived
}

// TestBufferTimeout proves invariant 10 on a source that always has data,
// whose input therefore never runs dry: with a positive timeout, what the
// task wrote leaves once its clock has passed the timeout (and only then);
// with 0, every record leaves at once; with -1 ms, nothing leaves before
// the end of input (or a full segment).
func TestBufferTimeout(t *testing.T) {
	for _, tc := range []struct {
		name    string
		timeout *time.Duration
		n       int64
		// want is the number of records at the consumer before poll i,
		// after i records, each 1 ms of the task's clock.
		want func(i int) int
	}{
		{"10ms", new(10 * time.Millisecond), 35, func(i int) int { return i / 10 * 10 }},
		{"default-100ms", nil, 250, func(i int) int { return i / 100 * 100 }},
		{"1.5ms-rounds-up-to-2ms", new(1500 * time.Microsecond), 9, func(i int) int { return i / 2 * 2 }},
		{"0-every-record", new(time.Duration(0)), 20, func(i int) int { return i }},
		{"-1ms-only-when-full", new(-time.Millisecond), 50, func(int) int { return 0 }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			log, total := runBusySource(t, tc.n, tc.timeout)
			want := make([]int, tc.n+1)
			for i := range want {
				want[i] = tc.want(i)
			}
			if !slices.Equal(log, want) {
				t.Errorf("records at the consumer before each poll:\n got  %v\n want %v", log, want)
			}
			if total != int(tc.n) {
				t.Errorf("%d records at the consumer after the end, want %d", total, tc.n)
			}
		})
	}
}

// TestBufferTimeoutPeriods: the flusher's period in milliseconds.
func TestBufferTimeoutPeriods(t *testing.T) {
	for _, tc := range []struct {
		timeout *time.Duration
		every   int64
		always  bool
	}{
		{nil, 100, false},
		{new(time.Duration(0)), 0, true},
		{new(-time.Millisecond), 0, false},
		{new(time.Nanosecond), 1, false},
		{new(time.Millisecond), 1, false},
		{new(time.Second + time.Microsecond), 1001, false},
	} {
		every, always := flushPeriod(tc.timeout)
		if every != tc.every || always != tc.always {
			name := "nil"
			if tc.timeout != nil {
				name = fmt.Sprint(*tc.timeout)
			}
			t.Errorf("flushPeriod(%s) = %d, %v; want %d, %v", name, every, always, tc.every, tc.always)
		}
	}
}
