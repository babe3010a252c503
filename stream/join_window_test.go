package stream

import (
	"context"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/runnel-io/runnel/stream/window"
)

// wjRec is a record of either input of the window join tests.
type wjRec struct {
	Key string
	ID  string
	TS  int64
}

type wjIn = TaggedUnion[wjRec, wjRec]

func wjKey(r wjRec) string { return r.Key }

// wjSources returns the two inputs as timestamped sources whose watermarks
// trail their largest timestamp by delay.
func wjSources(env *Environment, left, right []wjRec, delay int64) (DataStream[wjRec], DataStream[wjRec]) {
	ts := func(r wjRec) int64 { return r.TS }
	return timestamped(env, left, ts, delay), timestamped(env, right, ts, delay)
}

// wjStamp prefixes every result with its timestamp.
func wjStamp(s DataStream[string]) DataStream[string] {
	return Process(s, ProcessFunc[string, string](func(ctx *Context, v string, out Collector[string]) error {
		ts, ok := ctx.Timestamp()
		if !ok {
			return fmt.Errorf("result %q has no timestamp", v)
		}
		out.Collect(fmt.Sprintf("%d:%s", ts, v))
		return nil
	}))
}

var wjPair = JoinFunc[wjRec, wjRec, string](func(l, r wjRec, out Collector[string]) error {
	out.Collect(l.ID + "-" + r.ID)
	return nil
})

func wjIDs(rs []wjRec) string {
	ids := make([]string, len(rs))
	for i, r := range rs {
		ids[i] = r.ID
	}
	slices.Sort(ids) // the two inputs' records may reach the window in any order
	return "[" + strings.Join(ids, " ") + "]"
}

var wjLists = CoGroupFunc[wjRec, wjRec, string](func(l, r []wjRec, out Collector[string]) error {
	if len(l) == 0 && len(r) == 0 {
		return fmt.Errorf("coGroup called with two empty lists")
	}
	key := ""
	if len(l) > 0 {
		key = l[0].Key
	} else {
		key = r[0].Key
	}
	out.Collect(key + ":" + wjIDs(l) + "|" + wjIDs(r))
	return nil
})

// wjRun runs the join (or coGroup, if coGroup) of left and right in
// windows of assigner at parallelism p and returns the sorted, timestamped
// results.
func wjRun(t *testing.T, p int, left, right []wjRec, assigner window.Assigner[wjIn, window.TimeWindow], coGroup bool) []string {
	t.Helper()
	checkNoLeaks(t)
	env := NewEnvironment().SetParallelism(p)
	l, r := wjSources(env, left, right, 0)
	j := WindowJoin(l, r, wjKey, wjKey, assigner)
	var res DataStream[string]
	if coGroup {
		res = CoGroupApply(j, wjLists)
	} else {
		res = JoinApply(j, wjPair)
	}
	got := wjStamp(res).Collect()
	if err := env.Execute(context.Background(), "window join"); err != nil {
		t.Fatal(err)
	}
	vals := got.Values()
	slices.Sort(vals)
	return vals
}

func TestWindowJoinAndCoGroupTumbling(t *testing.T) {
	left := []wjRec{{"a", "a1", 1}, {"a", "a2", 3}, {"b", "b1", 4}, {"c", "c1", 12}}
	right := []wjRec{{"a", "A1", 2}, {"d", "D1", 5}, {"b", "B1", 15}}
	tumbling := window.TumblingEventTimeWindows[wjIn](10*time.Millisecond, 0)
	// [0, 10): a has a1 a2 | A1, b only b1, d only D1. [10, 20): c only c1,
	// b only B1. The join emits a's two pairs; the coGroup every key.
	wantJoin := []string{"9:a1-A1", "9:a2-A1"}
	wantCoGroup := []string{"19:b:[]|[B1]", "19:c:[c1]|[]", "9:a:[a1 a2]|[A1]", "9:b:[b1]|[]", "9:d:[]|[D1]"}
	for _, p := range []int{1, 3} {
		if got := wjRun(t, p, left, right, tumbling, false); !slices.Equal(got, wantJoin) {
			t.Errorf("p=%d join:\n got %q\nwant %q", p, got, wantJoin)
		}
		if got := wjRun(t, p, left, right, tumbling, true); !slices.Equal(got, wantCoGroup) {
			t.Errorf("p=%d coGroup:\n got %q\nwant %q", p, got, wantCoGroup)
		}
	}
}

