package state

import (
	"errors"
	"maps"
	"strconv"
	"strings"
	"testing"
	"time"
)

const ttl = 10 * time.Second

func TestTTLOnCreateAndWrite(t *testing.T) {
	b, clk := newBackend(t)
	v := must[NamespacedValueState[VoidNamespace, int]](t)(GetValueState[VoidNamespace](b, Value[int]("v").WithTTL(TTLConfig{TTL: ttl})))
	b.SetCurrentKey("a")
	noErr(t, v.Update(1))
	clk.Advance(ttl - time.Nanosecond)
	got, ok, err := v.Value() // a read does not refresh
	wantValue(t, "Value just before the TTL", got, ok, err, 1, true)
	clk.Advance(time.Nanosecond)
	got, ok, err = v.Value()
	wantValue(t, "Value at the TTL", got, ok, err, 0, false)

	// A write refreshes.
	noErr(t, v.Update(2))
	clk.Advance(6 * time.Second)
	noErr(t, v.Update(3))
	clk.Advance(6 * time.Second)
	got, ok, err = v.Value()
	wantValue(t, "Value 12s after creation, 6s after the last write", got, ok, err, 3, true)
}

func TestTTLOnReadAndWrite(t *testing.T) {
	b, clk := newBackend(t)
	v := must[NamespacedValueState[VoidNamespace, int]](t)(GetValueState[VoidNamespace](b,
		Value[int]("v").WithTTL(TTLConfig{TTL: ttl, Update: OnReadAndWrite})))
	b.SetCurrentKey("a")
	noErr(t, v.Update(1))
	for range 5 {
		clk.Advance(6 * time.Second)
		got, ok, err := v.Value() // each read refreshes
		wantValue(t, "Value read every 6s", got, ok, err, 1, true)
	}
	clk.Advance(ttl)
	got, ok, err := v.Value()
	wantValue(t, "Value after a TTL without reads", got, ok, err, 0, false)
}

// TestTTLNeverReturnExpired proves invariant 2 for every kind of state: once
// expired, a value is neither returned nor built upon, and the access that
// finds it removes it.
func TestTTLNeverReturnExpired(t *testing.T) {
	b, clk := newBackend(t)
	cfg := TTLConfig{TTL: ttl}
	val := must[NamespacedValueState[VoidNamespace, int]](t)(GetValueState[VoidNamespace](b, Value[int]("value").WithTTL(cfg)))
	list := must[NamespacedListState[VoidNamespace, int]](t)(GetListState[VoidNamespace](b, List[int]("list").WithTTL(cfg)))
	mp := must[NamespacedMapState[VoidNamespace, string, int]](t)(GetMapState[VoidNamespace](b, Map[string, int]("map").WithTTL(cfg)))
	red := must[NamespacedReducingState[VoidNamespace, int]](t)(GetReducingState[VoidNamespace](b, Reducing("reducing", sum).WithTTL(cfg)))
	agg := must[NamespacedAggregatingState[VoidNamespace, int, float64]](t)(GetAggregatingState[VoidNamespace](b, Aggregating[int, *avgAcc, float64]("aggregating", avg{}).WithTTL(cfg)))

	b.SetCurrentKey("a")
	noErr(t, val.Update(1))
	noErr(t, list.AddAll([]int{1, 2}))
	noErr(t, mp.Put("x", 1))
	noErr(t, red.Add(1))
	noErr(t, agg.Add(1))
	if n := b.NumEntries(); n != 5 {
		t.Fatalf("NumEntries = %d, want 5", n)
	}
	clk.Advance(ttl)

	v, ok, err := val.Value()
	wantValue(t, "value", v, ok, err, 0, false)
	wantList(t, "list", list)
	v, ok, err = mp.Get("x")
	wantValue(t, "map Get", v, ok, err, 0, false)
	if n := b.NumEntries(); n != 2 {
		t.Fatalf("NumEntries = %d after reading value, list and map, want 2 (their entries are removed)", n)
	}
	// Writes that build on an expired value start afresh.
	noErr(t, red.Add(5))
	v, ok, err = red.Get()
	wantValue(t, "reducing after Add on an expired value", v, ok, err, 5, true)
	noErr(t, agg.Add(5))
	f, ok, err := agg.Get()
	wantValue(t, "aggregating after Add on an expired value", f, ok, err, 5, true)

	// Map entries expire one by one, and All, Len and Contains agree.
	noErr(t, mp.Put("old", 1))
	clk.Advance(ttl / 2)
	noErr(t, mp.Put("new", 2))
	clk.Advance(ttl / 2)
	if has, err := mp.Contains("old"); has || err != nil {
		t.Fatalf("Contains(old) = %v, %v after its TTL", has, err)
	}
	noErr(t, mp.Put("old", 1))
	clk.Advance(ttl / 2)
	if got := maps.Collect(mp.All()); !maps.Equal(got, map[string]int{"old": 1}) {
		t.Fatalf("All = %v, want only the unexpired entry", got)
	}
	n, err := mp.Len()
	wantValue(t, "Len", n, true, err, 1, true)
	clk.Advance(ttl / 2)
	n, err = mp.Len()
	wantValue(t, "Len after every entry expired", n, true, err, 0, true)
	if got := maps.Collect(mp.All()); len(got) != 0 {
		t.Fatalf("All = %v after every entry expired", got)
	}

	// List elements expire one by one.
	noErr(t, list.Add(1))
	clk.Advance(ttl / 2)
	noErr(t, list.Add(2))
	clk.Advance(ttl / 2)
	wantList(t, "list with its first element expired", list, 2)
	clk.Advance(ttl / 2)
	wantList(t, "list with every element expired", list)
}

