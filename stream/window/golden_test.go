package window

import (
	"flag"
	"fmt"
	"math"
	"os"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
)

// The golden tests walk the files in testdata/. A file holds cases, comments
// (# ...) and blank lines. A case is either one line, "input -> output", or
// a block: input lines, a line "----", and output lines up to the next
// blank line. The test computes each case's output from its input and
// compares; with -rewrite it writes the computed outputs back instead:
//
//	go test ./stream/window -run Golden -rewrite
var rewrite = flag.Bool("rewrite", false, "rewrite the golden files in testdata/ with the computed outputs")

// runGolden runs the cases of testdata/name in order, computing outputs
// with do (which may keep state from case to case).
func runGolden(t *testing.T, name string, do func(t *testing.T, input string) string) {
	t.Helper()
	path := "testdata/" + name
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimRight(string(data), "\n"), "\n")
	var out []string
	for i := 0; i < len(lines); i++ {
		line := lines[i]
		if trimmed := strings.TrimSpace(line); trimmed == "" || strings.HasPrefix(trimmed, "#") {
			out = append(out, line)
			continue
		}
		if input, want, ok := strings.Cut(line, " -> "); ok {
			got := do(t, input)
			if strings.Contains(got, "\n") {
				t.Fatalf("%s:%d: one-line case %q gave several lines", path, i+1, input)
			}
			if got != want && !*rewrite {
				t.Errorf("%s:%d: %s\n got: %s\nwant: %s", path, i+1, input, got, want)
			}
			out = append(out, input+" -> "+got)
			continue
		}
		first := i
		for i < len(lines) && lines[i] != "----" {
			i++
		}
		if i == len(lines) {
			t.Fatalf("%s:%d: case without ----", path, first+1)
		}
		input := strings.Join(lines[first:i], "\n")
		i++
		wantStart := i
		for i < len(lines) && lines[i] != "" {
			i++
		}
		want := strings.Join(lines[wantStart:i], "\n")
		got := do(t, input)
		if got != want && !*rewrite {
			t.Errorf("%s:%d:\n%s\n got:\n%s\nwant:\n%s", path, first+1, input, got, want)
		}
		out = append(out, input, "----")
		if got != "" {
			out = append(out, got)
		}
		if i < len(lines) {
			out = append(out, "")
		}
	}
	if *rewrite {
		if err := os.WriteFile(path, []byte(strings.Join(out, "\n")+"\n"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

var (
	argRE    = regexp.MustCompile(`([a-zA-Z][\w-]*)=(\[[^\]]*\)|\S+)`)
	windowRE = regexp.MustCompile(`\[(-?\d+|min|max), (-?\d+|min|max)\)`)
)

// parseArgs returns the command (the first word) and the key=value
// arguments of a line.
func parseArgs(t *testing.T, line string) (string, map[string]string) {
	t.Helper()
	cmd, rest, _ := strings.Cut(strings.TrimSpace(line), " ")
	args := make(map[string]string)
	for _, m := range argRE.FindAllStringSubmatch(rest, -1) {
		args[m[1]] = m[2]
	}
	return cmd, args
}

// parseInt parses an int64, or "min" (math.MinInt64) or "max"
// (math.MaxInt64).
func parseInt(t *testing.T, s string) int64 {
	t.Helper()
	switch s {
	case "min", "none":
		return math.MinInt64
	case "max":
		return math.MaxInt64
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		t.Fatalf("bad number %q: %v", s, err)
	}
	return n
}

func parseDuration(t *testing.T, s string) time.Duration {
	t.Helper()
	if s == "" {
		return 0
	}
	d, err := time.ParseDuration(s)
	if err != nil {
		t.Fatalf("bad duration %q: %v", s, err)
	}
	return d
}

// parseWindows returns the windows "[start, end)" of s, in order.
func parseWindows(t *testing.T, s string) []TimeWindow {
	t.Helper()
	var ws []TimeWindow
	for _, m := range windowRE.FindAllStringSubmatch(s, -1) {
		ws = append(ws, TimeWindow{parseInt(t, m[1]), parseInt(t, m[2])})
	}
	return ws
}

func joinWindows[W any](ws []W) string {
	parts := make([]string, len(ws))
	for i, w := range ws {
		parts[i] = fmt.Sprint(w)
	}
	return strings.Join(parts, " ")
}

func errorLine(err error) string { return "error: " + err.Error() }

// makeAssigner builds the assigner a golden line names. Values of
// dynamic session windows are their gap.
func makeAssigner(t *testing.T, kind string, args map[string]string) Assigner[time.Duration, TimeWindow] {
	t.Helper()
	size, slide, offset, gap := parseDuration(t, args["size"]), parseDuration(t, args["slide"]), parseDuration(t, args["offset"]), parseDuration(t, args["gap"])
	identity := func(d time.Duration) time.Duration { return d }
	switch kind {
	case "tumbling-event":
		return TumblingEventTimeWindows[time.Duration](size, offset)
	case "tumbling-processing":
		return TumblingProcessingTimeWindows[time.Duration](size, offset)
	case "sliding-event":
		return SlidingEventTimeWindows[time.Duration](size, slide, offset)
	case "sliding-processing":
		return SlidingProcessingTimeWindows[time.Duration](size, slide, offset)
	case "session-event":
		return EventTimeSessionWindows[time.Duration](gap)
	case "session-processing":
		return ProcessingTimeSessionWindows[time.Duration](gap)
	case "dynamic-session-event":
		return DynamicEventTimeSessionWindows(identity)
	case "dynamic-session-processing":
		return DynamicProcessingTimeSessionWindows(identity)
	case "dynamic-session-nil":
		return DynamicEventTimeSessionWindows[time.Duration](nil)
	}
	t.Fatalf("unknown assigner %q", kind)
	return nil
}

// TestGoldenAssign: testdata/assign.txt. A line is
//
//	<assigner> <arguments> ts=<timestamp> [now=<processing time>] [v=<gap>] -> <windows or error>
//	describe <assigner> <arguments> -> <String> <time> trigger=<default trigger>
//	global ts=<timestamp> -> <windows>
func TestGoldenAssign(t *testing.T) {
	runGolden(t, "assign.txt", func(t *testing.T, input string) string {
		kind, args := parseArgs(t, input)
		if kind == "global" {
			ws, err := GlobalWindows[int]().AssignWindows(nil, 0, parseInt(t, args["ts"]), nil)
			if err != nil {
				return errorLine(err)
			}
			return joinWindows(ws)
		}
		if kind == "describe" {
			rest := strings.TrimPrefix(input, "describe ")
			kind, args = parseArgs(t, rest)
			a := makeAssigner(t, kind, args)
			timeKind := "processing-time"
			if a.IsEventTime() {
				timeKind = "event-time"
			}
			merging := ""
			if _, ok := a.(MergingAssigner[time.Duration, TimeWindow]); ok {
				merging = " merging"
			}
			if err := Validate(a); err != nil {
				return errorLine(err)
			}
			return fmt.Sprintf("%v %s%s trigger=%v", a, timeKind, merging, a.DefaultTrigger())
		}
		a := makeAssigner(t, kind, args)
		ts := int64(math.MinInt64)
		if s, ok := args["ts"]; ok {
			ts = parseInt(t, s)
		}
		clock := fakeClock{processing: parseInt(t, cmpOr(args["now"], "0"))}
		ws, err := a.AssignWindows(make([]TimeWindow, 0, 8), parseDuration(t, args["v"]), ts, clock)
		if err != nil {
			if len(ws) != 0 {
				t.Errorf("%s: error with windows %v", input, ws)
			}
			return errorLine(err)
		}
		if len(ws) == 0 {
			return "none"
		}
		return joinWindows(ws)
	})
}

func cmpOr(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

// TestGoldenMerge: testdata/merge.txt. A line is
//
//	merge <windows> -> <result> <- <merged windows>; ... (or none)
func TestGoldenMerge(t *testing.T) {
	runGolden(t, "merge.txt", func(t *testing.T, input string) string {
		var merges []string
		MergeTimeWindows(parseWindows(t, input), func(result TimeWindow, merged []TimeWindow) {
			merges = append(merges, fmt.Sprintf("%v <- %s", result, joinWindows(merged)))
		})
		if len(merges) == 0 {
			return "none"
		}
		return strings.Join(merges, "; ")
	})
}

// TestGoldenMergingWindowSet: testdata/merging_window_set.txt, blocks run
// in order on one session-window set:
//
//	reset                      empty the set
//	add <window>               AddWindow: prints the merges and the result
//	retire <window>            RetireWindow
//	restore <w>=<sw> ...       Restore
//
// Each block prints what the command did, then the in-flight windows and
// their state windows (sorted), then whether the set is modified.
func TestGoldenMergingWindowSet(t *testing.T) {
	var set *MergingWindowSet[TimeWindow]
	reset := func() {
		set = NewMergingWindowSet(EventTimeSessionWindows[int](time.Second).MergeWindows)
	}
	reset()
	runGolden(t, "merging_window_set.txt", func(t *testing.T, input string) string {
		cmd, _ := parseArgs(t, input)
		var out []string
		switch cmd {
		case "reset":
			reset()
		case "add":
			ws := parseWindows(t, input)
			if len(ws) != 1 {
				t.Fatalf("add takes one window: %s", input)
			}
			got, err := set.AddWindow(ws[0], func(result TimeWindow, merged []TimeWindow, stateResult TimeWindow, mergedState []TimeWindow) error {
				out = append(out, fmt.Sprintf("merge %v <- %s; state %v <- %s", result, joinWindows(merged), stateResult, cmpOr(joinWindows(mergedState), "nothing")))
				return nil
			})
			if err != nil {
				out = append(out, errorLine(err))
			} else {
				out = append(out, fmt.Sprintf("result %v", got))
			}
		case "retire":
			ws := parseWindows(t, input)
			if len(ws) != 1 {
				t.Fatalf("retire takes one window: %s", input)
			}
			if err := set.RetireWindow(ws[0]); err != nil {
				out = append(out, errorLine(err))
			}
		case "restore":
			ws := parseWindows(t, input)
			m := make(map[TimeWindow]TimeWindow)
			for i := 0; i+1 < len(ws); i += 2 {
				m[ws[i]] = ws[i+1]
			}
			set.Restore(m)
		default:
			t.Fatalf("unknown command %q", cmd)
		}
		out = append(out, "in flight: "+describeSet(set), fmt.Sprintf("modified: %t", set.Modified()))
		return strings.Join(out, "\n")
	})
}

// describeSet returns "window=stateWindow" for every in-flight window,
// sorted by window.
func describeSet(s *MergingWindowSet[TimeWindow]) string {
	type pair struct{ w, sw TimeWindow }
	var pairs []pair
	for w, sw := range s.Windows() {
		pairs = append(pairs, pair{w, sw})
	}
	slices.SortFunc(pairs, func(a, b pair) int { return compareWindows(a.w, b.w) })
	if len(pairs) == 0 {
		return "none"
	}
	parts := make([]string, len(pairs))
	for i, p := range pairs {
		parts[i] = fmt.Sprintf("%v=%v", p.w, p.sw)
	}
	return strings.Join(parts, " ")
}

func compareWindows(a, b TimeWindow) int {
	if a.Start != b.Start {
		if a.Start < b.Start {
			return -1
		}
		return 1
	}
	if a.End != b.End {
		if a.End < b.End {
			return -1
		}
		return 1
	}
	return 0
}

// TestGoldenEvict: testdata/evict.txt. A line is
//
//	<evictor> <arguments> <value>@<timestamp> ... -> before: <kept>; after: <kept>
//
// where before is what EvictBefore keeps and after what EvictAfter keeps of
// that. Values are ints; the delta evictor's delta is |new - old|.
func TestGoldenEvict(t *testing.T) {
	elemRE := regexp.MustCompile(`(-?\d+)@(-?\d+|none)`)
	runGolden(t, "evict.txt", func(t *testing.T, input string) string {
		kind, args := parseArgs(t, input)
		after := args["evictAfter"] == "true"
		var ev Evictor[int, TimeWindow]
		switch kind {
		case "count":
			n, _ := strconv.Atoi(args["max"])
			ev = CountEvictor[int, TimeWindow](n, after)
		case "time":
			ev = TimeEvictor[int, TimeWindow](parseDuration(t, args["keep"]), after)
		case "delta":
			threshold, _ := strconv.ParseFloat(args["threshold"], 64)
			ev = DeltaEvictor[int, TimeWindow](threshold, func(old, new int) float64 { return math.Abs(float64(new - old)) }, after)
		default:
			t.Fatalf("unknown evictor %q", kind)
		}
		if err := Validate(ev); err != nil {
			return errorLine(err)
		}
		var elems []TimestampedValue[int]
		for _, m := range elemRE.FindAllStringSubmatch(input, -1) {
			v, _ := strconv.Atoi(m[1])
			elems = append(elems, TimestampedValue[int]{v, parseInt(t, m[2])})
		}
		w, clock := TimeWindow{0, 100}, fakeClock{}
		before := ev.EvictBefore(elems, w, clock)
		show := func(es []TimestampedValue[int]) string {
			if len(es) == 0 {
				return "nothing"
			}
			parts := make([]string, len(es))
			for i, e := range es {
				ts := strconv.FormatInt(e.Timestamp, 10)
				if e.Timestamp == math.MinInt64 {
					ts = "none"
				}
				parts[i] = fmt.Sprintf("%d@%s", e.Value, ts)
			}
			return strings.Join(parts, " ")
		}
		b := show(before)
		return fmt.Sprintf("before: %s; after: %s", b, show(ev.EvictAfter(before, w, clock)))
	})
}