func TestWindowJoinSessions(t *testing.T) {
	left := []wjRec{{"a", "l1", 1}, {"b", "l5", 3}, {"a", "l2", 4}, {"a", "l3", 22}, {"a", "l4", 40}}
	right := []wjRec{{"a", "r1", 7}, {"a", "r2", 20}, {"b", "r3", 30}}
	sessions := window.EventTimeSessionWindows[wjIn](5 * time.Millisecond)
	// a: 1, 4 (left) and 7 (right) make one session [1, 12); 20 and 22 make
	// [20, 27); 40 is alone. b: 3 and 30 are two sessions of one side each.
	wantJoin := []string{"11:l1-r1", "11:l2-r1", "26:l3-r2"}
	wantCoGroup := []string{"11:a:[l1 l2]|[r1]", "26:a:[l3]|[r2]", "34:b:[]|[r3]", "44:a:[l4]|[]", "7:b:[l5]|[]"}
	for _, p := range []int{1, 2} {
		if got := wjRun(t, p, left, right, sessions, false); !slices.Equal(got, wantJoin) {
			t.Errorf("p=%d join:\n got %q\nwant %q", p, got, wantJoin)
		}
		if got := wjRun(t, p, left, right, sessions, true); !slices.Equal(got, wantCoGroup) {
			t.Errorf("p=%d coGroup:\n got %q\nwant %q", p, got, wantCoGroup)
		}
	}
}

// wjRandom returns n records of keys k0..k(keys-1) whose timestamps grow
// by 0..6 ms and are then displaced by up to delay ms, so that watermarks
// trailing by delay never make one late. The timestamps are even (delay
// must be): with an odd session gap no record falls exactly at the end of
// a session, where it would merge with it or not depending on whether the
// watermark fired the session first.
func wjRandom(rng *rand.Rand, side string, n, keys int, delay int64) []wjRec {
	rs := make([]wjRec, n)
	base := int64(0)
	for i := range rs {
		base += 2 * rng.Int64N(4)
		rs[i] = wjRec{Key: fmt.Sprintf("k%d", rng.IntN(keys)), ID: fmt.Sprintf("%s%d", side, i), TS: base + 2*rng.Int64N(delay/2+1)}
	}
	return rs
}

// wjSessions returns the sessions of gap of the sorted timestamps ts, as
// Flink's session windows merge them: [t, t+gap) windows that intersect
// (or touch) merge.
func wjSessions(ts []int64, gap int64) []window.TimeWindow {
	var out []window.TimeWindow
	for _, t := range ts {
		if n := len(out); n > 0 && t <= out[n-1].End {
			out[n-1].End = max(out[n-1].End, t+gap)
			continue
		}
		out = append(out, window.TimeWindow{Start: t, End: t + gap})
	}
	return out
}

// wjReference computes the join and coGroup of left and right with nested
// loops: windows by the assigner (by sessions of gap, if gap > 0), then
// every pair of a key in a window.
func wjReference(left, right []wjRec, a window.Assigner[wjIn, window.TimeWindow], gap int64) (join, coGroup []string) {
	type kw struct {
		key string
		w   window.TimeWindow
	}
	lists := map[kw][2][]wjRec{}
	add := func(r wjRec, side int, ws []window.TimeWindow) {
		for _, w := range ws {
			l := lists[kw{r.Key, w}]
			l[side] = append(l[side], r)
			lists[kw{r.Key, w}] = l
		}
	}
	windowsOf := func(r wjRec, sessions map[string][]window.TimeWindow) []window.TimeWindow {
		if gap > 0 {
			for _, w := range sessions[r.Key] {
				if w.Start <= r.TS && r.TS < w.End {
					return []window.TimeWindow{w}
				}
			}
			panic("no session")
		}
		ws, err := a.AssignWindows(nil, wjIn{}, r.TS, nil)
		if err != nil {
			panic(err)
		}
		return ws
	}
	sessions := map[string][]window.TimeWindow{}
	if gap > 0 {
		ts := map[string][]int64{}
		for _, r := range append(slices.Clone(left), right...) {
			ts[r.Key] = append(ts[r.Key], r.TS)
		}
		for k, t := range ts {
			slices.Sort(t)
			sessions[k] = wjSessions(t, gap)
		}
	}
	for _, r := range left {
		add(r, 0, windowsOf(r, sessions))
	}
	for _, r := range right {
		add(r, 1, windowsOf(r, sessions))
	}
	for k, l := range lists {
		ts := k.w.MaxTimestamp()
		coGroup = append(coGroup, fmt.Sprintf("%d:%s:%s|%s", ts, k.key, wjIDs(l[0]), wjIDs(l[1])))
		for _, x := range l[0] {
			for _, y := range l[1] {
				join = append(join, fmt.Sprintf("%d:%s-%s", ts, x.ID, y.ID))
			}
		}
	}
	slices.Sort(join)
	slices.Sort(coGroup)
	return join, coGroup
}

