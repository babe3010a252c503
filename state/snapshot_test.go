package state

import (
	"bytes"
	"encoding/hex"
	"errors"
	"fmt"
	"maps"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/runnel-io/runnel/codec"
	"github.com/runnel-io/runnel/runtime/clock"
	"github.com/runnel-io/runnel/state/keygroup"
)

// win is a window namespace shaped like window.TimeWindow (which this
// package's tests cannot import: stream/window imports state).
type win struct{ Start, End int64 }

var fixtureTTL = TTLConfig{TTL: time.Hour}

// fixture is one state of every kind, with and without TTL, in several
// namespace types, and two timer queues, registered on one backend.
type fixture struct {
	b   *KeyedBackend[string]
	clk *clock.Manual
	v   NamespacedValueState[VoidNamespace, int]
	vt  NamespacedValueState[win, string]
	l   NamespacedListState[int, int]
	lt  NamespacedListState[VoidNamespace, string]
	m   NamespacedMapState[win, string, int]
	mt  NamespacedMapState[VoidNamespace, int, string]
	r   NamespacedReducingState[int, int]
	rt  NamespacedReducingState[VoidNamespace, int]
	a   NamespacedAggregatingState[win, int, float64]
	at  NamespacedAggregatingState[VoidNamespace, int, float64]
	ev  *TimerQueue[string, win]
	pt  *TimerQueue[string, VoidNamespace]
}

var (
	fixtureWins = []win{{0, 10}, {10, 20}, {-5, 5}}
	fixtureInts = []int{0, 1, 7}
)

// newFixture registers the fixture's states on b (which the caller may have
// restored first).
func newFixture(t testing.TB, b *KeyedBackend[string], clk *clock.Manual) *fixture {
	t.Helper()
	f := &fixture{b: b, clk: clk, ev: NewTimerQueue[string, win](), pt: NewTimerQueue[string, VoidNamespace]()}
	var err error
	get := func(e error) {
		t.Helper()
		if e != nil {
			t.Fatal(e)
		}
	}
	f.v, err = GetValueState[VoidNamespace](b, Value[int]("value"))
	get(err)
	f.vt, err = GetValueState[win](b, Value[string]("value-ttl").WithTTL(fixtureTTL))
	get(err)
	f.l, err = GetListState[int](b, List[int]("list"))
	get(err)
	f.lt, err = GetListState[VoidNamespace](b, List[string]("list-ttl").WithTTL(fixtureTTL))
	get(err)
	f.m, err = GetMapState[win](b, Map[string, int]("map"))
	get(err)
	f.mt, err = GetMapState[VoidNamespace](b, Map[int, string]("map-ttl").WithTTL(fixtureTTL))
	get(err)
	f.r, err = GetReducingState[int](b, Reducing("reducing", sum))
	get(err)
	f.rt, err = GetReducingState[VoidNamespace](b, Reducing("reducing-ttl", sum).WithTTL(fixtureTTL))
	get(err)
	f.a, err = GetAggregatingState[win](b, Aggregating[int, *avgAcc, float64]("aggregating", avg{}))
	get(err)
	f.at, err = GetAggregatingState[VoidNamespace](b, Aggregating[int, *avgAcc, float64]("aggregating-ttl", avg{}).WithTTL(fixtureTTL))
	get(err)
	get(RegisterTimers(b, "_timer_event", f.ev))
	get(RegisterTimers(b, "_timer_proc", f.pt))
	return f
}

// fill writes state for keys, advancing the clock a second per key so that
// TTL timestamps differ.
func (f *fixture) fill(t testing.TB, keys []string) {
	t.Helper()
	for i, k := range keys {
		f.b.SetCurrentKey(k)
		f.clk.Advance(time.Second)
		noErr(t, f.v.Update(i))
		for j, w := range fixtureWins[:1+i%3] {
			f.vt.SetNamespace(w)
			noErr(t, f.vt.Update(fmt.Sprint(k, "@", w)))
			f.m.SetNamespace(w)
			noErr(t, f.m.Put("x", i))
			if i%2 == 0 {
				noErr(t, f.m.Put(fmt.Sprint("y", j), -i))
			}
			f.a.SetNamespace(w)
			noErr(t, f.a.Add(i))
			noErr(t, f.a.Add(j))
			f.ev.Register(Timer[string, win]{Time: w.End - 1, Key: k, Namespace: w})
		}
		for j, n := range fixtureInts[:1+i%3] {
			f.l.SetNamespace(n)
			noErr(t, f.l.AddAll([]int{i, j, -1}))
			f.r.SetNamespace(n)
			noErr(t, f.r.Add(i+j))
		}
		if i%4 != 3 {
			noErr(t, f.lt.Add(k))
			f.clk.Advance(time.Millisecond)
			noErr(t, f.lt.Add(k+"'"))
			noErr(t, f.mt.PutAll(map[int]string{i: k, -i: "neg", 1000: ""}))
			noErr(t, f.rt.Add(i))
			noErr(t, f.at.Add(2*i))
			f.pt.Register(Timer[string, VoidNamespace]{Time: int64(i), Key: k})
			f.pt.Register(Timer[string, VoidNamespace]{Time: int64(i % 5), Key: k})
		}
	}
}

