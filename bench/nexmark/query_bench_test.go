package nexmark

import (
	"context"
	"testing"

	"github.com/runnel-io/runnel/stream"
)

// benchmarkQuery runs query name over b.N generated events at parallelism
// 2 and reports events/s (wall clock) and allocations per event.
func benchmarkQuery(b *testing.B, name string) {
	q, ok := Lookup(name)
	if !ok {
		b.Fatalf("no query %s", name)
	}
	cfg := DefaultConfig()
	cfg.Events, cfg.EventsPerSecond = int64(b.N), SuiteEventRate
	env := stream.NewEnvironment().SetParallelism(2)
	sink := &Sink{}
	q.Build(Events(env, Source{Config: cfg}), sink)
	b.ReportAllocs()
	b.ResetTimer()
	if err := env.Execute(context.Background(), "bench "+name); err != nil {
		b.Fatal(err)
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "events/s")
}

func BenchmarkQ0(b *testing.B) { benchmarkQuery(b, "q0") }
func BenchmarkQ1(b *testing.B) { benchmarkQuery(b, "q1") }
func BenchmarkQ5(b *testing.B) { benchmarkQuery(b, "q5") }
func BenchmarkQ7(b *testing.B) { benchmarkQuery(b, "q7") }