// TestWindowJoinMatchesNestedLoops compares window joins and coGroups of
// random out-of-order inputs with the nested-loop reference, at
// parallelism 1 and 4.
func TestWindowJoinMatchesNestedLoops(t *testing.T) {
	checkNoLeaks(t)
	cases := []struct {
		name     string
		assigner window.Assigner[wjIn, window.TimeWindow]
		gap      int64
	}{
		{"tumbling", window.TumblingEventTimeWindows[wjIn](20*time.Millisecond, 0), 0},
		{"sliding", window.SlidingEventTimeWindows[wjIn](40*time.Millisecond, 10*time.Millisecond, 0), 0},
		{"session", window.EventTimeSessionWindows[wjIn](5 * time.Millisecond), 5},
	}
	const delay = 6
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			for seed := uint64(1); seed <= 2; seed++ {
				rng := rand.New(rand.NewPCG(seed, 7))
				left, right := wjRandom(rng, "l", 150, 5, delay), wjRandom(rng, "r", 100, 5, delay)
				wantJoin, wantCoGroup := wjReference(left, right, c.assigner, c.gap)
				if len(wantJoin) == 0 {
					t.Fatal("the reference join is empty")
				}
				for _, p := range []int{1, 4} {
					env := NewEnvironment().SetParallelism(p)
					l, r := wjSources(env, left, right, delay)
					j := WindowJoin(l, r, wjKey, wjKey, c.assigner)
					joined := wjStamp(JoinApply(j, wjPair)).Collect()
					grouped := wjStamp(CoGroupApply(j, CoGroupFunc[wjRec, wjRec, string](func(l, r []wjRec, out Collector[string]) error {
						key := ""
						if len(l) > 0 {
							key = l[0].Key
						} else {
							key = r[0].Key
						}
						out.Collect(key + ":" + wjIDs(l) + "|" + wjIDs(r))
						return nil
					}))).Collect()
					if err := env.Execute(context.Background(), "random window join"); err != nil {
						t.Fatal(err)
					}
					gotJoin, gotCoGroup := joined.Values(), grouped.Values()
					slices.Sort(gotJoin)
					slices.Sort(gotCoGroup)
					wjCompare(t, fmt.Sprintf("seed %d p=%d join", seed, p), gotJoin, wantJoin)
					wjCompare(t, fmt.Sprintf("seed %d p=%d coGroup", seed, p), gotCoGroup, wantCoGroup)
				}
			}
		})
	}
}

// wjCompare fails the test if the sorted results got and want differ.
func wjCompare(t *testing.T, what string, got, want []string) {
	t.Helper()
	if slices.Equal(got, want) {
		return
	}
	i := firstDiff(got, want)
	at := func(s []string) string {
		if i < len(s) {
			return s[i]
		}
		return "(end)"
	}
	t.Fatalf("%s: %d results, want %d; first difference at %d: %q, want %q", what, len(got), len(want), i, at(got), at(want))
}

// wjOpens counts Open and Close calls through the window function.
type wjOpens struct {
	opens, closes *atomic.Int32
}

func (f wjOpens) Open(context.Context, *RuntimeContext) error { f.opens.Add(1); return nil }
func (f wjOpens) Close() error                                { f.closes.Add(1); return nil }
func (f wjOpens) CoGroup(l, r []wjRec, out Collector[string]) error {
	return wjLists(l, r, out)
}

// TestWindowCoGroupOptions: the trigger and the evictor reach the window
// operator, and the function's Open and Close are called per subtask.
func TestWindowCoGroupOptions(t *testing.T) {
	checkNoLeaks(t)
	tumbling := window.TumblingEventTimeWindows[wjIn](10*time.Millisecond, 0)
	left := []wjRec{{"a", "a1", 1}, {"a", "a2", 2}, {"a", "a3", 3}, {"a", "a4", 4}, {"a", "a20", 20}}
	type joined = WindowJoined[string, wjRec, wjRec, window.TimeWindow]
	cases := []struct {
		name string
		opt  func(joined) joined
		want []string
	}{
		{"default", func(j joined) joined { return j }, []string{"29:a:[a20]|[]", "9:a:[a1 a2 a3 a4]|[]"}},
		{"trigger", func(j joined) joined {
			return j.Trigger(window.PurgingTrigger(window.CountTrigger[wjIn, window.TimeWindow](2)))
		}, []string{"9:a:[a1 a2]|[]", "9:a:[a3 a4]|[]"}},
		{"evictor", func(j joined) joined {
			return j.Evictor(window.CountEvictor[wjIn, window.TimeWindow](1, false))
		}, []string{"29:a:[a20]|[]", "9:a:[a4]|[]"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var opens, closes atomic.Int32
			// The taggers at parallelism 1 keep the left records in order,
			// which the count trigger and evictor depend on.
			env := NewEnvironment().SetParallelism(1)
			l, r := wjSources(env, left, nil, 0)
			j := c.opt(WindowJoin(l, r, wjKey, wjKey, tumbling))
			grouped := CoGroupApply(j, CoGroupFunction[wjRec, wjRec, string](wjOpens{&opens, &closes})).SetParallelism(2)
			got := wjStamp(grouped).Collect()
			if err := env.Execute(context.Background(), "coGroup options"); err != nil {
				t.Fatal(err)
			}
			vals := got.Values()
			slices.Sort(vals)
			if !slices.Equal(vals, c.want) {
				t.Errorf("got %q, want %q", vals, c.want)
			}
			if opens.Load() != 2 || closes.Load() != 2 {
				t.Errorf("%d opens and %d closes, want 2 each (one per subtask)", opens.Load(), closes.Load())
			}
		})
	}
}

