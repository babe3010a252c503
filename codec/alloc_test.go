package codec

import (
	"testing"
	"time"
)

// Product is the small struct of the benchmarks.
type Product struct {
	ID    int64
	Name  string
	Price float64
}

// Numbers is a struct of numbers only.
type Numbers struct {
	A int64
	B int32
	C uint16
	D float64
	E float32
	F bool
	G int8
	H [3]uint32
	I Point
	J complex64
	K time.Duration
}

func sampleNumbers() Numbers {
	return Numbers{A: -1 << 40, B: 7, C: 65535, D: 3.25, E: -1.5, F: true, G: -3, H: [3]uint32{1, 2, 3}, I: Point{-9, 9}, J: complex(1, 2), K: time.Minute}
}

func assertAllocs(t *testing.T, name string, want float64, f func()) {
	t.Helper()
	if got := testing.AllocsPerRun(200, f); got != want {
		t.Errorf("%s: %v allocations per run, want %v", name, got, want)
	}
}

// appendAllocs checks that Append into a buffer with room does not allocate.
func appendAllocs[T any](t *testing.T, name string, c Codec[T], v T) {
	t.Helper()
	buf := make([]byte, 0, 4096)
	assertAllocs(t, name+" Append", 0, func() { buf = c.Append(buf[:0], v) })
	if ns, ok := c.(nested[T]); ok {
		assertAllocs(t, name+" appendNested", 0, func() { buf = ns.appendNested(buf[:0], v) })
	}
}

// decodeAllocs checks how many times Decode allocates.
func decodeAllocs[T any](t *testing.T, name string, c Codec[T], v T, want float64) {
	t.Helper()
	enc := c.Append(nil, v)
	assertAllocs(t, name+" Decode", want, func() {
		if _, err := c.Decode(enc); err != nil {
			t.Fatal(err)
		}
	})
}

func TestAppendDoesNotAllocate(t *testing.T) {
	appendAllocs(t, "Int64", Int64(), -1<<50)
	appendAllocs(t, "For[int64]", MustFor[int64](), -1<<50)
	appendAllocs(t, "Count", MustFor[Count](), -1<<50)
	appendAllocs(t, "String", String(), "hello, world")
	appendAllocs(t, "Word", MustFor[Word](), "hello, world")
	appendAllocs(t, "Bytes", Bytes(), []byte("hello"))
	appendAllocs(t, "Float64", Float64(), 1.5)
	appendAllocs(t, "Time", Time(), time.Now())
	appendAllocs(t, "Numbers", MustFor[Numbers](), sampleNumbers())
	appendAllocs(t, "Product", MustFor[Product](), Product{1, "widget", 9.99})
	appendAllocs(t, "Tuple2", Tuple2Codec(String(), Int64()), T2("k", int64(1)))
	appendAllocs(t, "Tuple2 compiled", MustFor[Tuple2[string, int64]](), T2("k", int64(1)))
	appendAllocs(t, "[]int64", MustFor[[]int64](), []int64{1, 2, 3})
	appendAllocs(t, "Slice(String)", Slice(String()), []string{"a", "b"})
	appendAllocs(t, "[]Item", MustFor[[]Item](), []Item{{"a", 1, 2, []string{"x"}}})
	appendAllocs(t, "*Point", MustFor[*Point](), &Point{1, 2})
	if !raceEnabled {
		m := map[string]int{"a": 1, "b": 2, "c": 3}
		appendAllocs(t, "map[string]int", MustFor[map[string]int](), m)
		appendAllocs(t, "Map(String, Int)", Map(String(), Int()), m)
		appendAllocs(t, "Order", MustFor[Order](), sampleOrder())
	}
}

func TestDecodeAllocations(t *testing.T) {
	decodeAllocs(t, "Int64", Int64(), -1<<50, 0)
	decodeAllocs(t, "Uint32", Uint32(), 1<<31, 0)
	decodeAllocs(t, "Float64", Float64(), 1.5, 0)
	decodeAllocs(t, "Bool", Bool(), true, 0)
	decodeAllocs(t, "Time", Time(), time.Now(), 0)
	decodeAllocs(t, "Count", MustFor[Count](), -1<<50, 0)
	decodeAllocs(t, "Numbers", MustFor[Numbers](), sampleNumbers(), 0)
	decodeAllocs(t, "Point", MustFor[Point](), Point{1, 2}, 0)
	decodeAllocs(t, "Tuple2 numbers", Tuple2Codec(Int64(), Float64()), T2(int64(1), 2.0), 0)
	decodeAllocs(t, "Tuple2 numbers compiled", MustFor[Tuple2[int64, float64]](), T2(int64(1), 2.0), 0)
	// Only the unavoidable copies allocate.
	decodeAllocs(t, "String", String(), "hello", 1)
	decodeAllocs(t, "Product", MustFor[Product](), Product{1, "widget", 9.99}, 1)
	decodeAllocs(t, "[]int64", MustFor[[]int64](), []int64{1, 2, 3}, 1)
	decodeAllocs(t, "Slice(Int64)", Slice(Int64()), []int64{1, 2, 3}, 1)
	decodeAllocs(t, "*Point", MustFor[*Point](), &Point{1, 2}, 1)
}

func TestDecodeAllocationsWithPointers(t *testing.T) {
	if raceEnabled {
		t.Skip("sync.Pool drops items under the race detector")
	}
	// A slice of strings: the backing array and each string.
	decodeAllocs(t, "[]string", MustFor[[]string](), []string{"alpha", "beta"}, 3)
	// A struct with a string and a slice of strings: the string, the
	// slice's backing array and its string; no copy of the struct.
	decodeAllocs(t, "Item", MustFor[Item](), Item{"sku", 1, 2, []string{"extra"}}, 3)
	decodeAllocs(t, "Slice(String)", Slice(String()), []string{"alpha", "beta"}, 3)
}
