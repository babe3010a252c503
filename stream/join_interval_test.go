package stream

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/runnel-io/runnel/codec"
	"github.com/runnel-io/runnel/runtime/operator"
	"github.com/runnel-io/runnel/state/keygroup"
)

// ijRec is a record of either side of the interval join tests.
type ijRec struct {
	Key int
	TS  int64
	ID  string
}

// ijBounds is an interval join's configuration.
type ijBounds struct {
	lower, upper                   time.Duration
	lowerExclusive, upperExclusive bool
}

func (b ijBounds) String() string {
	l, u := "[", "]"
	if b.lowerExclusive {
		l = "("
	}
	if b.upperExclusive {
		u = ")"
	}
	return fmt.Sprintf("%s%d,%d%s", l, b.lower.Milliseconds(), b.upper.Milliseconds(), u)
}

// interval returns the bounds as inclusive milliseconds.
func (b ijBounds) interval() (lo, hi int64) {
	lo, hi = b.lower.Milliseconds(), b.upper.Milliseconds()
	if b.lowerExclusive {
		lo++
	}
	if b.upperExclusive {
		hi--
	}
	return lo, hi
}

// ijJoin builds the join of left and right with bounds b and a function
// that checks its context and describes each pair as "L+R@ts".
func ijJoin(left, right DataStream[ijRec], b ijBounds) IntervalJoined[int, ijRec, ijRec] {
	key := func(r ijRec) int { return r.Key }
	j := IntervalJoin(KeyBy(left, key), KeyBy(right, key), b.lower, b.upper)
	if b.lowerExclusive {
		j = j.LowerBoundExclusive()
	}
	if b.upperExclusive {
		j = j.UpperBoundExclusive()
	}
	return j
}

var ijDescribe = ProcessJoinFunc[ijRec, ijRec, string](func(l, r ijRec, ctx *IntervalJoinContext, out Collector[string]) error {
	ts, ok := ctx.Timestamp()
	switch {
	case l.Key != r.Key:
		return fmt.Errorf("joined keys %d and %d", l.Key, r.Key)
	case ctx.LeftTimestamp() != l.TS || ctx.RightTimestamp() != r.TS:
		return fmt.Errorf("context timestamps %d, %d for records at %d, %d", ctx.LeftTimestamp(), ctx.RightTimestamp(), l.TS, r.TS)
	case !ok || ts != max(l.TS, r.TS):
		return fmt.Errorf("context timestamp %d for records at %d, %d", ts, l.TS, r.TS)
	}
	out.Collect(l.ID + "+" + r.ID)
	return nil
})

// ijHarness returns a harness of the join at subtask sub of p.
func ijHarness(t *testing.T, b ijBounds, sub, p int, sides map[string]any, late ...OutputTag[ijRec]) *twoInHarness[ijRec, ijRec, string] {
	env := NewEnvironment().SetParallelism(p)
	j := ijJoin(FromSlice(env, []ijRec(nil)), FromSlice(env, []ijRec(nil)), b)
	if len(late) == 2 {
		j = j.SideOutputLeftLateData(late[0]).SideOutputRightLateData(late[1])
	}
	return newTwoInHarness[ijRec, ijRec, string](t, ProcessJoin(j, ijDescribe).Name("join"), sub, p, sides)
}

// ijEntries is the number of entries of the subtask's keyed state: one
// per key and side with records buffered.
func ijEntries(h *twoInHarness[ijRec, ijRec, string]) int {
	return h.op.(*intervalJoinOp[int, ijRec, ijRec, string]).core.backend.NumEntries()
}

