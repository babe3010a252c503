package stream

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/runnel-io/runnel/codec"
	"github.com/runnel-io/runnel/runtime/operator"
	"github.com/runnel-io/runnel/state"
	"github.com/runnel-io/runnel/state/keygroup"
)

// bcRule sets (or, with Delete, removes) the threshold of a named rule.
type bcRule struct {
	Name      string
	Threshold int
	Delete    bool
}

// bcTx is a keyed record: an amount for an account.
type bcTx struct {
	Key    string
	Amount int
	TS     int64
}

// The broadcast states of the tests: two, of different types.
var (
	bcRules    = state.Map[string, int]("rules")
	bcVersions = state.Map[int, string]("versions") // change number → rule
)

// bcApply puts or removes a rule and records the change: what every
// ProcessBroadcastElement of these tests does.
func bcApply(ctx BroadcastStateContext, r bcRule) error {
	rules, err := GetBroadcastState(ctx, bcRules)
	if err != nil {
		return err
	}
	if r.Delete {
		err = rules.Remove(r.Name)
	} else {
		err = rules.Put(r.Name, r.Threshold)
	}
	if err != nil {
		return err
	}
	versions, err := GetBroadcastState(ctx, bcVersions)
	if err != nil {
		return err
	}
	n, err := versions.Len()
	if err != nil {
		return err
	}
	return versions.Put(n, r.Name)
}

// bcView describes the broadcast state as seen from ctx.
func bcView(ctx BroadcastStateContext) (string, error) {
	rules, err := GetBroadcastState(ctx, bcRules)
	if err != nil {
		return "", err
	}
	versions, err := GetBroadcastState(ctx, bcVersions)
	if err != nil {
		return "", err
	}
	n, err := versions.Len()
	if err != nil {
		return "", err
	}
	return fmt.Sprintf("rules=%v changes=%d", maps.Collect(rules.All()), n), nil
}

// bcRuleList sets a, b and c, changes b, and removes a.
var bcRuleList = []bcRule{{Name: "a", Threshold: 10}, {Name: "b", Threshold: 50}, {Name: "c", Threshold: 200}, {Name: "b", Threshold: 30}, {Name: "a", Delete: true}}

// bcAlerts is the classic pattern: it sums each account's amounts in keyed
// state and, when the event-time timer at 1000 fires, raises an alert for
// every broadcast rule whose threshold the sum exceeds.
type bcAlerts struct {
	sum state.ValueState[int]
}

func (f *bcAlerts) Open(_ context.Context, rc *KeyedRuntimeContext[string]) (err error) {
	f.sum, err = GetValueState(rc, state.Value[int]("sum"))
	return err
}

func (f *bcAlerts) ProcessElement(ctx *KeyedBroadcastReadOnlyContext[string], tx bcTx, _ Collector[string]) error {
	if _, err := bcView(ctx); err != nil { // read access works here
		return err
	}
	s, _, err := f.sum.Value()
	if err != nil {
		return err
	}
	ctx.TimerService().RegisterEventTimeTimer(1000)
	return f.sum.Update(s + tx.Amount)
}

func (f *bcAlerts) ProcessBroadcastElement(ctx *KeyedBroadcastContext[string], r bcRule, _ Collector[string]) error {
	return bcApply(ctx, r)
}

func (f *bcAlerts) OnTimer(ctx *KeyedBroadcastTimerContext[string], t int64, out Collector[string]) error {
	if ctx.TimeDomain() != EventTime || t != 1000 {
		return fmt.Errorf("timer %v at %d", ctx.TimeDomain(), t)
	}
	s, _, err := f.sum.Value()
	if err != nil {
		return err
	}
	rules, err := GetBroadcastState(ctx, bcRules)
	if err != nil {
		return err
	}
	for name, threshold := range rules.All() {
		if s > threshold {
			out.Collect(fmt.Sprintf("alert %s %s sum=%d", ctx.CurrentKey(), name, s))
		}
	}
	view, err := bcView(ctx)
	out.Collect(fmt.Sprintf("view subtask=%d %s", ctx.Runtime().Subtask, view))
	return err
}

