package window

import (
	"fmt"
	"iter"
	"maps"
	"slices"
)

// MergingWindowSet tracks the in-flight windows of one key under a merging
// assigner, and for each the state window: the window whose namespace holds
// the contents of the in-flight window. (Trigger state and timers are kept
// under the in-flight window itself, as in Flink.) It is Flink's
// MergingWindowSet.
//
// When windows merge, their contents are not moved to a namespace named
// after the merged window: one of the merged windows' state windows is kept
// as the state window of the result, and the others' state is merged into
// it. So a growing session keeps the namespace of the window that started
// it, however often it grows.
//
// A MergingWindowSet is the state of one key. The operator restores it
// from keyed state (Restore) before handling a record or timer of the key,
// and persists it (Snapshot, or Windows) when Modified says it changed.
// Reusing one set for every key, with Restore, allocates nothing once its
// map and buffers have grown. It is not safe for concurrent use.
type MergingWindowSet[W Window] struct {
	mergeWindows func(windows []W, merge func(result W, merged []W))
	mapping      map[W]W
	modified     bool

	// Scratch, reused by AddWindow: the windows given to mergeWindows,
	// the merges it reported (results and a flat list of their windows),
	// and the state windows of one merge.
	windows      []W
	results      []W
	ends         []int
	merged       []W
	stateWindows []W
	collect      func(result W, merged []W)
}

// NewMergingWindowSet returns an empty set that merges windows with
// mergeWindows, usually the MergeWindows method of a MergingAssigner:
//
//	set := window.NewMergingWindowSet(assigner.MergeWindows)
func NewMergingWindowSet[W Window](mergeWindows func(windows []W, merge func(result W, merged []W))) *MergingWindowSet[W] {
	s := &MergingWindowSet[W]{mergeWindows: mergeWindows, mapping: make(map[W]W)}
	s.collect = func(result W, merged []W) {
		s.results = append(s.results, result)
		s.merged = append(s.merged, merged...)
		s.ends = append(s.ends, len(s.merged))
	}
	return s
}

// StateWindow returns the state window of the in-flight window w, and
// false if w is not in flight.
func (s *MergingWindowSet[W]) StateWindow(w W) (W, bool) {
	sw, ok := s.mapping[w]
	return sw, ok
}

// Len returns the number of in-flight windows.
func (s *MergingWindowSet[W]) Len() int { return len(s.mapping) }

// Windows returns an iterator over the in-flight windows and their state
// windows, in unspecified order. The set must not be changed while
// iterating.
func (s *MergingWindowSet[W]) Windows() iter.Seq2[W, W] {
	return func(yield func(W, W) bool) {
		for w, sw := range s.mapping {
			if !yield(w, sw) {
				return
			}
		}
	}
}

// Modified reports whether the mapping changed since the set was made or
// last restored: whether the operator must persist it.
func (s *MergingWindowSet[W]) Modified() bool { return s.modified }

// Snapshot returns a copy of the mapping from in-flight window to state
// window, for the operator to persist.
func (s *MergingWindowSet[W]) Snapshot() map[W]W { return maps.Clone(s.mapping) }

// Restore replaces the mapping with a copy of m, which must come from
// Snapshot (or Windows) of a set with the same merging function, and
// clears Modified. A nil or empty m leaves the set empty.
func (s *MergingWindowSet[W]) Restore(m map[W]W) {
	clear(s.mapping)
	maps.Copy(s.mapping, m)
	s.modified = false
}

// RetireWindow removes w from the in-flight windows, when the operator
// discards it (after its cleanup time, or when it is late on arrival). It
// returns an error wrapping ErrUnknownWindow if w is not in flight: the
// operator's bookkeeping is broken (Flink throws IllegalStateException).
func (s *MergingWindowSet[W]) RetireWindow(w W) error {
	if _, ok := s.mapping[w]; !ok {
		return fmt.Errorf("%w: %v", ErrUnknownWindow, w)
	}
	delete(s.mapping, w)
	s.modified = true
	return nil
}