// dump reads every state of every key in every namespace the fixture uses,
// and every timer, into sorted lines.
func (f *fixture) dump(t testing.TB, keys []string) []string {
	t.Helper()
	var out []string
	add := func(format string, args ...any) { out = append(out, fmt.Sprintf(format, args...)) }
	for _, k := range keys {
		f.b.SetCurrentKey(k)
		v, ok, err := f.v.Value()
		noErr(t, err)
		add("%s value %v %v", k, v, ok)
		if l, err := f.lt.Get(); err != nil || l != nil {
			add("%s list-ttl %q %v", k, l, err)
		}
		mt := maps.Collect(f.mt.All())
		add("%s map-ttl %v", k, mt)
		rt, ok, err := f.rt.Get()
		add("%s reducing-ttl %v %v %v", k, rt, ok, err)
		at, ok, err := f.at.Get()
		add("%s aggregating-ttl %v %v %v", k, at, ok, err)
		for _, w := range fixtureWins {
			f.vt.SetNamespace(w)
			vt, ok, err := f.vt.Value()
			add("%s %v value-ttl %q %v %v", k, w, vt, ok, err)
			f.m.SetNamespace(w)
			add("%s %v map %v", k, w, maps.Collect(f.m.All()))
			f.a.SetNamespace(w)
			a, ok, err := f.a.Get()
			add("%s %v aggregating %v %v %v", k, w, a, ok, err)
		}
		for _, n := range fixtureInts {
			f.l.SetNamespace(n)
			l, err := f.l.Get()
			add("%s %v list %v %v", k, n, l, err)
			f.r.SetNamespace(n)
			r, ok, err := f.r.Get()
			add("%s %v reducing %v %v %v", k, n, r, ok, err)
		}
	}
	for tm := range f.ev.All() {
		add("event timer %+v", tm)
	}
	for tm := range f.pt.All() {
		add("processing timer %+v", tm)
	}
	slices.Sort(out)
	return out
}

func fixtureKeys(n int) []string {
	keys := make([]string, n)
	for i := range keys {
		keys[i] = fmt.Sprintf("key-%d", i)
	}
	return keys
}

