package worker_test

import (
	"context"
	"testing"

	"github.com/runnel-io/runnel/cluster/minicluster"
	"github.com/runnel-io/runnel/cluster/worker"
	"github.com/runnel-io/runnel/runtime/graph"
	"github.com/runnel-io/runnel/stream"
)

// keyedExchange is Generate(p=2) → KeyBy → discarding sink (p=2): int64
// records, each hashed to the sink subtask of its key.
func keyedExchange(n int64) func(*stream.Environment) {
	return func(env *stream.Environment) {
		env.SetParallelism(2)
		src := stream.Generate(env, n, func(i int64) (int64, error) { return i, nil })
		stream.KeyBy(src, func(v int64) int64 { return v & 1023 }).Discard()
	}
}

// BenchmarkWorkersKeyedExchange moves int64 records from 2 source subtasks
// to 2 keyed subtasks, over TCP on loopback between two workers (sources
// on one, sinks on the other) and in the mini-cluster's in-process
// channels.
func BenchmarkWorkersKeyedExchange(b *testing.B) {
	const n = 1 << 21
	build := keyedExchange(n)
	b.Run("tcp", func(b *testing.B) {
		pa, pb := newPeer(b, "a", 0), newPeer(b, "b", 0)
		split := func(jg *graph.JobGraph) worker.Assignment {
			return place(jg, func(v *graph.Vertex, _ int) *peer {
				if v.Head().Source {
					return pa
				}
				return pb
			}, pa, pb)
		}
		b.ReportAllocs()
		for i := 0; b.Loop(); i++ {
			b.StopTimer()
			var ws []*worker.Worker
			var as []worker.Assignment
			for _, p := range []*peer{pa, pb} {
				jg := jobGraph(b, build)
				ws = append(ws, worker.New(p.id, jg, p.srv, p.client, worker.Options{}))
				a := split(jg)
				a.Attempt = i
				as = append(as, a)
			}
			b.StartTimer()
			for _, err := range runAll(context.Background(), ws, as) {
				if err != nil {
					b.Fatal(err)
				}
			}
		}
		b.ReportMetric(float64(n)*float64(b.N)/b.Elapsed().Seconds(), "records/s")
	})
	b.Run("minicluster", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			b.StopTimer()
			job, err := minicluster.Deploy("bench", jobGraph(b, build), minicluster.Options{})
			if err != nil {
				b.Fatal(err)
			}
			b.StartTimer()
			if err := job.Run(context.Background()); err != nil {
				b.Fatal(err)
			}
		}
		b.ReportMetric(float64(n)*float64(b.N)/b.Elapsed().Seconds(), "records/s")
	})
}
