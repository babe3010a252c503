package tcp

import (
	"context"
	"fmt"
	"net"
	"sync"
	"testing"

	"github.com/runnel-io/runnel/codec"
	"github.com/runnel-io/runnel/runtime/network"
)

// keySelector spreads int64 keys over the channels by a hash, as a keyed
// exchange does.
type keySelector int

func (n keySelector) Select(v int64) int {
	return int((uint64(v) * 0x9E3779B97F4A7C15 >> 32) % uint64(n))
}

type sum struct{ n, total int64 }

func (s *sum) Collect(v, _ int64) error {
	s.n++
	s.total += v
	return nil
}
func (*sum) EmitWatermark(int64) error      { return nil }
func (*sum) EmitWatermarkStatus(bool) error { return nil }

type noEvents struct{}

func (noEvents) ChannelWatermark(int, int64) error { return nil }
func (noEvents) ChannelStatus(int, bool) error     { return nil }

// BenchmarkTCPExchange moves int64 records through a keyed exchange of 2
// producers and 2 consumers (RecordWriter → channel → InputGate →
// RecordReader), in-process through network.LocalChannel and over one
// loopback TCP connection, and reports records/s.
func BenchmarkTCPExchange(b *testing.B) {
	const producers, consumers = 2, 2
	for _, mode := range []string{"local", "tcp"} {
		b.Run(mode, func(b *testing.B) {
			gates := make([]*network.InputGate, consumers)
			for c := range gates {
				gates[c] = network.NewInputGate(producers, network.DefaultChannelCapacity)
			}
			targets := make([][]network.Sender, producers)
			var teardown func()
			switch mode {
			case "local":
				for p := range targets {
					for c := range consumers {
						targets[p] = append(targets[p], gates[c].Channel(p))
					}
				}
				teardown = func() {}
			case "tcp":
				ln, err := net.Listen("tcp", "127.0.0.1:0")
				if err != nil {
					b.Fatal(err)
				}
				srv, err := NewServer(ln, ServerOptions{})
				if err != nil {
					b.Fatal(err)
				}
				ctx, cancel := context.WithCancel(context.Background())
				ran := make(chan error, 1)
				go func() { ran <- srv.Run(ctx) }()
				client := NewClient(ClientOptions{})
				for p := range targets {
					for c := range consumers {
						id := ChannelID{Job: "bench", Producer: p, Consumer: c}
						if _, err := srv.Register(id, gates[c], p); err != nil {
							b.Fatal(err)
						}
						s, err := client.Sender(context.Background(), ln.Addr().String(), id)
						if err != nil {
							b.Fatal(err)
						}
						targets[p] = append(targets[p], s)
					}
				}
				teardown = func() {
					client.Close()
					cancel()
					if err := <-ran; err != nil {
						b.Error(err)
					}
				}
			}
			defer teardown()

			b.ReportAllocs()
			b.ResetTimer()
			var wg sync.WaitGroup
			errs := make(chan error, producers+consumers)
			sums := make([]sum, consumers)
			for c := range consumers {
				wg.Go(func() {
					errs <- consume(gates[c], &sums[c])
				})
			}
			for p := range producers {
				wg.Go(func() {
					// Per consumer: its open segment, its queue and the
					// one it reads, so that the local exchange does not
					// wait for its pool.
					pool := network.NewPool(network.DefaultSegmentSize, consumers*(network.DefaultChannelCapacity+2))
					w := network.NewRecordWriter[int64](context.Background(), codec.Int64(), keySelector(consumers), targets[p], pool)
					defer w.Release()
					errs <- produce(w, int64(p), int64(b.N), producers)
				})
			}
			wg.Wait()
			b.StopTimer()
			close(errs)
			for err := range errs {
				if err != nil {
					b.Fatal(err)
				}
			}
			var n, total int64
			for _, s := range sums {
				n, total = n+s.n, total+s.total
			}
			if n != int64(b.N) || total != int64(b.N)*int64(b.N-1)/2 {
				b.Fatalf("%d records summing to %d, want %d", n, total, b.N)
			}
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "records/s")
		})
	}
}

// produce writes the records i ≡ first (mod step) below n, then ends the
// partitions.
func produce(w *network.RecordWriter[int64], first, n int64, step int) error {
	for i := first; i < n; i += int64(step) {
		if err := w.Collect(i, network.NoTimestamp); err != nil {
			return err
		}
	}
	return w.SendEvent(network.Buffer{Kind: network.EndOfPartition})
}

// consume reads the gate until every channel ended.
func consume(g *network.InputGate, out *sum) error {
	readers := make([]*network.RecordReader[int64], g.NumChannels())
	for ch := range readers {
		readers[ch] = network.NewRecordReader[int64](codec.Int64(), out, ch, noEvents{})
	}
	for open := g.NumChannels(); open > 0; {
		b, ch := pollOne(g)
		switch b.Kind {
		case network.Data:
			if err := readers[ch].Read(b.Segment.B); err != nil {
				return err
			}
			b.Segment.Recycle()
		case network.EndOfPartition:
			open--
		default:
			return fmt.Errorf("unexpected %v", b.Kind)
		}
	}
	return nil
}