// TestKeyedBroadcastRules: rules broadcast to a keyed stream of accounts
// raise the alerts the final rules and sums call for, at parallelism 1 to
// 4, and every subtask ends with the same broadcast state. The broadcast
// stream has no watermarks of its own, so the operator's event time, and
// with it the timers, waits until it ends: as in Flink.
func TestKeyedBroadcastRules(t *testing.T) {
	var txs []bcTx
	sums := map[string]int{}
	for i := range 40 {
		tx := bcTx{Key: fmt.Sprint("acct", i%6), Amount: i * (i % 6), TS: int64(i)}
		txs = append(txs, tx)
		sums[tx.Key] += tx.Amount
	}
	final := map[string]int{"b": 30, "c": 200}
	var want []string
	for k, s := range sums {
		for name, threshold := range final {
			if s > threshold {
				want = append(want, fmt.Sprintf("alert %s %s sum=%d", k, name, s))
			}
		}
	}
	slices.Sort(want)
	if len(want) == 0 || len(want) == 2*len(sums) {
		t.Fatalf("alerts %v: the case does not discriminate", want)
	}
	for p := 1; p <= 4; p++ {
		t.Run(fmt.Sprint("p=", p), func(t *testing.T) {
			env := NewEnvironment().SetParallelism(p)
			accounts := KeyBy(timestamped(env, txs, func(tx bcTx) int64 { return tx.TS }, 0), func(tx bcTx) string { return tx.Key })
			rules := Broadcast(FromSlice(env, bcRuleList), BroadcastStateOf(bcRules), BroadcastStateOf(bcVersions))
			got := KeyedBroadcastProcessEach(accounts, rules, func() KeyedBroadcastProcessFunction[string, bcTx, bcRule, string] {
				return &bcAlerts{}
			}).Collect()
			bcExecute(t, env)
			var alerts []string
			views := map[string]bool{}
			for _, v := range got.Values() {
				if view, ok := strings.CutPrefix(v, "view "); ok {
					_, rest, _ := strings.Cut(view, " ")
					views[rest] = true
					continue
				}
				alerts = append(alerts, v)
			}
			slices.Sort(alerts)
			if !slices.Equal(alerts, want) {
				t.Fatalf("alerts\n%v\nwant\n%v", alerts, want)
			}
			if wantView := fmt.Sprintf("rules=%v changes=5", final); len(views) != 1 || !views[wantView] {
				t.Fatalf("subtasks saw broadcast states %v, want only %q", slices.Collect(maps.Keys(views)), wantView)
			}
		})
	}
}