func TestTTLReturnExpiredIfNotCleanedUp(t *testing.T) {
	b, clk := newBackend(t)
	cfg := TTLConfig{TTL: ttl, Visibility: ReturnExpiredIfNotCleanedUp}
	val := must[NamespacedValueState[VoidNamespace, int]](t)(GetValueState[VoidNamespace](b, Value[int]("value").WithTTL(cfg)))
	list := must[NamespacedListState[VoidNamespace, int]](t)(GetListState[VoidNamespace](b, List[int]("list").WithTTL(cfg)))
	mp := must[NamespacedMapState[VoidNamespace, string, int]](t)(GetMapState[VoidNamespace](b, Map[string, int]("map").WithTTL(cfg)))
	red := must[NamespacedReducingState[VoidNamespace, int]](t)(GetReducingState[VoidNamespace](b, Reducing("reducing", sum).WithTTL(cfg)))
	agg := must[NamespacedAggregatingState[VoidNamespace, int, float64]](t)(GetAggregatingState[VoidNamespace](b, Aggregating[int, *avgAcc, float64]("aggregating", avg{}).WithTTL(cfg)))

	b.SetCurrentKey("a")
	noErr(t, val.Update(1))
	noErr(t, list.Add(1))
	clk.Advance(ttl / 2)
	noErr(t, list.Add(2))
	noErr(t, mp.Put("x", 1))
	noErr(t, mp.Put("y", 2))
	noErr(t, red.Add(1))
	noErr(t, agg.Add(1))
	clk.Advance(ttl)

	// The access that finds an expired value still returns it, and removes it.
	v, ok, err := val.Value()
	wantValue(t, "expired value, first read", v, ok, err, 1, true)
	v, ok, err = val.Value()
	wantValue(t, "expired value, second read", v, ok, err, 0, false)

	wantList(t, "expired list, first read", list, 1, 2)
	wantList(t, "expired list, second read", list)

	v, ok, err = mp.Get("x")
	wantValue(t, "expired map entry, first read", v, ok, err, 1, true)
	v, ok, err = mp.Get("x")
	wantValue(t, "expired map entry, second read", v, ok, err, 0, false)
	if got := maps.Collect(mp.All()); !maps.Equal(got, map[string]int{"y": 2}) {
		t.Fatalf("All over an expired entry, first time = %v", got)
	}
	if got := maps.Collect(mp.All()); len(got) != 0 {
		t.Fatalf("All over an expired entry, second time = %v", got)
	}

	// Adding to an expired value still builds on it (Flink's behaviour).
	noErr(t, red.Add(2))
	v, ok, err = red.Get()
	wantValue(t, "reducing after Add on an expired value", v, ok, err, 3, true)
	noErr(t, agg.Add(3))
	f, ok, err := agg.Get()
	wantValue(t, "aggregating after Add on an expired value", f, ok, err, 2, true)

	// A list with some elements expired returns all of them once.
	noErr(t, list.Add(1))
	clk.Advance(ttl / 2)
	noErr(t, list.Add(2))
	clk.Advance(ttl / 2)
	wantList(t, "partly expired list, first read", list, 1, 2)
	wantList(t, "partly expired list, second read", list, 2)
	if n := b.NumEntries(); n != 3 {
		t.Fatalf("NumEntries = %d, want 3 (list, reducing, aggregating)", n)
	}
}

