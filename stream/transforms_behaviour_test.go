package stream_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"testing"

	"github.com/runnel-io/runnel/codec"
	"github.com/runnel-io/runnel/state/keygroup"
	"github.com/runnel-io/runnel/stream"
)

func TestMapFilterFlatMap(t *testing.T) {
	for p := 1; p <= 3; p++ {
		t.Run(fmt.Sprintf("p=%d", p), func(t *testing.T) {
			env := newEnv(p)
			nums := stream.Generate(env, 100, func(i int64) (int, error) { return int(i), nil })
			doubled := stream.Map(nums, func(v int) (int, error) { return 2 * v, nil })
			kept := doubled.Filter(func(v int) (bool, error) { return v%3 == 0, nil })
			words := stream.FlatMap(kept, func(v int, out stream.Collector[string]) error {
				for i := range v % 4 { // 0 to 3 records per input
					out.Collect(fmt.Sprintf("%d.%d", v, i))
				}
				return nil
			})
			got := words.Collect()
			mustExecute(t, env)
			var want []string
			for v := range 100 {
				if d := 2 * v; d%3 == 0 {
					for i := range d % 4 {
						want = append(want, fmt.Sprintf("%d.%d", d, i))
					}
				}
			}
			wantSameElements(t, got.Values(), want)
		})
	}
}

// One stream feeding two operators gives each of them every record.
func TestStreamFeedingTwoOperators(t *testing.T) {
	env := newEnv(2)
	nums := stream.Generate(env, 50, func(i int64) (int, error) { return int(i), nil })
	a := stream.Map(nums, func(v int) (int, error) { return v, nil }).Collect()
	b := nums.Rebalance().Filter(func(int) (bool, error) { return true, nil }).Collect()
	mustExecute(t, env)
	wantSameElements(t, a.Values(), ints(50))
	wantSameElements(t, b.Values(), ints(50))
}

// ProcessFunc records what the RuntimeContext tells it.
type seenBy struct {
	V                         int64
	Subtask, Parallelism, Max int
	Operator, Job             string
}

func TestProcessSeesItsRuntimeContext(t *testing.T) {
	env := newEnv(3).SetMaxParallelism(64)
	nums := stream.Generate(env, 90, func(i int64) (int64, error) { return i, nil })
	record := func(ctx *stream.Context, v int64, out stream.Collector[seenBy]) error {
		rc := ctx.Runtime()
		out.Collect(seenBy{V: v, Subtask: rc.Subtask, Parallelism: rc.Parallelism, Max: rc.MaxParallelism, Operator: rc.OperatorName, Job: rc.JobName})
		return nil
	}
	chained := stream.Process(nums, stream.ProcessFunc[int64, seenBy](record)).Name("chained").Collect()
	apart := stream.Process(nums.Rebalance(), stream.ProcessFunc[int64, seenBy](record)).Name("apart").SetParallelism(2).Collect()
	mustExecute(t, env)

	for _, s := range chained.Values() {
		// Chained to the generator, subtask s receives the indices i mod 3 = s.
		if want := (seenBy{V: s.V, Subtask: int(s.V % 3), Parallelism: 3, Max: 64, Operator: "chained", Job: t.Name()}); s != want {
			t.Fatalf("chained: got %+v, want %+v", s, want)
		}
	}
	perSubtask := map[int]int{}
	for _, s := range apart.Values() {
		if s.Parallelism != 2 || s.Subtask < 0 || s.Subtask > 1 || s.Operator != "apart" || s.Max != 64 {
			t.Fatalf("apart: got %+v, want subtask 0 or 1 of 2 of operator \"apart\"", s)
		}
		perSubtask[s.Subtask]++
	}
	if len(chained.Values()) != 90 || perSubtask[0] == 0 || perSubtask[1] == 0 || perSubtask[0]+perSubtask[1] != 90 {
		t.Fatalf("got %d records chained and %v apart, want 90 each, on both subtasks", len(chained.Values()), perSubtask)
	}
}

// stampedSource emits 0..n-1 from one subtask; v gets the timestamp
// (v-51)*10, negative, zero and positive, except every fifth record, which
// gets none.
type stampedSource struct{ n int64 }

func stampOf(v int64) (int64, bool) { return (v - 51) * 10, v%5 != 0 }

