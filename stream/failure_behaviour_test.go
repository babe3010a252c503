package stream_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/runnel-io/runnel/runtime/operator"
	"github.com/runnel-io/runnel/stream"
)

var errBadRecord = errors.New("bad record")

// operatorError returns the *operator.Error in err's chain.
func operatorError(t *testing.T, err error) *operator.Error {
	t.Helper()
	var oe *operator.Error
	if !errors.As(err, &oe) {
		t.Fatalf("Execute: %v, want an error wrapping *operator.Error", err)
	}
	return oe
}

func TestMapErrorNamesOperatorSubtaskAndCause(t *testing.T) {
	checkNoLeaks(t)
	env := newEnv(4)
	nums := stream.Generate(env, 1000, func(i int64) (int64, error) { return i, nil })
	stream.Map(nums, func(v int64) (int64, error) {
		if v == 42 {
			return 0, fmt.Errorf("record %d: %w", v, errBadRecord)
		}
		return v, nil
	}).Name("parse").Discard()
	err := executeErr(t, env)
	// Record 42 is generated, and mapped, by subtask 42 mod 4 = 2.
	wantErrorContains(t, err, "parse (3/4): ", "record 42: bad record", t.Name())
	if !errors.Is(err, errBadRecord) {
		t.Errorf("errors.Is(%v, errBadRecord) = false", err)
	}
	oe := operatorError(t, err)
	if oe.Operator != "parse" || oe.Subtask != 2 || oe.Parallelism != 4 || oe.Stack != nil {
		t.Errorf("operator.Error{Operator: %q, Subtask: %d, Parallelism: %d, Stack: %d bytes}, want parse, 2, 4, no stack",
			oe.Operator, oe.Subtask, oe.Parallelism, len(oe.Stack))
	}
}

func TestFlatMapPanicFailsTheJob(t *testing.T) {
	checkNoLeaks(t)
	env := newEnv(4)
	nums := stream.Generate(env, 1000, func(i int64) (int64, error) { return i, nil })
	stream.FlatMap(nums, func(v int64, out stream.Collector[int64]) error {
		if v == 501 {
			panic(fmt.Sprintf("kaboom at %d", v))
		}
		out.Collect(v)
		return nil
	}).Name("explode").Rebalance().Discard()
	err := executeErr(t, env)
	wantErrorContains(t, err, "explode (2/4): ", "panic", "kaboom at 501")
	oe := operatorError(t, err)
	if oe.Operator != "explode" || oe.Subtask != 1 {
		t.Errorf("operator.Error names %q subtask %d, want explode, 1", oe.Operator, oe.Subtask)
	}
	if len(oe.Stack) == 0 || !strings.Contains(string(oe.Stack), "goroutine") {
		t.Errorf("operator.Error.Stack = %q, want the panicking goroutine's stack", oe.Stack)
	}
}

func TestFilterAndProcessErrorsNameTheirOperator(t *testing.T) {
	checkNoLeaks(t)
	env := newEnv(2)
	nums := stream.Generate(env, 100, func(i int64) (int64, error) { return i, nil })
	kept := nums.Filter(func(v int64) (bool, error) {
		if v == 77 {
			return false, errBadRecord
		}
		return true, nil
	}).Name("picky")
	kept.Discard()
	err := executeErr(t, env)
	wantErrorContains(t, err, "picky (2/2): ")
	if !errors.Is(err, errBadRecord) {
		t.Errorf("errors.Is(%v, errBadRecord) = false", err)
	}

	env = newEnv(2)
	nums = stream.Generate(env, 100, func(i int64) (int64, error) { return i, nil })
	stream.Process(nums.Rebalance(), stream.ProcessFunc[int64, int64](func(_ *stream.Context, v int64, _ stream.Collector[int64]) error {
		if v == 10 {
			return errBadRecord
		}
		return nil
	})).Name("processor").Discard()
	err = executeErr(t, env)
	wantSubtaskFailure(t, err, "processor", 2)
	if !errors.Is(err, errBadRecord) {
		t.Errorf("errors.Is(%v, errBadRecord) = false", err)
	}
}

