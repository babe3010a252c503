package window

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"strings"
	"testing"
	"time"
)

// makeTrigger builds the trigger a golden line names.
func makeTrigger(t *testing.T, kind string, args map[string]string) Trigger[int, TimeWindow] {
	t.Helper()
	var tr Trigger[int, TimeWindow]
	switch kind {
	case "event-time":
		tr = EventTimeTrigger[int, TimeWindow]()
	case "processing-time":
		tr = ProcessingTimeTrigger[int, TimeWindow]()
	case "count":
		tr = CountTrigger[int, TimeWindow](parseInt(t, args["n"]))
	case "continuous-event":
		tr = ContinuousEventTimeTrigger[int, TimeWindow](parseDuration(t, args["interval"]))
	case "continuous-processing":
		tr = ContinuousProcessingTimeTrigger[int, TimeWindow](parseDuration(t, args["interval"]))
	case "never":
		tr = NeverTrigger[int, TimeWindow]()
	default:
		t.Fatalf("unknown trigger %q", kind)
	}
	if args["purging"] == "true" {
		tr = PurgingTrigger(tr)
	}
	return tr
}

// TestGoldenTrigger: testdata/trigger.txt, blocks run in order against a
// fakeTriggerContext, as the window operator would call a trigger:
//
//	trigger <kind> [n=] [interval=] [purging=true] window=<w> [watermark=] [now=]
//	element ts=<t> [window=<w>]   OnElement (window becomes the current one)
//	watermark <t>                 advance the watermark: fire the due event-time timers, in order
//	time <t>                      advance the processing time: fire the due processing-time timers
//	merge into=<w> from=<ws>      OnMerge for into, then Clear for each of from
//	clear                         Clear the current window
//	timers                        list the registered timers
//
// Each block prints the results and the timer registrations (+) and
// deletions (-) the trigger made, then the trigger's state.
func TestGoldenTrigger(t *testing.T) {
	var (
		tr  Trigger[int, TimeWindow]
		ctx *fakeTriggerContext[TimeWindow]
	)
	runGolden(t, "trigger.txt", func(t *testing.T, input string) string {
		cmd, args := parseArgs(t, input)
		var out []string
		result := func(what string, r Result, err error) {
			if err != nil {
				out = append(out, what+": "+errorLine(err))
			} else {
				out = append(out, fmt.Sprintf("%s: %v", what, r))
			}
			out = append(out, ctx.takeEffects()...)
		}
		done := func(what string, err error) {
			if err != nil {
				what += ": " + errorLine(err)
			}
			out = append(out, what)
			out = append(out, ctx.takeEffects()...)
		}
		fields := strings.Fields(input)
		switch cmd {
		case "trigger":
			tr = makeTrigger(t, fields[1], args)
			ws := parseWindows(t, args["window"])
			if len(ws) != 1 {
				t.Fatalf("trigger needs window=: %s", input)
			}
			ctx = newFakeTriggerContext(ws[0], parseInt(t, cmpOr(args["watermark"], "min")), parseInt(t, cmpOr(args["now"], "0")))
			out = append(out, fmt.Sprintf("%v canMerge=%t", tr, tr.CanMerge()))
			if err := Validate(tr); err != nil {
				out = append(out, errorLine(err))
			}
		case "element":
			if ws := parseWindows(t, args["window"]); len(ws) == 1 {
				ctx.window = ws[0]
			}
			r, err := tr.OnElement(0, parseInt(t, args["ts"]), ctx.window, ctx)
			result(fmt.Sprintf("element %v", ctx.window), r, err)
		case "watermark", "time":
			now := parseInt(t, fields[1])
			eventTime := cmd == "watermark"
			if eventTime {
				ctx.watermark = now
			} else {
				ctx.processing = now
			}
			for firings := 0; ; firings++ {
				due := ctx.due(eventTime, now)
				if len(due) == 0 {
					break
				}
				if firings == 1000 {
					t.Fatalf("%s: timers still due after 1000 firings", input)
				}
				timer := due[0]
				ctx.fire(eventTime, timer.w, timer.t)
				ctx.window = timer.w
				var r Result
				var err error
				kind := "proc"
				if eventTime {
					kind = "event"
					r, err = tr.OnEventTime(timer.t, timer.w, ctx)
				} else {
					r, err = tr.OnProcessingTime(timer.t, timer.w, ctx)
				}
				result(fmt.Sprintf("timer %s %v@%d", kind, timer.w, timer.t), r, err)
			}
		case "merge":
			into := parseWindows(t, args["into"])
			_, fromText, _ := strings.Cut(input, "from=")
			from := parseWindows(t, fromText)
			ctx.window, ctx.sources = into[0], from
			err := tr.OnMerge(into[0], ctx)
			done(fmt.Sprintf("merge into %v", into[0]), err)
			for _, w := range from {
				if w == into[0] {
					continue
				}
				ctx.window = w
				done(fmt.Sprintf("clear %v", w), tr.Clear(w, ctx))
			}
			ctx.window, ctx.sources = into[0], nil
		case "clear":
			done(fmt.Sprintf("clear %v", ctx.window), tr.Clear(ctx.window, ctx))
		case "timers":
			out = append(out, ctx.describeTimers()...)
		default:
			t.Fatalf("unknown command %q", cmd)
		}
		out = append(out, ctx.describeState()...)
		return strings.Join(out, "\n")
	})
}

