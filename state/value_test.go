package state

import (
	"errors"
	"fmt"
	"maps"
	"testing"
)

func TestValueState(t *testing.T) {
	b, _ := newBackend(t)
	s := must[NamespacedValueState[VoidNamespace, int]](t)(GetValueState[VoidNamespace](b, Value[int]("v")))
	b.SetCurrentKey("a")
	v, ok, err := s.Value()
	wantValue(t, "Value of a new key", v, ok, err, 0, false)
	noErr(t, s.Update(0))
	v, ok, err = s.Value()
	wantValue(t, "Value after Update(0)", v, ok, err, 0, true) // the zero value is a value
	noErr(t, s.Update(7))
	v, ok, err = s.Value()
	wantValue(t, "Value after Update(7)", v, ok, err, 7, true)
	noErr(t, s.Clear())
	v, ok, err = s.Value()
	wantValue(t, "Value after Clear", v, ok, err, 0, false)
	noErr(t, s.Clear()) // clearing nothing is fine
	if n := b.NumEntries(); n != 0 {
		t.Fatalf("NumEntries = %d after Clear, want 0", n)
	}
}

// TestKeysIsolate proves invariant 3 for keys: each key sees only its own
// entries, in every kind of state.
func TestKeysIsolate(t *testing.T) {
	b, _ := newBackend(t)
	val := must[NamespacedValueState[VoidNamespace, int]](t)(GetValueState[VoidNamespace](b, Value[int]("value")))
	list := must[NamespacedListState[VoidNamespace, int]](t)(GetListState[VoidNamespace](b, List[int]("list")))
	mp := must[NamespacedMapState[VoidNamespace, string, int]](t)(GetMapState[VoidNamespace](b, Map[string, int]("map")))
	red := must[NamespacedReducingState[VoidNamespace, int]](t)(GetReducingState[VoidNamespace](b, Reducing("reducing", sum)))
	agg := must[NamespacedAggregatingState[VoidNamespace, int, float64]](t)(GetAggregatingState[VoidNamespace](b, Aggregating[int, *avgAcc, float64]("aggregating", avg{})))

	const keys = 300 // over every key group, several keys in each
	write := func(i int) {
		b.SetCurrentKey(fmt.Sprint("key-", i))
		noErr(t, val.Update(i))
		noErr(t, list.Add(i))
		noErr(t, list.Add(-i))
		noErr(t, mp.Put("k", i))
		noErr(t, red.Add(i))
		noErr(t, red.Add(1))
		noErr(t, agg.Add(i))
		noErr(t, agg.Add(i+2))
	}
	for i := range keys {
		write(i)
	}
	if n := b.NumEntries(); n != 5*keys {
		t.Fatalf("NumEntries = %d, want %d", n, 5*keys)
	}
	for i := range keys {
		b.SetCurrentKey(fmt.Sprint("key-", i))
		v, ok, err := val.Value()
		wantValue(t, "value", v, ok, err, i, true)
		wantList(t, "list", list, i, -i)
		v, ok, err = mp.Get("k")
		wantValue(t, "map", v, ok, err, i, true)
		v, ok, err = red.Get()
		wantValue(t, "reducing", v, ok, err, i+1, true)
		f, ok, err := agg.Get()
		wantValue(t, "aggregating", f, ok, err, float64(i+1), true)
	}
	// Clearing one key leaves the others alone.
	b.SetCurrentKey("key-5")
	for _, s := range []interface{ Clear() error }{val, list, mp, red, agg} {
		noErr(t, s.Clear())
	}
	if n := b.NumEntries(); n != 5*(keys-1) {
		t.Fatalf("NumEntries = %d after clearing one key, want %d", n, 5*(keys-1))
	}
	b.SetCurrentKey("key-6")
	v, ok, err := val.Value()
	wantValue(t, "value of key-6", v, ok, err, 6, true)
}

