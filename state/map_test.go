package state

import (
	"maps"
	"testing"
)

func TestMapState(t *testing.T) {
	b, _ := newBackend(t)
	m := must[NamespacedMapState[VoidNamespace, string, int]](t)(GetMapState[VoidNamespace](b, Map[string, int]("m")))
	b.SetCurrentKey("a")
	empty, err := m.IsEmpty()
	noErr(t, err)
	if !empty {
		t.Fatal("IsEmpty of a new key = false")
	}
	v, ok, err := m.Get("x")
	wantValue(t, "Get of a new key", v, ok, err, 0, false)
	noErr(t, m.Put("x", 1))
	noErr(t, m.PutAll(map[string]int{"y": 2, "z": 3}))
	noErr(t, m.PutAll(nil))
	v, ok, err = m.Get("y")
	wantValue(t, "Get(y)", v, ok, err, 2, true)
	has, err := m.Contains("z")
	wantValue(t, "Contains(z)", has, true, err, true, true)
	has, err = m.Contains("w")
	wantValue(t, "Contains(w)", has, true, err, false, true)
	n, err := m.Len()
	wantValue(t, "Len", n, true, err, 3, true)
	if got := maps.Collect(m.All()); !maps.Equal(got, map[string]int{"x": 1, "y": 2, "z": 3}) {
		t.Fatalf("All = %v", got)
	}
	// Breaking out of All early is fine.
	for range m.All() {
		break
	}
	noErr(t, m.Remove("x"))
	noErr(t, m.Remove("absent"))
	n, err = m.Len()
	wantValue(t, "Len after Remove", n, true, err, 2, true)
	if b.NumEntries() != 1 {
		t.Fatalf("NumEntries = %d, want 1", b.NumEntries())
	}
	// Removing the last entry removes the key's entry.
	noErr(t, m.Remove("y"))
	noErr(t, m.Remove("z"))
	if b.NumEntries() != 0 {
		t.Fatalf("NumEntries = %d after removing every entry, want 0", b.NumEntries())
	}
	noErr(t, m.Put("x", 1))
	noErr(t, m.Clear())
	empty, err = m.IsEmpty()
	noErr(t, err)
	if !empty || b.NumEntries() != 0 {
		t.Fatalf("after Clear: IsEmpty = %v, NumEntries = %d", empty, b.NumEntries())
	}

	// All iterates the key that was current when it was called.
	noErr(t, m.Put("of-a", 1))
	it := m.All()
	b.SetCurrentKey("b")
	noErr(t, m.Put("of-b", 2))
	if got := maps.Collect(it); !maps.Equal(got, map[string]int{"of-a": 1}) {
		t.Fatalf("All of key a after switching to b = %v", got)
	}
}
