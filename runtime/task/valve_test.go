package task

import (
	"fmt"
	"math/rand/v2"
	"strconv"
	"strings"
	"testing"

	"github.com/runnel-io/runnel/runtime/operator"
)

// recorder is the watermarker a valve feeds in these tests: it writes down
// what the valve emits, as "wm N", "idle" and "active".
type recorder struct{ got []string }

func (r *recorder) EmitWatermark(wm int64) error {
	r.got = append(r.got, "wm "+strconv.FormatInt(wm, 10))
	return nil
}

func (r *recorder) EmitWatermarkStatus(idle bool) error {
	if idle {
		r.got = append(r.got, "idle")
	} else {
		r.got = append(r.got, "active")
	}
	return nil
}

func (r *recorder) take() string {
	s := strings.Join(r.got, ", ")
	r.got = r.got[:0]
	return s
}

// runValveScript feeds a valve of n channels the steps of script, one per
// line, and checks what it emits after each:
//
//	w CH WM       channel CH sends watermark WM
//	idle CH       channel CH becomes idle
//	active CH     channel CH becomes active
//	end CH        channel CH ends
//
// followed by "->" and the emissions, comma-separated (nothing after the
// arrow: the step emits nothing). Blank lines and lines starting with # are
// skipped.
func runValveScript(t *testing.T, n int, script string) {
	t.Helper()
	rec := &recorder{}
	v := newValve(rec, n)
	for i, line := range strings.Split(script, "\n") {
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		step, want, ok := strings.Cut(line, "->")
		if !ok {
			t.Fatalf("line %d %q: no ->", i+1, line)
		}
		f := strings.Fields(step)
		num := func(j int) int64 {
			t.Helper()
			if j >= len(f) {
				t.Fatalf("line %d %q: missing argument %d", i+1, line, j)
			}
			x, err := strconv.ParseInt(f[j], 10, 64)
			if err != nil {
				t.Fatalf("line %d %q: %v", i+1, line, err)
			}
			return x
		}
		var err error
		switch f[0] {
		case "w":
			err = v.watermark(int(num(1)), num(2))
		case "idle":
			err = v.status(int(num(1)), true)
		case "active":
			err = v.status(int(num(1)), false)
		case "end":
			err = v.end(int(num(1)))
		default:
			t.Fatalf("line %d %q: unknown step %q", i+1, line, f[0])
		}
		if err != nil {
			t.Fatalf("line %d %q: %v", i+1, line, err)
		}
		if got, want := rec.take(), strings.TrimSpace(want); got != want {
			t.Errorf("line %d %q: emitted %q, want %q", i+1, strings.TrimSpace(step), got, want)
		}
	}
}

func TestValve(t *testing.T) {
	for _, tc := range []struct {
		name     string
		channels int
		script   string
	}{
		{"minimum over channels", 3, `
			# A channel that sent nothing holds the input at MinWatermark.
			w 0 5   ->
			w 1 3   ->
			w 2 4   -> wm 3
			w 1 10  -> wm 4
			w 2 12  -> wm 5
			w 0 20  -> wm 10
			# Raising a channel that is not the minimum changes nothing.
			w 2 30  ->
			w 1 25  -> wm 20
		`},
		{"single channel passes every increase", 1, `
			w 0 1   -> wm 1
			w 0 2   -> wm 2
			w 0 2   ->
			w 0 1   ->
			w 0 100 -> wm 100
		`},
		{"a channel's own watermark never goes back", 2, `
			w 0 10  ->
			w 1 10  -> wm 10
			# Channel 0 goes back to 5: ignored, so that 1's advance to 20
			# gives 10 (channel 0 still counts as at 10), not 5.
			w 0 5   ->
			w 1 20  ->
			w 0 15  -> wm 15
		`},
		{"idle channels are excluded", 2, `
			w 0 5   ->
			w 1 3   -> wm 3
			idle 1  -> wm 5
			w 0 8   -> wm 8
			# Watermarks of an idle channel are ignored.
			w 1 20  ->
			w 0 9   -> wm 9
			idle 1  ->
		`},
		{"an idle channel that never sent a watermark does not hold back", 2, `
			w 0 7   ->
			idle 1  -> wm 7
		`},
		{"all idle: idle once, then active again", 3, `
			w 0 1   ->
			w 1 2   ->
			w 2 3   -> wm 1
			idle 0  -> wm 2
			idle 1  -> wm 3
			idle 2  -> idle
			# Already idle: no second status.
			idle 2  ->
			idle 0  ->
			# Watermarks from idle channels are ignored, also when all are.
			w 1 50  ->
			active 1 -> active
			# Already active: no second status.
			active 1 ->
			active 0 ->
			w 1 4   -> wm 4
		`},
		{"a re-activated channel behind does not hold back until it catches up", 2, `
			w 0 10   ->
			w 1 10   -> wm 10
			idle 1   ->
			w 0 20   -> wm 20
			# Channel 1 comes back at 10, below the input's 20: it is not
			# aligned, so it does not hold the input back...
			active 1 ->
			w 0 25   -> wm 25
			w 1 22   ->
			w 0 26   -> wm 26
			# ...until it reaches the input's watermark; then it counts again.
			w 1 30   ->
			w 0 40   -> wm 30
			w 1 50   -> wm 40
		`},
		{"a re-activated channel ahead counts at once", 2, `
			w 0 10   ->
			w 1 12   -> wm 10
			idle 1   ->
			w 0 11   -> wm 11
			active 1 ->
			w 0 20   -> wm 12
		`},
		{"all idle, then one comes back at the input's watermark", 2, `
			w 0 10   ->
			w 1 10   -> wm 10
			idle 0   ->
			idle 1   -> idle
			active 0 -> active
			# Channel 0 is at 10 = the input's watermark: aligned.
			w 0 12   -> wm 12
		`},
		{"ended channels are excluded", 3, `
			w 0 5   ->
			w 1 3   ->
			w 2 4   -> wm 3
			end 1   -> wm 4
			# An ended channel sends nothing more that counts.
			w 1 100 ->
			idle 1  ->
			active 1 ->
			end 1   ->
			end 2   -> wm 5
			w 0 6   -> wm 6
			end 0   ->
		`},
		{"ending the last active channel beside an idle one", 2, `
			w 0 5   ->
			idle 1  -> wm 5
			end 0   ->
			w 1 9   ->
		`},
		{"an idle channel ending lets the others advance", 2, `
			w 0 5   ->
			w 1 3   -> wm 3
			idle 0  ->
			end 0   ->
			w 1 8   -> wm 8
		`},
		{"MaxWatermark ends event time", 2, `
			w 0 9223372036854775807 ->
			w 1 3                   -> wm 3
			w 1 9223372036854775807 -> wm 9223372036854775807
		`},
	} {
		t.Run(tc.name, func(t *testing.T) { runValveScript(t, tc.channels, tc.script) })
	}
}

