package state

import (
	"slices"
	"testing"
	"time"

	"github.com/runnel-io/runnel/codec"
	"github.com/runnel-io/runnel/runtime/clock"
	"github.com/runnel-io/runnel/state/keygroup"
)

var t0 = time.Unix(1_700_000_000, 0)

// newBackend returns a string-keyed backend over all 128 key groups and its
// manual clock.
func newBackend(t testing.TB) (*KeyedBackend[string], *clock.Manual) {
	t.Helper()
	clk := clock.NewManual(t0)
	return NewKeyedBackend(codec.String(), 128, keygroup.Range{Start: 0, End: 127}, clk), clk
}

func must[T any](t testing.TB) func(T, error) T {
	return func(v T, err error) T {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
}

func noErr(t testing.TB, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// wantValue checks a (value, ok, err) result.
func wantValue[V comparable](t testing.TB, what string, v V, ok bool, err error, wantV V, wantOK bool) {
	t.Helper()
	if err != nil {
		t.Fatalf("%s: %v", what, err)
	}
	if ok != wantOK || v != wantV {
		t.Fatalf("%s = %v, %v; want %v, %v", what, v, ok, wantV, wantOK)
	}
}

// wantList checks a ListState.Get result.
func wantList[V comparable](t testing.TB, what string, l ListState[V], want ...V) {
	t.Helper()
	got, err := l.Get()
	if err != nil {
		t.Fatalf("%s: %v", what, err)
	}
	if !slices.Equal(got, want) || (len(want) == 0) != (got == nil) {
		t.Fatalf("%s = %#v, want %#v", what, got, want)
	}
}

// sum is a reduce function.
func sum(a, b int) (int, error) { return a + b, nil }

// avg is an AggregateFunction: the mean of ints, with a pointer accumulator
// (as Flink users often write them).
type avg struct{}

type avgAcc struct{ Sum, N int }

func (avg) CreateAccumulator() *avgAcc { return &avgAcc{} }
func (avg) Add(v int, a *avgAcc) *avgAcc {
	a.Sum += v
	a.N++
	return a
}
func (avg) Result(a *avgAcc) float64 { return float64(a.Sum) / float64(a.N) }
func (avg) Merge(a, b *avgAcc) *avgAcc {
	a.Sum += b.Sum
	a.N += b.N
	return a
}
