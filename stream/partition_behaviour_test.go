package stream_test

import (
	"fmt"
	"sync/atomic"
	"testing"

	"github.com/runnel-io/runnel/stream"
)

// origin is a record tagged with the subtask that produced it.
type origin struct {
	From int
	I    int64
}

// generateTagged emits n records from p subtasks, each tagged with its
// producer: record i comes from subtask i mod p.
func generateTagged(env *stream.Environment, n int64, p int) stream.DataStream[origin] {
	gen := stream.Generate(env, n, func(i int64) (int64, error) { return i, nil }).SetParallelism(p)
	return stream.Process(gen, stream.ProcessFunc[int64, origin](func(ctx *stream.Context, i int64, out stream.Collector[origin]) error {
		out.Collect(origin{From: ctx.Runtime().Subtask, I: i})
		return nil
	})).SetParallelism(p)
}

// receivers returns, per record index, the subtasks that received it.
func receivers(got []At[origin]) map[int64][]int {
	m := map[int64][]int{}
	for _, a := range got {
		m[a.V.I] = append(m[a.V.I], a.Subtask)
	}
	return m
}

// wantEachOnce fails the test unless each of the n records arrived exactly
// once.
func wantEachOnce(t *testing.T, got []At[origin], n int64) map[int64]int {
	t.Helper()
	once := map[int64]int{}
	for i, subs := range receivers(got) {
		if len(subs) != 1 {
			t.Fatalf("record %d arrived %d times (subtasks %v), want once", i, len(subs), subs)
		}
		once[i] = subs[0]
	}
	if int64(len(once)) != n {
		t.Fatalf("%d distinct records arrived, want %d", len(once), n)
	}
	return once
}

func TestForwardKeepsTheSubtask(t *testing.T) {
	for _, chained := range []bool{true, false} {
		t.Run(fmt.Sprintf("chaining=%v", chained), func(t *testing.T) {
			env := newEnv(3)
			if !chained {
				env.DisableOperatorChaining()
			}
			got := tagSubtask(generateTagged(env, 600, 3).Forward()).SetParallelism(3).Collect()
			mustExecute(t, env)
			for _, a := range got.Values() {
				if a.Subtask != a.V.From {
					t.Fatalf("record %d went from subtask %d to %d over a forward edge", a.V.I, a.V.From, a.Subtask)
				}
			}
			wantEachOnce(t, got.Values(), 600)
		})
	}
}

func TestForwardBetweenDifferentParallelismIsAnExecuteError(t *testing.T) {
	env := newEnv(1)
	src := stream.Generate(env, 10, func(i int64) (int64, error) { return i, nil }).Name("two").SetParallelism(2)
	stream.Map(src.Forward(), func(v int64) (int64, error) { return v, nil }).Name("three").SetParallelism(3).Discard()
	wantErrorContains(t, executeErr(t, env), `"two"`, `"three"`, "forward")
}

func TestRebalanceSpreadsEvenly(t *testing.T) {
	for _, p := range []int{2, 3, 4} {
		t.Run(fmt.Sprintf("1->%d", p), func(t *testing.T) {
			const n = 1200
			env := newEnv(p)
			got := tagSubtask(generateTagged(env, n, 1).Rebalance()).Collect()
			mustExecute(t, env)
			count := map[int]int{}
			for _, s := range wantEachOnce(t, got.Values(), n) {
				count[s]++
			}
			for s := range p {
				if count[s] != n/p {
					t.Fatalf("per subtask %v, want %d each", count, n/p)
				}
			}
		})
	}
	t.Run("3->2", func(t *testing.T) {
		const n = 1200 // 400 per producer, an even split over 2 consumers
		env := newEnv(2)
		got := tagSubtask(generateTagged(env, n, 3).Rebalance()).Collect()
		mustExecute(t, env)
		count := map[[2]int]int{}
		for _, a := range got.Values() {
			count[[2]int{a.V.From, a.Subtask}]++
		}
		for from := range 3 {
			for to := range 2 {
				if count[[2]int{from, to}] != n/3/2 {
					t.Fatalf("records per (producer, consumer): %v, want %d each", count, n/3/2)
				}
			}
		}
	})
}

func TestBroadcastReachesEverySubtask(t *testing.T) {
	const n, p = 300, 4
	env := newEnv(p)
	got := tagSubtask(generateTagged(env, n, 2).Broadcast()).Collect()
	mustExecute(t, env)
	recv := receivers(got.Values())
	if len(recv) != n {
		t.Fatalf("%d distinct records arrived, want %d", len(recv), n)
	}
	for i, subs := range recv {
		if fmt.Sprint(sorted(subs)) != "[0 1 2 3]" {
			t.Fatalf("record %d reached subtasks %v, want each of 0..3 once", i, subs)
		}
	}
}

func TestGlobalSendsAllToTheFirstSubtask(t *testing.T) {
	env := newEnv(3)
	got := tagSubtask(generateTagged(env, 300, 3).Global()).Collect()
	mustExecute(t, env)
	for i, s := range wantEachOnce(t, got.Values(), 300) {
		if s != 0 {
			t.Fatalf("record %d reached subtask %d, want 0", i, s)
		}
	}
}

