package codec

import (
	"bytes"
	"errors"
	"runtime"
	"testing"
	"time"
)

// decoder is a type-erased codec, for tables of codecs of different types.
type decoder struct {
	name string
	// decode decodes src and, if that succeeds, re-encodes the result.
	decode func(src []byte) ([]byte, error)
}

func decoderOf[T any](name string, c Codec[T]) decoder {
	return decoder{name, func(src []byte) ([]byte, error) {
		v, err := c.Decode(src)
		if err != nil {
			return nil, err
		}
		return c.Append(nil, v), nil
	}}
}

// sample is a codec with a value whose top-level encoding is
// self-delimiting, so that every strict prefix of it is corrupt.
type sample struct {
	decoder
	enc []byte
}

func sampleOf[T any](name string, c Codec[T], v T) sample {
	return sample{decoderOf(name, c), c.Append(nil, v)}
}

func samples() []sample {
	return []sample{
		sampleOf("Order", MustFor[Order](), sampleOrder()),
		sampleOf("Numbers", MustFor[Numbers](), sampleNumbers()),
		sampleOf("Product", MustFor[Product](), Product{1, "widget", 9.99}),
		sampleOf("[]Item", MustFor[[]Item](), []Item{{"a", 1, 2, []string{"x", "yz"}}, {}}),
		sampleOf("map[string][]int", MustFor[map[string][]int](), map[string][]int{"a": {1, 2}, "b": nil, "c": {}}),
		sampleOf("withMarshalers", MustFor[withMarshalers](), withMarshalers{AS: []appendType{{1}}, MM: map[appendType]marshalType{{2}: {"m"}}}),
		sampleOf("Tuple3", Tuple3Codec(String(), Slice(Int64()), Map(Int32(), Bytes())),
			T3("s", []int64{-1, 1 << 40}, map[int32][]byte{1: nil, 2: {}, 3: {9}})),
		sampleOf("Pointer", Pointer(Tuple2Codec(Float64(), Time())), &Tuple2[float64, time.Time]{1, time.Time{}}),
		sampleOf("[2]*Point", MustFor[[2]*Point](), [2]*Point{{1, 2}, nil}),
		sampleOf("Int64", Int64(), -1<<62),
		sampleOf("Time", Time(), time.Time{}),
	}
}

func TestTruncatedAndTrailing(t *testing.T) {
	for _, s := range samples() {
		if got, err := s.decode(s.enc); err != nil || !bytes.Equal(got, s.enc) {
			t.Fatalf("%s: valid encoding %x: %v", s.name, s.enc, err)
		}
		for i := range len(s.enc) {
			if _, err := s.decode(s.enc[:i]); !errors.Is(err, ErrCorrupt) {
				t.Errorf("%s: prefix %x of %x: error %v, want ErrCorrupt", s.name, s.enc[:i], s.enc, err)
			}
		}
		if _, err := s.decode(append(bytes.Clone(s.enc), 0)); !errors.Is(err, ErrCorrupt) {
			t.Errorf("%s: trailing byte: error %v, want ErrCorrupt", s.name, err)
		}
	}
}

// TestMutations flips bits and overwrites bytes of valid encodings: decoding
// must not panic, must fail with ErrCorrupt or succeed, and whatever it
// accepts must re-encode to exactly the input (decoding is strict).
func TestMutations(t *testing.T) {
	for _, s := range samples() {
		for i := range s.enc {
			for _, f := range []func(byte) byte{
				func(b byte) byte { return b ^ 0x01 },
				func(b byte) byte { return b ^ 0x80 },
				func(b byte) byte { return b ^ 0x40 },
				func(byte) byte { return 0 },
				func(byte) byte { return 0xff },
			} {
				m := bytes.Clone(s.enc)
				m[i] = f(m[i])
				re, err := s.decode(m)
				if err != nil {
					if !errors.Is(err, ErrCorrupt) {
						t.Errorf("%s: %x: error %v does not wrap ErrCorrupt", s.name, m, err)
					}
					continue
				}
				if s.name == "withMarshalers" {
					continue // marshalType lower-cases: not strict
				}
				if !bytes.Equal(re, m) {
					t.Errorf("%s: accepted %x but re-encoded it as %x", s.name, m, re)
				}
			}
		}
	}
}