// A failure in a downstream task must stop an unbounded upstream that is
// blocked on back-pressure.
func TestDownstreamFailureStopsABackPressuredSource(t *testing.T) {
	checkNoLeaks(t)
	env := newEnv(2).SetNetworkBuffers(1, 64)
	nums := stream.Generate(env, stream.Unbounded, func(i int64) (int64, error) { return i, nil })
	stream.Map(nums.Rebalance(), func(v int64) (int64, error) {
		if v == 5000 {
			return 0, errBadRecord
		}
		return v, nil
	}).Name("slow consumer").Discard()
	err := executeErr(t, env)
	wantSubtaskFailure(t, err, "slow consumer", 2)
	if !errors.Is(err, errBadRecord) {
		t.Errorf("errors.Is(%v, errBadRecord) = false", err)
	}
}

func TestFailingSink(t *testing.T) {
	checkNoLeaks(t)
	const p = 3
	env := newEnv(p)
	sink := &recordingSink{failAt: 100}
	stream.Generate(env, 1000, func(i int64) (int64, error) { return i, nil }).SinkTo(sink, "recording sink")
	err := executeErr(t, env)
	// Record 100 reaches sink subtask 100 mod 3 = 1.
	wantErrorContains(t, err, "recording sink (2/3): ", "boom")
	if !errors.Is(err, errBoom) {
		t.Errorf("errors.Is(%v, errBoom) = false", err)
	}
	for s := range p {
		log := sink.logs[s]
		if len(log) == 0 || log[len(log)-1] != "close" || strings.Count(strings.Join(log, ","), "close") != 1 {
			t.Errorf("subtask %d: writer calls end with %q, want exactly one close, last", s, log[max(0, len(log)-2):])
		}
	}
	for _, c := range sink.logs[1] {
		if c == "flush end" {
			t.Errorf("the failed writer was flushed for the end of input")
		}
	}
}

type failingSink struct{}

func (failingSink) CreateWriter(context.Context, *stream.RuntimeContext) (stream.SinkWriter[int64], error) {
	return nil, errBoom
}

func TestSinkThatCannotCreateItsWriter(t *testing.T) {
	checkNoLeaks(t)
	env := newEnv(2)
	stream.Generate(env, 10, func(i int64) (int64, error) { return i, nil }).SinkTo(failingSink{}, "no writer")
	err := executeErr(t, env)
	wantSubtaskFailure(t, err, "no writer", 2)
	if !errors.Is(err, errBoom) {
		t.Errorf("errors.Is(%v, errBoom) = false", err)
	}
}

// brokenSource emits 0, 1, ... and fails (or panics) on record failAt of
// subtask 0; CreateReader fails instead if noReader.
type brokenSource struct {
	failAt   int64
	panics   bool
	noReader bool
	closed   *atomic.Int64
}

func (s brokenSource) Bounded() bool { return true }

func (s brokenSource) CreateReader(_ context.Context, rc *stream.RuntimeContext) (stream.SourceReader[int64], error) {
	if s.noReader {
		return nil, errBoom
	}
	return &brokenReader{src: s, subtask: rc.Subtask}, nil
}

type brokenReader struct {
	src     brokenSource
	subtask int
	next    int64
}

func (r *brokenReader) PollNext(out stream.ReaderOutput[int64]) (stream.InputStatus, error) {
	for range 100 {
		if r.subtask == 0 && r.next == r.src.failAt {
			if r.src.panics {
				panic("source exploded")
			}
			return stream.MoreAvailable, errBoom
		}
		out.Collect(r.next)
		r.next++
	}
	if r.next >= 10_000 {
		return stream.EndOfInput, nil
	}
	return stream.MoreAvailable, nil
}

func (r *brokenReader) Available() <-chan struct{} { return ready }

func (r *brokenReader) Close() error {
	r.src.closed.Add(1)
	return nil
}

