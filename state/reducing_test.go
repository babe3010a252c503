package state

import (
	"errors"
	"testing"
)

func TestReducingState(t *testing.T) {
	b, _ := newBackend(t)
	boom := errors.New("boom")
	r := must[NamespacedReducingState[VoidNamespace, int]](t)(GetReducingState[VoidNamespace](b, Reducing("r",
		func(a, b int) (int, error) {
			if b < 0 {
				return 0, boom
			}
			return a + b, nil
		})))
	b.SetCurrentKey("a")
	v, ok, err := r.Get()
	wantValue(t, "Get of a new key", v, ok, err, 0, false)
	noErr(t, r.Add(1))
	v, ok, err = r.Get()
	wantValue(t, "Get after the first Add", v, ok, err, 1, true)
	noErr(t, r.Add(2))
	noErr(t, r.Add(3))
	v, ok, err = r.Get()
	wantValue(t, "Get after three Adds", v, ok, err, 6, true)
	if err := r.Add(-1); !errors.Is(err, boom) {
		t.Fatalf("Add with a failing reduce function: %v, want boom", err)
	}
	v, ok, err = r.Get()
	wantValue(t, "Get after a failed Add", v, ok, err, 6, true)
	noErr(t, r.Clear())
	v, ok, err = r.Get()
	wantValue(t, "Get after Clear", v, ok, err, 0, false)
}

func TestAggregatingState(t *testing.T) {
	b, _ := newBackend(t)
	a := must[NamespacedAggregatingState[VoidNamespace, int, float64]](t)(
		GetAggregatingState[VoidNamespace](b, Aggregating[int, *avgAcc, float64]("avg", avg{})))
	b.SetCurrentKey("a")
	f, ok, err := a.Get()
	wantValue(t, "Get of a new key", f, ok, err, 0, false)
	noErr(t, a.Add(1))
	noErr(t, a.Add(2))
	f, ok, err = a.Get()
	wantValue(t, "Get", f, ok, err, 1.5, true)
	noErr(t, a.Clear())
	f, ok, err = a.Get()
	wantValue(t, "Get after Clear", f, ok, err, 0, false)
	noErr(t, a.Add(4))
	f, ok, err = a.Get()
	wantValue(t, "Get after Clear and Add", f, ok, err, 4, true)
}

func TestReducingMergeNamespaces(t *testing.T) {
	b, _ := newBackend(t)
	boom := errors.New("boom")
	// String concatenation is not commutative: the test sees the order.
	r := must[NamespacedReducingState[string, string]](t)(GetReducingState[string](b, Reducing("r",
		func(a, b string) (string, error) {
			if b == "fail" {
				return "", boom
			}
			return a + b, nil
		})))
	b.SetCurrentKey("k")
	put := func(ns, v string) {
		r.SetNamespace(ns)
		noErr(t, r.Add(v))
	}
	put("t", "T")
	put("s1", "1")
	put("s2", "2")
	r.SetNamespace("elsewhere")
	noErr(t, r.MergeNamespaces("t", []string{"s1", "absent", "t", "s2", "s1"}))
	r.SetNamespace("t")
	v, ok, err := r.Get()
	wantValue(t, "merged target", v, ok, err, "T12", true)
	for _, ns := range []string{"s1", "s2"} {
		r.SetNamespace(ns)
		v, ok, err := r.Get()
		wantValue(t, "source "+ns, v, ok, err, "", false)
	}
	// An absent target takes the fold of the sources.
	put("a", "A")
	put("b", "B")
	noErr(t, r.MergeNamespaces("new", []string{"a", "b"}))
	r.SetNamespace("new")
	v, ok, err = r.Get()
	wantValue(t, "new target", v, ok, err, "AB", true)
	// All absent: the target stays absent.
	noErr(t, r.MergeNamespaces("none", []string{"x"}))
	r.SetNamespace("none")
	v, ok, err = r.Get()
	wantValue(t, "target of absent sources", v, ok, err, "", false)
	if n := b.NumEntries(); n != 2 {
		t.Fatalf("NumEntries = %d, want 2", n)
	}
	// A failing reduce function changes nothing.
	put("x", "X")
	put("y", "fail")
	if err := r.MergeNamespaces("x", []string{"y"}); !errors.Is(err, boom) {
		t.Fatalf("merge with a failing reduce function: %v, want boom", err)
	}
	r.SetNamespace("y")
	v, ok, err = r.Get()
	wantValue(t, "source after a failed merge", v, ok, err, "fail", true)
	r.SetNamespace("x")
	v, ok, err = r.Get()
	wantValue(t, "target after a failed merge", v, ok, err, "X", true)
}

func TestAggregatingMergeNamespaces(t *testing.T) {
	b, _ := newBackend(t)
	a := must[NamespacedAggregatingState[int, int, float64]](t)(
		GetAggregatingState[int](b, Aggregating[int, *avgAcc, float64]("avg", avg{})))
	b.SetCurrentKey("k")
	for w, vs := range [][]int{{1}, {2, 3}, {10}} {
		a.SetNamespace(w)
		for _, v := range vs {
			noErr(t, a.Add(v))
		}
	}
	noErr(t, a.MergeNamespaces(0, []int{1, 2}))
	a.SetNamespace(0)
	f, ok, err := a.Get()
	wantValue(t, "merged", f, ok, err, 4.0, true) // (1+2+3+10)/4
	a.SetNamespace(1)
	f, ok, err = a.Get()
	wantValue(t, "source", f, ok, err, 0, false)
	if n := b.NumEntries(); n != 1 {
		t.Fatalf("NumEntries = %d, want 1", n)
	}
}