func (s stampedSource) Bounded() bool { return true }

func (s stampedSource) CreateReader(context.Context, *stream.RuntimeContext) (stream.SourceReader[int64], error) {
	return &stampedReader{n: s.n}, nil
}

type stampedReader struct{ n, next int64 }

func (r *stampedReader) PollNext(out stream.ReaderOutput[int64]) (stream.InputStatus, error) {
	for ; r.next < r.n; r.next++ {
		if ts, ok := stampOf(r.next); ok {
			out.CollectWithTimestamp(r.next, ts)
		} else {
			out.Collect(r.next)
		}
	}
	return stream.EndOfInput, nil
}

var ready = func() chan struct{} { c := make(chan struct{}); close(c); return c }()

func (r *stampedReader) Available() <-chan struct{} { return ready }
func (r *stampedReader) Close() error               { return nil }

type stamped struct {
	V, TS int64
	OK    bool
}

// Timestamps travel with records through Map and FlatMap, within a chain
// and across tasks; records without one arrive without one.
func TestProcessSeesTimestamps(t *testing.T) {
	env := newEnv(2)
	src := stream.FromSource[int64](env, stampedSource{n: 120}, stream.NoWatermarks[int64](), "stamped").SetParallelism(1)
	mapped := stream.Map(src, func(v int64) (int64, error) { return v, nil })
	twice := stream.FlatMap(mapped, func(v int64, out stream.Collector[int64]) error {
		out.Collect(v)
		out.Collect(v + 1000)
		return nil
	})
	got := stream.Process(twice.Rebalance(), stream.ProcessFunc[int64, stamped](func(ctx *stream.Context, v int64, out stream.Collector[stamped]) error {
		ts, ok := ctx.Timestamp()
		out.Collect(stamped{V: v, TS: ts, OK: ok})
		return nil
	})).Collect()
	mustExecute(t, env)
	if len(got.Values()) != 240 {
		t.Fatalf("got %d records, want 240", len(got.Values()))
	}
	for _, s := range got.Values() {
		ts, ok := stampOf(s.V % 1000)
		if s.OK != ok || (ok && s.TS != ts) {
			t.Fatalf("record %d: Timestamp() = %d, %v; want %d, %v", s.V, s.TS, s.OK, ts, ok)
		}
	}
}

func TestFromSliceRecordsHaveNoTimestamp(t *testing.T) {
	env := newEnv(1)
	got := stream.Process(stream.FromValues(env, 1, 2), stream.ProcessFunc[int, bool](func(ctx *stream.Context, _ int, out stream.Collector[bool]) error {
		_, ok := ctx.Timestamp()
		out.Collect(ok)
		return nil
	})).Collect()
	mustExecute(t, env)
	if !slices.Equal(got.Values(), []bool{false, false}) {
		t.Fatalf("Timestamp() reported %v, want no timestamps", got.Values())
	}
}

// hookedProcess passes records on and counts its lifecycle hooks; Finish
// emits -1. It fails on record failAt (if not negative) and calls onRecord,
// if set, with each record.
//
// One hookedProcess serves every subtask of its operator, so it keeps no
// per-subtask state of its own.
type hookedProcess struct {
	lc       *lifecycle
	failAt   int64
	onRecord func(int64)
}

func (h *hookedProcess) Open(_ context.Context, rc *stream.RuntimeContext) error {
	h.lc.open(rc.Subtask)
	return nil
}

func (h *hookedProcess) ProcessElement(_ *stream.Context, v int64, out stream.Collector[int64]) error {
	if h.onRecord != nil {
		h.onRecord(v)
	}
	if v == h.failAt {
		return errBoom
	}
	out.Collect(v)
	return nil
}

func (h *hookedProcess) Finish(out stream.Collector[int64]) error {
	h.lc.finish()
	out.Collect(-1)
	return nil
}

func (h *hookedProcess) Close() error {
	h.lc.close()
	return nil
}

