package state

import (
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/runnel-io/runnel/codec"
	"github.com/runnel-io/runnel/runtime/clock"
	"github.com/runnel-io/runnel/state/keygroup"
)

// keyGroupOf is the key group of an int64 key out of 128.
func keyGroupOf(k int64) int { return keygroup.Of(codec.Int64().Append(nil, k), 128) }

// TestEntriesLiveInTheirKeyGroup proves invariant 1: every entry is stored
// in the map of its key's group, for a backend holding a part of the key
// groups, and the current key group is the key's.
func TestEntriesLiveInTheirKeyGroup(t *testing.T) {
	r := keygroup.RangeFor(128, 4, 1) // [32, 63]
	b := NewKeyedBackend(codec.Int64(), 128, r, clock.NewManual(t0))
	val := must[NamespacedValueState[int, int64]](t)(GetValueState[int](b, Value[int64]("v")))
	list := must[NamespacedListState[VoidNamespace, int64]](t)(GetListState[VoidNamespace](b, List[int64]("l")))

	var keys []int64
	for k := int64(0); len(keys) < 500; k++ {
		if r.Contains(keyGroupOf(k)) {
			keys = append(keys, k)
		}
	}
	for _, k := range keys {
		b.SetCurrentKey(k)
		if got := b.CurrentKeyGroup(); got != keyGroupOf(k) {
			t.Fatalf("CurrentKeyGroup after SetCurrentKey(%d) = %d, want %d", k, got, keyGroupOf(k))
		}
		if b.CurrentKey() != k {
			t.Fatalf("CurrentKey = %d, want %d", b.CurrentKey(), k)
		}
		for ns := range 2 {
			val.SetNamespace(ns)
			noErr(t, val.Update(k))
		}
		noErr(t, list.Add(k))
	}

	vs := val.(*valueState[int64, int, int64])
	if len(vs.t.groups) != r.Len() {
		t.Fatalf("value state has %d group maps, want one per key group of %v", len(vs.t.groups), r)
	}
	total := 0
	for g, grp := range vs.t.groups {
		for _, sl := range grp.slots {
			if kg := keyGroupOf(sl.key.k); kg != r.Start+g {
				t.Fatalf("key %d (group %d) is stored in the map of group %d", sl.key.k, kg, r.Start+g)
			}
			if sl.e.v != sl.key.k {
				t.Fatalf("key %d holds %d", sl.key.k, sl.e.v)
			}
		}
		checkGroup(t, &grp)
		total += len(grp.slots)
	}
	if total != 2*len(keys) || b.NumEntries() != 3*len(keys) {
		t.Fatalf("stored %d value entries and NumEntries = %d; want %d and %d", total, b.NumEntries(), 2*len(keys), 3*len(keys))
	}
	ls := list.(*listState[int64, VoidNamespace, int64])
	for g, grp := range ls.t.groups {
		for _, sl := range grp.slots {
			if kg := keyGroupOf(sl.key.k); kg != r.Start+g {
				t.Fatalf("list key %d (group %d) is stored in the map of group %d", sl.key.k, kg, r.Start+g)
			}
		}
	}

	// Keys walks the key groups in order and reports each key once.
	var got []int64
	lastKG := -1
	for k := range b.Keys("v") {
		if kg := keyGroupOf(k); kg < lastKG {
			t.Fatalf("Keys yielded key group %d after %d", kg, lastKG)
		} else {
			lastKG = kg
		}
		got = append(got, k)
	}
	slices.Sort(got)
	if !slices.Equal(got, keys) {
		t.Fatalf("Keys yielded %d keys, want the %d keys written once each", len(got), len(keys))
	}
}

// checkGroup checks a group's index against its slots.
func checkGroup[K, N comparable, E any](t *testing.T, grp *group[K, N, E]) {
	t.Helper()
	if len(grp.index) != len(grp.slots) {
		t.Fatalf("group index has %d keys for %d slots", len(grp.index), len(grp.slots))
	}
	for i, sl := range grp.slots {
		if j, ok := grp.index[sl.key]; !ok || int(j) != i {
			t.Fatalf("slot %d (%v) is indexed at %d, %v", i, sl.key, j, ok)
		}
	}
}