func TestTTLListOnReadAndWrite(t *testing.T) {
	b, clk := newBackend(t)
	l := must[NamespacedListState[VoidNamespace, int]](t)(GetListState[VoidNamespace](b,
		List[int]("l").WithTTL(TTLConfig{TTL: ttl, Update: OnReadAndWrite})))
	b.SetCurrentKey("a")
	noErr(t, l.Add(1))
	clk.Advance(ttl / 2)
	noErr(t, l.Add(2))
	clk.Advance(ttl / 2)
	wantList(t, "after the first element's TTL", l, 2) // 1 expired; 2 is refreshed
	noErr(t, l.Add(3))
	clk.Advance(ttl - 1)
	wantList(t, "after a read refreshed the list", l, 2, 3)
	clk.Advance(ttl - 1)
	wantList(t, "after another read", l, 2, 3)
	clk.Advance(ttl)
	wantList(t, "after a full TTL without reads", l)
}

func TestTTLMapOnReadAndWrite(t *testing.T) {
	b, clk := newBackend(t)
	m := must[NamespacedMapState[VoidNamespace, string, int]](t)(GetMapState[VoidNamespace](b,
		Map[string, int]("m").WithTTL(TTLConfig{TTL: ttl, Update: OnReadAndWrite})))
	b.SetCurrentKey("a")
	noErr(t, m.Put("read", 1))
	noErr(t, m.Put("unread", 2))
	clk.Advance(ttl / 2)
	v, ok, err := m.Get("read") // refreshes "read" only
	wantValue(t, "Get", v, ok, err, 1, true)
	clk.Advance(ttl / 2)
	if got := maps.Collect(m.All()); !maps.Equal(got, map[string]int{"read": 1}) {
		t.Fatalf("All = %v, want only the entry that was read", got)
	}
	clk.Advance(ttl - 1) // All refreshed what it yielded
	has, err := m.Contains("read")
	wantValue(t, "Contains after All refreshed", has, true, err, true, true)
}

