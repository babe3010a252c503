package worker_test

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/runnel-io/runnel/cluster/minicluster"
	"github.com/runnel-io/runnel/cluster/security"
	"github.com/runnel-io/runnel/cluster/worker"
	"github.com/runnel-io/runnel/internal/clustertest"
	"github.com/runnel-io/runnel/internal/tlstest"
	"github.com/runnel-io/runnel/runtime/graph"
	"github.com/runnel-io/runnel/runtime/job"
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

// exchangeRecords is the number of records of one run of the keyed
// exchange benchmark.
const exchangeRecords = 1 << 21

// splitExchange places the sources on a and the keyed sinks on b.
func splitExchange(jg *graph.JobGraph, a, b *peer, attempt int) worker.Assignment {
	as := place(jg, func(v *graph.Vertex, _ int) *peer {
		if v.Head().Source {
			return a
		}
		return b
	}, a, b)
	as.Attempt = attempt
	return as
}

// TestExchangePeerProcess is the other process of
// BenchmarkWorkersKeyedExchange/tcp-processes and tls-processes (its TLS
// settings in security.EnvInternal); it does nothing unless that
// benchmark started it. It runs the sink side of the exchange once per
// "run <attempt>" line on stdin and answers "done <attempt> <error>".
func TestExchangePeerProcess(t *testing.T) {
	sources := os.Getenv("RUNNEL_EXCHANGE_PEER")
	if sources == "" {
		t.Skip("the peer process of a benchmark")
	}
	in, err := security.InternalFromEnv() // the benchmark's TLS variant
	if err != nil {
		t.Fatal(err)
	}
	pb := newTLSPeer(t, "b", 0, in)
	fmt.Printf("addr %s\n", pb.addr)
	pa := &peer{id: "a", addr: sources}
	sc := bufio.NewScanner(os.Stdin)
	for sc.Scan() {
		attempt, err := strconv.Atoi(strings.TrimPrefix(sc.Text(), "run "))
		if err != nil {
			t.Fatalf("peer: %q", sc.Text())
		}
		jg := jobGraph(t, keyedExchange(exchangeRecords))
		err = worker.New("b", jg, pb.srv, pb.client, worker.Options{}).Run(context.Background(), splitExchange(jg, pa, pb, attempt))
		fmt.Printf("done %d %v\n", attempt, err)
	}
}

// BenchmarkWorkersKeyedExchange moves int64 records from 2 source subtasks
// to 2 keyed subtasks: over TCP on loopback between two workers in two
// processes (sources in this one, sinks in a child process) as between
// two TaskManagers, the same over mutual TLS, between two workers in one process, and in the
// mini-cluster's in-process channels.
func BenchmarkWorkersKeyedExchange(b *testing.B) {
	const n = exchangeRecords
	build := keyedExchange(n)
	processes := func(b *testing.B, in security.Internal) {
		pa := newTLSPeer(b, "a", 0, in)
		child := clustertest.Command(os.Args[0], "-test.run=^TestExchangePeerProcess$")
		child.Env = append(os.Environ(), "RUNNEL_EXCHANGE_PEER="+pa.addr, in.Env())
		child.Stderr = os.Stderr
		stdin, err := child.StdinPipe()
		if err != nil {
			b.Fatal(err)
		}
		stdout, err := child.StdoutPipe()
		if err != nil {
			b.Fatal(err)
		}
		if err := child.Start(); err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() {
			stdin.Close() // the peer ends at the end of its input
			ended := make(chan error, 1)
			go func() { ended <- child.Wait() }()
			select {
			case err := <-ended:
				if err != nil {
					b.Errorf("peer process: %v", err)
				}
			case <-time.After(time.Minute):
				_ = child.Process.Kill()
				<-ended
				b.Error("the peer process did not end at the end of its input; killed it")
			}
		})
		lines := bufio.NewScanner(stdout)
		var addr string
		for addr == "" && lines.Scan() {
			addr, _ = strings.CutPrefix(lines.Text(), "addr ")
		}
		if addr == "" {
			b.Fatal("the peer process did not say where it listens")
		}
		pb := &peer{id: "b", addr: addr}
		b.ReportAllocs()
		for i := 0; b.Loop(); i++ {
			b.StopTimer()
			jg := jobGraph(b, build)
			w := worker.New("a", jg, pa.srv, pa.client, worker.Options{})
			b.StartTimer()
			fmt.Fprintf(stdin, "run %d\n", i)
			if err := w.Run(context.Background(), splitExchange(jg, pa, pb, i)); err != nil {
				b.Fatal(err)
			}
			for lines.Scan() {
				if done, ok := strings.CutPrefix(lines.Text(), fmt.Sprintf("done %d ", i)); ok {
					if done != "<nil>" {
						b.Fatalf("peer process: %s", done)
					}
					break
				}
			}
		}
		b.ReportMetric(float64(n)*float64(b.N)/b.Elapsed().Seconds(), "records/s")
	}
	b.Run("tcp-processes", func(b *testing.B) { processes(b, security.Internal{}) })
	// The same over mutual TLS 1.3, as between two TaskManagers with
	// security.ssl.internal.enabled: the cost of encryption on the data
	// plane.
	b.Run("tls-processes", func(b *testing.B) { processes(b, tlstest.New(b).Cluster) })
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
			mj, err := minicluster.Deploy("bench", jobGraph(b, build), job.Config{}, nil)
			if err != nil {
				b.Fatal(err)
			}
			b.StartTimer()
			if err := mj.Run(context.Background()); err != nil {
				b.Fatal(err)
			}
		}
		b.ReportMetric(float64(n)*float64(b.N)/b.Elapsed().Seconds(), "records/s")
	})
}