// TestValveNeverGoesBackwards drives valves with random steps and checks
// the valve's contract after each: the emitted watermarks strictly
// increase, none is emitted while the input is idle, statuses alternate
// (idle first), the input is idle exactly when it said so, and each emitted
// watermark is the minimum over the aligned channels.
func TestValveNeverGoesBackwards(t *testing.T) {
	for seed := uint64(1); seed <= 200; seed++ {
		r := rand.New(rand.NewPCG(seed, seed*7919))
		n := 1 + r.IntN(4)
		rec := &recorder{}
		v := newValve(rec, n)
		last := int64(operator.MinWatermark)
		idle := false
		// Each channel's own watermark wanders up and down.
		level := make([]int64, n)
		var steps []string
		for range 200 {
			ch := r.IntN(n)
			var err error
			switch k := r.IntN(20); {
			case k < 14:
				level[ch] += int64(r.IntN(21) - 8)
				steps = append(steps, fmt.Sprintf("w %d %d", ch, level[ch]))
				err = v.watermark(ch, level[ch])
			case k < 17:
				steps = append(steps, fmt.Sprintf("idle %d", ch))
				err = v.status(ch, true)
			case k < 19:
				steps = append(steps, fmt.Sprintf("active %d", ch))
				err = v.status(ch, false)
			default:
				if r.IntN(4) == 0 {
					steps = append(steps, fmt.Sprintf("end %d", ch))
					err = v.end(ch)
				}
			}
			if err != nil {
				t.Fatal(err)
			}
			for _, e := range rec.got {
				switch {
				case e == "idle" || e == "active":
					if (e == "idle") == idle {
						t.Fatalf("seed %d: status %q twice in a row after %v", seed, e, steps)
					}
					idle = e == "idle"
				default:
					wm, _ := strconv.ParseInt(strings.TrimPrefix(e, "wm "), 10, 64)
					if wm <= last {
						t.Fatalf("seed %d: watermark %d after %d: went backwards after %v", seed, wm, last, steps)
					}
					if idle {
						t.Fatalf("seed %d: watermark %d while idle after %v", seed, wm, steps)
					}
					if want := alignedMin(v); wm != want {
						t.Fatalf("seed %d: watermark %d, want the aligned minimum %d after %v", seed, wm, want, steps)
					}
					last = wm
				}
			}
			rec.got = rec.got[:0]
			if idle != v.idle {
				t.Fatalf("seed %d: said idle=%v, valve idle=%v after %v", seed, idle, v.idle, steps)
			}
		}
	}
}

func alignedMin(v *valve) int64 {
	m := int64(operator.MaxWatermark)
	for _, c := range v.channels {
		if c.aligned && !c.idle && !c.ended {
			m = min(m, c.wm)
		}
	}
	return m
}
