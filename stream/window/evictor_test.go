package window

import (
	"math"
	"math/rand/v2"
	"slices"
	"testing"
	"time"
)

// TestEvictorsKeepSubsequence proves invariant 7: every evictor returns, in
// their order, exactly the elements its rule keeps (the last max; those
// with timestamp > latest - keep; those with delta to the last < threshold),
// only from the method its evictAfter selects, and zeroes the slots of
// elems it no longer uses.
func TestEvictorsKeepSubsequence(t *testing.T) {
	rng := rand.New(rand.NewPCG(11, 12))
	delta := func(old, new *int) float64 { return math.Abs(float64(*new - *old)) }
	w, ctx := TimeWindow{0, 1000}, fakeClock{}
	for range 3000 {
		n := rng.IntN(12)
		elems := make([]TimestampedValue[*int], n)
		for i := range elems {
			v := rng.IntN(20)
			elems[i] = TimestampedValue[*int]{&v, rng.Int64N(100)}
		}
		max := rng.IntN(8)
		keep := rng.Int64N(50)
		threshold := float64(rng.IntN(10))
		latest := int64(math.MinInt64)
		for _, e := range elems {
			latest = maxInt64(latest, e.Timestamp)
		}
		for _, tc := range []struct {
			ev   Evictor[*int, TimeWindow]
			kept func(i int) bool
		}{
			{CountEvictor[*int, TimeWindow](max, false), func(i int) bool { return i >= n-max }},
			{TimeEvictor[*int, TimeWindow](time.Duration(keep)*time.Millisecond, false), func(i int) bool { return elems[i].Timestamp > latest-keep }},
			{DeltaEvictor[*int, TimeWindow](threshold, delta, false), func(i int) bool { return delta(elems[i].Value, elems[n-1].Value) < threshold }},
		} {
			var want []TimestampedValue[*int]
			for i := range elems {
				if tc.kept(i) {
					want = append(want, elems[i])
				}
			}
			for _, after := range []bool{false, true} {
				ev := tc.ev
				if after {
					ev = withAfter(ev)
				}
				in := slices.Clone(elems)
				first, second := ev.EvictBefore, ev.EvictAfter
				if after {
					first, second = second, first
				}
				if got := second(in, w, ctx); len(got) != n {
					t.Fatalf("%v: the other method evicted", ev)
				}
				got := first(in, w, ctx)
				if !slices.Equal(got, want) {
					t.Fatalf("%v on %v: kept %v, want %v", ev, elems, got, want)
				}
				for _, e := range in[len(got):] {
					if e != (TimestampedValue[*int]{}) {
						t.Fatalf("%v: slot past the kept elements not zeroed", ev)
					}
				}
			}
		}
	}
}

func maxInt64(a, b int64) int64 { return max(a, b) }

// withAfter returns the same evictor with evictAfter set.
func withAfter[T any](ev Evictor[T, TimeWindow]) Evictor[T, TimeWindow] {
	switch e := ev.(type) {
	case *countEvictor[T, TimeWindow]:
		return CountEvictor[T, TimeWindow](e.max, true)
	case *timeEvictor[T, TimeWindow]:
		return TimeEvictor[T, TimeWindow](e.keep, true)
	case *deltaEvictor[T, TimeWindow]:
		return DeltaEvictor[T, TimeWindow](e.threshold, e.delta, true)
	}
	panic("unknown evictor")
}

// TestEvictDoesNotAllocate proves that evictors work in place.
func TestEvictDoesNotAllocate(t *testing.T) {
	var ctx EvictorContext = fakeClock{}
	elems := make([]TimestampedValue[int], 10)
	for _, ev := range []Evictor[int, TimeWindow]{
		CountEvictor[int, TimeWindow](3, false),
		TimeEvictor[int, TimeWindow](5*time.Millisecond, false),
		DeltaEvictor[int, TimeWindow](4, func(a, b int) float64 { return float64(b - a) }, false),
	} {
		allocs := testing.AllocsPerRun(100, func() {
			for i := range elems {
				elems[i] = TimestampedValue[int]{i, int64(i)}
			}
			_ = ev.EvictBefore(elems, TimeWindow{0, 10}, ctx)
		})
		if allocs != 0 {
			t.Errorf("%v: %v allocations", ev, allocs)
		}
	}
}