func TestProcessLifecycleOnSuccess(t *testing.T) {
	const p, n = 3, 300
	env := newEnv(p)
	lc := newLifecycle()
	nums := stream.Generate(env, n, func(i int64) (int64, error) { return i, nil })
	got := stream.Process(nums, stream.ProcessFunction[int64, int64](&hookedProcess{lc: lc, failAt: -1})).Collect()
	mustExecute(t, env)
	lc.wantOpenedAndClosedOnce(t, p)
	if lc.finished() != p {
		t.Errorf("Finish called %d times, want %d", lc.finished(), p)
	}
	// Each subtask's records are followed by its Finish's -1: splitting at
	// the markers gives one segment per subtask, each of one residue mod p.
	vals := got.Values()
	if len(vals) != n+p || vals[len(vals)-1] != -1 {
		t.Fatalf("got %d records ending in %v, want %d ending in -1", len(vals), vals[max(0, len(vals)-1):], n+p)
	}
	var all []int64
	segments, start := 0, 0
	for i, v := range vals {
		if v != -1 {
			continue
		}
		seg := vals[start:i]
		for _, x := range seg {
			if x%p != seg[0]%p {
				t.Fatalf("records %d and %d of different subtasks precede one Finish marker", seg[0], x)
			}
		}
		all = append(all, seg...)
		start = i + 1
		segments++
	}
	if segments != p {
		t.Fatalf("got %d Finish markers, want %d", segments, p)
	}
	wantSameElements(t, all, func() []int64 {
		w := make([]int64, n)
		for i := range w {
			w[i] = int64(i)
		}
		return w
	}())
}

func TestProcessLifecycleOnFailure(t *testing.T) {
	checkNoLeaks(t)
	const p = 4
	env := newEnv(p)
	lc := newLifecycle()
	nums := stream.Generate(env, 4000, func(i int64) (int64, error) { return i, nil })
	stream.Process(nums, stream.ProcessFunction[int64, int64](&hookedProcess{lc: lc, failAt: 2001})).Name("hooked").Discard()
	err := executeErr(t, env)
	if !errors.Is(err, errBoom) {
		t.Fatalf("Execute: %v, want %v", err, errBoom)
	}
	wantErrorContains(t, err, "hooked (2/4): ")
	lc.wantOpenedAndClosedOnce(t, p)
	if lc.finished() >= p {
		t.Errorf("Finish called %d times, but the failed subtask must not finish", lc.finished())
	}
}

func TestProcessLifecycleOnCancel(t *testing.T) {
	checkNoLeaks(t)
	const p = 3
	env := newEnv(p)
	lc := newLifecycle()
	ctx, cancel := context.WithTimeout(context.Background(), deadline)
	defer cancel()
	nums := stream.Generate(env, stream.Unbounded, func(i int64) (int64, error) { return i, nil })
	fn := &hookedProcess{lc: lc, failAt: -1, onRecord: func(v int64) {
		if v == 10_000 {
			cancel()
		}
	}}
	stream.Process(nums, stream.ProcessFunction[int64, int64](fn)).Discard()
	err := env.Execute(ctx, t.Name())
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("Execute: %v, want context.Canceled", err)
	}
	lc.wantOpenedAndClosedOnce(t, p)
	if lc.finished() != 0 {
		t.Errorf("Finish called %d times on a cancelled unbounded job, want 0", lc.finished())
	}
}

func TestUnionOfThreeStreams(t *testing.T) {
	env := newEnv(1)
	a := stream.FromSlice(env, ints(100))
	b := stream.Generate(env, 100, func(i int64) (int, error) { return 1000 + int(i), nil }).SetParallelism(2)
	c := stream.FromSeq(env, slices.Values(ints(100)))
	c3 := stream.Map(c, func(v int) (int, error) { return 2000 + v, nil })
	got := tagSubtask(stream.Union(a, b, c3)).Collect()
	mustExecute(t, env)
	vals := values(got.Values())
	var want []int
	for i := range 100 {
		want = append(want, i, 1000+i, 2000+i)
	}
	wantSameElements(t, vals, want)
	// Each input keeps its order (b's order per generating subtask).
	last := map[int]int{}
	for _, v := range vals {
		input := v / 1000
		if input == 1 {
			input = 10 + v%2
		}
		if prev, ok := last[input]; ok && v <= prev {
			t.Fatalf("record %d after %d of the same input", v, prev)
		}
		last[input] = v
	}
}

