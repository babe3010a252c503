package window

import (
	"cmp"
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/runnel-io/runnel/state"
)

// fakeTriggerContext is a fake of the window operator's side of a trigger,
// for one key: it holds timers and int64 reducing state per window in maps,
// and records every timer registration and deletion in effects, so that a
// test can print what a trigger did. It stands in for an operator that
// does not exist yet (and would bring a state backend and a timer service
// with it); it is not a replacement for one.
type fakeTriggerContext[W Window] struct {
	window     W   // the window of the current call
	sources    []W // the windows merging into window, during OnMerge
	watermark  int64
	processing int64
	timers     map[fakeTimer[W]]bool
	states     map[fakeStateKey[W]]int64
	effects    []string
}

type fakeTimer[W Window] struct {
	eventTime bool
	w         W
	t         int64
}

type fakeStateKey[W Window] struct {
	w    W
	name string
}

func newFakeTriggerContext[W Window](w W, watermark, processing int64) *fakeTriggerContext[W] {
	return &fakeTriggerContext[W]{
		window: w, watermark: watermark, processing: processing,
		timers: make(map[fakeTimer[W]]bool), states: make(map[fakeStateKey[W]]int64),
	}
}

func (f *fakeTriggerContext[W]) CurrentWatermark() int64      { return f.watermark }
func (f *fakeTriggerContext[W]) CurrentProcessingTime() int64 { return f.processing }

func (f *fakeTriggerContext[W]) timer(eventTime, register bool, t int64) {
	key := fakeTimer[W]{eventTime, f.window, t}
	kind := "proc"
	if eventTime {
		kind = "event"
	}
	if register {
		f.effects = append(f.effects, fmt.Sprintf("+%s %v@%d", kind, f.window, t))
		f.timers[key] = true
	} else {
		f.effects = append(f.effects, fmt.Sprintf("-%s %v@%d", kind, f.window, t))
		delete(f.timers, key)
	}
}

func (f *fakeTriggerContext[W]) RegisterEventTimeTimer(t int64)      { f.timer(true, true, t) }
func (f *fakeTriggerContext[W]) DeleteEventTimeTimer(t int64)        { f.timer(true, false, t) }
func (f *fakeTriggerContext[W]) RegisterProcessingTimeTimer(t int64) { f.timer(false, true, t) }
func (f *fakeTriggerContext[W]) DeleteProcessingTimeTimer(t int64)   { f.timer(false, false, t) }

func (f *fakeTriggerContext[W]) Int64State(name string, reduce state.ReduceFunc[int64]) (state.ReducingState[int64], error) {
	return &fakeReducingState[W]{ctx: f, key: fakeStateKey[W]{f.window, name}, reduce: reduce}, nil
}

// MergeInt64State folds the sources' values into the current window's, in
// order, and removes them, as state.Merging.MergeNamespaces does.
func (f *fakeTriggerContext[W]) MergeInt64State(name string, reduce state.ReduceFunc[int64]) error {
	target := fakeStateKey[W]{f.window, name}
	for _, src := range f.sources {
		key := fakeStateKey[W]{src, name}
		v, ok := f.states[key]
		if !ok || src == f.window {
			continue
		}
		if cur, ok := f.states[target]; ok {
			r, err := reduce(cur, v)
			if err != nil {
				return err
			}
			v = r
		}
		f.states[target] = v
		delete(f.states, key)
	}
	return nil
}

// fire removes the timer (eventTime, w, t) as the operator does before
// calling the trigger, and reports whether it was registered.
func (f *fakeTriggerContext[W]) fire(eventTime bool, w W, t int64) bool {
	key := fakeTimer[W]{eventTime, w, t}
	ok := f.timers[key]
	delete(f.timers, key)
	return ok
}

// due returns the timers of one kind at or before t, by time.
func (f *fakeTriggerContext[W]) due(eventTime bool, t int64) []fakeTimer[W] {
	var due []fakeTimer[W]
	for k := range f.timers {
		if k.eventTime == eventTime && k.t <= t {
			due = append(due, k)
		}
	}
	slices.SortFunc(due, func(a, b fakeTimer[W]) int {
		if c := cmp.Compare(a.t, b.t); c != 0 {
			return c
		}
		return strings.Compare(fmt.Sprint(a.w), fmt.Sprint(b.w))
	})
	return due
}

// takeEffects returns the recorded effects and forgets them.
func (f *fakeTriggerContext[W]) takeEffects() []string {
	e := f.effects
	f.effects = nil
	return e
}

// describeState returns "state <window> <name>=<value>" for every stored
// value, sorted.
func (f *fakeTriggerContext[W]) describeState() []string {
	var lines []string
	for _, k := range slices.Collect(maps.Keys(f.states)) {
		lines = append(lines, fmt.Sprintf("state %v %s=%d", k.w, k.name, f.states[k]))
	}
	slices.Sort(lines)
	return lines
}

// describeTimers returns "timer <kind> <window>@<t>" for every timer, sorted.
func (f *fakeTriggerContext[W]) describeTimers() []string {
	var lines []string
	for k := range f.timers {
		kind := "proc"
		if k.eventTime {
			kind = "event"
		}
		lines = append(lines, fmt.Sprintf("timer %s %v@%d", kind, k.w, k.t))
	}
	slices.Sort(lines)
	return lines
}

// fakeReducingState is the state.ReducingState of fakeTriggerContext.
type fakeReducingState[W Window] struct {
	ctx    *fakeTriggerContext[W]
	key    fakeStateKey[W]
	reduce state.ReduceFunc[int64]
}

func (s *fakeReducingState[W]) Get() (int64, bool, error) {
	v, ok := s.ctx.states[s.key]
	return v, ok, nil
}

func (s *fakeReducingState[W]) Add(v int64) error {
	if cur, ok := s.ctx.states[s.key]; ok {
		r, err := s.reduce(cur, v)
		if err != nil {
			return err
		}
		v = r
	}
	s.ctx.states[s.key] = v
	return nil
}

func (s *fakeReducingState[W]) Clear() error {
	delete(s.ctx.states, s.key)
	return nil
}

// fakeClock is an AssignerContext and EvictorContext with fixed times.
type fakeClock struct{ watermark, processing int64 }

func (c fakeClock) CurrentWatermark() int64      { return c.watermark }
func (c fakeClock) CurrentProcessingTime() int64 { return c.processing }