// AddWindow adds newWindow, a window just assigned to a record, to the
// in-flight windows, merges it with those it must merge with (as the
// merging function decides), and returns the window it ended up in: the
// window the operator must add the record to and call the trigger for.
// That is newWindow itself if it merged with nothing, or the result of its
// merge otherwise (which may be an in-flight window that already contained
// it).
//
// For every merge that changes the in-flight windows, AddWindow calls
// merge(result, mergedWindows, stateWindowResult, mergedStateWindows):
//
//   - result is the window the group merged into; it is now in flight.
//   - mergedWindows are the in-flight windows of the group, which are no
//     longer in flight (unless one equals result). newWindow is never among
//     them: it had no state.
//   - stateWindowResult is the state window of result: the state window of
//     the first of mergedWindows (in the order of the merging function,
//     which for time windows is by start). Flink takes an arbitrary one.
//   - mergedStateWindows are the state windows of the other merged
//     windows, whose contents the operator merges into stateWindowResult's.
//     stateWindowResult is never among them.
//
// The operator's merge function does what Flink's does: it calls the
// trigger's OnMerge for result (trigger state and timers belong to the
// in-flight windows, so MergeInt64State merges those of mergedWindows),
// then the trigger's Clear and the deletion of the cleanup timer for each
// of mergedWindows, then merges the contents of mergedStateWindows into
// stateWindowResult (state.Merging.MergeNamespaces). A merge that changes
// nothing, newWindow falling inside an in-flight window without extending
// it, is not reported.
//
// The slices given to merge are valid only during the call, and merge must
// not call the set's methods. If merge or
// the merging function fails, AddWindow returns the error, and the set, like
// the window state, is then in an unknown state: the job fails and
// restores from a checkpoint.
//
// One decision differs from Flink: if newWindow is already in flight and
// merges with nothing, its state window is kept. (Flink maps it to itself
// again, which loses the contents of a window whose state window is
// another: reachable with dynamic session gaps.)
func (s *MergingWindowSet[W]) AddWindow(newWindow W, merge func(result W, mergedWindows []W, stateWindowResult W, mergedStateWindows []W) error) (W, error) {
	_, inFlight := s.mapping[newWindow]
	s.windows = s.windows[:0]
	for w := range s.mapping {
		s.windows = append(s.windows, w)
	}
	if !inFlight {
		s.windows = append(s.windows, newWindow)
	}
	s.results, s.merged, s.ends = s.results[:0], s.merged[:0], s.ends[:0]
	s.mergeWindows(s.windows, s.collect)
	if err := s.checkMerges(newWindow); err != nil {
		return newWindow, err
	}

	result, mergedNew := newWindow, false
	start := 0
	for i, mergeResult := range s.results {
		group := s.merged[start:s.ends[i]]
		start = s.ends[i]
		if slices.Contains(group, newWindow) {
			result, mergedNew = mergeResult, true
			if !inFlight {
				group = slices.DeleteFunc(group, func(w W) bool { return w == newWindow })
			}
		}
		if len(group) == 1 && group[0] == mergeResult {
			// newWindow fell inside an in-flight window: nothing changes.
			continue
		}
		stateWindow := s.mapping[group[0]]
		s.stateWindows = s.stateWindows[:0]
		for _, w := range group {
			if sw := s.mapping[w]; sw != stateWindow {
				s.stateWindows = append(s.stateWindows, sw)
			}
			delete(s.mapping, w)
		}
		s.mapping[mergeResult] = stateWindow
		s.modified = true
		if err := merge(mergeResult, group, stateWindow, s.stateWindows); err != nil {
			return result, err
		}
	}
	if !inFlight && !mergedNew {
		s.mapping[newWindow] = newWindow
		s.modified = true
	}
	return result, nil
}

// checkMerges checks, before anything changes, that the merges the merging
// function reported can be applied: each group has two or more distinct
// windows, each in flight or newWindow, and no window is in two groups.
func (s *MergingWindowSet[W]) checkMerges(newWindow W) error {
	start := 0
	for i, result := range s.results {
		group := s.merged[start:s.ends[i]]
		start = s.ends[i]
		if len(group) < 2 {
			return fmt.Errorf("%w: %v from %v", ErrInvalidMerge, result, group)
		}
		for j, w := range group {
			if _, ok := s.mapping[w]; !ok && w != newWindow {
				return fmt.Errorf("%w: %v from %v: %v is not in flight", ErrInvalidMerge, result, group, w)
			}
			if slices.Contains(group[:j], w) || slices.Contains(s.merged[:start-len(group)], w) {
				return fmt.Errorf("%w: %v from %v: %v is merged twice", ErrInvalidMerge, result, group, w)
			}
		}
	}
	return nil
}

// String describes the set, for debugging: its windows and their state
// windows, in unspecified order.
func (s *MergingWindowSet[W]) String() string {
	return fmt.Sprintf("MergingWindowSet%v", s.mapping)
}