// stubTrigger answers every call with a fixed result.
type stubTrigger struct{ r Result }

func (s stubTrigger) OnElement(int, int64, TimeWindow, TriggerContext) (Result, error) {
	return s.r, nil
}
func (s stubTrigger) OnEventTime(int64, TimeWindow, TriggerContext) (Result, error) {
	return s.r, nil
}
func (s stubTrigger) OnProcessingTime(int64, TimeWindow, TriggerContext) (Result, error) {
	return s.r, nil
}
func (stubTrigger) CanMerge() bool                           { return false }
func (stubTrigger) OnMerge(TimeWindow, OnMergeContext) error { return nil }
func (stubTrigger) Clear(TimeWindow, TriggerContext) error   { return nil }
func (s stubTrigger) String() string                         { return "stub(" + s.r.String() + ")" }

// TestResultFlags proves that the four results are the four combinations
// of the fire and purge flags, as Flink's TriggerResult.
func TestResultFlags(t *testing.T) {
	for _, tc := range []struct {
		r           Result
		fire, purge bool
		name        string
	}{
		{Continue, false, false, "Continue"},
		{Fire, true, false, "Fire"},
		{Purge, false, true, "Purge"},
		{FireAndPurge, true, true, "FireAndPurge"},
	} {
		if tc.r.IsFire() != tc.fire || tc.r.IsPurge() != tc.purge || tc.r.String() != tc.name {
			t.Errorf("%v: IsFire %t IsPurge %t, want %s with %t %t", tc.r, tc.r.IsFire(), tc.r.IsPurge(), tc.name, tc.fire, tc.purge)
		}
	}
}

// TestPurgingTrigger proves invariant 6: PurgingTrigger answers
// FireAndPurge wherever its nested trigger fires, and passes Continue and
// Purge through, from every method.
func TestPurgingTrigger(t *testing.T) {
	want := map[Result]Result{Continue: Continue, Fire: FireAndPurge, Purge: Purge, FireAndPurge: FireAndPurge}
	ctx := newFakeTriggerContext(TimeWindow{0, 10}, 0, 0)
	for nested, w := range want {
		p := PurgingTrigger[int, TimeWindow](stubTrigger{nested})
		r1, _ := p.OnElement(1, 1, TimeWindow{0, 10}, ctx)
		r2, _ := p.OnEventTime(9, TimeWindow{0, 10}, ctx)
		r3, _ := p.OnProcessingTime(9, TimeWindow{0, 10}, ctx)
		if r1 != w || r2 != w || r3 != w {
			t.Errorf("nested %v: got %v %v %v, want %v", nested, r1, r2, r3, w)
		}
	}
	if got := PurgingTrigger[int, TimeWindow](stubTrigger{}).String(); got != "PurgingTrigger(stub(Continue))" {
		t.Errorf("String: %q", got)
	}
}

