package window

import (
	"errors"
	"fmt"
	"maps"
	"math/rand/v2"
	"slices"
	"testing"
	"time"
)

// TestMergingWindowSetModel proves invariant 4 by running random sequences
// of AddWindow, RetireWindow and Snapshot/Restore against a model of the
// window operator's state: each namespace holds the ids of the records
// added to it, the merge function moves the merged state windows' ids into
// the result's state window, and retiring a window clears its state
// window. After every step:
//
//   - in-flight windows do not intersect, and each contains the windows of
//     the records in it;
//   - no two in-flight windows share a state window;
//   - the namespaces holding records are exactly the in-flight windows'
//     state windows, and each holds exactly the records of its window:
//     no record is lost or shows up in another window;
//   - the merge function never sees the new window among the merged
//     windows, nor the result's state window among the merged state
//     windows.
func TestMergingWindowSetModel(t *testing.T) {
	rng := rand.New(rand.NewPCG(9, 10))
	assigner := DynamicEventTimeSessionWindows(func(gap time.Duration) time.Duration { return gap })
	for run := range 300 {
		set := NewMergingWindowSet(assigner.MergeWindows)
		contents := map[TimeWindow][]int{}   // namespace -> record ids
		recordWindow := map[int]TimeWindow{} // record id -> in-flight window
		assigned := map[int]TimeWindow{}     // record id -> window it was assigned
		var log []string
		for id := range 60 {
			if set.Len() > 0 && rng.IntN(6) == 0 {
				windows := slices.SortedFunc(maps.Keys(set.Snapshot()), compareWindows)
				w := windows[rng.IntN(len(windows))]
				log = append(log, fmt.Sprintf("retire %v", w))
				sw, _ := set.StateWindow(w)
				if err := set.RetireWindow(w); err != nil {
					t.Fatal(err)
				}
				delete(contents, sw)
				for r, rw := range recordWindow {
					if rw == w {
						delete(recordWindow, r)
					}
				}
				continue
			}
			if rng.IntN(10) == 0 {
				// Persist and restore into a new set, as the operator does
				// for every key.
				restored := NewMergingWindowSet(assigner.MergeWindows)
				restored.Restore(set.Snapshot())
				set = restored
			}
			gap := time.Duration(1+rng.IntN(15)) * time.Millisecond
			ws, err := assigner.AssignWindows(nil, gap, rng.Int64N(200), nil)
			if err != nil {
				t.Fatal(err)
			}
			newWindow := ws[0]
			_, wasInFlight := set.StateWindow(newWindow)
			log = append(log, fmt.Sprintf("add %v", newWindow))
			result, err := set.AddWindow(newWindow, func(result TimeWindow, merged []TimeWindow, stateResult TimeWindow, mergedState []TimeWindow) error {
				log = append(log, fmt.Sprintf("  merge %v <- %v; state %v <- %v", result, merged, stateResult, mergedState))
				if !wasInFlight && slices.Contains(merged, newWindow) {
					return fmt.Errorf("new window %v among the merged windows", newWindow)
				}
				if slices.Contains(mergedState, stateResult) {
					return fmt.Errorf("state window %v among the merged state windows", stateResult)
				}
				for _, sw := range mergedState {
					contents[stateResult] = append(contents[stateResult], contents[sw]...)
					delete(contents, sw)
				}
				for r, rw := range recordWindow {
					if slices.Contains(merged, rw) {
						recordWindow[r] = result
					}
				}
				return nil
			})
			if err != nil {
				t.Fatalf("run %d: %v\n%v", run, err, log)
			}
			if result.Cover(newWindow) != result {
				t.Fatalf("run %d: %v does not contain %v\n%v", run, result, newWindow, log)
			}
			sw, ok := set.StateWindow(result)
			if !ok {
				t.Fatalf("run %d: result %v not in flight\n%v", run, result, log)
			}
			contents[sw] = append(contents[sw], id)
			recordWindow[id], assigned[id] = result, newWindow
			checkModel(t, set, contents, recordWindow, assigned, log)
		}
	}
}

