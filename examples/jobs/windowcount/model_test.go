package windowcount

import (
	"fmt"
	"math"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// model computes the job's output for tumbling and sliding windows the
// simple way: one pass over the events, following the package doc's
// semantics with a map of windows and no runtime, no state backend, no
// timers and no window assigner of the engine. It is the independent check
// of the golden expectations and of the metamorphic test's baseline.
//
// Session windows are left out: their merging would make the model as
// complicated as the operator it checks.
func model(o Options, events []Event) (output, late []string) {
	size, slide := o.Size.Milliseconds(), o.Size.Milliseconds()
	if o.Window == Sliding {
		slide = o.Slide.Milliseconds()
	} else if o.Window != Tumbling {
		panic("model: " + o.Window)
	}
	delay, lateness := o.OutOfOrderness.Milliseconds(), o.AllowedLateness.Milliseconds()

	type keyWindow struct {
		key        string
		start, end int64
	}
	type contents struct {
		count   int64
		pending bool // not fired yet, fires when the watermark reaches end-1
	}
	open := map[keyWindow]*contents{}
	emit := func(kw keyWindow, n int64) {
		output = append(output, WindowCount{Start: kw.start, End: kw.end, Key: kw.key, Count: n}.String())
	}
	wm := int64(math.MinInt64)
	advance := func(to int64) {
		if to <= wm {
			return
		}
		wm = to
		for kw, c := range open {
			if c.pending && kw.end-1 <= wm {
				emit(kw, c.count)
				c.pending = false
			}
			if kw.end-1 <= wm-lateness {
				delete(open, kw)
			}
		}
	}
	maxTs := int64(math.MinInt64)
	for _, e := range events {
		maxTs = max(maxTs, e.Timestamp)
		advance(maxTs - delay - 1) // before the event, as the source emits it
		taken := false
		// The windows [start, start+size) with start a multiple of slide
		// and start <= ts < start+size.
		first := e.Timestamp - ((e.Timestamp%slide)+slide)%slide
		for start := first; start > e.Timestamp-size; start -= slide {
			kw := keyWindow{e.Key, start, start + size}
			if kw.end-1+lateness <= wm {
				continue // gone
			}
			taken = true
			c := open[kw]
			if c == nil {
				c = &contents{}
				open[kw] = c
			}
			c.count++
			if kw.end-1 <= wm {
				emit(kw, c.count) // a late firing, or the first of a window opened late
			} else {
				c.pending = true
			}
		}
		if !taken && e.Timestamp+lateness <= wm {
			late = append(late, e.Line)
		}
	}
	advance(math.MaxInt64)
	return output, late
}

// TestGoldenAgreesWithModel checks the hand-written expectations of the
// golden files of tumbling and sliding windows against the model, so that
// a mistake in one of them is not taken for the engine's.
func TestGoldenAgreesWithModel(t *testing.T) {
	checked := 0
	for _, path := range goldenFiles(t) {
		c, err := parseGolden(path)
		if err != nil {
			t.Fatal(err)
		}
		dir := t.TempDir()
		args := append(slices.Clone(c.flags), "--input", filepath.Join(dir, "in"), "--output", filepath.Join(dir, "out"))
		o, err := parseArgs(args)
		if err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		if o.Window == Session {
			continue
		}
		var events []Event
		for _, line := range c.input {
			if line == "" {
				continue
			}
			e, err := parseEvent(line)
			if err != nil {
				t.Fatalf("%s: %q: %v", path, line, err)
			}
			events = append(events, e)
		}
		output, late := model(o, events)
		if !sameLines(output, c.output) || !sameLines(late, c.late) {
			t.Errorf("%s: the model disagrees:\n output %q\n   late %q\n want %q\n   late %q",
				path, sortedBy(output, byWindow), late, sortedBy(c.output, byWindow), c.late)
		}
		checked++
	}
	if checked < 5 {
		t.Errorf("only %d golden files checked against the model", checked)
	}
}

func TestModelSelfCheck(t *testing.T) {
	// A case small enough to follow by hand, to check the model itself:
	// tumbling 10ms, no out-of-orderness, allowed lateness 5ms.
	o := Options{Window: Tumbling, Size: 10e6, AllowedLateness: 5e6}
	var events []Event
	for _, l := range strings.Fields("1,a 12,a 3,a 15,a 4,a") {
		e, err := parseEvent(l)
		if err != nil {
			t.Fatal(err)
		}
		events = append(events, e)
	}
	// 12 fires [0,10) with 1; 3 at wm 11 fires it again with 2; 15 moves
	// the watermark to 14 = 9+5, which drops [0,10): 4 is late.
	output, late := model(o, events)
	if got, want := fmt.Sprint(sortedBy(output, byWindow), late), "[0,10,a,1 0,10,a,2 10,20,a,2] [4,a]"; got != want {
		t.Errorf("model = %s, want %s", got, want)
	}
}