func bcExecute(t *testing.T, env *Environment) {
	t.Helper()
	checkNoLeaks(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := env.Execute(ctx, t.Name()); err != nil {
		t.Fatal(err)
	}
}

// bcSnapshots reports, after every broadcast record, the subtask's view of
// the broadcast state; its ProcessElement only reads it.
type bcSnapshots struct{}

type bcSnapshot struct {
	Subtask int
	View    string
}

func (bcSnapshots) ProcessElement(ctx *BroadcastContext, _ int, _ Collector[bcSnapshot]) error {
	rules, err := GetBroadcastState(ctx, bcRules)
	if err != nil {
		return err
	}
	_, _, err = rules.Get("b")
	return err
}

func (bcSnapshots) ProcessBroadcastElement(ctx *BroadcastContext, r bcRule, out Collector[bcSnapshot]) error {
	if err := bcApply(ctx, r); err != nil {
		return err
	}
	view, err := bcView(ctx)
	out.Collect(bcSnapshot{Subtask: ctx.Runtime().Subtask, View: view})
	return err
}

// TestBroadcastStateIsTheSameOnEverySubtask: every subtask of a
// BroadcastProcess gets every broadcast record, in the order of the
// broadcast stream, and so goes through the same broadcast states, at
// parallelism 1 to 4.
func TestBroadcastStateIsTheSameOnEverySubtask(t *testing.T) {
	var want []string
	{
		h := bcNonKeyedHarness(t, bcSnapshots{}, 0, 1)
		for _, r := range bcRuleList {
			h.second(r, operator.NoTimestamp)
		}
		for _, r := range h.take() {
			want = append(want, r.V.View)
		}
	}
	if len(want) != len(bcRuleList) || want[len(want)-1] != "rules=map[b:30 c:200] changes=5" {
		t.Fatalf("the states on one subtask: %q", want)
	}
	for p := 1; p <= 4; p++ {
		t.Run(fmt.Sprint("p=", p), func(t *testing.T) {
			env := NewEnvironment().SetParallelism(p)
			rules := Broadcast(FromSlice(env, bcRuleList), BroadcastStateOf(bcRules), BroadcastStateOf(bcVersions))
			got := BroadcastProcess(FromSlice(env, bcInts(100)), rules, BroadcastProcessFunction[int, bcRule, bcSnapshot](bcSnapshots{})).Collect()
			bcExecute(t, env)
			seen := map[int][]string{}
			for _, s := range got.Values() {
				seen[s.Subtask] = append(seen[s.Subtask], s.View)
			}
			for sub := range p {
				if !slices.Equal(seen[sub], want) {
					t.Errorf("subtask %d went through %q, want %q", sub, seen[sub], want)
				}
			}
			if len(seen) != p {
				t.Errorf("snapshots from subtasks %v, want 0..%d", slices.Collect(maps.Keys(seen)), p-1)
			}
		})
	}
}

func bcInts(n int) []int {
	s := make([]int, n)
	for i := range s {
		s[i] = i
	}
	return s
}

func bcNonKeyedHarness[Out any](t *testing.T, fn BroadcastProcessFunction[int, bcRule, Out], sub, p int) *twoInHarness[int, bcRule, Out] {
	env := NewEnvironment().SetParallelism(p)
	rules := Broadcast(FromSlice(env, []bcRule(nil)), BroadcastStateOf(bcRules), BroadcastStateOf(bcVersions))
	s := BroadcastProcess(FromSlice(env, []int(nil)), rules, fn).Name("bc")
	return newTwoInHarness[int, bcRule, Out](t, s, sub, p, nil)
}

// bcWriter tries, in ProcessElement, the write its record names.
type bcWriter struct{}

func bcTryWrite(ctx BroadcastStateContext, op string) error {
	rules, err := GetBroadcastState(ctx, bcRules)
	if err != nil {
		return err
	}
	switch op {
	case "Put":
		return rules.Put("x", 1)
	case "PutAll":
		return rules.PutAll(map[string]int{"x": 1})
	case "Remove":
		return rules.Remove("b")
	case "Clear":
		return rules.Clear()
	case "undeclared":
		_, err := GetBroadcastState(ctx, state.Map[string, int]("nope"))
		return err
	case "mistyped":
		_, err := GetBroadcastState(ctx, state.Map[string, string]("rules"))
		return err
	}
	return fmt.Errorf("unknown op %q", op)
}

func (bcWriter) ProcessElement(ctx *BroadcastContext, op string, _ Collector[string]) error {
	return bcTryWrite(ctx, op)
}

func (bcWriter) ProcessBroadcastElement(ctx *BroadcastContext, r bcRule, _ Collector[string]) error {
	return bcApply(ctx, r)
}

type bcKeyedWriter struct{}

func (bcKeyedWriter) ProcessElement(ctx *KeyedBroadcastReadOnlyContext[string], op string, _ Collector[string]) error {
	return bcTryWrite(ctx, op)
}

func (bcKeyedWriter) ProcessBroadcastElement(ctx *KeyedBroadcastContext[string], r bcRule, _ Collector[string]) error {
	return bcApply(ctx, r)
}

// TestBroadcastStateIsReadOnlyInProcessElement: every write to broadcast
// state from ProcessElement fails with ErrReadOnlyBroadcastState, leaving
// the state as it was, in both variants; so does a state the stream did
// not declare, or declared with other types.
func TestBroadcastStateIsReadOnlyInProcessElement(t *testing.T) {
	checkNoLeaks(t)
	ops := map[string]error{
		"Put": ErrReadOnlyBroadcastState, "PutAll": ErrReadOnlyBroadcastState, "Remove": ErrReadOnlyBroadcastState,
		"Clear": ErrReadOnlyBroadcastState, "undeclared": ErrUndeclaredBroadcastState, "mistyped": state.ErrIncompatibleState,
	}
	for _, keyed := range []bool{false, true} {
		for op, wantErr := range ops {
			t.Run(fmt.Sprintf("keyed=%v/%s", keyed, op), func(t *testing.T) {
				env := NewEnvironment().SetParallelism(1)
				rules := Broadcast(FromSlice(env, []bcRule(nil)), BroadcastStateOf(bcRules), BroadcastStateOf(bcVersions))
				var s DataStream[string]
				if keyed {
					ks := KeyBy(FromSlice(env, []string(nil)), func(s string) string { return s })
					s = KeyedBroadcastProcess(ks, rules, KeyedBroadcastProcessFunction[string, string, bcRule, string](bcKeyedWriter{}))
				} else {
					s = BroadcastProcess(FromSlice(env, []string(nil)), rules, BroadcastProcessFunction[string, bcRule, string](bcWriter{}))
				}
				h := newTwoInHarness[string, bcRule, string](t, s.Name("bc"), 0, 1, nil)
				h.second(bcRule{Name: "b", Threshold: 5}, operator.NoTimestamp)
				err := h.in1.Collect(op, operator.NoTimestamp)
				var oe *operator.Error
				if !errors.Is(err, wantErr) || !errors.As(err, &oe) || oe.Operator != "bc" {
					t.Fatalf("error %v, want %v from operator bc", err, wantErr)
				}
				// The write did not happen: the state is as the broadcast side left it.
				h.second(bcRule{Name: "c", Threshold: 7}, operator.NoTimestamp)
				var view string
				switch o := h.op.(type) {
				case *broadcastOp[string, bcRule, string]:
					view, err = bcView(&o.ctx)
				case *keyedBroadcastOp[string, string, bcRule, string]:
					view, err = bcView(&o.rwCtx)
				}
				if err != nil || view != "rules=map[b:5 c:7] changes=2" {
					t.Fatalf("broadcast state %q (%v)", view, err)
				}
			})
		}
	}

	// In a job, the error fails it and names the operator.
	env := NewEnvironment().SetParallelism(2)
	rules := Broadcast(FromSlice(env, []bcRule(nil)), BroadcastStateOf(bcRules))
	BroadcastProcess(FromSlice(env, []string{"Put"}), rules, BroadcastProcessFunction[string, bcRule, string](bcWriter{})).Name("writer").Discard()
	err := env.Execute(context.Background(), t.Name())
	if !errors.Is(err, ErrReadOnlyBroadcastState) || !twoInErrContains(err, "writer (", "/2): ", `"rules"`) {
		t.Fatalf("Execute: %v", err)
	}
}

// TestBroadcastDeclarationMistakes: declaring a state twice, or a zero
// descriptor, is reported when the job is built; a descriptor with a TTL
// when the operator opens.
func TestBroadcastDeclarationMistakes(t *testing.T) {
	checkNoLeaks(t)
	env := NewEnvironment()
	Broadcast(FromSlice(env, []bcRule(nil)), BroadcastStateOf(bcRules), BroadcastStateOf(state.Map[int, int]("rules")), BroadcastStateDescriptor{})
	_, err := env.StreamGraph()
	if err == nil || !twoInErrContains(err, `"rules" is declared twice`, "zero BroadcastStateDescriptor") {
		t.Fatalf("StreamGraph: %v", err)
	}

	env = NewEnvironment().SetParallelism(1)
	ttl := bcRules.WithTTL(state.TTLConfig{TTL: time.Hour})
	rules := Broadcast(FromSlice(env, []bcRule(nil)), BroadcastStateOf(ttl))
	BroadcastProcess(FromSlice(env, []string(nil)), rules, BroadcastProcessFunction[string, bcRule, string](bcWriter{})).Discard()
	if err := env.Execute(context.Background(), t.Name()); !errors.Is(err, state.ErrInvalidDescriptor) || !twoInErrContains(err, `"rules"`) {
		t.Fatalf("Execute: %v, want the TTL refused", err)
	}
}

// bcVisitor counts records per key in keyed state; a broadcast record makes
// it visit the keyed state of every key of its subtask, report the keys,
// and clear the state of the keys the record names.
type bcVisitor struct {
	count    state.ValueState[int]
	released func()
}

var bcCount = state.Value[int]("count")

func (f *bcVisitor) Open(_ context.Context, rc *KeyedRuntimeContext[string]) (err error) {
	f.count, err = GetValueState(rc, bcCount)
	return err
}

func (f *bcVisitor) ProcessElement(ctx *KeyedBroadcastReadOnlyContext[string], key string, _ Collector[string]) error {
	n, _, err := f.count.Value()
	if err != nil {
		return err
	}
	if err := f.count.Update(n + 1); err != nil {
		return err
	}
	if f.released != nil {
		f.released()
	}
	return nil
}

func (f *bcVisitor) ProcessBroadcastElement(ctx *KeyedBroadcastContext[string], r bcRule, out Collector[string]) error {
	return ApplyToValueState(ctx, bcCount, func(key string, s state.ValueState[int]) error {
		n, ok, err := s.Value()
		if err != nil || !ok {
			return fmt.Errorf("visited %s without a count (%v)", key, err)
		}
		out.Collect(fmt.Sprintf("%s %d:%s=%d", r.Name, ctx.Runtime().Subtask, key, n))
		if strings.Contains(r.Name, "clear-"+key+";") {
			return s.Clear()
		}
		return nil
	})
}

// TestKeyedBroadcastApplyToKeyedStateVisitsEveryKey: ApplyToValueState visits each key
// of the subtask that has the state, once, with the key's own state; what
// it clears is gone for the next visit.
func TestKeyedBroadcastApplyToKeyedStateVisitsEveryKey(t *testing.T) {
	const p = 3
	kc, err := codec.For[string]()
	if err != nil {
		t.Fatal(err)
	}
	subtaskOf := func(key string) int {
		return keygroup.OperatorIndex(128, p, keygroup.Of(kc.Append(nil, key), 128))
	}
	for sub := range p {
		env := NewEnvironment().SetParallelism(p)
		ks := KeyBy(FromSlice(env, []string(nil)), func(s string) string { return s })
		rules := Broadcast(FromSlice(env, []bcRule(nil)))
		s := KeyedBroadcastProcess(ks, rules, KeyedBroadcastProcessFunction[string, string, bcRule, string](&bcVisitor{}))
		h := newTwoInHarness[string, bcRule, string](t, s, sub, p, nil)
		var want, wantAfter []string
		for i := range 30 {
			key := fmt.Sprint("k", i)
			if subtaskOf(key) != sub {
				continue
			}
			for range i%3 + 1 {
				h.first(key, operator.NoTimestamp)
			}
			want = append(want, fmt.Sprintf("first %d:%s=%d", sub, key, i%3+1))
			if i%2 == 1 {
				wantAfter = append(wantAfter, fmt.Sprintf("second %d:%s=%d", sub, key, i%3+1))
			}
		}
		clear := "first "
		for i := 0; i < 30; i += 2 {
			clear += fmt.Sprintf("clear-k%d;", i)
		}
		h.second(bcRule{Name: clear}, operator.NoTimestamp)
		h.second(bcRule{Name: "second"}, operator.NoTimestamp)
		var got, gotAfter []string
		for _, r := range h.take() {
			v := r.V
			if rest, ok := strings.CutPrefix(v, clear); ok {
				got = append(got, "first"+rest)
			} else {
				gotAfter = append(gotAfter, v)
			}
		}
		slices.Sort(got)
		slices.Sort(want)
		slices.Sort(gotAfter)
		slices.Sort(wantAfter)
		if len(want) == 0 || !slices.Equal(got, want) || !slices.Equal(gotAfter, wantAfter) {
			t.Fatalf("subtask %d: visited\n%v then\n%v\nwant\n%v then\n%v", sub, got, gotAfter, want, wantAfter)
		}
	}
}

// TestKeyedBroadcastApplyToKeyedStateInAJob: at parallelism 1 to 4, a broadcast record
// sent after every keyed record was processed visits every key exactly
// once, on the subtask that owns it.
func TestKeyedBroadcastApplyToKeyedStateInAJob(t *testing.T) {
	var keys []string
	for i := range 25 {
		keys = append(keys, fmt.Sprint("key", i))
	}
	kc, err := codec.For[string]()
	if err != nil {
		t.Fatal(err)
	}
	for p := 1; p <= 4; p++ {
		t.Run(fmt.Sprint("p=", p), func(t *testing.T) {
			release := make(chan struct{})
			var processed atomic.Int64
			var once sync.Once
			env := NewEnvironment().SetParallelism(p)
			ks := KeyBy(FromSlice(env, keys), func(s string) string { return s })
			gated := nonParallel(FromSource(env, bcGated{rule: bcRule{Name: "visit"}, release: release}, NoWatermarks[bcRule](), "gated"))
			got := KeyedBroadcastProcessEach(ks, Broadcast(gated), func() KeyedBroadcastProcessFunction[string, string, bcRule, string] {
				return &bcVisitor{released: func() {
					if processed.Add(1) == int64(len(keys)) {
						once.Do(func() { close(release) })
					}
				}}
			}).Collect()
			bcExecute(t, env)
			var want []string
			for _, k := range keys {
				sub := keygroup.OperatorIndex(128, p, keygroup.Of(kc.Append(nil, k), 128))
				want = append(want, fmt.Sprintf("visit %d:%s=1", sub, k))
			}
			vals := got.Values()
			slices.Sort(vals)
			slices.Sort(want)
			if !slices.Equal(vals, want) {
				t.Fatalf("visited\n%v\nwant\n%v", vals, want)
			}
		})
	}
}

// bcGated is a source that emits one rule once release is closed, then
// ends.
type bcGated struct {
	rule    bcRule
	release chan struct{}
}

func (g bcGated) Bounded() bool { return true }

func (g bcGated) CreateReader(context.Context, *RuntimeContext) (SourceReader[bcRule], error) {
	return &bcGatedReader{g: g}, nil
}

type bcGatedReader struct{ g bcGated }

func (r *bcGatedReader) PollNext(out ReaderOutput[bcRule]) (InputStatus, error) {
	select {
	case <-r.g.release:
		out.Collect(r.g.rule)
		return EndOfInput, nil
	default:
		return NothingAvailable, nil
	}
}

func (r *bcGatedReader) Available() <-chan struct{} { return r.g.release }
func (r *bcGatedReader) Close() error               { return nil }