// TestWindowJoinAllowedLateness: a late record of either input within the
// allowed lateness fires the window again with every pair; after the
// cleanup it is dropped. The left input is sent in phases, so that the
// window sees the right input's watermark before the late records.
func TestWindowJoinAllowedLateness(t *testing.T) {
	fired := make(chan string, 16)
	left := newWoPhases[wjRec]()
	// The taggers at parallelism 1 keep each input on one channel, so that
	// a record cannot overtake the watermark before it.
	env := NewEnvironment().SetParallelism(1)
	l := FromSource(env, left, ForGenerator[wjRec](func() WatermarkGenerator { return &perEvent{} }).WithTimestampAssigner(func(r wjRec, _ int64) int64 { return r.TS }), "left").SetParallelism(1)
	_, r := wjSources(env, nil, []wjRec{{"a", "A1", 2}}, 0)
	j := WindowJoin(l, r, wjKey, wjKey, window.TumblingEventTimeWindows[wjIn](10*time.Millisecond, 0)).
		AllowedLateness(15 * time.Millisecond)
	wjStamp(JoinApply(j, wjPair).SetParallelism(2)).SinkTo(chanSink(fired), "fired")
	done := ended(startJob(t, env, "window join lateness"))
	take := func(n int) []string {
		t.Helper()
		var got []string
		for range n {
			select {
			case s := <-fired:
				got = append(got, s)
			case err := <-done:
				t.Fatalf("the job ended (%v) after %q", err, got)
			case <-time.After(10 * time.Second):
				t.Fatalf("got %q, want %d results", got, n)
			}
		}
		slices.Sort(got)
		return got
	}
	left.send(wjRec{"a", "a1", 1}, wjRec{"a", "a20", 20}) // the watermark 19 fires [0, 10)
	woCheck(t, "on time", take(1), []string{"9:a1-A1"})
	left.send(wjRec{"a", "a5", 5}) // late, within the lateness: fires again
	woCheck(t, "late", take(2), []string{"9:a1-A1", "9:a5-A1"})
	// The watermark 29 cleans [0, 10) up (9 + 15 = 24): a6 is dropped.
	left.send(wjRec{"a", "a30", 30}, wjRec{"a", "a6", 6})
	left.end()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if len(fired) != 0 {
		t.Fatalf("more results: %q", <-fired)
	}
}

func TestWindowJoinMistakes(t *testing.T) {
	checkNoLeaks(t)
	env := NewEnvironment().SetParallelism(1)
	l, r := wjSources(env, nil, nil, 0)
	JoinApply(WindowJoin(l, r, wjKey, wjKey, window.TumblingEventTimeWindows[wjIn](0, 0)), wjPair).Discard()
	err := env.Execute(context.Background(), "bad window join")
	if err == nil || !strings.Contains(err.Error(), "TumblingEventTimeWindows") {
		t.Fatalf("got %v, want an error naming the invalid assigner", err)
	}
	env = NewEnvironment().SetParallelism(1)
	l, r = wjSources(env, nil, nil, 0)
	CoGroupApply(WindowJoin(l, r, wjKey, wjKey, window.TumblingEventTimeWindows[wjIn](time.Millisecond, 0)).
		Trigger(window.CountTrigger[wjIn, window.TimeWindow](0)), wjLists).Discard()
	err = env.Execute(context.Background(), "bad window coGroup")
	if err == nil || !strings.Contains(err.Error(), "CountTrigger") {
		t.Fatalf("got %v, want an error naming the invalid trigger", err)
	}
}