func TestCoMapAndCoFlatMapSeeBothInputs(t *testing.T) {
	env := newEnv(2)
	nums := stream.Generate(env, 50, func(i int64) (int, error) { return int(i), nil })
	words := stream.FromValues(env, "x", "y", "z")
	mapped := stream.CoMap(stream.Connect(nums, words),
		func(v int) (string, error) { return fmt.Sprint("n", v), nil },
		func(w string) (string, error) { return "w" + w, nil },
	).Collect()
	flat := stream.CoFlatMap(stream.Connect(words, nums),
		func(w string, out stream.Collector[string]) error { out.Collect(w); out.Collect(w); return nil },
		func(v int, out stream.Collector[string]) error {
			if v%10 == 0 {
				out.Collect(fmt.Sprint(v))
			}
			return nil
		},
	).Collect()
	mustExecute(t, env)
	var want []string
	for i := range 50 {
		want = append(want, fmt.Sprint("n", i))
	}
	want = append(want, "wx", "wy", "wz")
	wantSameElements(t, mapped.Values(), want)
	wantSameElements(t, flat.Values(), []string{"x", "x", "y", "y", "z", "z", "0", "10", "20", "30", "40"})
}

type order struct {
	Key string
	N   int
}

type payment struct {
	Key    string
	Amount float64
}

type met struct {
	Subtask, Max int
	Key, Side    string
}

// coRecorder records which subtask each record of each input reaches, and
// emits a marker from Finish.
type coRecorder struct{ lc *lifecycle }

func (c *coRecorder) Open(_ context.Context, rc *stream.RuntimeContext) error {
	c.lc.open(rc.Subtask)
	return nil
}

func (c *coRecorder) ProcessElement1(ctx *stream.Context, v order, out stream.Collector[met]) error {
	out.Collect(met{Subtask: ctx.Runtime().Subtask, Max: ctx.Runtime().MaxParallelism, Key: v.Key, Side: "order"})
	return nil
}

func (c *coRecorder) ProcessElement2(ctx *stream.Context, v payment, out stream.Collector[met]) error {
	out.Collect(met{Subtask: ctx.Runtime().Subtask, Max: ctx.Runtime().MaxParallelism, Key: v.Key, Side: "payment"})
	return nil
}

func (c *coRecorder) Finish(out stream.Collector[met]) error {
	c.lc.finish()
	out.Collect(met{Side: "finished"})
	return nil
}

func (c *coRecorder) Close() error {
	c.lc.close()
	return nil
}

// ownerOf returns the subtask that owns key k of an operator with
// parallelism p and maxP key groups.
func ownerOf[K any](t *testing.T, k K, maxP, p int) int {
	t.Helper()
	c, err := codec.For[K]()
	if err != nil {
		t.Fatal(err)
	}
	return keygroup.OperatorIndex(maxP, p, keygroup.Of(c.Append(nil, k), maxP))
}

func TestCoProcessOfKeyedStreamsMeetsEqualKeys(t *testing.T) {
	const p = 3
	env := newEnv(p)
	lc := newLifecycle()
	keys := []string{"apple", "banana", "cherry", "date", "elderberry", "fig", "grape", "kiwi", "lemon", "mango"}
	orders := stream.Generate(env, 200, func(i int64) (order, error) { return order{Key: keys[i%10], N: int(i)}, nil })
	payments := stream.FromSeq(env, func(yield func(payment) bool) {
		for i := range 100 {
			if !yield(payment{Key: keys[(i*7)%10], Amount: float64(i)}) {
				return
			}
		}
	})
	byKey1 := stream.KeyBy(orders, func(o order) string { return o.Key })
	byKey2 := stream.KeyBy(payments, func(p payment) string { return p.Key })
	got := stream.CoProcess(stream.Connect(byKey1.DataStream, byKey2.DataStream), stream.CoProcessFunction[order, payment, met](&coRecorder{lc: lc})).Collect()
	mustExecute(t, env)

	lc.wantOpenedAndClosedOnce(t, p)
	where := map[string]int{}
	sides := map[string]int{}
	finished := 0
	for _, m := range got.Values() {
		if m.Side == "finished" {
			finished++
			continue
		}
		sides[m.Side]++
		if s, ok := where[m.Key]; ok && s != m.Subtask {
			t.Fatalf("key %q reached subtasks %d and %d", m.Key, s, m.Subtask)
		}
		where[m.Key] = m.Subtask
		if owner := ownerOf(t, m.Key, m.Max, p); m.Subtask != owner {
			t.Fatalf("key %q reached subtask %d, but its key group belongs to subtask %d", m.Key, m.Subtask, owner)
		}
	}
	if sides["order"] != 200 || sides["payment"] != 100 || finished != p {
		t.Fatalf("got %v records and %d Finish markers, want 200 orders, 100 payments, %d markers", sides, finished, p)
	}
}

