package state_test

import (
	"fmt"
	"time"

	"github.com/runnel-io/runnel/codec"
	"github.com/runnel-io/runnel/runtime/clock"
	"github.com/runnel-io/runnel/state"
	"github.com/runnel-io/runnel/state/keygroup"
)

// A keyed operator counts records per user; counts of users idle for an
// hour are forgotten.
func Example() {
	counts := state.Value[int64]("count").WithTTL(state.TTLConfig{TTL: time.Hour})

	clk := clock.NewManual(time.Unix(0, 0))
	// Subtask 0 of 1: all 128 key groups.
	b := state.NewKeyedBackend(codec.String(), 128, keygroup.RangeFor(128, 1, 0), clk)
	count, err := state.GetValueState[state.VoidNamespace](b, counts)
	if err != nil {
		panic(err)
	}
	process := func(user string) {
		b.SetCurrentKey(user)
		n, _, err := count.Value()
		if err != nil {
			panic(err)
		}
		if err := count.Update(n + 1); err != nil {
			panic(err)
		}
		fmt.Printf("%s: %d\n", user, n+1)
	}
	process("ann")
	process("bob")
	process("ann")
	clk.Advance(2 * time.Hour)
	process("ann")
	// Output:
	// ann: 1
	// bob: 1
	// ann: 2
	// ann: 1
}

// A session window operator keeps a sum per window (the namespace) and
// merges the sums when windows merge.
func Example_mergeNamespaces() {
	type window struct{ Start, End int64 }
	sums := state.Reducing("sum", func(a, b int) (int, error) { return a + b, nil })

	b := state.NewKeyedBackend(codec.String(), 128, keygroup.RangeFor(128, 1, 0), clock.System{})
	sum, err := state.GetReducingState[window](b, sums)
	if err != nil {
		panic(err)
	}
	b.SetCurrentKey("ann")
	sum.SetNamespace(window{0, 10})
	_ = sum.Add(1)
	sum.SetNamespace(window{5, 15})
	_ = sum.Add(2)
	// The two sessions overlap: merge them into [0, 15).
	merged := window{0, 15}
	_ = sum.MergeNamespaces(merged, []window{{0, 10}, {5, 15}})
	sum.SetNamespace(merged)
	v, ok, _ := sum.Get()
	fmt.Println(v, ok, b.NumEntries())
	// Output: 3 true 1
}