func TestTTLMergeNamespaces(t *testing.T) {
	b, clk := newBackend(t)
	r := must[NamespacedReducingState[int, int]](t)(GetReducingState[int](b, Reducing("r", sum).WithTTL(TTLConfig{TTL: ttl})))
	l := must[NamespacedListState[int, int]](t)(GetListState[int](b, List[int]("l").WithTTL(TTLConfig{TTL: ttl})))
	b.SetCurrentKey("a")
	r.SetNamespace(1)
	l.SetNamespace(1)
	noErr(t, r.Add(100)) // expires before the merge
	noErr(t, l.Add(100))
	clk.Advance(ttl / 2)
	r.SetNamespace(2)
	l.SetNamespace(2)
	noErr(t, r.Add(2))
	noErr(t, l.Add(2))
	clk.Advance(ttl / 2)
	noErr(t, r.MergeNamespaces(0, []int{1, 2}))
	noErr(t, l.MergeNamespaces(0, []int{1, 2}))
	r.SetNamespace(0)
	l.SetNamespace(0)
	v, ok, err := r.Get()
	wantValue(t, "merged reducing state", v, ok, err, 2, true)
	wantList(t, "merged list", l, 2)
	// The merged reducing value counts as written at the merge; list elements
	// keep their own timestamps.
	clk.Advance(ttl - 1)
	v, ok, err = r.Get()
	wantValue(t, "merged reducing state before its TTL", v, ok, err, 2, true)
	wantList(t, "merged list after its element's TTL", l)
}

// TestIncrementalCleanupBoundsState feeds an endless stream of fresh keys,
// each written once and never accessed again, while a small set of live
// keys is read on every record. Without incremental cleanup the state grows
// with the stream; with it, it stays bounded, for each kind of entry.
func TestIncrementalCleanupBoundsState(t *testing.T) {
	const (
		records = 5_000
		step    = time.Millisecond // processing time between records
		live    = 10
	)
	// At one record per step, ttl/step fresh keys are alive at any time.
	const window = int(ttl / 1000 / step) // 10ms TTL below
	run := func(t *testing.T, cleanup int, kind string) (maxEntries, final int) {
		b, clk := newBackend(t)
		cfg := TTLConfig{TTL: ttl / 1000, CleanupIncrementally: cleanup, Update: OnReadAndWrite}
		var write func(i int) error
		switch kind {
		case "value":
			s := must[NamespacedValueState[VoidNamespace, int]](t)(GetValueState[VoidNamespace](b, Value[int]("s").WithTTL(cfg)))
			write = func(i int) error {
				if _, _, err := s.Value(); err != nil {
					return err
				}
				return s.Update(i)
			}
		case "list":
			s := must[NamespacedListState[VoidNamespace, int]](t)(GetListState[VoidNamespace](b, List[int]("s").WithTTL(cfg)))
			write = func(i int) error {
				if _, err := s.Get(); err != nil {
					return err
				}
				return s.Add(i)
			}
		case "map":
			s := must[NamespacedMapState[VoidNamespace, int, int]](t)(GetMapState[VoidNamespace](b, Map[int, int]("s").WithTTL(cfg)))
			write = func(i int) error {
				if _, _, err := s.Get(i); err != nil {
					return err
				}
				return s.Put(i%3, i)
			}
		}
		for i := range records {
			clk.Advance(step)
			b.SetCurrentKey("live-" + strconv.Itoa(i%live))
			noErr(t, write(i))
			b.SetCurrentKey("fresh-" + strconv.Itoa(i))
			noErr(t, write(i))
			maxEntries = max(maxEntries, b.NumEntries())
		}
		return maxEntries, b.NumEntries()
	}
	for _, kind := range []string{"value", "list", "map"} {
		t.Run(kind, func(t *testing.T) {
			if _, final := run(t, 0, kind); final < records {
				t.Fatalf("without cleanup: %d entries after %d fresh keys; the test does not test anything", final, records)
			}
			// Each record makes 2 accesses of 4 steps each, against 1 new
			// entry: a lap over E entries and 128 key groups takes (E+128)/8
			// records, during which about that many entries are added and
			// window stay alive. So E stays near window + (E+128)/8 + live,
			// about 60; allow a wide margin, far below the stream's length.
			maxEntries, _ := run(t, 4, kind)
			if bound := 4 * (window + live + 128/8); maxEntries > bound {
				t.Fatalf("with cleanup: up to %d entries, want at most %d", maxEntries, bound)
			}
			t.Logf("with CleanupIncrementally 4: at most %d entries over %d fresh keys", maxEntries, records)
		})
	}
}

