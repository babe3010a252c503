package window

import (
	"cmp"
	"math"
	"slices"
	"strconv"
)

// Window is the constraint satisfied by window types: comparable values
// (they are map keys and state namespaces) with a largest timestamp that
// still belongs to the window. Event-time windows are complete, and their
// state can be cleaned up, once the watermark passes MaxTimestamp plus the
// allowed lateness.
type Window interface {
	comparable
	// MaxTimestamp returns the largest timestamp, in milliseconds, that
	// belongs to the window.
	MaxTimestamp() int64
}

// TimeWindow is the window of timestamps from Start (inclusive) to End
// (exclusive), in milliseconds. It is used as a map key and as a state
// namespace; codec.For encodes it as its two fields.
type TimeWindow struct {
	Start, End int64
}

// MaxTimestamp returns End-1, the last millisecond of the window.
func (w TimeWindow) MaxTimestamp() int64 { return w.End - 1 }

// Intersects reports whether w and o overlap or touch: as in Flink,
// [0, 10) and [10, 20) intersect, so that session windows one gap apart
// merge.
func (w TimeWindow) Intersects(o TimeWindow) bool {
	return w.Start <= o.End && w.End >= o.Start
}

// Cover returns the smallest window that contains both w and o.
func (w TimeWindow) Cover(o TimeWindow) TimeWindow {
	return TimeWindow{Start: min(w.Start, o.Start), End: max(w.End, o.End)}
}

// String returns "[start, end)".
func (w TimeWindow) String() string {
	b := make([]byte, 0, 48)
	b = append(b, '[')
	b = strconv.AppendInt(b, w.Start, 10)
	b = append(b, ", "...)
	b = strconv.AppendInt(b, w.End, 10)
	b = append(b, ')')
	return string(b)
}

// GlobalWindow is the single window of GlobalWindows, which holds every
// record of a key. It never ends: MaxTimestamp is math.MaxInt64, which the
// watermark reaches only at the end of input.
type GlobalWindow struct{}

// MaxTimestamp returns math.MaxInt64.
func (GlobalWindow) MaxTimestamp() int64 { return math.MaxInt64 }

// String returns "GlobalWindow".
func (GlobalWindow) String() string { return "GlobalWindow" }

// MergeTimeWindows merges intersecting time windows as Flink's
// TimeWindow.mergeWindows does, and is the MergeWindows of the session
// assigners. It sorts the windows by start (then end), sweeps them while
// keeping the cover of the current group, and starts a new group at the
// first window that does not intersect that cover. For every group of more
// than one distinct window it calls merge with the group's cover and the
// group's windows in sorted order; a window alone is not reported.
//
// Equal windows count once (Flink keeps each group in a set). The groups
// are therefore the connected components of the Intersects relation.
//
// MergeTimeWindows works in place, without allocating: it sorts windows and
// may overwrite its elements (duplicates are compacted away). merged is a
// sub-slice of windows, valid only during the call to merge; merge must not
// modify or keep it.
func MergeTimeWindows(windows []TimeWindow, merge func(result TimeWindow, merged []TimeWindow)) {
	if len(windows) < 2 {
		return
	}
	slices.SortFunc(windows, func(a, b TimeWindow) int {
		if c := cmp.Compare(a.Start, b.Start); c != 0 {
			return c
		}
		return cmp.Compare(a.End, b.End)
	})
	windows = slices.Compact(windows)
	first, cover := 0, windows[0]
	for i := 1; i <= len(windows); i++ {
		if i < len(windows) && cover.Intersects(windows[i]) {
			cover = cover.Cover(windows[i])
			continue
		}
		if i-first > 1 {
			merge(cover, windows[first:i:i])
		}
		if i < len(windows) {
			first, cover = i, windows[i]
		}
	}
}