// TestTriggersClearLeaveNothing proves invariant 5: whatever a trigger of
// this package did for a (non-merging) window, Clear leaves no timer and no
// state of that window behind, provided the operator delivered the timers
// that came due.
func TestTriggersClearLeaveNothing(t *testing.T) {
	kinds := []struct {
		kind string
		args map[string]string
	}{
		{"event-time", nil},
		{"processing-time", nil},
		{"count", map[string]string{"n": "3"}},
		{"continuous-event", map[string]string{"interval": "7ms"}},
		{"continuous-processing", map[string]string{"interval": "7ms"}},
		{"never", nil},
		{"count", map[string]string{"n": "2", "purging": "true"}},
		{"continuous-event", map[string]string{"interval": "5ms", "purging": "true"}},
	}
	rng := rand.New(rand.NewPCG(1, 2))
	for _, k := range kinds {
		for run := range 200 {
			tr := makeTrigger(t, k.kind, k.args)
			w := TimeWindow{Start: rng.Int64N(100) - 50, End: 0}
			w.End = w.Start + 1 + rng.Int64N(60)
			ctx := newFakeTriggerContext(w, w.Start-rng.Int64N(20)-1, w.Start-rng.Int64N(20))
			var log []string
			for range rng.IntN(30) {
				switch rng.IntN(3) {
				case 0:
					ts := w.Start + rng.Int64N(w.End-w.Start)
					log = append(log, fmt.Sprintf("element %d", ts))
					if _, err := tr.OnElement(0, ts, w, ctx); err != nil {
						t.Fatal(err)
					}
				case 1:
					ctx.watermark += rng.Int64N(15)
					log = append(log, fmt.Sprintf("watermark %d", ctx.watermark))
					fireDue(t, ctx, true, ctx.watermark, func(at int64) (Result, error) { return tr.OnEventTime(at, w, ctx) })
				case 2:
					ctx.processing += rng.Int64N(15)
					log = append(log, fmt.Sprintf("time %d", ctx.processing))
					fireDue(t, ctx, false, ctx.processing, func(at int64) (Result, error) { return tr.OnProcessingTime(at, w, ctx) })
				}
			}
			if err := tr.Clear(w, ctx); err != nil {
				t.Fatal(err)
			}
			if len(ctx.timers) != 0 || len(ctx.states) != 0 {
				t.Fatalf("%v run %d on %v after %v and Clear: timers %v, state %v", tr, run, w, log, ctx.describeTimers(), ctx.describeState())
			}
		}
	}
}

// fireDue fires the timers of one kind due at now, in order, as the
// operator does, failing if they keep coming.
func fireDue(t *testing.T, ctx *fakeTriggerContext[TimeWindow], eventTime bool, now int64, call func(at int64) (Result, error)) {
	t.Helper()
	for firings := 0; ; firings++ {
		due := ctx.due(eventTime, now)
		if len(due) == 0 {
			return
		}
		if firings == 1000 {
			t.Fatalf("timers still due at %d after 1000 firings", now)
		}
		ctx.fire(eventTime, due[0].w, due[0].t)
		if _, err := call(due[0].t); err != nil {
			t.Fatal(err)
		}
	}
}

// TestContinuousProcessingTimeTriggerEnds proves the decision on
// ContinuousProcessingTimeTrigger: once its fire time reaches the window's
// last millisecond it stops registering timers, so that a window without a
// cleanup at that time does not fire in a loop.
func TestContinuousProcessingTimeTriggerEnds(t *testing.T) {
	w := TimeWindow{0, 100}
	tr := ContinuousProcessingTimeTrigger[int, TimeWindow](30 * time.Millisecond)
	ctx := newFakeTriggerContext(w, math.MinInt64, 5)
	if _, err := tr.OnElement(0, 0, w, ctx); err != nil {
		t.Fatal(err)
	}
	var fired []int64
	for steps := 0; len(ctx.timers) > 0; steps++ {
		if steps > 10 {
			t.Fatalf("still firing after %v", fired)
		}
		due := ctx.due(false, math.MaxInt64)
		ctx.processing = due[0].t
		ctx.fire(false, w, due[0].t)
		r, err := tr.OnProcessingTime(due[0].t, w, ctx)
		if err != nil {
			t.Fatal(err)
		}
		if r.IsFire() {
			fired = append(fired, due[0].t)
		}
	}
	if fmt.Sprint(fired) != "[30 60 90 99]" {
		t.Errorf("fired at %v, want [30 60 90 99]", fired)
	}
}

// TestInvalidTriggersFail proves that an invalid trigger used without
// being validated returns its validation error rather than misbehaving.
func TestInvalidTriggersFail(t *testing.T) {
	w := TimeWindow{0, 10}
	for _, tr := range []Trigger[int, TimeWindow]{
		CountTrigger[int, TimeWindow](0),
		ContinuousEventTimeTrigger[int, TimeWindow](0),
		ContinuousProcessingTimeTrigger[int, TimeWindow](time.Microsecond),
		PurgingTrigger[int, TimeWindow](nil),
		PurgingTrigger(CountTrigger[int, TimeWindow](-1)),
	} {
		ctx := newFakeTriggerContext(w, 0, 0)
		verr := Validate(tr)
		if !errors.Is(verr, ErrInvalidConfig) {
			t.Errorf("%v: Validate = %v", tr, verr)
			continue
		}
		if _, err := tr.OnElement(0, 1, w, ctx); !errors.Is(err, ErrInvalidConfig) {
			t.Errorf("%v: OnElement error %v", tr, err)
		}
		if len(ctx.timers) != 0 || len(ctx.states) != 0 {
			t.Errorf("%v: left %v %v", tr, ctx.describeTimers(), ctx.describeState())
		}
	}
}
