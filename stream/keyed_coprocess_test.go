package stream

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/runnel-io/runnel/runtime/clock"
	"github.com/runnel-io/runnel/runtime/operator"
	"github.com/runnel-io/runnel/state"
)

// The tests of this file and of join_interval_test.go and broadcast_test.go
// drive two-input operators two ways: whole jobs on the mini-cluster, and
// one subtask at a time through twoInHarness, which feeds records,
// watermarks and processing time by hand (Flink's
// TwoInputStreamOperatorTestHarness) so that timing is exact.

// twoInHarness drives one subtask of the two-input operator whose output s
// is, built by the operator's own factory, without tasks or network.
type twoInHarness[A, B, Out any] struct {
	t   *testing.T
	op  operator.Operator
	in1 operator.Output[A]
	in2 operator.Output[B]
	out *twoInOutput[Out]
	pts *twoInTime
}

func newTwoInHarness[A, B, Out any](t *testing.T, s DataStream[Out], subtask, parallelism int, sides map[string]any) *twoInHarness[A, B, Out] {
	t.Helper()
	if len(s.env.errs) > 0 {
		t.Fatalf("building the job: %v", errors.Join(s.env.errs...))
	}
	n := s.ports[0].node
	h := &twoInHarness[A, B, Out]{t: t, out: &twoInOutput[Out]{}, pts: &twoInTime{}}
	c := &operator.Context{
		JobName: t.Name(), TaskName: n.Name, OperatorName: n.Name,
		Subtask: subtask, Parallelism: parallelism, MaxParallelism: 128,
		Logger:         slog.New(slog.DiscardHandler),
		ProcessingTime: h.pts,
		Clock:          clock.NewManual(time.UnixMilli(0)),
		SideOutputs:    sides,
	}
	op, ins, err := n.Factory.Create(c, operator.Output[Out](h.out))
	if err != nil {
		t.Fatalf("Create: %v", err)
	}
	h.op, h.in1, h.in2 = op, ins[0].(operator.Output[A]), ins[1].(operator.Output[B])
	if err := op.Open(context.Background()); err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() {
		if err := op.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return h
}

func (h *twoInHarness[A, B, Out]) must(err error) {
	h.t.Helper()
	if err != nil {
		h.t.Fatal(err)
	}
}

func (h *twoInHarness[A, B, Out]) first(v A, ts int64)  { h.t.Helper(); h.must(h.in1.Collect(v, ts)) }
func (h *twoInHarness[A, B, Out]) second(v B, ts int64) { h.t.Helper(); h.must(h.in2.Collect(v, ts)) }

// watermarks sends wm1 to the first input and wm2 to the second.
func (h *twoInHarness[A, B, Out]) watermarks(wm1, wm2 int64) {
	h.t.Helper()
	h.must(h.in1.EmitWatermark(wm1))
	h.must(h.in2.EmitWatermark(wm2))
}

// take returns the records emitted since the last take.
func (h *twoInHarness[A, B, Out]) take() []twoInRecord[Out] {
	r := h.out.records
	h.out.records = nil
	return r
}

// twoInRecord is an emitted record with its timestamp.
type twoInRecord[T any] struct {
	V  T
	TS int64
}

func (r twoInRecord[T]) String() string { return fmt.Sprintf("%v@%d", r.V, r.TS) }

// twoInOutput records what an operator emits.
type twoInOutput[T any] struct {
	records    []twoInRecord[T]
	watermarks []int64
	statuses   []bool
}

func (o *twoInOutput[T]) Collect(v T, ts int64) error {
	o.records = append(o.records, twoInRecord[T]{v, ts})
	return nil
}

func (o *twoInOutput[T]) EmitWatermark(wm int64) error {
	o.watermarks = append(o.watermarks, wm)
	return nil
}

func (o *twoInOutput[T]) EmitWatermarkStatus(idle bool) error {
	o.statuses = append(o.statuses, idle)
	return nil
}

// twoInTime is a processing-time service moved by hand.
type twoInTime struct {
	now     int64
	pending []*twoInCallback
}

type twoInCallback struct {
	t         int64
	fn        func(int64) error
	cancelled bool
}

func (s *twoInTime) Now() int64 { return s.now }

func (s *twoInTime) Register(t int64, fn func(int64) error) operator.Cancel {
	cb := &twoInCallback{t: t, fn: fn}
	s.pending = append(s.pending, cb)
	return func() bool {
		was := !cb.cancelled && slices.Contains(s.pending, cb)
		cb.cancelled = true
		return was
	}
}

// advance moves processing time to now and runs the callbacks due, in time
// order.
func (s *twoInTime) advance(now int64) error {
	s.now = now
	for {
		slices.SortStableFunc(s.pending, func(a, b *twoInCallback) int { return cmp.Compare(a.t, b.t) })
		if len(s.pending) == 0 || s.pending[0].t > now {
			return nil
		}
		cb := s.pending[0]
		s.pending = s.pending[1:]
		if cb.cancelled {
			continue
		}
		if err := cb.fn(now); err != nil {
			return err
		}
	}
}

// twoInEagerBounded is BoundedOutOfOrderness emitting on every event instead of
// periodically, so that jobs' watermarks do not depend on timing: the
// largest timestamp seen minus delay minus 1.
type twoInEagerBounded struct{ delay, max int64 }

func (g *twoInEagerBounded) OnEvent(ts int64, out WatermarkOutput) {
	g.max = max(g.max, ts)
	out.EmitWatermark(g.max - g.delay - 1)
}
func (*twoInEagerBounded) OnPeriodicEmit(WatermarkOutput) {}

// timestamped is a non-parallel source of vs whose records get the
// timestamp ts(v) and twoInEagerBounded watermarks.
func timestamped[T any](env *Environment, vs []T, ts func(T) int64, delay int64) DataStream[T] {
	strategy := ForGenerator[T](func() WatermarkGenerator {
		return &twoInEagerBounded{delay: delay, max: math.MinInt64 + delay + 1}
	}).WithTimestampAssigner(func(v T, _ int64) int64 { return ts(v) })
	return nonParallel(FromSource(env, sliceSource[T](vs), strategy, "Timestamped Source"))
}

// kcoEvent is a record of either input of the keyed co-process tests.
type kcoEvent struct {
	Key string
	N   int
	TS  int64
}

// kcoTotals keeps, per key, what both inputs brought in one value state,
// and reports it when an event-time timer at 1000 fires.
type kcoTotals struct {
	totals state.ValueState[kcoTotal]
}

type kcoTotal struct{ A, B, Records int }

func (f *kcoTotals) Open(_ context.Context, rc *KeyedRuntimeContext[string]) (err error) {
	f.totals, err = GetValueState(rc, state.Value[kcoTotal]("totals"))
	return err
}

func (f *kcoTotals) add(ctx *KeyedContext[string], e kcoEvent, first bool) error {
	if ctx.CurrentKey() != e.Key {
		return fmt.Errorf("current key %q for a record of %q", ctx.CurrentKey(), e.Key)
	}
	t, _, err := f.totals.Value()
	if err != nil {
		return err
	}
	if first {
		t.A += e.N
	} else {
		t.B += e.N
	}
	t.Records++
	ctx.TimerService().RegisterEventTimeTimer(1000)
	return f.totals.Update(t)
}

func (f *kcoTotals) ProcessElement1(ctx *KeyedContext[string], e kcoEvent, _ Collector[string]) error {
	return f.add(ctx, e, true)
}

func (f *kcoTotals) ProcessElement2(ctx *KeyedContext[string], e kcoEvent, _ Collector[string]) error {
	return f.add(ctx, e, false)
}

func (f *kcoTotals) OnTimer(ctx *TimerContext[string], t int64, out Collector[string]) error {
	total, _, err := f.totals.Value()
	if err != nil {
		return err
	}
	ts, _ := ctx.Timestamp()
	out.Collect(fmt.Sprintf("%s@%d/%d a=%d b=%d n=%d", ctx.CurrentKey(), t, ts, total.A, total.B, total.Records))
	return f.totals.Clear()
}

// TestKeyedCoProcessSharesStatePerKey: records of both inputs with equal
// keys meet in one subtask and one state entry, at parallelism 1 and 3;
// the timer at 1000 fires once per key on the combined watermark, after
// every record of both inputs (all earlier than 1000) was counted.
func TestKeyedCoProcessSharesStatePerKey(t *testing.T) {
	checkNoLeaks(t)
	var as, bs []kcoEvent
	want := map[string]*kcoTotal{}
	for i := range 60 {
		k := fmt.Sprintf("k%d", i%7)
		as = append(as, kcoEvent{Key: k, N: i, TS: int64(i)})
		if want[k] == nil {
			want[k] = &kcoTotal{}
		}
		want[k].A += i
		want[k].Records++
		if i%2 == 0 {
			bs = append(bs, kcoEvent{Key: k, N: 100 * i, TS: int64(2 * i)})
			want[k].B += 100 * i
			want[k].Records++
		}
	}
	var exp []string
	for k, w := range want {
		exp = append(exp, fmt.Sprintf("%s@1000/1000 a=%d b=%d n=%d", k, w.A, w.B, w.Records))
	}
	slices.Sort(exp)
	for _, p := range []int{1, 3} {
		t.Run(fmt.Sprint("p=", p), func(t *testing.T) {
			env := NewEnvironment().SetParallelism(p)
			tsOf := func(e kcoEvent) int64 { return e.TS }
			a := KeyBy(timestamped(env, as, tsOf, 0), func(e kcoEvent) string { return e.Key })
			b := KeyBy(timestamped(env, bs, tsOf, 0), func(e kcoEvent) string { return e.Key })
			got := KeyedCoProcessEach(ConnectKeyed(a, b), func() KeyedCoProcessFunction[string, kcoEvent, kcoEvent, string] {
				return &kcoTotals{}
			}).Collect()
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			if err := env.Execute(ctx, t.Name()); err != nil {
				t.Fatal(err)
			}
			vals := got.Values()
			slices.Sort(vals)
			if !slices.Equal(vals, exp) {
				t.Fatalf("got\n%v\nwant\n%v", vals, exp)
			}
		})
	}
}

// TestKeyedCoProcessTimersFireOnCombinedWatermark: an event-time timer
// fires only when both inputs' watermarks have passed it, and before the
// combined watermark goes downstream; an idle input stops holding it back.
func TestKeyedCoProcessTimersFireOnCombinedWatermark(t *testing.T) {
	env := NewEnvironment().SetParallelism(1)
	a := KeyBy(FromSlice(env, []kcoEvent(nil)), func(e kcoEvent) string { return e.Key })
	b := KeyBy(FromSlice(env, []kcoEvent(nil)), func(e kcoEvent) string { return e.Key })
	s := KeyedCoProcess(ConnectKeyed(a, b), KeyedCoProcessFunction[string, kcoEvent, kcoEvent, string](&kcoTotals{}))
	h := newTwoInHarness[kcoEvent, kcoEvent, string](t, s, 0, 1, nil)

	h.first(kcoEvent{Key: "x", N: 1}, 10)
	h.second(kcoEvent{Key: "x", N: 2}, 20)
	h.watermarks(2000, operator.MinWatermark)
	if got := h.take(); len(got) != 0 || len(h.out.watermarks) != 0 {
		t.Fatalf("with the second input at no watermark: emitted %v and watermarks %v, want nothing", got, h.out.watermarks)
	}
	h.must(h.in2.EmitWatermark(999))
	if got := h.take(); len(got) != 0 || !slices.Equal(h.out.watermarks, []int64{999}) {
		t.Fatalf("at combined watermark 999: emitted %v and watermarks %v, want nothing and [999]", got, h.out.watermarks)
	}
	h.must(h.in2.EmitWatermark(1500))
	if got := fmt.Sprint(h.take()); got != "[x@1000/1000 a=1 b=2 n=2@1000]" {
		t.Fatalf("at combined watermark 1500: emitted %s", got)
	}
	if !slices.Equal(h.out.watermarks, []int64{999, 1500}) {
		t.Fatalf("watermarks %v, want [999 1500]", h.out.watermarks)
	}

	// The second input goes idle: the first alone drives event time.
	h.first(kcoEvent{Key: "y", N: 3}, 1600)
	h.must(h.in2.EmitWatermarkStatus(true))
	if !slices.Equal(h.out.watermarks, []int64{999, 1500, 2000}) {
		t.Fatalf("after the second input went idle: watermarks %v, want [999 1500 2000]", h.out.watermarks)
	}
	if len(h.out.statuses) != 0 {
		t.Fatalf("statuses %v: the operator is not idle while its first input is active", h.out.statuses)
	}
	// y's timer at 1000 was registered behind the watermark: it fired at once
	// when the watermark next advanced.
	if got := fmt.Sprint(h.take()); got != "[y@1000/1000 a=3 b=0 n=1@1000]" {
		t.Fatalf("emitted %s", got)
	}
}

// kcoProcTimer registers a processing-time timer 100 ms ahead for every
// record of either input and counts, in the key's state, the records seen.
type kcoProcTimer struct{ seen state.ValueState[int] }

func (f *kcoProcTimer) Open(_ context.Context, rc *KeyedRuntimeContext[string]) (err error) {
	f.seen, err = GetValueState(rc, state.Value[int]("seen"))
	return err
}

func (f *kcoProcTimer) bump(ctx *KeyedContext[string]) error {
	n, _, err := f.seen.Value()
	if err != nil {
		return err
	}
	ctx.TimerService().RegisterProcessingTimeTimer(ctx.TimerService().CurrentProcessingTime() + 100)
	return f.seen.Update(n + 1)
}

func (f *kcoProcTimer) ProcessElement1(ctx *KeyedContext[string], _ kcoEvent, _ Collector[string]) error {
	return f.bump(ctx)
}

func (f *kcoProcTimer) ProcessElement2(ctx *KeyedContext[string], e kcoEvent, _ Collector[string]) error {
	if e.N < 0 {
		return errors.New("negative")
	}
	return f.bump(ctx)
}

func (f *kcoProcTimer) OnTimer(ctx *TimerContext[string], t int64, out Collector[string]) error {
	n, _, err := f.seen.Value()
	if err != nil {
		return err
	}
	_, hasTS := ctx.Timestamp()
	out.Collect(fmt.Sprintf("%s %v@%d seen=%d ts=%v", ctx.CurrentKey(), ctx.TimeDomain(), t, n, hasTS))
	return nil
}

// TestKeyedCoProcessProcessingTimeAndErrors: processing-time timers fire
// for their key without a timestamp; an error of the function fails with
// the operator's name.
func TestKeyedCoProcessProcessingTimeAndErrors(t *testing.T) {
	env := NewEnvironment().SetParallelism(1)
	a := KeyBy(FromSlice(env, []kcoEvent(nil)), func(e kcoEvent) string { return e.Key })
	b := KeyBy(FromSlice(env, []kcoEvent(nil)), func(e kcoEvent) string { return e.Key })
	s := KeyedCoProcess(ConnectKeyed(a, b), KeyedCoProcessFunction[string, kcoEvent, kcoEvent, string](&kcoProcTimer{})).Name("co")
	h := newTwoInHarness[kcoEvent, kcoEvent, string](t, s, 0, 1, nil)
	h.first(kcoEvent{Key: "p"}, operator.NoTimestamp)
	h.second(kcoEvent{Key: "p"}, 5)
	h.must(h.pts.advance(99))
	if got := h.take(); len(got) != 0 {
		t.Fatalf("before the timer's time: emitted %v", got)
	}
	h.must(h.pts.advance(100))
	if got := fmt.Sprint(h.take()); got != fmt.Sprintf("[p PROCESSING_TIME@100 seen=2 ts=false@%d]", operator.NoTimestamp) {
		t.Fatalf("emitted %s", got)
	}

	err := h.in2.Collect(kcoEvent{Key: "p", N: -1}, 6)
	var oe *operator.Error
	if !errors.As(err, &oe) || oe.Operator != "co" || oe.Err.Error() != "negative" {
		t.Fatalf("error %v, want the function's error attributed to operator co", err)
	}
}

// TestKeyedCoProcessRejectsDifferentKeyCodecs: keys encoded differently
// would reach different subtasks, so building the job fails.
func TestKeyedCoProcessRejectsDifferentKeyCodecs(t *testing.T) {
	env := NewEnvironment().SetParallelism(2)
	a := KeyBy(FromSlice(env, []kcoEvent{{Key: "a"}}), func(e kcoEvent) string { return e.Key })
	b := KeyByCodec(FromSlice(env, []kcoEvent{{Key: "a"}}), func(e kcoEvent) string { return e.Key }, otherStringCodec{})
	KeyedCoProcess(ConnectKeyed(a, b), KeyedCoProcessFunction[string, kcoEvent, kcoEvent, string](&kcoTotals{})).Discard()
	_, err := env.StreamGraph()
	if err == nil || !twoInErrContains(err, "ConnectKeyed", "codecs of different types") {
		t.Fatalf("StreamGraph: %v, want the key codec mistake", err)
	}
}

// otherStringCodec encodes strings like codec.String, but is another type.
type otherStringCodec struct{}

func (otherStringCodec) Append(dst []byte, v string) []byte { return append(dst, v...) }
func (otherStringCodec) Decode(src []byte) (string, error)  { return string(src), nil }

// twoInErrContains reports whether err's text contains every one of parts.
func twoInErrContains(err error, parts ...string) bool {
	for _, p := range parts {
		if !strings.Contains(err.Error(), p) {
			return false
		}
	}
	return true
}