func snapshot(t testing.TB, b interface {
	Snapshot() (*KeyedSnapshot, error)
}) *KeyedSnapshot {
	t.Helper()
	s, err := b.Snapshot()
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func marshal(t testing.TB, s interface{ MarshalBinary() ([]byte, error) }) []byte {
	t.Helper()
	b, err := s.MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestKeyedSnapshotRoundTrip proves invariant 7 for every kind of state,
// with and without TTL, in several namespaces, and for timers: a restored
// backend reads back everything the snapshot held, TTL timestamps
// included, and snapshots to the same bytes.
func TestKeyedSnapshotRoundTrip(t *testing.T) {
	keys := fixtureKeys(300)
	b1, clk1 := newBackend(t)
	f1 := newFixture(t, b1, clk1)
	f1.fill(t, keys)
	s1 := snapshot(t, b1)
	groups := map[int]bool{}
	for _, k := range keys {
		groups[keygroup.Of([]byte(k), 128)] = true
	}
	if len(s1.Groups) != len(groups) || s1.MaxParallelism != 128 || s1.KeyGroups != b1.KeyGroupRange() {
		t.Fatalf("snapshot of keys in %d key groups has %d groups, max parallelism %d, range %v",
			len(groups), len(s1.Groups), s1.MaxParallelism, s1.KeyGroups)
	}

	// The file format round-trips.
	file := marshal(t, s1)
	var s1f KeyedSnapshot
	noErr(t, s1f.UnmarshalBinary(file))
	if !reflect.DeepEqual(&s1f, s1) {
		t.Fatal("UnmarshalBinary(MarshalBinary(s)) differs from s")
	}

	b2 := NewKeyedBackend(codec.String(), 128, keygroup.Range{Start: 0, End: 127}, clock.NewManual(clk1.Now()))
	noErr(t, b2.Restore([]*KeyedSnapshot{&s1f}))
	f2 := newFixture(t, b2, b2.clk.(*clock.Manual))
	if got := snapshot(t, b2); !bytes.Equal(marshal(t, got), file) {
		t.Fatal("the snapshot of the restored backend differs from the snapshot it was restored from")
	}
	if b2.NumEntries() != b1.NumEntries() || f2.ev.Len() != f1.ev.Len() || f2.pt.Len() != f1.pt.Len() {
		t.Fatalf("restored %d entries and %d+%d timers, want %d and %d+%d",
			b2.NumEntries(), f2.ev.Len(), f2.pt.Len(), b1.NumEntries(), f1.ev.Len(), f1.pt.Len())
	}
	want := f1.dump(t, keys)
	if got := f2.dump(t, keys); !slices.Equal(got, want) {
		t.Fatalf("restored state differs:\n%s", diffLines(got, want))
	}
	if len(want) < 20*len(keys) {
		t.Fatalf("the dump has only %d lines", len(want))
	}

	// TTL timestamps were restored: advancing both clocks expires the same
	// values. The keys were written a second apart, so after the TTL plus
	// 150s the first half has expired.
	clk1.Advance(fixtureTTL.TTL - 150*time.Second)
	b2.clk.(*clock.Manual).Advance(fixtureTTL.TTL - 150*time.Second)
	want = f1.dump(t, keys)
	if got := f2.dump(t, keys); !slices.Equal(got, want) {
		t.Fatalf("restored state differs after the first values expired:\n%s", diffLines(got, want))
	}
	if !slices.Contains(want, `key-0 {0 10} value-ttl "" false <nil>`) ||
		!slices.Contains(want, `key-299 {0 10} value-ttl "key-299@{0 10}" true <nil>`) {
		t.Fatal("the TTL check did not expire the first values only")
	}
}

// diffLines describes the first differences between two sorted dumps.
func diffLines(got, want []string) string {
	var b strings.Builder
	n := 0
	for _, l := range want {
		if !slices.Contains(got, l) && n < 10 {
			fmt.Fprintf(&b, "  missing: %s\n", l)
			n++
		}
	}
	for _, l := range got {
		if !slices.Contains(want, l) && n < 20 {
			fmt.Fprintf(&b, "  extra:   %s\n", l)
			n++
		}
	}
	fmt.Fprintf(&b, "  (%d lines, want %d)", len(got), len(want))
	return b.String()
}

// TestKeyedSnapshotIsCanonical proves that a snapshot depends on the
// state's content only: the same entries written in another order, through
// another history of inserts and removals, snapshot to the same bytes.
func TestKeyedSnapshotIsCanonical(t *testing.T) {
	keys := fixtureKeys(200)
	b1, clk1 := newBackend(t)
	f1 := newFixture(t, b1, clk1)
	f1.fill(t, keys)

	// The same writes, key by key at the same times, into entries created
	// before, in the reverse order, with other values (and junk, removed
	// afterwards): the storage order differs, the content does not.
	b2, clk2 := newBackend(t)
	f2 := newFixture(t, b2, clk2)
	for i, k := range slices.Backward(keys) {
		b2.SetCurrentKey(k)
		noErr(t, f2.v.Update(-1))
		for _, w := range fixtureWins[:1+i%3] {
			f2.vt.SetNamespace(w)
			noErr(t, f2.vt.Update("junk"))
			f2.m.SetNamespace(w)
			noErr(t, f2.m.Put("junk", 0))
		}
		f2.ev.Register(Timer[string, win]{Time: 5, Key: k})
	}
	f2.fill(t, keys)
	for i, k := range keys {
		b2.SetCurrentKey(k)
		for _, w := range fixtureWins[:1+i%3] {
			f2.m.SetNamespace(w)
			noErr(t, f2.m.Remove("junk"))
		}
		f2.ev.Delete(Timer[string, win]{Time: 5, Key: k})
	}
	slotKeys := func(f *fixture, g int) []string {
		var ks []string
		for _, sl := range f.v.(*valueState[string, VoidNamespace, int]).t.groups[g].slots {
			ks = append(ks, sl.key.k)
		}
		return ks
	}
	differ := false
	for g := range 128 {
		differ = differ || !slices.Equal(slotKeys(f1, g), slotKeys(f2, g))
	}
	if !differ {
		t.Fatal("the second backend stores its entries in the same order: the test proves nothing")
	}
	if !reflect.DeepEqual(snapshot(t, b2), snapshot(t, b1)) {
		t.Fatal("the same state written in another order snapshots to other bytes")
	}
}

// TestKeyedSnapshotRescale proves invariant 8: keyed state snapshotted at
// one parallelism is restored at others, each key by the subtask that owns
// its key group, exactly once, and back.
func TestKeyedSnapshotRescale(t *testing.T) {
	const maxP, keys = 128, 10000
	layout := func(p int) []*KeyedBackend[int64] {
		bs := make([]*KeyedBackend[int64], p)
		for i := range bs {
			bs[i] = NewKeyedBackend(codec.Int64(), maxP, keygroup.RangeFor(maxP, p, i), clock.NewManual(t0))
		}
		return bs
	}
	type states struct {
		v  NamespacedValueState[VoidNamespace, int64]
		l  NamespacedListState[int, string]
		tq *TimerQueue[int64, VoidNamespace]
	}
	register := func(b *KeyedBackend[int64]) states {
		s := states{tq: NewTimerQueue[int64, VoidNamespace]()}
		s.v = must[NamespacedValueState[VoidNamespace, int64]](t)(GetValueState[VoidNamespace](b, Value[int64]("v")))
		s.l = must[NamespacedListState[int, string]](t)(GetListState[int](b, List[string]("l")))
		noErr(t, RegisterTimers(b, "_timer_event", s.tq))
		return s
	}
	owner := func(p int, k int64) int { return keygroup.OperatorIndex(maxP, p, keyGroupOf(k)) }

	bs4 := layout(4)
	st4 := make([]states, 4)
	for i, b := range bs4 {
		st4[i] = register(b)
	}
	for k := range int64(keys) {
		i := owner(4, k)
		bs4[i].SetCurrentKey(k)
		noErr(t, st4[i].v.Update(2*k))
		if k%3 == 0 {
			st4[i].l.SetNamespace(int(k % 5))
			noErr(t, st4[i].l.Add(fmt.Sprint(k)))
		}
		st4[i].tq.Register(Timer[int64, VoidNamespace]{Time: k % 100, Key: k})
	}
	snaps4 := make([]*KeyedSnapshot, 4)
	for i, b := range bs4 {
		snaps4[i] = snapshot(t, b)
	}

	rescale := func(from []*KeyedSnapshot, p int) []*KeyedSnapshot {
		t.Helper()
		bs := layout(p)
		found := make([]int, keys)
		timers := 0
		for i, b := range bs {
			noErr(t, b.Restore(from))
			s := register(b)
			for k := range b.Keys("v") {
				if owner(p, k) != i {
					t.Fatalf("p=%d: key %d restored into subtask %d, owned by %d", p, k, i, owner(p, k))
				}
				found[k]++
				b.SetCurrentKey(k)
				v, ok, err := s.v.Value()
				wantValue(t, fmt.Sprintf("p=%d: value of %d", p, k), v, ok, err, 2*k, true)
				if k%3 == 0 {
					s.l.SetNamespace(int(k % 5))
					wantList(t, fmt.Sprintf("p=%d: list of %d", p, k), ListState[string](s.l), fmt.Sprint(k))
				}
			}
			for tm := range s.tq.All() {
				if owner(p, tm.Key) != i || tm.Time != tm.Key%100 {
					t.Fatalf("p=%d: subtask %d restored timer %+v", p, i, tm)
				}
			}
			timers += s.tq.Len()
		}
		for k, n := range found {
			if n != 1 {
				t.Fatalf("p=%d: key %d restored %d times", p, k, n)
			}
		}
		if timers != keys {
			t.Fatalf("p=%d: restored %d timers, want %d", p, timers, keys)
		}
		out := make([]*KeyedSnapshot, p)
		for i, b := range bs {
			out[i] = snapshot(t, b)
		}
		return out
	}
	snaps2 := rescale(snaps4, 2)
	snaps3 := rescale(snaps4, 3)
	// 4 → 2 → 3 → 4 gives the original snapshots back, byte for byte.
	back := rescale(rescale(snaps2, 3), 4)
	if !reflect.DeepEqual(back, snaps4) {
		t.Fatal("4 → 2 → 3 → 4 changed the snapshots")
	}
	if !reflect.DeepEqual(rescale(snaps3, 4), snaps4) {
		t.Fatal("4 → 3 → 4 changed the snapshots")
	}
}

// TestRestoredStatesPassThrough: states restored and not registered are
// written unchanged into the next snapshots, and still restore from them.
func TestRestoredStatesPassThrough(t *testing.T) {
	keys := fixtureKeys(100)
	b1, clk1 := newBackend(t)
	f1 := newFixture(t, b1, clk1)
	f1.fill(t, keys)
	s1 := snapshot(t, b1)

	// Register only one state, and change it.
	b2, _ := newBackend(t)
	noErr(t, b2.Restore([]*KeyedSnapshot{s1}))
	v2 := must[NamespacedValueState[VoidNamespace, int]](t)(GetValueState[VoidNamespace](b2, Value[int]("value")))
	if got := snapshot(t, b2); !reflect.DeepEqual(got, s1) {
		t.Fatal("a backend with one of the restored states registered snapshots differently")
	}
	if n := b2.NumEntries(); n != len(keys) {
		t.Fatalf("NumEntries = %d, want %d: only the registered state counts", n, len(keys))
	}
	for _, k := range keys {
		b2.SetCurrentKey(k)
		noErr(t, v2.Update(-7))
	}
	s2 := snapshot(t, b2)

	// A third generation restores everything: the change, and the rest as
	// it was.
	b3, clk3 := newBackend(t)
	noErr(t, b3.Restore([]*KeyedSnapshot{s2}))
	f3 := newFixture(t, b3, clk3)
	clk3.Set(clk1.Now())
	want := f1.dump(t, keys)
	for i, l := range want {
		for _, k := range keys {
			if strings.HasPrefix(l, k+" value ") {
				want[i] = k + " value -7 true"
			}
		}
	}
	slices.Sort(want)
	if got := f3.dump(t, keys); !slices.Equal(got, want) {
		t.Fatalf("state passed through a backend that did not register it differs:\n%s", diffLines(got, want))
	}
}

// TestSnapshotIsACopy: changing state after a snapshot, or after a restore,
// changes neither snapshot.
func TestSnapshotIsACopy(t *testing.T) {
	keys := fixtureKeys(50)
	b1, clk1 := newBackend(t)
	f1 := newFixture(t, b1, clk1)
	f1.fill(t, keys)
	s1 := snapshot(t, b1)
	file := marshal(t, s1)
	mutate := func(f *fixture) {
		for i, k := range keys {
			f.b.SetCurrentKey(k)
			noErr(t, f.v.Update(-i))
			f.l.SetNamespace(0)
			noErr(t, f.l.Add(99))
			got, _ := f.l.Get()
			noErr(t, f.l.Update(got[1:]))
			f.m.SetNamespace(fixtureWins[0])
			noErr(t, f.m.Put("x", 1234))
			f.a.SetNamespace(fixtureWins[0])
			noErr(t, f.a.Add(5)) // modifies the accumulator in place
			noErr(t, f.mt.Clear())
			f.ev.Register(Timer[string, win]{Time: 1e6, Key: k})
		}
	}
	mutate(f1)
	if !bytes.Equal(marshal(t, s1), file) {
		t.Fatal("changing the state changed a snapshot taken before")
	}

	b2, clk2 := newBackend(t)
	noErr(t, b2.Restore([]*KeyedSnapshot{s1}))
	mutate(newFixture(t, b2, clk2))
	if !bytes.Equal(marshal(t, s1), file) {
		t.Fatal("changing a restored state changed the snapshot it was restored from")
	}

	ob := NewOperatorBackend()
	l := must[ListState[[]byte]](t)(GetOperatorListState(ob, List[[]byte]("l")))
	bc := must[MapState[string, []int]](t)(GetBroadcastState(ob, Map[string, []int]("b")))
	noErr(t, l.Add([]byte("abc")))
	noErr(t, bc.Put("k", []int{1, 2}))
	os1, err := ob.Snapshot()
	noErr(t, err)
	ofile := marshal(t, os1)
	got, _ := l.Get()
	got[0][0] = 'X'
	noErr(t, l.Add([]byte("def")))
	v, _, _ := bc.Get("k")
	v[0] = 100
	noErr(t, bc.Put("k2", nil))
	if !bytes.Equal(marshal(t, os1), ofile) {
		t.Fatal("changing operator state changed a snapshot taken before")
	}
}

// TestRestoreErrors: Restore and registration refuse what they cannot
// restore correctly.
func TestRestoreErrors(t *testing.T) {
	b1, _ := newBackend(t)
	v := must[NamespacedValueState[VoidNamespace, string]](t)(GetValueState[VoidNamespace](b1, Value[string]("v")))
	tq := NewTimerQueue[string, int]()
	noErr(t, RegisterTimers(b1, "_timer", tq))
	b1.SetCurrentKey("hello")
	noErr(t, v.Update("hello"))
	b1.SetCurrentKey("a")
	noErr(t, v.Update("hello"))
	tq.Register(Timer[string, int]{Time: 1, Key: "a", Namespace: 2})
	snap := snapshot(t, b1)

	fresh := func() *KeyedBackend[string] {
		b, _ := newBackend(t)
		noErr(t, b.Restore([]*KeyedSnapshot{snap}))
		return b
	}

	t.Run("after registration", func(t *testing.T) {
		b, _ := newBackend(t)
		must[NamespacedValueState[VoidNamespace, string]](t)(GetValueState[VoidNamespace](b, Value[string]("other")))
		if err := b.Restore([]*KeyedSnapshot{snap}); err == nil || !strings.Contains(err.Error(), "before any state") {
			t.Fatalf("Restore after a getter: %v", err)
		}
		b, _ = newBackend(t)
		noErr(t, RegisterTimers(b, "_t", NewTimerQueue[string, int]()))
		if err := b.Restore([]*KeyedSnapshot{snap}); err == nil {
			t.Fatal("Restore after RegisterTimers succeeded")
		}
		b = fresh()
		if err := b.Restore(nil); err == nil || !strings.Contains(err.Error(), "twice") {
			t.Fatalf("second Restore: %v", err)
		}
	})
	t.Run("max parallelism", func(t *testing.T) {
		b := NewKeyedBackend(codec.String(), 256, keygroup.Range{Start: 0, End: 255}, clock.NewManual(t0))
		err := b.Restore([]*KeyedSnapshot{snap})
		const want = "state: cannot restore keyed state with max parallelism 128 into a backend with max parallelism 256"
		if err == nil || err.Error() != want {
			t.Fatalf("Restore with another max parallelism: %v, want %q", err, want)
		}
	})
	t.Run("overlap", func(t *testing.T) {
		b, _ := newBackend(t)
		empty := &KeyedSnapshot{MaxParallelism: 128, KeyGroups: keygroup.Range{Start: 100, End: 110}}
		err := b.Restore([]*KeyedSnapshot{snap, nil, empty})
		if err == nil || !strings.Contains(err.Error(), "key group 100 is in two of the snapshots to restore (0 and 2") {
			t.Fatalf("Restore of overlapping snapshots: %v", err)
		}
		// A failed Restore changes nothing: another may follow.
		noErr(t, b.Restore([]*KeyedSnapshot{empty}))
	})
	t.Run("kind", func(t *testing.T) {
		b := fresh()
		for name, err := range map[string]error{
			"list":      second(GetListState[VoidNamespace](b, List[string]("v"))),
			"reducing":  second(GetReducingState[VoidNamespace](b, Reducing("v", func(a, _ string) (string, error) { return a, nil }))),
			"with TTL":  second(GetValueState[VoidNamespace](b, Value[string]("v").WithTTL(fixtureTTL))),
			"as timers": RegisterTimers(b, "v", NewTimerQueue[string, VoidNamespace]()),
			"timers":    second(GetValueState[VoidNamespace](b, Value[int]("_timer"))),
			"type":      second(GetValueState[VoidNamespace](b, Value[int64]("v"))),
			"ns type":   second(GetValueState[int](b, Value[string]("v"))),
		} {
			if !errors.Is(err, ErrIncompatibleState) || !strings.Contains(err.Error(), `"`) {
				t.Errorf("%s: %v, want ErrIncompatibleState naming the state", name, err)
			}
		}
		_, err := GetListState[VoidNamespace](b, List[string]("v"))
		if want := `state "v" was snapshotted as a ValueState, asked for as a ListState (ListState[string] in namespace state.VoidNamespace)`; !strings.Contains(err.Error(), want) {
			t.Errorf("kind mismatch: %v, want it to contain %q", err, want)
		}
		// The failed registrations kept the restored state.
		got := must[NamespacedValueState[VoidNamespace, string]](t)(GetValueState[VoidNamespace](b, Value[string]("v")))
		b.SetCurrentKey("a")
		s, ok, err := got.Value()
		wantValue(t, "restored value after failed registrations", s, ok, err, "hello", true)
		q := NewTimerQueue[string, int]()
		noErr(t, RegisterTimers(b, "_timer", q))
		if tm, ok := q.Peek(); !ok || tm != (Timer[string, int]{Time: 1, Key: "a", Namespace: 2}) || q.Len() != 1 {
			t.Fatalf("restored timers: %v, %v (%d)", tm, ok, q.Len())
		}
		noErr(t, RegisterTimers(b, "_timer", q)) // again: nothing happens
		if err := RegisterTimers(b, "_timer", NewTimerQueue[string, int]()); !errors.Is(err, ErrIncompatibleState) {
			t.Fatalf("another queue under a taken name: %v", err)
		}
		if err := RegisterTimers(b, "", q); !errors.Is(err, ErrInvalidDescriptor) {
			t.Fatalf("empty timer queue name: %v", err)
		}
	})
	t.Run("key codec", func(t *testing.T) {
		// The same bytes restored with another key type land in other key
		// groups (or do not decode): an ErrIncompatibleState.
		b := NewKeyedBackend(codec.Int64(), 128, keygroup.Range{Start: 0, End: 127}, clock.NewManual(t0))
		noErr(t, b.Restore([]*KeyedSnapshot{snap}))
		if _, err := GetValueState[VoidNamespace](b, Value[string]("v")); !errors.Is(err, ErrIncompatibleState) {
			t.Fatalf("restoring string keys as int64: %v", err)
		}
		// Data of key group 91 (key "a") relabeled as key group 90.
		moved := &KeyedSnapshot{MaxParallelism: 128, KeyGroups: keygroup.Range{Start: 0, End: 127}}
		for _, g := range snap.Groups {
			if g.Group == 91 {
				moved.Groups = []KeyGroupData{{Group: 90, Data: g.Data}}
			}
		}
		bs, _ := newBackend(t)
		noErr(t, bs.Restore([]*KeyedSnapshot{moved}))
		_, err := GetValueState[VoidNamespace](bs, Value[string]("v"))
		if want := "a key restored into key group 90 belongs to key group 91"; !errors.Is(err, ErrIncompatibleState) || !strings.Contains(err.Error(), want) {
			t.Fatalf("a key in the wrong key group: %v, want ErrIncompatibleState containing %q", err, want)
		}
		err = RegisterTimers(bs, "_timer", NewTimerQueue[string, int]())
		if !errors.Is(err, ErrIncompatibleState) || !strings.Contains(err.Error(), "belongs to key group 91") {
			t.Fatalf("a timer in the wrong key group: %v", err)
		}
	})
	t.Run("corrupt", func(t *testing.T) {
		// Key "a" is in key group 91; its value's length, 5, exceeds the
		// section.
		bad := &KeyedSnapshot{MaxParallelism: 128, KeyGroups: keygroup.Range{Start: 0, End: 127},
			Groups: []KeyGroupData{{Group: 91, Data: []byte{1, 'v', 1, 0, 6, 1, 1, 'a', 0, 5, 'h'}}}}
		b, _ := newBackend(t)
		noErr(t, b.Restore([]*KeyedSnapshot{bad}))
		_, err := GetValueState[VoidNamespace](b, Value[string]("v"))
		if !errors.Is(err, ErrCorruptSnapshot) || !strings.Contains(err.Error(), `state "v", key group 91: length 5 exceeds the remaining 1 bytes`) {
			t.Fatalf("a corrupt entry: %v", err)
		}
		for name, data := range map[string][]byte{
			"unknown kind":   {1, 'v', 9, 0, 1, 1},
			"no entries":     {1, 'v', 1, 0, 1, 0},
			"truncated":      {1, 'v', 1, 0, 6, 1, 1, 'a', 0, 5},
			"unsorted names": {1, 'w', 1, 0, 1, 1, 1, 'v', 1, 0, 1, 1},
			"bad flags":      {1, 'v', 1, 2, 1, 1},
			"no sections":    {},
		} {
			bad.Groups[0].Data = data
			b, _ := newBackend(t)
			if err := b.Restore([]*KeyedSnapshot{bad}); !errors.Is(err, ErrCorruptSnapshot) {
				t.Errorf("%s: %v, want ErrCorruptSnapshot", name, err)
			}
		}
	})
}

// TestSnapshotCodecFailure: a codec that cannot encode a value fails the
// snapshot with an error naming the state, instead of the task.
func TestSnapshotCodecFailure(t *testing.T) {
	b, _ := newBackend(t)
	v := must[NamespacedValueState[VoidNamespace, failing]](t)(GetValueState[VoidNamespace](b, Value[failing]("bad")))
	b.SetCurrentKey("a")
	noErr(t, v.Update(failing{}))
	if _, err := b.Snapshot(); err == nil || !strings.Contains(err.Error(), `"bad"`) || !strings.Contains(err.Error(), "cannot encode") {
		t.Fatalf("Snapshot with a failing codec: %v", err)
	}

	// A timer of a key outside the backend's range is the operator's bug,
	// reported rather than written.
	r := keygroup.RangeFor(128, 2, 0)
	b2 := NewKeyedBackend(codec.Int64(), 128, r, clock.NewManual(t0))
	q := NewTimerQueue[int64, VoidNamespace]()
	noErr(t, RegisterTimers(b2, "_timer", q))
	var outside int64
	for r.Contains(keyGroupOf(outside)) {
		outside++
	}
	q.Register(Timer[int64, VoidNamespace]{Key: outside})
	if _, err := b2.Snapshot(); err == nil || !strings.Contains(err.Error(), "outside the backend's") {
		t.Fatalf("Snapshot with a misplaced timer: %v", err)
	}
}

// failing has a marshaling method that fails, so its codec.For panics.
type failing struct{}

func (failing) MarshalBinary() ([]byte, error) { return nil, errors.New("cannot encode") }
func (*failing) UnmarshalBinary([]byte) error  { return nil }

// TestKeyedSnapshotFormat pins the documented byte layout of key group data
// and of the file.
func TestKeyedSnapshotFormat(t *testing.T) {
	b := NewKeyedBackend(codec.Int64(), 128, keygroup.Range{Start: 0, End: 127}, clock.NewManual(time.Unix(0, 0x0102030405060708)))
	v := must[NamespacedValueState[VoidNamespace, string]](t)(GetValueState[VoidNamespace](b, Value[string]("v").WithTTL(fixtureTTL)))
	l := must[NamespacedListState[int, int]](t)(GetListState[int](b, List[int]("l")))
	tq := NewTimerQueue[int64, VoidNamespace]()
	noErr(t, RegisterTimers(b, "_timer", tq))
	b.SetCurrentKey(42) // key group 59
	noErr(t, v.Update("hi"))
	l.SetNamespace(3)
	noErr(t, l.AddAll([]int{1, -1}))
	tq.Register(Timer[int64, VoidNamespace]{Time: -2, Key: 42})

	s := snapshot(t, b)
	const data = "" +
		"065f74696d6572" + "06" + "00" + "0c" + // blob("_timer") timers no-TTL len(body)=12
		"01" + "0154" + "00" + "7ffffffffffffffe" + // 1 entry: blob(42) blob(void) int64(-2)
		"016c" + "02" + "00" + "0a" + // blob("l") list no-TTL len(body)=10
		"01" + "0154" + "0106" + "02" + "0102" + "0101" + // 1 entry: blob(42) blob(3) 2 elements: blob(1) blob(-1)
		"0176" + "01" + "01" + "0f" + // blob("v") value TTL len(body)=15
		"01" + "0154" + "00" + "8102030405060708" + "026869" // 1 entry: blob(42) blob(void) int64(ts) blob("hi")
	if len(s.Groups) != 1 || s.Groups[0].Group != 59 || hex.EncodeToString(s.Groups[0].Data) != data {
		t.Fatalf("snapshot = %+v\nwant group 59 with data %s", s.Groups, data)
	}
	file := hex.EncodeToString(marshal(t, s))
	const head = "524e4b53" + "01" + "8001" + "00" + "7f" + "01" + "3b" + "39" // RNKS v1 maxP=128 [0, 127] 1 group: 59, len 57
	if !strings.HasPrefix(file, head+data) || len(file) != len(head)+len(data)+8 {
		t.Fatalf("file = %s\nwant %s%s and a checksum", file, head, data)
	}
}

// TestOperatorSnapshotRoundTrip: every kind of operator state restores,
// registered or passed through, and snapshots to the same bytes.
func TestOperatorSnapshotRoundTrip(t *testing.T) {
	b1 := NewOperatorBackend()
	split := must[ListState[string]](t)(GetOperatorListState(b1, List[string]("split")))
	union := must[ListState[int]](t)(GetUnionListState(b1, List[int]("union")))
	bc := must[MapState[string, []int]](t)(GetBroadcastState(b1, Map[string, []int]("rules")))
	must[ListState[int]](t)(GetOperatorListState(b1, List[int]("empty")))
	noErr(t, split.AddAll([]string{"a", "", "ccc"}))
	noErr(t, union.AddAll([]int{3, 1, 2}))
	noErr(t, bc.PutAll(map[string][]int{"x": {1}, "y": nil, "zz": {}, "": {7, 8}}))
	s1, err := b1.Snapshot()
	noErr(t, err)
	if got := len(s1.States); got != 4 || s1.States[3].Name != "empty" || s1.States[3].Elements != nil {
		t.Fatalf("snapshot states = %+v", s1.States)
	}
	file := marshal(t, s1)
	var s1f OperatorSnapshot
	noErr(t, s1f.UnmarshalBinary(file))

	// Registering only some states passes the others through.
	b2 := NewOperatorBackend()
	noErr(t, b2.Restore(&s1f))
	union2 := must[ListState[int]](t)(GetUnionListState(b2, List[int]("union")))
	wantList(t, "restored union state", union2, 3, 1, 2)
	s2, err := b2.Snapshot()
	noErr(t, err)
	if got := s2.States[0].Name; got != "union" {
		t.Fatalf("registered states come first: %+v", s2.States)
	}

	b3 := NewOperatorBackend()
	noErr(t, b3.Restore(s2))
	split3 := must[ListState[string]](t)(GetOperatorListState(b3, List[string]("split")))
	union3 := must[ListState[int]](t)(GetUnionListState(b3, List[int]("union")))
	bc3 := must[MapState[string, []int]](t)(GetBroadcastState(b3, Map[string, []int]("rules")))
	must[ListState[int]](t)(GetOperatorListState(b3, List[int]("empty")))
	wantList(t, "restored split state", split3, "a", "", "ccc")
	wantList(t, "restored union state", union3, 3, 1, 2)
	if got := maps.Collect(bc3.All()); !reflect.DeepEqual(got, map[string][]int{"x": {1}, "y": nil, "zz": {}, "": {7, 8}}) {
		t.Fatalf("restored broadcast state = %#v", got)
	}
	s3, err := b3.Snapshot()
	noErr(t, err)
	if !bytes.Equal(marshal(t, s3), file) {
		t.Fatal("snapshot of the restored operator backend differs from the original")
	}

	// Errors.
	b4 := NewOperatorBackend()
	noErr(t, b4.Restore(s1))
	for name, err := range map[string]error{
		"split as union":     second(GetUnionListState(b4, List[string]("split"))),
		"union as split":     second(GetOperatorListState(b4, List[int]("union"))),
		"list as broadcast":  second(GetBroadcastState(b4, Map[string, string]("split"))),
		"broadcast as list":  second(GetOperatorListState(b4, List[string]("rules"))),
		"other element type": second(GetOperatorListState(b4, List[int64]("split"))),
	} {
		if !errors.Is(err, ErrIncompatibleState) {
			t.Errorf("%s: %v, want ErrIncompatibleState", name, err)
		}
	}
	if err := b4.Restore(s1); err == nil {
		t.Fatal("a second Restore succeeded")
	}
	if err := b1.Restore(s1); err == nil {
		t.Fatal("Restore after registration succeeded")
	}
	dup := &OperatorSnapshot{States: []OperatorStateData{{Name: "a", Distribution: DistributeSplit}, {Name: "a", Distribution: DistributeUnion}}}
	if err := NewOperatorBackend().Restore(dup); !errors.Is(err, ErrCorruptSnapshot) {
		t.Fatalf("Restore of a state that appears twice: %v", err)
	}
}

// TestRedistributeOperatorState: split state is cut into contiguous
// near-equal parts, every element in exactly one; union state goes to
// every subtask whole; broadcast state is copied; and at an unchanged
// parallelism split state stays where it was.
func TestRedistributeOperatorState(t *testing.T) {
	// Four subtasks with 5, 0, 3 and 9 offsets, and one without state.
	var old []*OperatorSnapshot
	next := 0
	var all []string
	for i, n := range []int{5, 0, 3, 9, -1} {
		if n < 0 {
			old = append(old, nil)
			continue
		}
		b := NewOperatorBackend()
		s := must[ListState[string]](t)(GetOperatorListState(b, List[string]("offsets")))
		u := must[ListState[int]](t)(GetUnionListState(b, List[int]("seen")))
		bc := must[MapState[string, int]](t)(GetBroadcastState(b, Map[string, int]("rules")))
		for range n {
			e := fmt.Sprint("offset-", next)
			next++
			all = append(all, e)
			noErr(t, s.Add(e))
		}
		noErr(t, u.Add(i))
		noErr(t, bc.PutAll(map[string]int{"a": 1, "b": 2}))
		snap, err := b.Snapshot()
		noErr(t, err)
		old = append(old, snap)
	}

	restore := func(snaps []*OperatorSnapshot) (splits [][]string, unions [][]int, rules []map[string]int) {
		t.Helper()
		for _, s := range snaps {
			b := NewOperatorBackend()
			noErr(t, b.Restore(s))
			l := must[ListState[string]](t)(GetOperatorListState(b, List[string]("offsets")))
			u := must[ListState[int]](t)(GetUnionListState(b, List[int]("seen")))
			bc := must[MapState[string, int]](t)(GetBroadcastState(b, Map[string, int]("rules")))
			got, _ := l.Get()
			splits = append(splits, slices.Clone(got))
			gu, _ := u.Get()
			unions = append(unions, slices.Clone(gu))
			rules = append(rules, maps.Collect(bc.All()))
		}
		return
	}
	check := func(snaps []*OperatorSnapshot, p int) {
		t.Helper()
		if len(snaps) != p {
			t.Fatalf("redistributed to %d subtasks, want %d", len(snaps), p)
		}
		splits, unions, rules := restore(snaps)
		if got := slices.Concat(splits...); !slices.Equal(got, all) {
			t.Fatalf("p=%d: split state %v, want every element once, in order: %v", p, splits, all)
		}
		for i, s := range splits {
			if n := len(all)/p + min(1, max(0, len(all)%p-i)); len(s) != n {
				t.Fatalf("p=%d: subtask %d got %d elements, want %d (%v)", p, i, len(s), n, splits)
			}
			if !slices.Equal(unions[i], []int{0, 1, 2, 3}) {
				t.Fatalf("p=%d: subtask %d union state %v", p, i, unions[i])
			}
			if !maps.Equal(rules[i], map[string]int{"a": 1, "b": 2}) {
				t.Fatalf("p=%d: subtask %d broadcast state %v", p, i, rules[i])
			}
		}
	}
	to2, err := RedistributeOperatorState(old, 2)
	noErr(t, err)
	check(to2, 2)
	to3, err := RedistributeOperatorState(to2, 3)
	noErr(t, err)
	_, unions, _ := restore(to3)
	if !slices.Equal(unions[2], []int{0, 1, 2, 3, 0, 1, 2, 3}) {
		t.Fatalf("union state redistributed twice = %v, want the union of both subtasks", unions[2])
	}

	// Unchanged parallelism: split state stays put.
	same, err := RedistributeOperatorState(old, 5)
	noErr(t, err)
	splits, _, _ := restore(same)
	if want := [][]string{all[:5], nil, all[5:8], all[8:], nil}; !reflect.DeepEqual(splits, want) {
		t.Fatalf("redistributing to the same parallelism moved split state: %v", splits)
	}

	to1, err := RedistributeOperatorState(old, 1)
	noErr(t, err)
	check(to1, 1)
	to20, err := RedistributeOperatorState(old, 20)
	noErr(t, err)
	check(to20, 20)

	if _, err := RedistributeOperatorState(old, 0); err == nil {
		t.Fatal("redistributing to parallelism 0 succeeded")
	}
	bad := &OperatorSnapshot{States: []OperatorStateData{{Name: "offsets", Distribution: DistributeUnion}}}
	if _, err := RedistributeOperatorState([]*OperatorSnapshot{old[0], bad}, 2); !errors.Is(err, ErrCorruptSnapshot) {
		t.Fatalf("subtasks disagreeing on a distribution: %v", err)
	}
}

// TestSnapshotFileErrors: the file decoders reject what MarshalBinary does
// not write.
func TestSnapshotFileErrors(t *testing.T) {
	b, _ := newBackend(t)
	f := newFixture(t, b, b.clk.(*clock.Manual))
	f.fill(t, fixtureKeys(10))
	file := marshal(t, snapshot(t, b))
	var ks KeyedSnapshot
	for name, data := range map[string][]byte{
		"empty":     nil,
		"magic":     append([]byte("RNOS"), file[4:]...),
		"version":   append(append([]byte("RNKS"), 2), file[5:]...),
		"checksum":  append(slices.Clone(file[:len(file)-1]), file[len(file)-1]^1),
		"truncated": file[:len(file)/2],
	} {
		if err := ks.UnmarshalBinary(data); !errors.Is(err, ErrCorruptSnapshot) {
			t.Errorf("%s: %v, want ErrCorruptSnapshot", name, err)
		}
	}
	if ks.Groups != nil {
		t.Fatal("a failed UnmarshalBinary changed the snapshot")
	}
	var ops OperatorSnapshot
	if err := ops.UnmarshalBinary(file); !errors.Is(err, ErrCorruptSnapshot) {
		t.Fatalf("a keyed snapshot decoded as an operator snapshot: %v", err)
	}
	if _, err := (&KeyedSnapshot{MaxParallelism: 128, KeyGroups: keygroup.Range{Start: 5, End: 9}, Groups: []KeyGroupData{{Group: 10, Data: []byte{1}}}}).MarshalBinary(); !errors.Is(err, ErrCorruptSnapshot) {
		t.Fatalf("MarshalBinary of a group outside the range: %v", err)
	}
}