func TestCorruptStructures(t *testing.T) {
	huge := appendUvarint(nil, 1<<60)
	cat := func(parts ...[]byte) []byte { return bytes.Join(parts, nil) }
	for _, tc := range []struct {
		d   decoder
		src []byte
	}{
		// Length and count prefixes that the input cannot hold.
		{decoderOf("[]int64 huge count", MustFor[[]int64]()), cat(huge, make([]byte, 64))},
		{decoderOf("Slice huge count", Slice(Int64())), cat(huge, make([]byte, 64))},
		{decoderOf("[]string count", MustFor[[]string]()), []byte{4, 0, 0}},
		{decoderOf("map huge count", MustFor[map[int64]int64]()), cat(huge, make([]byte, 64))},
		{decoderOf("Map huge count", Map(Int64(), Int64())), cat(huge, make([]byte, 64))},
		{decoderOf("struct string huge length", MustFor[Product]()), cat([]byte{2}, huge, []byte("abc"))},
		{decoderOf("nested string huge length", Tuple2Codec(String(), Bool())), cat(huge, []byte("abc"))},
		{decoderOf("nested bytes huge length", Tuple2Codec(Bytes(), Bool())), cat(huge, []byte("abc"))},
		{decoderOf("[]byte field huge length", MustFor[struct{ B []byte }]()), cat(huge, []byte("abc"))},
		{decoderOf("max uint64 count", MustFor[[]struct{}]()), appendUvarint(nil, 1<<64-1)},
		{decoderOf("zero-size count too big", Slice(MustFor[struct{}]())), appendUvarint(nil, 1<<40)},
		{decoderOf("foreign codec huge length", Tuple2Codec[string, string](upper{}, upper{})), cat(huge, []byte("ABC"))},
		{decoderOf("marshaler huge length", MustFor[[]appendType]()), cat([]byte{2}, huge, []byte{1, 2, 3, 4})},
		// A pointer to a big value whose encoding cannot fit.
		{decoderOf("pointer to big array", MustFor[*[1 << 16]int64]()), []byte{1, 0, 0}},
		{decoderOf("Pointer to big array", Pointer(MustFor[[1 << 16]int64]())), []byte{1, 0, 0}},
		// Bad tags and structure.
		{decoderOf("pointer tag", MustFor[*int64]()), []byte{2, 0}},
		{decoderOf("Pointer tag", Pointer(Int64())), []byte{2, 0}},
		{decoderOf("bool field", MustFor[struct{ B bool }]()), []byte{7}},
		{decoderOf("float -0 field", MustFor[struct{ F float64 }]()), []byte{0, 0, 0, 0, 0, 0, 0, 0x80}},
		{decoderOf("complex -0 imag", MustFor[complex64]()), []byte{0, 0, 0, 0, 0, 0, 0, 0x80}},
		{decoderOf("int16 field range", MustFor[struct{ I int16 }]()), appendVarint(nil, 1<<15)},
		{decoderOf("uint field range", MustFor[struct{ U uint32 }]()), appendUvarint(nil, 1<<32)},
		{decoderOf("time nanos field", MustFor[struct{ T time.Time }]()), []byte{0, 0x80, 0x94, 0xeb, 0xdc, 0x03}},
		{decoderOf("non-minimal count", MustFor[[]int64]()), []byte{0x81, 0x00, 0}},
		{decoderOf("map unsorted", MustFor[map[string]bool]()), []byte{3, 1, 'b', 1, 1, 'a', 1}},
		{decoderOf("Map unsorted", Map(String(), Bool())), []byte{3, 1, 'b', 1, 1, 'a', 1}},
		{decoderOf("map duplicate", MustFor[map[string]bool]()), []byte{3, 1, 'a', 1, 1, 'a', 1}},
		{decoderOf("Map duplicate", Map(String(), Bool())), []byte{3, 1, 'a', 1, 1, 'a', 1}},
		{decoderOf("map duplicate different values", MustFor[map[string]bool]()), []byte{3, 1, 'a', 0, 1, 'a', 1}},
		{decoderOf("map bad value", MustFor[map[string]bool]()), []byte{2, 1, 'a', 2}},
		{decoderOf("Map bad value", Map(String(), Bool())), []byte{2, 1, 'a', 2}},
		{decoderOf("slice bad element", MustFor[[]bool]()), []byte{3, 1, 2}},
		{decoderOf("slice with pointers bad element", MustFor[[]*bool]()), []byte{3, 1, 1, 1, 2}},
		{decoderOf("array bad element", MustFor[[2]bool]()), []byte{1, 2}},
		{decoderOf("array with marshaler bad element", MustFor[[2]appendType]()), []byte{4, 0, 0, 0, 1, 3, 0, 0, 0}},
		{decoderOf("marshaler rejects", MustFor[appendType]()), []byte{1}},
		{decoderOf("empty struct trailing", MustFor[struct{}]()), []byte{0}},
	} {
		t.Run(tc.d.name, func(t *testing.T) {
			_, err := tc.d.decode(tc.src)
			if !errors.Is(err, ErrCorrupt) {
				t.Fatalf("Decode(%x) error = %v, want ErrCorrupt", tc.src, err)
			}
		})
	}
}