// TestSetCurrentKeyOutsideRangePanics proves the other half of invariant 1:
// a key of another subtask's key group is refused loudly.
func TestSetCurrentKeyOutsideRangePanics(t *testing.T) {
	r := keygroup.RangeFor(128, 4, 1)
	b := NewKeyedBackend(codec.Int64(), 128, r, clock.NewManual(t0))
	var outside int64
	for keyGroupOf(outside) >= r.Start && keyGroupOf(outside) <= r.End {
		outside++
	}
	defer func() {
		msg := fmt.Sprint(recover())
		want := fmt.Sprintf("key %d is in key group %d (of 128), outside this backend's key groups [32, 63]", outside, keyGroupOf(outside))
		if !strings.Contains(msg, want) {
			t.Fatalf("panic %q, want it to contain %q", msg, want)
		}
	}()
	b.SetCurrentKey(outside)
	t.Fatal("SetCurrentKey outside the range did not panic")
}

func TestNewKeyedBackendPanics(t *testing.T) {
	clk := clock.NewManual(t0)
	for name, f := range map[string]func(){
		"nil codec":         func() { NewKeyedBackend[string](nil, 128, keygroup.Range{Start: 0, End: 127}, clk) },
		"nil clock":         func() { NewKeyedBackend(codec.String(), 128, keygroup.Range{Start: 0, End: 127}, nil) },
		"max parallelism 0": func() { NewKeyedBackend(codec.String(), 0, keygroup.Range{Start: 0, End: 0}, clk) },
		"range past max":    func() { NewKeyedBackend(codec.String(), 128, keygroup.Range{Start: 64, End: 128}, clk) },
		"empty range":       func() { NewKeyedBackend(codec.String(), 128, keygroup.Range{Start: 5, End: 4}, clk) },
	} {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("%s: no panic", name)
				}
			}()
			f()
		}()
	}
}

// TestGetterIdempotent proves invariant 4: asking twice for a state returns
// the same state, with the same contents.
func TestGetterIdempotent(t *testing.T) {
	b, _ := newBackend(t)
	ttl := TTLConfig{TTL: time.Minute}
	v1 := must[NamespacedValueState[VoidNamespace, int]](t)(GetValueState[VoidNamespace](b, Value[int]("v").WithTTL(ttl)))
	v2 := must[NamespacedValueState[VoidNamespace, int]](t)(GetValueState[VoidNamespace](b, Value[int]("v").WithTTL(ttl)))
	if v1 != v2 {
		t.Fatal("GetValueState twice returned different states")
	}
	b.SetCurrentKey("a")
	noErr(t, v1.Update(3))
	v, ok, err := v2.Value()
	wantValue(t, "Value through the second handle", v, ok, err, 3, true)

	l1 := must[NamespacedListState[VoidNamespace, int]](t)(GetListState[VoidNamespace](b, List[int]("l")))
	l2 := must[NamespacedListState[VoidNamespace, int]](t)(GetListState[VoidNamespace](b, List[int]("l")))
	m1 := must[NamespacedMapState[VoidNamespace, int, int]](t)(GetMapState[VoidNamespace](b, Map[int, int]("m")))
	m2 := must[NamespacedMapState[VoidNamespace, int, int]](t)(GetMapState[VoidNamespace](b, Map[int, int]("m")))
	r1 := must[NamespacedReducingState[VoidNamespace, int]](t)(GetReducingState[VoidNamespace](b, Reducing("r", sum)))
	r2 := must[NamespacedReducingState[VoidNamespace, int]](t)(GetReducingState[VoidNamespace](b, Reducing("r", sum)))
	a1 := must[NamespacedAggregatingState[VoidNamespace, int, float64]](t)(GetAggregatingState[VoidNamespace](b, Aggregating[int, *avgAcc, float64]("a", avg{})))
	a2 := must[NamespacedAggregatingState[VoidNamespace, int, float64]](t)(GetAggregatingState[VoidNamespace](b, Aggregating[int, *avgAcc, float64]("a", avg{})))
	if l1 != l2 || m1 != m2 || r1 != r2 || a1 != a2 {
		t.Fatal("a getter called twice returned different states")
	}
}