func TestTTLConfigErrors(t *testing.T) {
	b, _ := newBackend(t)
	for _, c := range []struct {
		cfg  TTLConfig
		want string
	}{
		{TTLConfig{}, `state "s": TTL 0s must be positive`},
		{TTLConfig{TTL: -time.Second}, `state "s": TTL -1s must be positive`},
		{TTLConfig{TTL: time.Second, Update: 7}, `state "s": unknown TTL update type UpdateType(7)`},
		{TTLConfig{TTL: time.Second, Visibility: 7}, `state "s": unknown TTL visibility Visibility(7)`},
		{TTLConfig{TTL: time.Second, CleanupIncrementally: -1}, `state "s": CleanupIncrementally -1 must not be negative`},
	} {
		for kind, err := range map[string]error{
			"value":       second(GetValueState[VoidNamespace](b, Value[int]("s").WithTTL(c.cfg))),
			"list":        second(GetListState[VoidNamespace](b, List[int]("s").WithTTL(c.cfg))),
			"map":         second(GetMapState[VoidNamespace](b, Map[int, int]("s").WithTTL(c.cfg))),
			"reducing":    second(GetReducingState[VoidNamespace](b, Reducing("s", sum).WithTTL(c.cfg))),
			"aggregating": second(GetAggregatingState[VoidNamespace](b, Aggregating[int, *avgAcc, float64]("s", avg{}).WithTTL(c.cfg))),
		} {
			if !errors.Is(err, ErrInvalidDescriptor) || !strings.Contains(err.Error(), c.want) {
				t.Errorf("%s state with %+v: %v; want ErrInvalidDescriptor containing %q", kind, c.cfg, err, c.want)
			}
		}
	}
	if n := len(b.states); n != 0 {
		t.Fatalf("%d states registered by invalid descriptors", n)
	}
	// A huge TTL does not overflow into "expired".
	v := must[NamespacedValueState[VoidNamespace, int]](t)(GetValueState[VoidNamespace](b, Value[int]("forever").WithTTL(TTLConfig{TTL: 1<<63 - 1})))
	b.SetCurrentKey("a")
	noErr(t, v.Update(1))
	got, ok, err := v.Value()
	wantValue(t, "Value with the largest TTL", got, ok, err, 1, true)
}

func TestDescriptorAccessors(t *testing.T) {
	cfg := TTLConfig{TTL: time.Minute}
	if d := Value[int]("v"); d.Name() != "v" {
		t.Fatalf("Name = %q", d.Name())
	} else if _, ok := d.TTL(); ok {
		t.Fatal("TTL set without WithTTL")
	} else if got, ok := d.WithTTL(cfg).TTL(); !ok || got != cfg {
		t.Fatalf("TTL after WithTTL = %+v, %v", got, ok)
	} else if _, ok := d.TTL(); ok {
		t.Fatal("WithTTL modified the descriptor it was called on")
	}
	names := []string{List[int]("l").Name(), Map[int, int]("m").Name(), Reducing("r", sum).Name(), Aggregating[int, *avgAcc, float64]("a", avg{}).Name()}
	if strings.Join(names, ",") != "l,m,r,a" {
		t.Fatalf("names = %v", names)
	}
	for _, ok := range []bool{
		second2(List[int]("l").WithTTL(cfg).TTL()), second2(Map[int, int]("m").WithTTL(cfg).TTL()),
		second2(Reducing("r", sum).WithTTL(cfg).TTL()), second2(Aggregating[int, *avgAcc, float64]("a", avg{}).WithTTL(cfg).TTL()),
	} {
		if !ok {
			t.Fatal("WithTTL did not set the TTL")
		}
	}
}

func second2[A, B any](_ A, b B) B { return b }
