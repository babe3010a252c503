package windowcount

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/runnel-io/runnel/stream"
)

// genEvents writes n events over keys keys, built from seed: a clock that
// advances 0-2ms per event from -5s (so that windows straddle the epoch),
// and timestamps behind it by a delay that is mostly within 40ms, sometimes
// up to 120ms and now and then up to 3s. Low-numbered keys are more
// frequent.
func genEvents(seed uint64, n, keys int) []string {
	rng := rand.New(rand.NewPCG(seed, 0x77696e64))
	lines := make([]string, 0, n)
	clock := int64(-5000)
	for range n {
		clock += rng.Int64N(3)
		var delay int64
		switch r := rng.IntN(100); {
		case r < 90:
			delay = rng.Int64N(40)
		case r < 98:
			delay = 40 + rng.Int64N(80)
		default:
			delay = 120 + rng.Int64N(2880)
		}
		key := min(rng.IntN(keys), rng.IntN(keys))
		lines = append(lines, strconv.FormatInt(clock-delay, 10)+",k"+strconv.Itoa(key))
	}
	return lines
}

// runBuild runs the job built by Build on o, with operator chaining or
// without, and returns its output and late lines.
func runBuild(t *testing.T, o Options, chaining bool) (output, late []string) {
	t.Helper()
	env := stream.NewEnvironment()
	if !chaining {
		env.DisableOperatorChaining()
	}
	if err := Build(env, o); err != nil {
		t.Fatal(err)
	}
	if err := env.Execute(context.Background(), t.Name()); err != nil {
		t.Fatal(err)
	}
	return readLines(t, o.Output), readLines(t, o.LateOutput)
}

// TestMetamorphic runs one generated input of 20,000 out-of-order events
// over 50 keys with each kind of window at parallelism 1 to 4, with
// operator chaining and without: every run must write the same output and
// late lines (in any order). The baseline is checked against the model
// where there is one, and for showing what the test claims to exercise:
// late events, late firings, merged sessions.
func TestMetamorphic(t *testing.T) {
	const n, keys = 20_000, 50
	dir := t.TempDir()
	in := filepath.Join(dir, "events.txt")
	lines := genEvents(1, n, keys)
	if err := os.WriteFile(in, []byte(strings.Join(lines, "\n")+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	events := make([]Event, len(lines))
	for i, l := range lines {
		var err error
		if events[i], err = parseEvent(l); err != nil {
			t.Fatal(err)
		}
	}
	ms := time.Millisecond
	for _, o := range []Options{
		{Window: Tumbling, Size: 1000 * ms, OutOfOrderness: 50 * ms},
		{Window: Tumbling, Size: 1000 * ms, OutOfOrderness: 50 * ms, AllowedLateness: 200 * ms},
		{Window: Sliding, Size: 1000 * ms, Slide: 250 * ms, OutOfOrderness: 50 * ms, AllowedLateness: 100 * ms},
		{Window: Session, Gap: 100 * ms, OutOfOrderness: 50 * ms, AllowedLateness: 100 * ms},
	} {
		name := fmt.Sprintf("%s/lateness=%v", o.Window, o.AllowedLateness)
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			o.Input = in
			run := func(p int, chaining bool) ([]string, []string) {
				o := o
				o.Parallelism = p
				o.Output = filepath.Join(t.TempDir(), "output.txt")
				o.LateOutput = filepath.Join(t.TempDir(), "late.txt")
				return runBuild(t, o, chaining)
			}
			wantOut, wantLate := run(1, true)
			checkExercised(t, o, wantOut, wantLate)
			if o.Window != Session {
				modelOut, modelLate := model(o, events)
				if !sameLines(wantOut, modelOut) || !sameLines(wantLate, modelLate) {
					t.Errorf("parallelism 1 disagrees with the model: %d output and %d late lines, model %d and %d",
						len(wantOut), len(wantLate), len(modelOut), len(modelLate))
					diffLines(t, "output", wantOut, modelOut)
					diffLines(t, "late", wantLate, modelLate)
				}
			}
			for _, chaining := range []bool{true, false} {
				for p := 1; p <= 4; p++ {
					if p == 1 && chaining {
						continue // the baseline
					}
					out, late := run(p, chaining)
					if !sameLines(out, wantOut) || !sameLines(late, wantLate) {
						t.Errorf("parallelism %d, chaining %v: %d output and %d late lines differ from parallelism 1's %d and %d",
							p, chaining, len(out), len(late), len(wantOut), len(wantLate))
						diffLines(t, "output", out, wantOut)
						diffLines(t, "late", late, wantLate)
					}
				}
			}
		})
	}
}

// checkExercised fails the test if the run did not exercise what the
// metamorphic test is for.
func checkExercised(t *testing.T, o Options, output, late []string) {
	t.Helper()
	windows := map[string]int{} // firings per key and window
	merged := 0
	for _, l := range output {
		c, ok := parseOutputLine(l)
		if !ok {
			t.Fatalf("malformed output line %q", l)
		}
		windows[fmt.Sprint(c.Start, c.End, c.Key)]++
		if c.End-c.Start > o.Gap.Milliseconds() {
			merged++
		}
	}
	lateFirings := len(output) - len(windows)
	t.Logf("%d output lines, %d windows, %d late firings, %d late events", len(output), len(windows), lateFirings, len(late))
	if len(windows) < 500 || len(late) < 50 {
		t.Errorf("%d windows and %d late events: the input is too tame", len(windows), len(late))
	}
	// A late event that extends a session makes it fire as another window,
	// so sessions show fewer late firings by this count.
	if o.AllowedLateness > 0 && lateFirings < 10 {
		t.Errorf("%d late firings with allowed lateness %v", lateFirings, o.AllowedLateness)
	}
	if o.AllowedLateness == 0 && lateFirings != 0 {
		t.Errorf("%d late firings without allowed lateness", lateFirings)
	}
	if o.Window == Session && merged < 500 {
		t.Errorf("only %d merged sessions", merged)
	}
}

// diffLines reports a few of the lines that got and want do not share.
func diffLines(t *testing.T, what string, got, want []string) {
	t.Helper()
	count := map[string]int{}
	for _, l := range got {
		count[l]++
	}
	for _, l := range want {
		count[l]--
	}
	var extra, missing []string
	for l, c := range count {
		for ; c > 0; c-- {
			extra = append(extra, l)
		}
		for ; c < 0; c++ {
			missing = append(missing, l)
		}
	}
	slices.Sort(extra)
	slices.Sort(missing)
	if len(extra) > 10 {
		extra = extra[:10]
	}
	if len(missing) > 10 {
		missing = missing[:10]
	}
	if len(extra)+len(missing) > 0 {
		t.Errorf("%s: unexpected %q, missing %q", what, extra, missing)
	}
}