// TestGetterMismatch proves the second half of invariant 4: the same name
// with another kind, other types or another TTL is an error naming the
// state and both registrations.
func TestGetterMismatch(t *testing.T) {
	b, _ := newBackend(t)
	ttl := TTLConfig{TTL: time.Minute}
	must[NamespacedValueState[VoidNamespace, int]](t)(GetValueState[VoidNamespace](b, Value[int]("count").WithTTL(ttl)))
	cases := map[string]struct {
		err  error
		want string
	}{
		"other kind": {second(GetListState[VoidNamespace](b, List[int]("count"))),
			`state "count" is a ValueState[int] in namespace state.VoidNamespace, asked for as a ListState[int] in namespace state.VoidNamespace`},
		"other value type": {second(GetValueState[VoidNamespace](b, Value[string]("count").WithTTL(ttl))),
			`asked for as a ValueState[string] in namespace state.VoidNamespace`},
		"other namespace": {second(GetValueState[int](b, Value[int]("count").WithTTL(ttl))),
			`asked for as a ValueState[int] in namespace int`},
		"no TTL": {second(GetValueState[VoidNamespace](b, Value[int]("count"))),
			`state "count" has TTL 1m0s (OnCreateAndWrite, NeverReturnExpired, no incremental cleanup), asked for with TTL none`},
		"other TTL": {second(GetValueState[VoidNamespace](b, Value[int]("count").WithTTL(TTLConfig{TTL: time.Hour}))),
			`asked for with TTL 1h0m0s (OnCreateAndWrite, NeverReturnExpired, no incremental cleanup)`},
	}
	for name, c := range cases {
		if !errors.Is(c.err, ErrIncompatibleState) || !strings.Contains(c.err.Error(), c.want) {
			t.Errorf("%s: %v; want ErrIncompatibleState containing %q", name, c.err, c.want)
		}
	}
	// Reducing states of different types are told apart too.
	must[NamespacedReducingState[VoidNamespace, int]](t)(GetReducingState[VoidNamespace](b, Reducing("r", sum)))
	_, err := GetReducingState[VoidNamespace](b, Reducing("r", func(a, b int64) (int64, error) { return a + b, nil }))
	if !errors.Is(err, ErrIncompatibleState) {
		t.Fatalf("reducing state of another type: %v", err)
	}
	_, err = GetAggregatingState[VoidNamespace](b, Aggregating[int, *avgAcc, float64]("r", avg{}))
	if !errors.Is(err, ErrIncompatibleState) {
		t.Fatalf("aggregating state under a reducing state's name: %v", err)
	}
}

// noCodec has no default codec: codec.For rejects function fields.
type noCodec struct{ F func() }

func TestInvalidDescriptors(t *testing.T) {
	b, _ := newBackend(t)
	cases := map[string]struct {
		err  error
		want string
	}{
		"empty name":      {second(GetValueState[VoidNamespace](b, Value[int](""))), "a state needs a name"},
		"nil reduce":      {second(GetReducingState[VoidNamespace](b, Reducing[int]("r", nil))), `state "r": nil reduce function`},
		"nil aggregate":   {second(GetAggregatingState[VoidNamespace](b, Aggregating[int, int, int]("a", nil))), `state "a": nil AggregateFunction`},
		"value codec":     {second(GetValueState[VoidNamespace](b, Value[noCodec]("v"))), `state "v": no default codec for its value type state.noCodec`},
		"map value codec": {second(GetMapState[VoidNamespace](b, Map[int, noCodec]("m2"))), `state "m2": no default codec for its map value type`},
		"namespace codec": {second(GetValueState[noCodecNS](b, Value[int]("ns"))), `state "ns": no codec for namespace type state.noCodecNS`},
		"list elem codec": {second(GetListState[VoidNamespace](b, List[noCodec]("l"))), `state "l": no default codec for its element type`},
		"agg acc codec":   {second(GetAggregatingState[VoidNamespace](b, Aggregating[int, noCodec, int]("acc", noCodecAgg{}))), `state "acc": no default codec for its accumulator type`},
		"reducing codec":  {second(GetReducingState[VoidNamespace](b, Reducing("rc", func(a, b noCodec) (noCodec, error) { return a, nil }))), `no default codec`},
	}
	for name, c := range cases {
		if !errors.Is(c.err, ErrInvalidDescriptor) || !strings.Contains(c.err.Error(), c.want) {
			t.Errorf("%s: %v; want ErrInvalidDescriptor containing %q", name, c.err, c.want)
		}
	}
	// A pointer key has a default codec (the pointee is encoded).
	if _, err := GetMapState[VoidNamespace](b, Map[*int, int]("m").WithValueCodec(codec.Int())); err != nil {
		t.Fatal(err)
	}
	// An explicit codec replaces the missing default.
	if _, err := GetValueState[VoidNamespace](b, Value[noCodec]("v2").WithCodec(fakeCodec[noCodec]{})); err != nil {
		t.Fatalf("explicit codec: %v", err)
	}
	// A failed registration registers nothing.
	if _, err := GetValueState[VoidNamespace](b, Value[int]("v")); err != nil {
		t.Fatalf("registering a name whose earlier registration failed: %v", err)
	}
}