// TestNamespacesIsolate proves invariant 3 for namespaces: within one key,
// each namespace sees only its own entry, in every kind of state.
func TestNamespacesIsolate(t *testing.T) {
	b, _ := newBackend(t)
	val := must[NamespacedValueState[int, int]](t)(GetValueState[int](b, Value[int]("value")))
	list := must[NamespacedListState[int, int]](t)(GetListState[int](b, List[int]("list")))
	mp := must[NamespacedMapState[int, string, int]](t)(GetMapState[int](b, Map[string, int]("map")))
	red := must[NamespacedReducingState[int, int]](t)(GetReducingState[int](b, Reducing("reducing", sum)))
	agg := must[NamespacedAggregatingState[int, int, float64]](t)(GetAggregatingState[int](b, Aggregating[int, *avgAcc, float64]("aggregating", avg{})))
	all := []interface {
		SetNamespace(int)
		Clear() error
	}{val, list, mp, red, agg}
	setNS := func(n int) {
		for _, s := range all {
			s.SetNamespace(n)
		}
	}

	b.SetCurrentKey("k")
	for n := range 3 {
		setNS(n)
		noErr(t, val.Update(10*n))
		noErr(t, list.Add(10*n))
		noErr(t, mp.Put("x", 10*n))
		noErr(t, red.Add(10*n))
		noErr(t, agg.Add(10*n))
	}
	for n := range 3 {
		setNS(n)
		v, ok, err := val.Value()
		wantValue(t, "value", v, ok, err, 10*n, true)
		wantList(t, "list", list, 10*n)
		v, ok, err = mp.Get("x")
		wantValue(t, "map", v, ok, err, 10*n, true)
		v, ok, err = red.Get()
		wantValue(t, "reducing", v, ok, err, 10*n, true)
		f, ok, err := agg.Get()
		wantValue(t, "aggregating", f, ok, err, float64(10*n), true)
	}
	setNS(1)
	for _, s := range all {
		noErr(t, s.Clear())
	}
	setNS(0)
	v, ok, err := val.Value()
	wantValue(t, "value in namespace 0 after clearing namespace 1", v, ok, err, 0, true)
	setNS(1)
	v, ok, err = val.Value()
	wantValue(t, "value in cleared namespace 1", v, ok, err, 0, false)
	if n := b.NumEntries(); n != 5*2 {
		t.Fatalf("NumEntries = %d, want %d", n, 10)
	}
	// Keys of a namespaced state are reported once, whatever the namespaces.
	if got := collect(b.Keys("value")); !maps.Equal(got, map[string]int{"k": 1}) {
		t.Fatalf("Keys = %v, want k once", got)
	}
}

func collect[K comparable](seq func(func(K) bool)) map[K]int {
	m := map[K]int{}
	for k := range seq {
		m[k]++
	}
	return m
}

func TestNoCurrentKey(t *testing.T) {
	b, _ := newBackend(t)
	val := must[NamespacedValueState[VoidNamespace, int]](t)(GetValueState[VoidNamespace](b, Value[int]("value")))
	list := must[NamespacedListState[VoidNamespace, int]](t)(GetListState[VoidNamespace](b, List[int]("list")))
	mp := must[NamespacedMapState[VoidNamespace, string, int]](t)(GetMapState[VoidNamespace](b, Map[string, int]("map")))
	red := must[NamespacedReducingState[VoidNamespace, int]](t)(GetReducingState[VoidNamespace](b, Reducing("reducing", sum)))
	agg := must[NamespacedAggregatingState[VoidNamespace, int, float64]](t)(GetAggregatingState[VoidNamespace](b, Aggregating[int, *avgAcc, float64]("aggregating", avg{})))
	calls := map[string]error{
		"Value":       third(val.Value()),
		"Update":      val.Update(1),
		"Clear":       val.Clear(),
		"list Get":    second(list.Get()),
		"list Add":    list.Add(1),
		"list merge":  list.MergeNamespaces(VoidNamespace{}, nil),
		"map Get":     third(mp.Get("x")),
		"map Put":     mp.Put("x", 1),
		"map Len":     second(mp.Len()),
		"reduce Add":  red.Add(1),
		"reduce Get":  third(red.Get()),
		"agg Add":     agg.Add(1),
		"agg Get":     third(agg.Get()),
		"agg merge":   agg.MergeNamespaces(VoidNamespace{}, nil),
		"reduce merg": red.MergeNamespaces(VoidNamespace{}, nil),
	}
	for name, err := range calls {
		if !errors.Is(err, ErrNoCurrentKey) {
			t.Errorf("%s without a current key: %v, want ErrNoCurrentKey", name, err)
		}
	}
	for range mp.All() {
		t.Fatal("All yielded without a current key")
	}
	if b.CurrentKeyGroup() != -1 {
		t.Fatalf("CurrentKeyGroup = %d before SetCurrentKey, want -1", b.CurrentKeyGroup())
	}
}

func second[A any](_ A, err error) error        { return err }
func third[A, B any](_ A, _ B, err error) error { return err }