func TestPartitionCustomObeysTheFunction(t *testing.T) {
	env := newEnv(3)
	var wrongN atomic.Int64
	custom := stream.PartitionCustom(generateTagged(env, 300, 2),
		func(o origin) int64 { return o.I / 10 },
		func(k int64, n int) int {
			if n != 3 {
				wrongN.Store(int64(n))
			}
			return int((k * 7) % int64(n))
		})
	got := tagSubtask(custom).Collect()
	mustExecute(t, env)
	for i, s := range wantEachOnce(t, got.Values(), 300) {
		if want := int((i / 10 * 7) % 3); s != want {
			t.Fatalf("record %d reached subtask %d, the function says %d", i, s, want)
		}
	}
	if n := wrongN.Load(); n != 0 {
		t.Fatalf("the function was told of %d subtasks, want 3", n)
	}
}

func TestPartitionCustomOutOfRangeFailsTheJob(t *testing.T) {
	checkNoLeaks(t)
	env := newEnv(3)
	custom := stream.PartitionCustom(stream.Generate(env, 30, func(i int64) (int64, error) { return i, nil }).Name("numbers"),
		func(v int64) int64 { return v },
		func(k int64, n int) int { return n + int(k) })
	tagSubtask(custom).Discard()
	err := executeErr(t, env)
	wantSubtaskFailure(t, err, "numbers", 3)
	wantErrorContains(t, err, "custom partitioner returned channel")
}

func TestRescaleDeliversEachRecordOnceToItsShare(t *testing.T) {
	for _, c := range []struct{ from, to int }{{2, 4}, {4, 2}, {3, 3}, {1, 3}} {
		t.Run(fmt.Sprintf("%d->%d", c.from, c.to), func(t *testing.T) {
			env := newEnv(c.to)
			got := tagSubtask(generateTagged(env, 600, c.from).Rescale()).Collect()
			mustExecute(t, env)
			wantEachOnce(t, got.Values(), 600)
			// Each producer talks to as few consumers as it can: at most
			// ceil(to/from) of them.
			talks := map[int]map[int]bool{}
			for _, a := range got.Values() {
				if talks[a.V.From] == nil {
					talks[a.V.From] = map[int]bool{}
				}
				talks[a.V.From][a.Subtask] = true
			}
			for from, tos := range talks {
				if len(tos) > (c.to+c.from-1)/c.from {
					t.Fatalf("producer %d reached consumers %v, want at most %d", from, tos, (c.to+c.from-1)/c.from)
				}
			}
		})
	}
}

func TestShuffleDeliversEachRecordOnce(t *testing.T) {
	env := newEnv(4)
	got := tagSubtask(generateTagged(env, 2000, 2).Shuffle()).Collect()
	mustExecute(t, env)
	count := map[int]int{}
	for _, s := range wantEachOnce(t, got.Values(), 2000) {
		count[s]++
	}
	if len(count) != 4 {
		t.Fatalf("records per subtask %v: 2000 random choices missed a subtask", count)
	}
}

type keyedAt struct {
	Key          string
	Subtask, Max int
}

func TestKeyByRoutesEachKeyToItsOwner(t *testing.T) {
	for _, c := range []struct{ p, maxP int }{{1, 0}, {3, 0}, {4, 0}, {3, 10}, {5, 7}} {
		t.Run(fmt.Sprintf("p=%d/max=%d", c.p, c.maxP), func(t *testing.T) {
			env := newEnv(c.p)
			if c.maxP > 0 {
				env.SetMaxParallelism(c.maxP)
			}
			words := stream.Generate(env, 1000, func(i int64) (string, error) { return fmt.Sprintf("key-%d", i%97), nil })
			keyed := stream.KeyBy(words, func(w string) string { return w })
			got := stream.Process(keyed.DataStream, stream.ProcessFunc[string, keyedAt](func(ctx *stream.Context, w string, out stream.Collector[keyedAt]) error {
				out.Collect(keyedAt{Key: w, Subtask: ctx.Runtime().Subtask, Max: ctx.Runtime().MaxParallelism})
				return nil
			})).Collect()
			mustExecute(t, env)
			where := map[string]int{}
			for _, k := range got.Values() {
				if c.maxP > 0 && k.Max != c.maxP {
					t.Fatalf("max parallelism %d, want %d", k.Max, c.maxP)
				}
				if s, ok := where[k.Key]; ok && s != k.Subtask {
					t.Fatalf("key %q reached subtasks %d and %d", k.Key, s, k.Subtask)
				}
				where[k.Key] = k.Subtask
				if owner := ownerOf(t, k.Key, k.Max, c.p); k.Subtask != owner {
					t.Fatalf("key %q reached subtask %d; its key group is owned by %d", k.Key, k.Subtask, owner)
				}
			}
			if len(got.Values()) != 1000 || len(where) != 97 {
				t.Fatalf("got %d records of %d keys, want 1000 of 97", len(got.Values()), len(where))
			}
		})
	}
}

// Keys of a struct type are hashed by their codec's encoding too.
func TestKeyByStructKey(t *testing.T) {
	type key struct {
		A string
		B int
	}
	const p = 3
	env := newEnv(p)
	nums := stream.Generate(env, 600, func(i int64) (int64, error) { return i, nil })
	keyed := stream.KeyBy(nums, func(i int64) key { return key{fmt.Sprint(i % 5), int(i % 7)} })
	got := tagSubtask(keyed.DataStream).Collect()
	mustExecute(t, env)
	for _, a := range got.Values() {
		k := key{fmt.Sprint(a.V % 5), int(a.V % 7)}
		if owner := ownerOf(t, k, 128, p); a.Subtask != owner {
			t.Fatalf("key %+v reached subtask %d; its owner is %d", k, a.Subtask, owner)
		}
	}
}