// trade is the record of the rolling aggregation tests: Seq tells records
// apart, V is aggregated.
type trade struct {
	Key string
	Seq int
	V   int
}

var trades = []trade{
	{"a", 1, 5}, {"b", 2, 3}, {"a", 3, 2}, {"a", 4, 2}, {"b", 5, 7}, {"a", 6, 9}, {"b", 7, 3},
}

// Rolling aggregations as Flink defines them: Sum, Min and Max replace the
// field in the key's first record; MinBy and MaxBy emit the whole record
// holding the extreme, the earliest of equal ones.
var rollingCases = []struct {
	name string
	agg  func(stream.KeyedStream[string, trade]) stream.DataStream[trade]
	want map[string][]trade // per key, in order
}{
	{"Sum", func(k stream.KeyedStream[string, trade]) stream.DataStream[trade] {
		return stream.Sum(k, func(t *trade) *int { return &t.V })
	}, map[string][]trade{
		"a": {{"a", 1, 5}, {"a", 1, 7}, {"a", 1, 9}, {"a", 1, 18}},
		"b": {{"b", 2, 3}, {"b", 2, 10}, {"b", 2, 13}},
	}},
	{"Min", func(k stream.KeyedStream[string, trade]) stream.DataStream[trade] {
		return stream.Min(k, func(t *trade) *int { return &t.V })
	}, map[string][]trade{
		"a": {{"a", 1, 5}, {"a", 1, 2}, {"a", 1, 2}, {"a", 1, 2}},
		"b": {{"b", 2, 3}, {"b", 2, 3}, {"b", 2, 3}},
	}},
	{"Max", func(k stream.KeyedStream[string, trade]) stream.DataStream[trade] {
		return stream.Max(k, func(t *trade) *int { return &t.V })
	}, map[string][]trade{
		"a": {{"a", 1, 5}, {"a", 1, 5}, {"a", 1, 5}, {"a", 1, 9}},
		"b": {{"b", 2, 3}, {"b", 2, 7}, {"b", 2, 7}},
	}},
	{"MinBy", func(k stream.KeyedStream[string, trade]) stream.DataStream[trade] {
		return stream.MinBy(k, func(t *trade) *int { return &t.V })
	}, map[string][]trade{
		"a": {{"a", 1, 5}, {"a", 3, 2}, {"a", 3, 2}, {"a", 3, 2}},
		"b": {{"b", 2, 3}, {"b", 2, 3}, {"b", 2, 3}},
	}},
	{"MaxBy", func(k stream.KeyedStream[string, trade]) stream.DataStream[trade] {
		return stream.MaxBy(k, func(t *trade) *int { return &t.V })
	}, map[string][]trade{
		"a": {{"a", 1, 5}, {"a", 1, 5}, {"a", 1, 5}, {"a", 6, 9}},
		"b": {{"b", 2, 3}, {"b", 5, 7}, {"b", 5, 7}},
	}},
	{"Reduce", func(k stream.KeyedStream[string, trade]) stream.DataStream[trade] {
		// Order-sensitive: the digits of V in arrival order, the last Seq.
		return k.Reduce(func(acc, v trade) (trade, error) {
			return trade{Key: acc.Key, Seq: v.Seq, V: acc.V*10 + v.V}, nil
		})
	}, map[string][]trade{
		"a": {{"a", 1, 5}, {"a", 3, 52}, {"a", 4, 522}, {"a", 6, 5229}},
		"b": {{"b", 2, 3}, {"b", 5, 37}, {"b", 7, 373}},
	}},
}

func byKey(ts []trade) map[string][]trade {
	m := map[string][]trade{}
	for _, t := range ts {
		m[t.Key] = append(m[t.Key], t)
	}
	return m
}

