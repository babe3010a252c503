package keygroup

import (
	"encoding/binary"
	"fmt"
	"strings"
	"testing"
)

// TestGoldenKeyGroups pins the key group of fixed keys. If this test fails,
// keyed state written by an earlier version would be read back by the wrong
// subtask: the hash must never change.
func TestGoldenKeyGroups(t *testing.T) {
	int64Key := func(v int64) []byte { return binary.AppendVarint(nil, v) }
	golden := []struct {
		key  []byte
		hash uint64
		g128 int
	}{
		{[]byte(""), 0xefd01f60ba992926, 38},
		{[]byte("a"), 0x82a2a958a9bece5b, 91},
		{[]byte("hello"), 0xe9c562c0fdb23244, 68},
		{[]byte("runnel"), 0xf7b4724781b632cd, 77},
		{[]byte("the quick brown fox"), 0x1cd65fcf86e59d9d, 29},
		{int64Key(0), 0xb9034ad37056f5fb, 123},
		{int64Key(42), 0x2e2b2c19dc674c3b, 59},
		{int64Key(-1), 0xd7cea42b5057e4c, 76},
	}
	var b strings.Builder
	fail := false
	for _, g := range golden {
		h := Hash(g.key)
		kg := Of(g.key, 128)
		fmt.Fprintf(&b, "\t\t{%q, %#x, %d},\n", g.key, h, kg)
		if h != g.hash || kg != g.g128 {
			fail = true
		}
	}
	if fail {
		t.Fatalf("key group assignment changed; got:\n%s", b.String())
	}
}

func TestRangesPartition(t *testing.T) {
	for _, maxP := range []int{1, 2, 7, 128, 1000, UpperBound} {
		for _, p := range []int{1, 2, 3, 4, 5, 8, 13, 128, 1000} {
			if p > maxP {
				continue
			}
			next := 0
			for i := 0; i < p; i++ {
				r := RangeFor(maxP, p, i)
				if r.Start != next || r.Len() < 1 {
					t.Fatalf("maxP=%d p=%d subtask %d: %v, want start %d and non-empty", maxP, p, i, r, next)
				}
				next = r.End + 1
			}
			if next != maxP {
				t.Fatalf("maxP=%d p=%d: ranges end at %d, want %d", maxP, p, next, maxP)
			}
		}
	}
}

func TestOperatorIndexAgreesWithRange(t *testing.T) {
	for _, maxP := range []int{1, 7, 128, 4096} {
		for _, p := range []int{1, 2, 3, 6, 7} {
			if p > maxP {
				continue
			}
			for g := 0; g < maxP; g++ {
				i := OperatorIndex(maxP, p, g)
				if !RangeFor(maxP, p, i).Contains(g) {
					t.Fatalf("maxP=%d p=%d: group %d routed to subtask %d whose range is %v", maxP, p, g, i, RangeFor(maxP, p, i))
				}
			}
		}
	}
}

func TestHashSpreads(t *testing.T) {
	counts := make([]int, 128)
	const n = 128 * 200
	for i := 0; i < n; i++ {
		counts[Of([]byte(fmt.Sprintf("key-%d", i)), 128)]++
	}
	for g, c := range counts {
		if c < 100 || c > 300 {
			t.Fatalf("key group %d got %d of %d keys; the hash does not spread", g, c, n)
		}
	}
}

func TestDefaultFor(t *testing.T) {
	for _, c := range []struct{ p, want int }{{1, 128}, {4, 128}, {85, 128}, {86, 256}, {1000, 2048}, {30000, UpperBound}} {
		if got := DefaultFor(c.p); got != c.want {
			t.Errorf("DefaultFor(%d) = %d, want %d", c.p, got, c.want)
		}
	}
}

func TestValidate(t *testing.T) {
	if err := Validate(128, 4); err != nil {
		t.Fatal(err)
	}
	for _, c := range [][2]int{{0, 1}, {UpperBound + 1, 1}, {4, 5}, {4, 0}} {
		if err := Validate(c[0], c[1]); err == nil {
			t.Errorf("Validate(%d, %d) = nil, want an error", c[0], c[1])
		}
	}
}