type noCodecNS struct{ C chan int }

type noCodecAgg struct{}

func (noCodecAgg) CreateAccumulator() noCodec { return noCodec{} }
func (noCodecAgg) Add(int, noCodec) noCodec   { return noCodec{} }
func (noCodecAgg) Result(noCodec) int         { return 0 }
func (noCodecAgg) Merge(a, _ noCodec) noCodec { return a }

// fakeCodec is a codec that encodes nothing, for types without a default.
type fakeCodec[T any] struct{}

func (fakeCodec[T]) Append(dst []byte, _ T) []byte { return dst }
func (fakeCodec[T]) Decode([]byte) (T, error) {
	var zero T
	return zero, nil
}

func TestKeysAndForEachKey(t *testing.T) {
	b, _ := newBackend(t)
	v := must[NamespacedValueState[VoidNamespace, int]](t)(GetValueState[VoidNamespace](b, Value[int]("v")))
	want := map[string]int{}
	for i := range 200 {
		k := fmt.Sprint("k", i)
		b.SetCurrentKey(k)
		noErr(t, v.Update(i))
		want[k] = 1
	}
	if got := collect(b.Keys("v")); !maps.Equal(got, want) {
		t.Fatalf("Keys yielded %d distinct keys, want %d, each once", len(got), len(want))
	}
	if got := collect(b.Keys("unknown")); len(got) != 0 {
		t.Fatalf("Keys of an unknown state yielded %v", got)
	}
	for range b.Keys("v") {
		break // stopping early is fine
	}

	// ForEachKey makes each key current and lets fn remove its state.
	b.SetCurrentKey("k7")
	seen := 0
	err := b.ForEachKey("v", func(k string) error {
		if b.CurrentKey() != k {
			return fmt.Errorf("current key %q while visiting %q", b.CurrentKey(), k)
		}
		val, ok, err := v.Value()
		if err != nil || !ok || fmt.Sprint("k", val) != k {
			return fmt.Errorf("value of %q = %v, %v, %v", k, val, ok, err)
		}
		seen++
		if val%2 == 0 {
			return v.Clear()
		}
		return nil
	})
	noErr(t, err)
	if seen != 200 {
		t.Fatalf("ForEachKey visited %d keys, want 200", seen)
	}
	if b.CurrentKey() != "k7" {
		t.Fatalf("current key after ForEachKey = %q, want k7 again", b.CurrentKey())
	}
	if n := b.NumEntries(); n != 100 {
		t.Fatalf("NumEntries = %d after clearing the even values, want 100", n)
	}
	stop := errors.New("stop")
	calls := 0
	if err := b.ForEachKey("v", func(string) error { calls++; return stop }); err != stop || calls != 1 {
		t.Fatalf("ForEachKey with a failing fn: %v after %d calls", err, calls)
	}
	// With no key current before, none is after.
	b2, _ := newBackend(t)
	must[NamespacedValueState[VoidNamespace, int]](t)(GetValueState[VoidNamespace](b2, Value[int]("v")))
	noErr(t, b2.ForEachKey("v", func(string) error { return nil }))
	if b2.CurrentKeyGroup() != -1 {
		t.Fatal("ForEachKey left a current key behind")
	}
}
