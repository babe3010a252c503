package state

import (
	"math/rand/v2"
	"testing"
)

// TestCleanupLapVisitsEveryEntry proves invariant 5: under any interleaving
// of inserts, removals and cleanup steps, every entry stored when the
// cleanup cursor starts a lap, and not removed during it, is checked before
// the lap ends; and the table's index stays consistent with its slots.
func TestCleanupLapVisitsEveryEntry(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	const groups = 8
	tb := newTable[int, int, int](groups) // the entry is the key's id
	groupOf := map[int]int{}              // live key -> its group
	expired := map[int]bool{}
	mustVisit := map[int]bool{} // live since the lap started
	visited := map[int]bool{}
	rejected := map[int]bool{} // checked while expired: cleanup must remove them
	keep := func(e *int, _ int64) bool {
		visited[*e] = true
		if expired[*e] {
			rejected[*e] = true
			return false
		}
		return true
	}
	gone := func(k int) {
		delete(groupOf, k)
		delete(expired, k)
		delete(mustVisit, k)
	}
	anyKey := func() (int, bool) {
		for k := range groupOf { // random enough: map order
			return k, true
		}
		return 0, false
	}

	next, laps := 0, 0
	for op := range 30_000 {
		// Inserts stop at 64 entries, so that the table churns at a size
		// where the checks below stay cheap.
		switch r := rng.IntN(100); {
		case r < 35 && len(groupOf) < 64:
			g := rng.IntN(groups)
			if rng.IntN(4) == 0 {
				g = 3 // crowd one group
			}
			tb.insert(g, nsKey[int, int]{k: next, n: next % 3}, next)
			groupOf[next] = g
			next++
		case r < 55:
			if k, ok := anyKey(); ok {
				if _, found := tb.remove(groupOf[k], nsKey[int, int]{k: k, n: k % 3}); !found {
					t.Fatalf("op %d: key %d not found in group %d", op, k, groupOf[k])
				}
				gone(k)
			}
		case r < 60:
			if k, ok := anyKey(); ok {
				expired[k] = true
			}
		default:
			before := tb.cg
			budget := 1 + rng.IntN(3)
			for range budget {
				tb.cleanup(1, 0, keep)
				if tb.cg < before { // wrapped: a lap ended
					for k := range mustVisit {
						if !visited[k] {
							t.Fatalf("op %d, lap %d: key %d (group %d) was stored all lap but never checked", op, laps, k, groupOf[k])
						}
					}
					laps++
					clear(visited)
					clear(mustVisit)
					for k := range groupOf {
						mustVisit[k] = true
					}
				}
				before = tb.cg
			}
			for k := range rejected {
				if _, e := tb.find(groupOf[k], nsKey[int, int]{k: k, n: k % 3}); e != nil {
					t.Fatalf("op %d: expired key %d was checked but not removed", op, k)
				}
				gone(k)
			}
			clear(rejected)
		}
		// The table's own invariants.
		n := 0
		for g := range tb.groups {
			grp := &tb.groups[g]
			checkGroup(t, grp)
			for _, sl := range grp.slots {
				if groupOf[sl.e] != g {
					t.Fatalf("op %d: key %d is in group %d, inserted into %d", op, sl.e, g, groupOf[sl.e])
				}
			}
			n += len(grp.slots)
		}
		if n != tb.n || n != len(groupOf) {
			t.Fatalf("op %d: table counts %d entries, holds %d, want %d", op, tb.n, n, len(groupOf))
		}
		if tb.ci > len(tb.groups[tb.cg].slots) {
			t.Fatalf("op %d: cursor %d past the end of group %d (%d slots)", op, tb.ci, tb.cg, len(tb.groups[tb.cg].slots))
		}
	}
	if laps < 100 {
		t.Fatalf("only %d cleanup laps: the test exercised too little", laps)
	}
	t.Logf("%d laps, %d entries at the end", laps, tb.n)
}

// TestTableShrinks checks that a group's slots are reallocated smaller when
// most of its entries are gone, so that memory follows the live set.
func TestTableShrinks(t *testing.T) {
	tb := newTable[int, VoidNamespace, int](1)
	for i := range 10_000 {
		tb.insert(0, nsKey[int, VoidNamespace]{k: i}, i)
	}
	for i := range 9_990 {
		tb.remove(0, nsKey[int, VoidNamespace]{k: i})
	}
	grp := &tb.groups[0]
	checkGroup(t, grp)
	if c := cap(grp.slots); c > 100 {
		t.Fatalf("cap(slots) = %d for %d entries", c, len(grp.slots))
	}
}
