package nexmark

import (
	"bytes"
	"io"
	"testing"

	"github.com/runnel-io/runnel/codec"
)

// sink keeps benchmark results alive.
var sink Event

func reportEvents(b *testing.B, n int) {
	b.ReportMetric(float64(n)/b.Elapsed().Seconds(), "events/s")
}

// BenchmarkGenerator measures Next over the default mix of events, with
// Nexmark's padding and with SharedExtra; one op is one event.
func BenchmarkGenerator(b *testing.B) {
	for _, shared := range []bool{false, true} {
		name := "extra=nexmark"
		if shared {
			name = "extra=shared"
		}
		b.Run(name, func(b *testing.B) {
			g := newGen(b, GeneratorConfig{SharedExtra: shared}, 0, 1)
			g.Next() // build the channel table
			b.ReportAllocs()
			n := 0
			for b.Loop() {
				sink, _ = g.Next()
				n++
			}
			reportEvents(b, n)
		})
	}
}

// BenchmarkGeneratorKinds measures Next for each kind alone (a generator
// of only that kind's events is not possible, so it restores to one).
func BenchmarkGeneratorKinds(b *testing.B) {
	for _, k := range []struct {
		name string
		pos  int64 // an event of that kind in the default cycle
	}{{"person", 50}, {"auction", 51}, {"bid", 54}} {
		b.Run(k.name, func(b *testing.B) {
			g := newGen(b, GeneratorConfig{}, 0, 1)
			g.Next()
			b.ReportAllocs()
			for b.Loop() {
				g.Restore(k.pos)
				sink, _ = g.Next()
			}
		})
	}
}

func benchEvents(b *testing.B, n int64) []Event {
	return collect(newGen(b, GeneratorConfig{Events: n}, 0, 1))
}

// BenchmarkWriteJSON measures WriteJSON of the default mix into a
// discarding writer; one op is one event.
func BenchmarkWriteJSON(b *testing.B) {
	events := benchEvents(b, 10_000)
	var bytes int64
	for _, e := range events {
		bytes += int64(len(AppendJSON(nil, e)) + 1)
	}
	b.SetBytes(bytes / int64(len(events)))
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		if err := WriteJSON(io.Discard, events[i%len(events)]); err != nil {
			b.Fatal(err)
		}
		i++
	}
	reportEvents(b, i)
}

// BenchmarkReadJSON measures ReadJSON; one op reads 10,000 events.
func BenchmarkReadJSON(b *testing.B) {
	events := benchEvents(b, 10_000)
	var buf bytes.Buffer
	for _, e := range events {
		WriteJSON(&buf, e)
	}
	b.SetBytes(int64(buf.Len()))
	b.ReportAllocs()
	n := 0
	for b.Loop() {
		for e, err := range ReadJSON(bytes.NewReader(buf.Bytes())) {
			if err != nil {
				b.Fatal(err)
			}
			sink = e
		}
		n += len(events)
	}
	reportEvents(b, n)
}

// BenchmarkCodec compares EventCodec with codec.For[Event]; one op is one
// event encoded and decoded.
func BenchmarkCodec(b *testing.B) {
	events := benchEvents(b, 10_000)
	for _, c := range []struct {
		name string
		c    codec.Codec[Event]
	}{{"EventCodec", EventCodec()}, {"codec.For", codec.MustFor[Event]()}} {
		b.Run(c.name, func(b *testing.B) {
			var buf []byte
			b.ReportAllocs()
			i := 0
			for b.Loop() {
				buf = c.c.Append(buf[:0], events[i%len(events)])
				e, err := c.c.Decode(buf)
				if err != nil {
					b.Fatal(err)
				}
				sink = e
				i++
			}
		})
	}
}

type plainEvent struct { // the 304-byte alternative of Event's comment
	Kind    Kind
	Person  Person
	Auction Auction
	Bid     Bid
}

//go:noinline
func priceOf(e Event) int64 { return e.Bid.Price }

//go:noinline
func priceOfPlain(e plainEvent) int64 { return e.Bid.Price }

// BenchmarkEventCopy measures what Event's size costs: storing an event in
// a batch slice and passing one to a function, as an operator does,
// against the plain alternative with all three entities inline.
func BenchmarkEventCopy(b *testing.B) {
	e := BidEvent(Bid{Price: 1, Channel: "c", URL: "u", Extra: "x"})
	b.Run("Event", func(b *testing.B) {
		batch := make([]Event, 256)
		var s int64
		for i := 0; b.Loop(); i++ {
			batch[i&255] = e
			s += priceOf(batch[(i+7)&255])
		}
		_ = s
	})
	b.Run("plain", func(b *testing.B) {
		batch := make([]plainEvent, 256)
		c := plainEvent{Kind: e.Kind, Bid: e.Bid}
		var s int64
		for i := 0; b.Loop(); i++ {
			batch[i&255] = c
			s += priceOfPlain(batch[(i+7)&255])
		}
		_ = s
	})
}
