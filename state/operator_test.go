package state

import (
	"errors"
	"maps"
	"slices"
	"strings"
	"testing"
	"time"
)

func TestOperatorListState(t *testing.T) {
	b := NewOperatorBackend()
	for _, get := range []func(*OperatorBackend, ListDescriptor[int]) (ListState[int], error){GetOperatorListState[int], GetUnionListState[int]} {
		l := must[ListState[int]](t)(get(b, List[int]("offsets")))
		wantList(t, "Get of a new state", l)
		noErr(t, l.Add(1))
		noErr(t, l.AddAll([]int{2, 3}))
		wantList(t, "after Add and AddAll", l, 1, 2, 3)
		got, _ := l.Get()
		_ = append(got, 99) // must not write into the storage
		noErr(t, l.Add(4))
		wantList(t, "after appending to a Get result", l, 1, 2, 3, 4)
		got, _ = l.Get()
		noErr(t, l.Update(got[2:]))
		wantList(t, "after Update(Get()[2:])", l, 3, 4)
		noErr(t, l.Clear())
		wantList(t, "after Clear", l)
		b = NewOperatorBackend()
	}
}

func TestOperatorStateDistribution(t *testing.T) {
	b := NewOperatorBackend()
	split := must[ListState[int]](t)(GetOperatorListState(b, List[int]("split")))
	union := must[ListState[int]](t)(GetUnionListState(b, List[int]("union")))
	bc := must[MapState[string, int]](t)(GetBroadcastState(b, Map[string, int]("rules")))
	for name, want := range map[string]Distribution{"split": DistributeSplit, "union": DistributeUnion, "rules": DistributeBroadcast} {
		if got, ok := b.Distribution(name); !ok || got != want {
			t.Errorf("Distribution(%q) = %v, %v; want %v", name, got, ok, want)
		}
	}
	if _, ok := b.Distribution("absent"); ok {
		t.Error("Distribution of an absent state reported ok")
	}
	if got := b.Names(); !slices.Equal(got, []string{"split", "union", "rules"}) {
		t.Fatalf("Names = %v", got)
	}

	// Getters are idempotent; another kind under the same name is an error.
	if again := must[ListState[int]](t)(GetOperatorListState(b, List[int]("split"))); again != split {
		t.Fatal("GetOperatorListState twice returned different states")
	}
	if again := must[ListState[int]](t)(GetUnionListState(b, List[int]("union"))); again != union {
		t.Fatal("GetUnionListState twice returned different states")
	}
	if again := must[MapState[string, int]](t)(GetBroadcastState(b, Map[string, int]("rules"))); again != bc {
		t.Fatal("GetBroadcastState twice returned different states")
	}
	for name, c := range map[string]struct {
		err  error
		want string
	}{
		"split as union":   {second(GetUnionListState(b, List[int]("split"))), `state "split" is a ListState[int], asked for as a UnionListState[int]`},
		"union as split":   {second(GetOperatorListState(b, List[int]("union"))), `state "union" is a UnionListState[int], asked for as a ListState[int]`},
		"other type":       {second(GetOperatorListState(b, List[string]("split"))), `asked for as a ListState[string]`},
		"broadcast as map": {second(GetBroadcastState(b, Map[string, string]("rules"))), `state "rules" is a BroadcastState[string, int], asked for as a BroadcastState[string, string]`},
	} {
		if !errors.Is(c.err, ErrIncompatibleState) || !strings.Contains(c.err.Error(), c.want) {
			t.Errorf("%s: %v; want ErrIncompatibleState containing %q", name, c.err, c.want)
		}
	}
	for name, err := range map[string]error{
		"list with TTL":      second(GetOperatorListState(b, List[int]("x").WithTTL(TTLConfig{TTL: time.Second}))),
		"union with TTL":     second(GetUnionListState(b, List[int]("x").WithTTL(TTLConfig{TTL: time.Second}))),
		"broadcast with TTL": second(GetBroadcastState(b, Map[int, int]("x").WithTTL(TTLConfig{TTL: time.Second}))),
		"empty name":         second(GetOperatorListState(b, List[int](""))),
		"no codec":           second(GetOperatorListState(b, List[noCodec]("nc"))),
		"no map codec":       second(GetBroadcastState(b, Map[int, noCodec]("nc"))),
	} {
		if !errors.Is(err, ErrInvalidDescriptor) {
			t.Errorf("%s: %v, want ErrInvalidDescriptor", name, err)
		}
	}
	if s := DistributeUnion.String() + "," + Distribution(9).String(); s != "union,Distribution(9)" {
		t.Fatalf("String = %q", s)
	}
}

func TestBroadcastState(t *testing.T) {
	b := NewOperatorBackend()
	m := must[MapState[string, int]](t)(GetBroadcastState(b, Map[string, int]("rules")))
	noErr(t, m.Put("a", 1))
	noErr(t, m.PutAll(map[string]int{"b": 2, "c": 3}))
	v, ok, err := m.Get("b")
	wantValue(t, "Get(b)", v, ok, err, 2, true)
	has, err := m.Contains("z")
	wantValue(t, "Contains(z)", has, true, err, false, true)
	noErr(t, m.Remove("a"))
	n, err := m.Len()
	wantValue(t, "Len", n, true, err, 2, true)
	if got := maps.Collect(m.All()); !maps.Equal(got, map[string]int{"b": 2, "c": 3}) {
		t.Fatalf("All = %v", got)
	}
	for range m.All() {
		break
	}
	noErr(t, m.Clear())
	empty, err := m.IsEmpty()
	wantValue(t, "IsEmpty after Clear", empty, true, err, true, true)
}