// TestIntervalJoinBounds: with lower = -2 ms and upper = +1 ms a left
// record at 10 joins the right records at 8, 9, 10 and 11, each pair
// stamped with the later timestamp; exclusive bounds drop the end points;
// without watermarks, the order of arrival does not matter.
func TestIntervalJoinBounds(t *testing.T) {
	rights := []int64{7, 8, 9, 10, 11, 12}
	tests := []struct {
		b    ijBounds
		want string
	}{
		{ijBounds{lower: -2 * time.Millisecond, upper: time.Millisecond},
			"[L10+R10@10 L10+R8@10 L10+R9@10 L10+R11@11]"},
		{ijBounds{lower: -2 * time.Millisecond, upper: time.Millisecond, lowerExclusive: true},
			"[L10+R10@10 L10+R9@10 L10+R11@11]"},
		{ijBounds{lower: -2 * time.Millisecond, upper: time.Millisecond, upperExclusive: true},
			"[L10+R10@10 L10+R8@10 L10+R9@10]"},
		{ijBounds{lower: -2 * time.Millisecond, upper: time.Millisecond, lowerExclusive: true, upperExclusive: true},
			"[L10+R10@10 L10+R9@10]"},
		{ijBounds{lower: 0, upper: 0, lowerExclusive: true}, "[]"},
		{ijBounds{lower: 2 * time.Millisecond, upper: 2 * time.Millisecond}, "[L10+R12@12]"},
	}
	for _, tc := range tests {
		for _, leftFirst := range []bool{true, false} {
			t.Run(fmt.Sprintf("%v/leftFirst=%v", tc.b, leftFirst), func(t *testing.T) {
				h := ijHarness(t, tc.b, 0, 1, nil)
				left := ijRec{Key: 1, TS: 10, ID: "L10"}
				if leftFirst {
					h.first(left, left.TS)
				}
				for _, ts := range rights {
					h.second(ijRec{Key: 1, TS: ts, ID: fmt.Sprint("R", ts)}, ts)
					h.second(ijRec{Key: 2, TS: ts, ID: "other key"}, ts)
				}
				if !leftFirst {
					h.first(left, left.TS)
				}
				got := h.take() // sorted by timestamp, then text
				slices.SortFunc(got, func(a, b twoInRecord[string]) int { return cmp.Compare(a.TS, b.TS)*2 + strings.Compare(a.V, b.V) })
				if fmt.Sprint(got) != tc.want {
					t.Fatalf("got %v, want %s", got, tc.want)
				}
			})
		}
	}
}

// TestIntervalJoinCleansStateAndDropsLateRecords follows one key through
// the cleanup rules with lower = -2 ms and upper = +1 ms: the right record
// at 8 can join left records up to 10 and is removed when the watermark
// reaches 10; the left record at 10 can join right records up to 11 and is
// removed at 11. Records behind the watermark are late: dropped, or sent
// to the side outputs when they are configured.
func TestIntervalJoinCleansStateAndDropsLateRecords(t *testing.T) {
	b := ijBounds{lower: -2 * time.Millisecond, upper: time.Millisecond}
	for _, withSides := range []bool{false, true} {
		t.Run(fmt.Sprint("sideOutputs=", withSides), func(t *testing.T) {
			lateLeft, lateRight := NewOutputTag[ijRec]("late-left"), NewOutputTag[ijRec]("late-right")
			var lateL, lateR twoInOutput[ijRec]
			var h *twoInHarness[ijRec, ijRec, string]
			if withSides {
				sides := map[string]any{lateLeft.ID(): operator.Output[ijRec](&lateL), lateRight.ID(): operator.Output[ijRec](&lateR)}
				h = ijHarness(t, b, 0, 1, sides, lateLeft, lateRight)
			} else {
				h = ijHarness(t, b, 0, 1, nil)
			}
			wantEntries := func(when string, n int) {
				t.Helper()
				if got := ijEntries(h); got != n {
					t.Fatalf("%s: %d keyed state entries, want %d", when, got, n)
				}
			}
			wantEntries("at the start", 0)
			h.first(ijRec{Key: 1, TS: 10, ID: "L10"}, 10)
			h.second(ijRec{Key: 1, TS: 8, ID: "R8"}, 8)
			if got := fmt.Sprint(h.take()); got != "[L10+R8@10]" {
				t.Fatalf("emitted %s", got)
			}
			wantEntries("with both sides buffered", 2)
			h.watermarks(9, 9)
			wantEntries("at watermark 9", 2)
			h.watermarks(10, 10)
			wantEntries("at watermark 10 (R8 removed)", 1)

			// R11 is not late at watermark 10 and L10 is still buffered.
			h.second(ijRec{Key: 1, TS: 11, ID: "R11"}, 11)
			if got := fmt.Sprint(h.take()); got != "[L10+R11@11]" {
				t.Fatalf("emitted %s", got)
			}
			h.watermarks(11, 11)
			wantEntries("at watermark 11 (L10 removed)", 1) // R11 stays until 13
			h.watermarks(13, 13)
			wantEntries("at watermark 13 (R11 removed)", 0)

			// Behind the watermark: late, buffered nowhere, joined with nothing.
			h.first(ijRec{Key: 1, TS: 12, ID: "L12"}, 12)
			h.second(ijRec{Key: 1, TS: 12, ID: "R12"}, 12)
			if got := h.take(); len(got) != 0 {
				t.Fatalf("late records joined: %v", got)
			}
			wantEntries("after late records", 0)
			if withSides {
				if fmt.Sprint(lateL.records) != "[{1 12 L12}@12]" || fmt.Sprint(lateR.records) != "[{1 12 R12}@12]" {
					t.Fatalf("late side outputs: %v and %v", lateL.records, lateR.records)
				}
			}
			// A record at the watermark is not late.
			h.first(ijRec{Key: 1, TS: 13, ID: "L13"}, 13)
			h.second(ijRec{Key: 1, TS: 13, ID: "R13"}, 13)
			if got := fmt.Sprint(h.take()); got != "[L13+R13@13]" {
				t.Fatalf("emitted %s", got)
			}
			if !slices.Equal(h.out.watermarks, []int64{9, 10, 11, 13}) {
				t.Fatalf("watermarks %v", h.out.watermarks)
			}
		})
	}
}

