package codec

import "testing"

func benchAppend[T any](b *testing.B, c Codec[T], v T) {
	buf := make([]byte, 0, 256)
	b.ReportAllocs()
	b.SetBytes(int64(len(c.Append(nil, v))))
	for b.Loop() {
		buf = c.Append(buf[:0], v)
	}
}

func benchDecode[T any](b *testing.B, c Codec[T], v T) {
	enc := c.Append(nil, v)
	b.ReportAllocs()
	b.SetBytes(int64(len(enc)))
	for b.Loop() {
		if _, err := c.Decode(enc); err != nil {
			b.Fatal(err)
		}
	}
}

var (
	benchProduct = Product{ID: 1234567, Name: "espresso machine", Price: 249.99}
	benchString  = "the quick brown fox jumps over the lazy dog"
	benchOrder   = sampleOrder()
)

func BenchmarkAppend(b *testing.B) {
	b.Run("Int64", func(b *testing.B) { benchAppend(b, Int64(), -1234567890) })
	b.Run("String", func(b *testing.B) { benchAppend(b, String(), benchString) })
	b.Run("Struct", func(b *testing.B) { benchAppend(b, MustFor[Product](), benchProduct) })
	b.Run("Tuple3", func(b *testing.B) {
		benchAppend(b, Tuple3Codec(Int64(), String(), Float64()), T3(benchProduct.ID, benchProduct.Name, benchProduct.Price))
	})
	b.Run("Numbers", func(b *testing.B) { benchAppend(b, MustFor[Numbers](), sampleNumbers()) })
	b.Run("Map10", func(b *testing.B) {
		benchAppend(b, MustFor[map[string]int](), map[string]int{"a": 1, "b": 2, "c": 3, "d": 4, "e": 5, "f": 6, "g": 7, "h": 8, "i": 9, "j": 10})
	})
	b.Run("Order", func(b *testing.B) { benchAppend(b, MustFor[Order](), benchOrder) })
}

func BenchmarkDecode(b *testing.B) {
	b.Run("Int64", func(b *testing.B) { benchDecode(b, Int64(), -1234567890) })
	b.Run("String", func(b *testing.B) { benchDecode(b, String(), benchString) })
	b.Run("Struct", func(b *testing.B) { benchDecode(b, MustFor[Product](), benchProduct) })
	b.Run("Tuple3", func(b *testing.B) {
		benchDecode(b, Tuple3Codec(Int64(), String(), Float64()), T3(benchProduct.ID, benchProduct.Name, benchProduct.Price))
	})
	b.Run("Numbers", func(b *testing.B) { benchDecode(b, MustFor[Numbers](), sampleNumbers()) })
	b.Run("Map10", func(b *testing.B) {
		benchDecode(b, MustFor[map[string]int](), map[string]int{"a": 1, "b": 2, "c": 3, "d": 4, "e": 5, "f": 6, "g": 7, "h": 8, "i": 9, "j": 10})
	})
	b.Run("Order", func(b *testing.B) { benchDecode(b, MustFor[Order](), benchOrder) })
}
