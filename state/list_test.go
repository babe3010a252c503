package state

import (
	"slices"
	"testing"
)

func TestListState(t *testing.T) {
	b, _ := newBackend(t)
	l := must[NamespacedListState[VoidNamespace, int]](t)(GetListState[VoidNamespace](b, List[int]("l")))
	b.SetCurrentKey("a")
	wantList(t, "Get of a new key", l)
	noErr(t, l.Add(1))
	noErr(t, l.AddAll([]int{2, 3}))
	wantList(t, "after Add and AddAll", l, 1, 2, 3)

	// Get's result may alias the storage, but appending to it must not write
	// into the storage.
	got, err := l.Get()
	noErr(t, err)
	_ = append(got, 99)
	noErr(t, l.Add(4))
	wantList(t, "after appending to a Get result", l, 1, 2, 3, 4)

	// Update and AddAll copy their argument, even when it is a Get result.
	got, _ = l.Get()
	noErr(t, l.Update(got[1:3]))
	wantList(t, "after Update(Get()[1:3])", l, 2, 3)
	got, _ = l.Get()
	noErr(t, l.AddAll(got))
	wantList(t, "after AddAll(Get())", l, 2, 3, 2, 3)
	in := []int{5, 6}
	noErr(t, l.Update(in))
	in[0] = 100
	wantList(t, "after modifying Update's argument", l, 5, 6)

	noErr(t, l.AddAll(nil))
	wantList(t, "after AddAll(nil)", l, 5, 6)
	noErr(t, l.Update(nil))
	wantList(t, "after Update(nil)", l)
	if n := b.NumEntries(); n != 0 {
		t.Fatalf("NumEntries = %d after Update(nil), want 0", n)
	}
	noErr(t, l.AddAll(nil))
	if n := b.NumEntries(); n != 0 {
		t.Fatalf("NumEntries = %d after AddAll(nil) on an empty list, want 0", n)
	}
	noErr(t, l.Add(1))
	noErr(t, l.Clear())
	wantList(t, "after Clear", l)
}

func TestListMergeNamespaces(t *testing.T) {
	b, _ := newBackend(t)
	l := must[NamespacedListState[string, int]](t)(GetListState[string](b, List[int]("l")))
	b.SetCurrentKey("k")
	put := func(ns string, vs ...int) {
		l.SetNamespace(ns)
		noErr(t, l.Update(vs))
	}
	put("t", 1)
	put("s1", 2, 3)
	put("s2", 4)
	l.SetNamespace("other")
	noErr(t, l.MergeNamespaces("t", []string{"s1", "absent", "t", "s2", "s1"}))
	l.SetNamespace("t")
	wantList(t, "merged target", l, 1, 2, 3, 4)
	for _, ns := range []string{"s1", "s2", "absent"} {
		l.SetNamespace(ns)
		wantList(t, "source "+ns+" after merge", l)
	}
	if n := b.NumEntries(); n != 1 {
		t.Fatalf("NumEntries = %d after merge, want 1", n)
	}

	// An absent target takes the sources.
	put("s3", 5)
	put("s4", 6)
	noErr(t, l.MergeNamespaces("new", []string{"s3", "s4"}))
	l.SetNamespace("new")
	wantList(t, "new target", l, 5, 6)

	// All absent: the target stays absent.
	noErr(t, l.MergeNamespaces("none", []string{"x", "y"}))
	l.SetNamespace("none")
	wantList(t, "target of absent sources", l)
	if n := b.NumEntries(); n != 2 {
		t.Fatalf("NumEntries = %d, want 2", n)
	}
	// The current namespace is unchanged by a merge.
	l.SetNamespace("t")
	noErr(t, l.MergeNamespaces("new", []string{"nothing"}))
	wantList(t, "current namespace after a merge elsewhere", l, 1, 2, 3, 4)
}

func TestListGetResultCannotGrowIntoStorage(t *testing.T) {
	b, _ := newBackend(t)
	l := must[NamespacedListState[VoidNamespace, int]](t)(GetListState[VoidNamespace](b, List[int]("l")))
	b.SetCurrentKey("a")
	noErr(t, l.AddAll(make([]int, 3)))
	got, _ := l.Get()
	if cap(got) != len(got) {
		t.Fatalf("Get returned cap %d > len %d: appending would write into the storage", cap(got), len(got))
	}
	if !slices.Equal(got, []int{0, 0, 0}) {
		t.Fatalf("Get = %v", got)
	}
}