// TestIntervalJoinNeedsTimestamps: a record without a timestamp fails
// with an error naming the operator.
func TestIntervalJoinNeedsTimestamps(t *testing.T) {
	checkNoLeaks(t)
	b := ijBounds{lower: -time.Millisecond, upper: time.Millisecond}
	for _, side := range []string{"left", "right"} {
		h := ijHarness(t, b, 0, 1, nil)
		var err error
		if side == "left" {
			err = h.in1.Collect(ijRec{Key: 1}, operator.NoTimestamp)
		} else {
			err = h.in2.Collect(ijRec{Key: 1}, operator.NoTimestamp)
		}
		var oe *operator.Error
		if !errors.As(err, &oe) || oe.Operator != "join" || !twoInErrContains(err, "the "+side+" input has no timestamp") {
			t.Fatalf("%s record without timestamp: error %v, want one of operator join", side, err)
		}
	}

	// In a job, the error names the operator too.
	env := NewEnvironment().SetParallelism(2)
	left := FromSlice(env, []ijRec{{Key: 1, TS: 1, ID: "l"}})
	right := FromSlice(env, []ijRec{{Key: 1, TS: 1, ID: "r"}})
	ProcessJoin(ijJoin(left, right, b), ijDescribe).Name("untimed join").Discard()
	err := env.Execute(context.Background(), t.Name())
	if err == nil || !twoInErrContains(err, "untimed join (", "/2): ", "no timestamp") {
		t.Fatalf("Execute: %v, want the missing timestamp, naming the operator", err)
	}
}

// TestIntervalJoinRejectsInvertedBounds: lower above upper is a mistake.
func TestIntervalJoinRejectsInvertedBounds(t *testing.T) {
	env := NewEnvironment()
	ProcessJoin(ijJoin(FromSlice(env, []ijRec(nil)), FromSlice(env, []ijRec(nil)),
		ijBounds{lower: 2 * time.Millisecond, upper: time.Millisecond}), ijDescribe).Discard()
	if _, err := env.StreamGraph(); err == nil || !twoInErrContains(err, "IntervalJoin", "lower bound") {
		t.Fatalf("StreamGraph: %v", err)
	}
}

// ijStreams returns n seeded random records per side over 5 keys, out of
// order by up to delay ms: the i-th has a timestamp in [i, i+delay].
func ijStreams(seed uint64, n int, delay int64) (left, right []ijRec) {
	rng := rand.New(rand.NewPCG(seed, 0))
	for i := range n {
		left = append(left, ijRec{Key: rng.IntN(5), TS: int64(i) + rng.Int64N(delay+1), ID: fmt.Sprint("L", i)})
		right = append(right, ijRec{Key: rng.IntN(5), TS: int64(i) + rng.Int64N(delay+1), ID: fmt.Sprint("R", i)})
	}
	return left, right
}

// ijNestedLoops is the join by definition.
func ijNestedLoops(left, right []ijRec, b ijBounds) []string {
	lo, hi := b.interval()
	var out []string
	for _, l := range left {
		for _, r := range right {
			if l.Key == r.Key && r.TS >= l.TS+lo && r.TS <= l.TS+hi {
				out = append(out, l.ID+"+"+r.ID)
			}
		}
	}
	slices.Sort(out)
	return out
}

var ijRandomBounds = []ijBounds{
	{lower: -5 * time.Millisecond, upper: 3 * time.Millisecond},
	{lower: -2 * time.Millisecond, upper: time.Millisecond, lowerExclusive: true},
	{lower: 0, upper: 4 * time.Millisecond, upperExclusive: true},
	{lower: 2 * time.Millisecond, upper: 6 * time.Millisecond},
	{lower: -6 * time.Millisecond, upper: -time.Millisecond, lowerExclusive: true, upperExclusive: true},
	{lower: -3 * time.Millisecond, upper: -3 * time.Millisecond},
}