func checkModel(t *testing.T, set *MergingWindowSet[TimeWindow], contents map[TimeWindow][]int, recordWindow, assigned map[int]TimeWindow, log []string) {
	t.Helper()
	mapping := set.Snapshot()
	windows := slices.SortedFunc(maps.Keys(mapping), compareWindows)
	for i := 1; i < len(windows); i++ {
		if windows[i-1].Intersects(windows[i]) {
			t.Fatalf("in-flight %v and %v intersect\n%v", windows[i-1], windows[i], log)
		}
	}
	stateOwner := map[TimeWindow]TimeWindow{}
	for w, sw := range mapping {
		if other, dup := stateOwner[sw]; dup {
			t.Fatalf("%v and %v share state window %v\n%v", w, other, sw, log)
		}
		stateOwner[sw] = w
	}
	for ns := range contents {
		if _, ok := stateOwner[ns]; !ok && len(contents[ns]) > 0 {
			t.Fatalf("namespace %v holds %v but is no in-flight window's state\n%v", ns, contents[ns], log)
		}
	}
	for w, sw := range mapping {
		var want []int
		for r, rw := range recordWindow {
			if rw == w {
				want = append(want, r)
				if w.Cover(assigned[r]) != w {
					t.Fatalf("record %d of %v is in %v\n%v", r, assigned[r], w, log)
				}
			}
		}
		got := slices.Clone(contents[sw])
		slices.Sort(got)
		slices.Sort(want)
		if !slices.Equal(got, want) {
			t.Fatalf("window %v (state %v) holds %v, want %v\n%v", w, sw, got, want, log)
		}
	}
}

// TestMergingWindowSetRejectsBadMerges proves that a merging function that
// reports an impossible merge is an ErrInvalidMerge, and that the set is
// unchanged by it.
func TestMergingWindowSetRejectsBadMerges(t *testing.T) {
	a, b, c := TimeWindow{0, 10}, TimeWindow{20, 30}, TimeWindow{40, 50}
	for name, report := range map[string]func(windows []TimeWindow, merge func(TimeWindow, []TimeWindow)){
		"one window": func(_ []TimeWindow, merge func(TimeWindow, []TimeWindow)) { merge(a, []TimeWindow{a}) },
		"unknown":    func(_ []TimeWindow, merge func(TimeWindow, []TimeWindow)) { merge(b, []TimeWindow{a, b}) },
		"twice":      func(_ []TimeWindow, merge func(TimeWindow, []TimeWindow)) { merge(a, []TimeWindow{a, a}) },
		"in two merges": func(_ []TimeWindow, merge func(TimeWindow, []TimeWindow)) {
			merge(a, []TimeWindow{a, c})
			merge(c, []TimeWindow{c, a})
		},
	} {
		merging := false
		set := NewMergingWindowSet(func(windows []TimeWindow, merge func(TimeWindow, []TimeWindow)) {
			if merging {
				report(windows, merge)
			}
		})
		if _, err := set.AddWindow(a, nil); err != nil {
			t.Fatal(err)
		}
		merging = true
		before := set.Snapshot()
		_, err := set.AddWindow(c, func(TimeWindow, []TimeWindow, TimeWindow, []TimeWindow) error {
			t.Errorf("%s: merge function called", name)
			return nil
		})
		if !errors.Is(err, ErrInvalidMerge) {
			t.Errorf("%s: AddWindow error %v", name, err)
		}
		if !maps.Equal(before, set.Snapshot()) {
			t.Errorf("%s: set changed to %v", name, set)
		}
	}
}

// TestMergingWindowSetMergeError proves that an error of the merge function
// is returned by AddWindow.
func TestMergingWindowSetMergeError(t *testing.T) {
	set := NewMergingWindowSet(EventTimeSessionWindows[int](time.Second).MergeWindows)
	noMerge := func(TimeWindow, []TimeWindow, TimeWindow, []TimeWindow) error { return nil }
	if _, err := set.AddWindow(TimeWindow{0, 10}, noMerge); err != nil {
		t.Fatal(err)
	}
	boom := errors.New("boom")
	_, err := set.AddWindow(TimeWindow{5, 15}, func(TimeWindow, []TimeWindow, TimeWindow, []TimeWindow) error { return boom })
	if !errors.Is(err, boom) {
		t.Errorf("AddWindow error %v, want boom", err)
	}
}

// TestMergingWindowSetAllocations proves that a set reused across keys
// with Restore allocates nothing per AddWindow once warmed up.
func TestMergingWindowSetAllocations(t *testing.T) {
	set := NewMergingWindowSet(EventTimeSessionWindows[int](time.Second).MergeWindows)
	persisted := map[TimeWindow]TimeWindow{{0, 10}: {0, 10}, {20, 30}: {22, 28}, {100, 110}: {100, 110}}
	merge := func(TimeWindow, []TimeWindow, TimeWindow, []TimeWindow) error { return nil }
	allocs := testing.AllocsPerRun(100, func() {
		set.Restore(persisted)
		for _, w := range []TimeWindow{{9, 21}, {200, 210}, {205, 215}, {50, 60}} {
			if _, err := set.AddWindow(w, merge); err != nil {
				t.Fatal(err)
			}
		}
		if err := set.RetireWindow(TimeWindow{50, 60}); err != nil {
			t.Fatal(err)
		}
	})
	if allocs != 0 {
		t.Errorf("%v allocations per round", allocs)
	}
}
