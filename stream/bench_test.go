package stream

import (
	"context"
	"strconv"
	"testing"
)

// The benchmarks run one job of b.N records each and report records/s; run
// them with a fixed count so that the job's set-up is amortized:
//
//	go test -run='^$' -bench=. -benchmem -benchtime=2000000x ./stream/
//
// Allocations are per record (per b.N), so 0 B/op means the steady state
// allocates nothing.

func runBench(b *testing.B, env *Environment) {
	b.Helper()
	b.ReportAllocs()
	b.ResetTimer()
	if err := env.Execute(context.Background(), b.Name()); err != nil {
		b.Fatal(err)
	}
	b.StopTimer()
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "records/s")
}

// BenchmarkChain3 measures chained operators: one task, direct calls, no
// serialization.
func BenchmarkChain3(b *testing.B) {
	env := NewEnvironment().SetParallelism(1)
	src := Generate(env, int64(b.N), func(i int64) (int64, error) { return i, nil })
	m1 := Map(src, func(v int64) (int64, error) { return v * 3, nil })
	f := m1.Filter(func(v int64) (bool, error) { return v >= 0, nil })
	m2 := Map(f, func(v int64) (int64, error) { return v + 1, nil })
	m2.Discard()
	runBench(b, env)
}

// BenchmarkKeyedExchange measures a hash exchange between two tasks of
// parallelism 2: serialization, key groups, segments, channels, and a
// rolling sum per key.
func BenchmarkKeyedExchange(b *testing.B) {
	env := NewEnvironment().SetParallelism(2)
	src := Generate(env, int64(b.N), func(i int64) (int64, error) { return i, nil })
	keyed := KeyBy(src, func(v int64) int64 { return v & 1023 })
	Sum(keyed, func(v *int64) *int64 { return v }).Discard()
	runBench(b, env)
}

// benchWord is the record of the string variant: a word and a count, as in
// WordCount.
type benchWord struct {
	Word  string
	Count int64
}

// BenchmarkKeyedExchangeString is BenchmarkKeyedExchange with records that
// hold a string key: decoding a string allocates it.
func BenchmarkKeyedExchangeString(b *testing.B) {
	words := make([]string, 1024)
	for i := range words {
		words[i] = "word-" + strconv.Itoa(i)
	}
	env := NewEnvironment().SetParallelism(2)
	src := Generate(env, int64(b.N), func(i int64) (benchWord, error) {
		return benchWord{Word: words[i&1023], Count: 1}, nil
	})
	keyed := KeyBy(src, func(w benchWord) string { return w.Word })
	Sum(keyed, func(w *benchWord) *int64 { return &w.Count }).Discard()
	runBench(b, env)
}