// TestIntervalJoinMatchesNestedLoops: on seeded random streams, out of
// order within their watermarks' delay, the job's output equals the
// nested-loop join, at parallelism 1 and 4, for bounds on both sides of
// zero, inclusive and exclusive.
func TestIntervalJoinMatchesNestedLoops(t *testing.T) {
	checkNoLeaks(t)
	const delay = 5
	left, right := ijStreams(42, 400, delay)
	tsOf := func(r ijRec) int64 { return r.TS }
	for _, b := range ijRandomBounds {
		want := ijNestedLoops(left, right, b)
		if len(want) == 0 {
			t.Fatalf("%v: the reference joins nothing: a useless case", b)
		}
		for _, p := range []int{1, 4} {
			t.Run(fmt.Sprintf("%v/p=%d", b, p), func(t *testing.T) {
				env := NewEnvironment().SetParallelism(p)
				got := ProcessJoin(ijJoin(timestamped(env, left, tsOf, delay), timestamped(env, right, tsOf, delay), b), ijDescribe).Collect()
				ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
				defer cancel()
				if err := env.Execute(ctx, t.Name()); err != nil {
					t.Fatal(err)
				}
				vals := got.Values()
				slices.Sort(vals)
				if !slices.Equal(vals, want) {
					t.Fatalf("%d pairs, want %d\n got %v\nwant %v", len(vals), len(want), clipStrings(vals), clipStrings(want))
				}
			})
		}
	}
}

func clipStrings(s []string) []string {
	if len(s) > 20 {
		return s[:20]
	}
	return s
}

// TestIntervalJoinStateIsBounded runs the same random streams through the
// four subtasks of a join of parallelism 4, each record routed to its
// key's subtask and every watermark to all, as the network does. After
// each watermark every subtask holds exactly the keys that still have
// records able to join (by Flink's cleanup times), and after the last none:
// state does not outlive its use. The output equals the nested-loop join.
func TestIntervalJoinStateIsBounded(t *testing.T) {
	const delay, p = 5, 4
	left, right := ijStreams(7, 300, delay)
	kc, err := codec.For[int]()
	if err != nil {
		t.Fatal(err)
	}
	subtaskOf := func(key int) int {
		return keygroup.OperatorIndex(128, p, keygroup.Of(kc.Append(nil, key), 128))
	}
	for _, b := range ijRandomBounds {
		t.Run(b.String(), func(t *testing.T) {
			lo, hi := b.interval()
			hs := make([]*twoInHarness[ijRec, ijRec, string], p)
			for i := range hs {
				hs[i] = ijHarness(t, b, i, p, nil)
			}
			// The buffered records, for the model of what state must hold.
			var bufL, bufR []ijRec
			wmL, wmR := int64(operator.MinWatermark), int64(operator.MinWatermark)
			maxL, maxR := int64(operator.MinWatermark), int64(operator.MinWatermark)
			buffered := 0 // checks that found state, so that the test is not vacuous
			check := func() {
				t.Helper()
				wm := min(wmL, wmR)
				live := make([]map[string]bool, p)
				for i := range live {
					live[i] = map[string]bool{}
				}
				// Flink's cleanup times: a left record at ts until ts+hi (ts if
				// hi <= 0), a right one until ts-lo (ts if lo >= 0).
				for _, r := range bufL {
					if r.TS+max(hi, 0) > wm {
						live[subtaskOf(r.Key)][fmt.Sprint("L", r.Key)] = true
					}
				}
				for _, r := range bufR {
					if r.TS-min(lo, 0) > wm {
						live[subtaskOf(r.Key)][fmt.Sprint("R", r.Key)] = true
					}
				}
				for i, h := range hs {
					buffered += len(live[i])
					if got := ijEntries(h); got != len(live[i]) {
						t.Fatalf("subtask %d at watermark %d: %d keyed state entries, want %d (%v)", i, wm, got, len(live[i]), live[i])
					}
				}
			}
			for i := range left {
				l, r := left[i], right[i]
				hs[subtaskOf(l.Key)].first(l, l.TS)
				bufL = append(bufL, l)
				if maxL = max(maxL, l.TS); maxL-delay-1 > wmL {
					wmL = maxL - delay - 1
					for _, h := range hs {
						h.must(h.in1.EmitWatermark(wmL))
					}
					check()
				}
				hs[subtaskOf(r.Key)].second(r, r.TS)
				bufR = append(bufR, r)
				if maxR = max(maxR, r.TS); maxR-delay-1 > wmR {
					wmR = maxR - delay - 1
					for _, h := range hs {
						h.must(h.in2.EmitWatermark(wmR))
					}
					check()
				}
			}
			if buffered == 0 {
				t.Fatal("no check found any state")
			}
			var got []string
			for _, h := range hs {
				h.watermarks(operator.MaxWatermark, operator.MaxWatermark)
				if n := ijEntries(h); n != 0 {
					t.Fatalf("%d keyed state entries after the final watermark", n)
				}
				for _, r := range h.take() {
					got = append(got, r.V)
				}
			}
			slices.Sort(got)
			if want := ijNestedLoops(left, right, b); !slices.Equal(got, want) {
				t.Fatalf("%d pairs, want %d", len(got), len(want))
			}
		})
	}
}