func TestRollingAggregationsInStreamingMode(t *testing.T) {
	for _, c := range rollingCases {
		for p := 1; p <= 3; p++ {
			t.Run(fmt.Sprintf("%s/p=%d", c.name, p), func(t *testing.T) {
				env := newEnv(p)
				keyed := stream.KeyBy(stream.FromSlice(env, trades), func(t trade) string { return t.Key })
				got := c.agg(keyed).Collect()
				mustExecute(t, env)
				if g := byKey(got.Values()); fmt.Sprint(g) != fmt.Sprint(c.want) {
					t.Fatalf("got %v\nwant %v", g, c.want)
				}
			})
		}
	}
}

func TestRollingAggregationsInBatchMode(t *testing.T) {
	for _, c := range rollingCases {
		for p := 1; p <= 3; p++ {
			t.Run(fmt.Sprintf("%s/p=%d", c.name, p), func(t *testing.T) {
				env := newEnv(p).SetRuntimeMode(stream.Batch)
				keyed := stream.KeyBy(stream.FromSlice(env, trades), func(t trade) string { return t.Key })
				got := c.agg(keyed).Collect()
				mustExecute(t, env)
				want := map[string][]trade{}
				for k, ts := range c.want {
					want[k] = ts[len(ts)-1:]
				}
				if g := byKey(got.Values()); fmt.Sprint(g) != fmt.Sprint(want) {
					t.Fatalf("got %v\nwant one final record per key: %v", g, want)
				}
			})
		}
	}
}

// The rolling sum over many keys and parallel producers: one output per
// input, and the last output of each key is the key's total.
func TestRollingSumManyKeys(t *testing.T) {
	const n, keys = 3000, 17
	want := map[int]int{}
	for i := range n {
		want[i%keys] += i
	}
	for p := 1; p <= 4; p++ {
		t.Run(fmt.Sprintf("p=%d", p), func(t *testing.T) {
			for _, mode := range []stream.RuntimeMode{stream.Streaming, stream.Batch} {
				env := newEnv(p).SetRuntimeMode(mode)
				type kv struct{ K, V int }
				nums := stream.Generate(env, n, func(i int64) (kv, error) { return kv{int(i) % keys, int(i)}, nil })
				got := stream.Sum(stream.KeyBy(nums, func(r kv) int { return r.K }), func(r *kv) *int { return &r.V }).Collect()
				mustExecute(t, env)
				final := map[int]int{}
				count := map[int]int{}
				for _, r := range got.Values() {
					final[r.K] = max(final[r.K], r.V) // sums of non-negatives only grow
					count[r.K]++
				}
				if fmt.Sprint(final) != fmt.Sprint(want) {
					t.Fatalf("%v: final sums %v, want %v", mode, final, want)
				}
				for k, c := range count {
					if wantCount := map[stream.RuntimeMode]int{stream.Streaming: n / keys, stream.Batch: 1}[mode]; c < wantCount || c > wantCount+1 {
						t.Fatalf("%v: key %d emitted %d records, want %d", mode, k, c, wantCount)
					}
				}
			}
		})
	}
}

func TestBatchModeWithAnUnboundedSourceIsAnExecuteError(t *testing.T) {
	env := newEnv(2).SetRuntimeMode(stream.Batch)
	stream.Generate(env, stream.Unbounded, func(i int64) (int64, error) { return i, nil }).Name("forever").Discard()
	wantErrorContains(t, executeErr(t, env), "BATCH", `"forever"`, "unbounded")
}

func TestKeyByWithoutACodecIsAnExecuteError(t *testing.T) {
	env := newEnv(2)
	stream.KeyBy(stream.FromValues(env, 1, 2), func(v int) any { return v }).Discard()
	wantErrorContains(t, executeErr(t, env), "KeyBy", "interface")
}

func TestReduceErrorFailsTheJob(t *testing.T) {
	checkNoLeaks(t)
	env := newEnv(2)
	keyed := stream.KeyBy(stream.FromSlice(env, trades), func(t trade) string { return t.Key })
	keyed.Reduce(func(acc, v trade) (trade, error) {
		if v.Seq == 6 {
			return acc, errBoom
		}
		return v, nil
	}).Name("reducer").Discard()
	err := executeErr(t, env)
	if !errors.Is(err, errBoom) {
		t.Fatalf("Execute: %v, want %v", err, errBoom)
	}
	wantSubtaskFailure(t, err, "reducer", 2)
}