func TestFailingSource(t *testing.T) {
	for _, c := range []struct {
		name string
		src  brokenSource
		want []string
	}{
		{"error", brokenSource{failAt: 250}, []string{"boom"}},
		{"panic", brokenSource{failAt: 250, panics: true}, []string{"panic", "source exploded"}},
		{"no reader", brokenSource{noReader: true}, []string{"boom"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			checkNoLeaks(t)
			c.src.closed = new(atomic.Int64)
			env := newEnv(2)
			stream.FromSource[int64](env, c.src, stream.NoWatermarks[int64](), "broken source").Rebalance().Discard()
			err := executeErr(t, env)
			wantSubtaskFailure(t, err, "broken source", 2)
			wantErrorContains(t, err, c.want...)
			if !c.src.panics && !errors.Is(err, errBoom) {
				t.Errorf("errors.Is(%v, errBoom) = false", err)
			}
			if c.src.panics && operatorError(t, err).Stack == nil {
				t.Error("a panic left no stack in the operator.Error")
			}
			wantClosed := int64(2)
			if c.src.noReader {
				wantClosed = 0
			}
			if got := c.src.closed.Load(); got != wantClosed {
				t.Errorf("readers closed %d times, want %d", got, wantClosed)
			}
		})
	}
}

// failingHooks fails in one of its lifecycle hooks.
type failingHooks struct {
	in string // "open", "finish" or "close"
	lc *lifecycle
}

func (f *failingHooks) Open(_ context.Context, rc *stream.RuntimeContext) error {
	f.lc.open(rc.Subtask)
	if f.in == "open" && rc.Subtask == 1 {
		return errBoom
	}
	return nil
}

func (f *failingHooks) ProcessElement(_ *stream.Context, v int64, out stream.Collector[int64]) error {
	out.Collect(v)
	return nil
}

func (f *failingHooks) Finish(stream.Collector[int64]) error {
	f.lc.finish()
	if f.in == "finish" {
		return errBoom
	}
	return nil
}

func (f *failingHooks) Close() error {
	f.lc.close()
	if f.in == "close" {
		return errBoom
	}
	return nil
}

func TestFailingLifecycleHooksFailTheJob(t *testing.T) {
	for _, in := range []string{"open", "finish", "close"} {
		t.Run(in, func(t *testing.T) {
			checkNoLeaks(t)
			env := newEnv(2)
			lc := newLifecycle()
			nums := stream.Generate(env, 100, func(i int64) (int64, error) { return i, nil })
			stream.Process(nums, stream.ProcessFunction[int64, int64](&failingHooks{in: in, lc: lc})).Name("hooks").Discard()
			err := executeErr(t, env)
			wantSubtaskFailure(t, err, "hooks", 2)
			if !errors.Is(err, errBoom) {
				t.Errorf("errors.Is(%v, errBoom) = false", err)
			}
			lc.wantOpenedAndClosedOnce(t, 2)
		})
	}
}

// fnHolder is a record type without a codec: it holds a function.
type fnHolder struct {
	N  int
	Fn func() int
}

func TestRecordWithoutCodecCrossingTasksIsAnExecuteError(t *testing.T) {
	env := newEnv(2)
	var ran atomic.Bool
	nums := stream.Generate(env, 10, func(i int64) (int, error) { ran.Store(true); return int(i), nil })
	holders := stream.Map(nums, func(v int) (fnHolder, error) { return fnHolder{N: v, Fn: func() int { return v }}, nil }).Name("make holders")
	stream.Map(holders.Rebalance(), func(h fnHolder) (int, error) { return h.Fn(), nil }).Discard()
	err := executeErr(t, env)
	wantErrorContains(t, err, `"make holders"`, "codec", "Fn")
	if ran.Load() {
		t.Error("the job ran although Execute reported a mistake")
	}
}

func TestRecordWithoutCodecInsideOneChainWorks(t *testing.T) {
	env := newEnv(2)
	nums := stream.Generate(env, 100, func(i int64) (int, error) { return int(i), nil })
	holders := stream.Map(nums, func(v int) (fnHolder, error) { return fnHolder{N: v, Fn: func() int { return v * 2 }}, nil })
	kept := holders.Filter(func(h fnHolder) (bool, error) { return h.N%2 == 0, nil })
	got := stream.Map(kept, func(h fnHolder) (int, error) { return h.Fn(), nil }).Collect()
	mustExecute(t, env)
	var want []int
	for i := 0; i < 100; i += 2 {
		want = append(want, 2*i)
	}
	wantSameElements(t, got.Values(), want)
}