// TestDecodeMemoryBound decodes inputs whose counts are as large as their
// length permits, with the last element bad, and checks that decoding
// allocates no more than a small multiple of the input's length.
func TestDecodeMemoryBound(t *testing.T) {
	const n = 1 << 14
	body := func(elem []byte, bad []byte) []byte {
		b := appendUvarint(nil, n+1)
		b = append(b, bytes.Repeat(elem, n-1)...)
		return append(b, bad...)
	}
	for _, tc := range []struct {
		d   decoder
		src []byte
	}{
		{decoderOf("[][]int64", MustFor[[][]int64]()), body([]byte{0}, []byte{2})},
		{decoderOf("Slice(Slice(Int64))", Slice(Slice(Int64()))), body([]byte{0}, []byte{2})},
		{decoderOf("[]string", MustFor[[]string]()), body([]byte{0}, []byte{2})},
		{decoderOf("[]*[64]int64", MustFor[[]*[64]int64]()), body([]byte{0}, []byte{2})},
		{decoderOf("map[string][]string", MustFor[map[string][]string]()), body([]byte{0, 0}, []byte{0, 5})},
		{decoderOf("Map(String, Slice(String))", Map(String(), Slice(String()))), body([]byte{0, 0}, []byte{0, 5})},
		{decoderOf("map[int8]struct{}", MustFor[map[int8]struct{}]()), body([]byte{0}, []byte{0})},
		{decoderOf("[]Item", MustFor[[]Item]()), body(make([]byte, 11), []byte{2})},
	} {
		t.Run(tc.d.name, func(t *testing.T) {
			var before, after runtime.MemStats
			runtime.GC()
			runtime.ReadMemStats(&before)
			_, err := tc.d.decode(tc.src)
			runtime.ReadMemStats(&after)
			if !errors.Is(err, ErrCorrupt) {
				t.Fatalf("error %v, want ErrCorrupt", err)
			}
			alloc := after.TotalAlloc - before.TotalAlloc
			t.Logf("%d input bytes, %d allocated (%.1fx)", len(tc.src), alloc, float64(alloc)/float64(len(tc.src)))
			if alloc > 64*uint64(len(tc.src)) {
				t.Errorf("decoding %d bytes allocated %d", len(tc.src), alloc)
			}
		})
	}
}
