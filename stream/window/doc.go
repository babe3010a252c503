// Package window holds the parts of Flink's windowing that do not depend on
// the window operator: window types, window assigners, triggers, evictors
// and the MergingWindowSet of merging (session) windows. They have Flink's
// semantics, in typed Go. The window operator, which owns the state, the
// timers and the records, is built from them elsewhere; nothing here starts
// a goroutine, does I/O or keeps state of its own beyond what a caller
// hands it.
//
// Times are int64 milliseconds since the Unix epoch. math.MinInt64 is the
// timestamp of a record without one and the watermark before the first;
// math.MaxInt64 is the watermark at the end of input. Sizes, slides, gaps
// and intervals are given as time.Duration and must be whole milliseconds.
//
// # Windows
//
// Window is the constraint on window types: comparable, with a
// MaxTimestamp. TimeWindow is [Start, End) and GlobalWindow is the one
// window of GlobalWindows. Both encode with codec.For, so that they can be
// state namespaces.
//
// # Assigners
//
// TumblingEventTimeWindows, TumblingProcessingTimeWindows,
// SlidingEventTimeWindows, SlidingProcessingTimeWindows,
// EventTimeSessionWindows, ProcessingTimeSessionWindows,
// DynamicEventTimeSessionWindows, DynamicProcessingTimeSessionWindows and
// GlobalWindows return an Assigner (a MergingAssigner for sessions). The
// record type is a type argument, since nothing else names it:
//
//	assigner := window.TumblingEventTimeWindows[Bid](time.Minute, 0)
//	trigger := window.PurgingTrigger(window.CountTrigger[Bid, window.TimeWindow](100))
//
// # Triggers and evictors
//
// EventTimeTrigger, ProcessingTimeTrigger, CountTrigger,
// ContinuousEventTimeTrigger, ContinuousProcessingTimeTrigger,
// PurgingTrigger and NeverTrigger return a Trigger; CountEvictor,
// TimeEvictor and DeltaEvictor an Evictor. A trigger keeps what it must
// remember (a count, the next fire time) in int64 reducing state and timers
// through its TriggerContext, under Flink's state names ("count",
// "fire-time"), so the same trigger value serves every key, window and
// subtask.
//
// # For the window operator
//
// The operator does what Flink's WindowOperator does:
//
//   - Before it starts, it calls Validate on the assigner, the trigger and
//     the evictor, and rejects a MergingAssigner whose trigger cannot merge
//     (CanMerge).
//   - Per record, it assigns windows into a slice it reuses. Under a
//     merging assigner it restores the key's MergingWindowSet, adds each
//     window (AddWindow, whose merge function merges trigger state and
//     contents), retires a window that is already late, and persists the
//     set if Modified. It adds the record to the contents of the window's
//     state window and calls the trigger for the window itself.
//   - Trigger state and timers are namespaced by the in-flight window;
//     window contents by its state window. (Under non-merging assigners
//     the two are the same.)
//   - On Fire it evaluates the contents (evicting before and after if
//     there is an evictor); on Purge it clears them. At cleanup time
//     (MaxTimestamp plus the allowed lateness, in event time; MaxTimestamp
//     in processing time) it clears the contents, calls the trigger's
//     Clear, and retires the window from the set.
//
// # Decisions
//
//   - Constructors never fail and never panic: each component whose
//     arguments can be invalid implements Validator, and Validate returns
//     an error wrapping ErrInvalidConfig that names the component and the
//     value. This fits a dataflow that is checked as a whole before it runs.
//     A component used without validation returns the same error from the
//     methods that return errors; an invalid evictor evicts nothing.
//   - AssignWindows returns ([]W, error), so that a record without
//     timestamp (ErrNoTimestamp), a dynamic gap that is not positive
//     (ErrInvalidGap) or a window outside int64 (ErrTimestampOutOfRange)
//     fails the job with a message instead of a panic. This includes
//     event-time session windows, which Flink lets open at
//     Long.MIN_VALUE.
//   - Window starts are floored: start = ts - floormod(ts - offset, size),
//     as current Flink computes it, so negative timestamps get the
//     window that contains them (Flink's older ts - (ts - offset + size) %
//     size did not, below ts - offset = -size). The arithmetic cannot
//     overflow.
//   - Everything is deterministic where Flink leaves an order to a hash
//     set: MergeTimeWindows reports groups in order of start, their windows
//     sorted by (start, end); MergingWindowSet gives the result of a merge
//     the state window of its first merged window.
//   - MergingWindowSet keeps the state window of a window added again
//     while in flight, where Flink remaps it to itself and loses its
//     contents (TestMergingWindowSetModel finds that with dynamic gaps);
//     it rejects an impossible merge from an assigner (ErrInvalidMerge)
//     before changing anything; RetireWindow of an unknown window returns
//     ErrUnknownWindow where Flink throws.
//   - ContinuousEventTimeTrigger floors its fire times for negative
//     timestamps and deletes its end-of-window timer in Clear;
//     ContinuousProcessingTimeTrigger does not register a timer at the time
//     that is firing. Neither changes what is emitted (see their docs).
//   - Evictors filter in place and zero the slots they free, so that
//     evicted values can be collected; TimeEvictor, as Flink's, looks only
//     at the first element to decide whether elements have timestamps.
//   - Not provided yet: window staggering (Flink's WindowStagger),
//     DeltaTrigger, ProcessingTimeoutTrigger.
//
// # Concurrency and ownership
//
// Assigners, triggers and evictors are immutable values, safe to share
// between goroutines. A MergingWindowSet is not safe for concurrent use.
// Contexts passed to a method are valid only during the call. Slices passed
// to callbacks (merge functions) are valid only during the callback.
// AssignWindows appends to the caller's slice; evictors return a prefix of
// theirs.
//
// # Tests
//
// The golden tests walk testdata/*.txt (assign, merge, merging_window_set,
// trigger, evict), which read as tables of input and expected output;
// `go test ./stream/window -run Golden -rewrite` regenerates the outputs
// for review. Triggers run against fakeTriggerContext, a fake of the
// operator's timers and state, in fake_test.go.
//
// # Invariants
//
// Each is proven by the tests named with it.
//
//  1. Coverage: every time window assigned to a time contains it. Tumbling
//     assigners return one window of the size, aligned to the offset;
//     sliding assigners return exactly the windows of the size aligned to
//     the slide that contain it, latest start first; session assigners
//     return [t, t+gap). A window that int64 cannot hold is an error, never
//     a wrapped value (TestWindowStartIsFloor,
//     TestAssignersContainTimestamp, TestGoldenAssign).
//  2. Allocation: with capacity in dst, AssignWindows allocates nothing;
//     neither do MergeTimeWindows, the evictors, nor AddWindow and
//     RetireWindow on a set reused through Restore (TestAssignDoesNotAllocate,
//     TestMergeTimeWindowsComponents, TestEvictDoesNotAllocate,
//     TestMergingWindowSetAllocations).
//  3. Merging: MergeTimeWindows reports exactly the connected components
//     of two or more distinct windows under Intersects, each with its cover
//     (TestMergeTimeWindowsComponents, TestGoldenMerge).
//  4. Conservation: under any sequence of AddWindow, RetireWindow and
//     Snapshot/Restore, in-flight time windows do not intersect, no two
//     share a state window, and an operator that merges state as the merge
//     function says finds every record in the state window of the one
//     in-flight window that contains the record's window, and nowhere else;
//     the new window is never among the merged windows, nor the result's
//     state window among the merged state windows. An invalid merge from
//     the assigner changes nothing (TestMergingWindowSetModel,
//     TestGoldenMergingWindowSet, TestMergingWindowSetRejectsBadMerges).
//  5. Cleanup: after a trigger's Clear, no timer and no state of the
//     window remain, whatever the trigger did before, for every trigger of
//     this package (TestTriggersClearLeaveNothing, TestGoldenTrigger).
//  6. Purging: PurgingTrigger's result is its nested trigger's with Purge
//     added whenever it fires (TestPurgingTrigger).
//  7. Eviction: an evictor returns, in order, exactly the elements its rule
//     keeps, from the one method its evictAfter selects
//     (TestEvictorsKeepSubsequence, TestGoldenEvict).
//  8. Namespaces: TimeWindow and GlobalWindow have default codecs that
//     round-trip (TestWindowCodecs).
//  9. Validation: every invalid argument is reported by Validate, naming
//     the component, and an invalid component used anyway returns that
//     error rather than panicking (TestValidate, TestInvalidTriggersFail,
//     TestGoldenAssign, TestGoldenTrigger).
package window
