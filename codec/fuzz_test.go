package codec

import (
	"bytes"
	"errors"
	"math"
	"testing"
	"time"
)

// fuzzRecord exercises every op kind of the compiled codecs.
type fuzzRecord struct {
	B     bool
	I8    int8
	I16   int16
	I32   int32
	I     int
	U8    Level
	U16   uint16
	U     uint
	U64   uint64
	F32   float32
	F64   float64
	C64   complex64
	S     Word
	Raw   []byte
	Arr   [3]uint16
	Bytes [2]byte
	When  time.Time
	TTL   time.Duration
	P     *Point
	Items []Item
	Ptrs  []*int32
	Grid  [2][]int8
	M     map[string]int32
	MM    map[int64][]string
	MK    map[Point]bool
	Nums  []float64
	Z     struct{}
}

// checkStrict is the fuzz property for strict codecs: what decodes
// re-encodes to the same bytes, and those decode again.
func checkStrict[T any](t *testing.T, c Codec[T], data []byte) {
	v, err := c.Decode(data)
	if err != nil {
		if !errors.Is(err, ErrCorrupt) {
			t.Fatalf("error %v does not wrap ErrCorrupt", err)
		}
		return
	}
	enc := c.Append(nil, v)
	if !bytes.Equal(enc, data) {
		t.Fatalf("decoded %x, re-encoded as %x", data, enc)
	}
	v2, err := c.Decode(enc)
	if err != nil {
		t.Fatalf("re-encoding %x does not decode: %v", enc, err)
	}
	if enc2 := c.Append(nil, v2); !bytes.Equal(enc2, enc) {
		t.Fatalf("second round trip gave %x, want %x", enc2, enc)
	}
}

func FuzzDecodeStruct(f *testing.F) {
	c := MustFor[fuzzRecord]()
	x := int32(-5)
	f.Add(c.Append(nil, fuzzRecord{}))
	f.Add(c.Append(nil, fuzzRecord{
		B: true, I8: -1, I16: 300, I32: -70000, I: math.MaxInt, U8: 200, U16: 65535, U: 1, U64: math.MaxUint64,
		F32: 1.5, F64: math.Inf(-1), C64: complex(1, -1), S: "word", Raw: []byte{1, 2}, Arr: [3]uint16{1, 2, 3},
		Bytes: [2]byte{9, 8}, When: time.Unix(1e9, 7), TTL: time.Hour, P: &Point{1, 2},
		Items: []Item{{"a", 1, 2, []string{"t"}}}, Ptrs: []*int32{&x, nil}, Grid: [2][]int8{nil, {1}},
		M: map[string]int32{"a": 1, "b": 2}, MM: map[int64][]string{1: nil, 2: {"x"}},
		MK: map[Point]bool{{1, 2}: true, {0, 0}: false}, Nums: []float64{math.NaN(), 0},
	}))
	f.Fuzz(func(t *testing.T, data []byte) { checkStrict(t, c, data) })
}

func FuzzDecodeBasic(f *testing.F) {
	checks := []func(*testing.T, []byte){
		func(t *testing.T, b []byte) { checkStrict(t, Bool(), b) },
		func(t *testing.T, b []byte) { checkStrict(t, Int(), b) },
		func(t *testing.T, b []byte) { checkStrict(t, Int8(), b) },
		func(t *testing.T, b []byte) { checkStrict(t, Int16(), b) },
		func(t *testing.T, b []byte) { checkStrict(t, Int32(), b) },
		func(t *testing.T, b []byte) { checkStrict(t, Int64(), b) },
		func(t *testing.T, b []byte) { checkStrict(t, Uint(), b) },
		func(t *testing.T, b []byte) { checkStrict(t, Uint8(), b) },
		func(t *testing.T, b []byte) { checkStrict(t, Uint16(), b) },
		func(t *testing.T, b []byte) { checkStrict(t, Uint32(), b) },
		func(t *testing.T, b []byte) { checkStrict(t, Uint64(), b) },
		func(t *testing.T, b []byte) { checkStrict(t, Float32(), b) },
		func(t *testing.T, b []byte) { checkStrict(t, Float64(), b) },
		func(t *testing.T, b []byte) { checkStrict(t, String(), b) },
		func(t *testing.T, b []byte) { checkStrict(t, Bytes(), b) },
		func(t *testing.T, b []byte) { checkStrict(t, Time(), b) },
		func(t *testing.T, b []byte) { checkStrict(t, Duration(), b) },
		func(t *testing.T, b []byte) { checkStrict(t, MustFor[Word](), b) },
		func(t *testing.T, b []byte) { checkStrict(t, MustFor[Blob](), b) },
		func(t *testing.T, b []byte) { checkStrict(t, MustFor[complex128](), b) },
	}
	for i := range checks {
		f.Add(uint8(i), []byte{0x80, 0x01})
		f.Add(uint8(i), make([]byte, 12))
	}
	f.Fuzz(func(t *testing.T, which uint8, data []byte) {
		checks[int(which)%len(checks)](t, data)
	})
}

func FuzzDecodeCombinators(f *testing.F) {
	c := Tuple3Codec(
		String(),
		Slice(Pointer(Int32())),
		Map(Int64(), Tuple2Codec(Bytes(), Float32())),
	)
	x := int32(7)
	f.Add(c.Append(nil, T3("", []*int32(nil), map[int64]Tuple2[[]byte, float32](nil))))
	f.Add(c.Append(nil, T3("abc", []*int32{&x, nil}, map[int64]Tuple2[[]byte, float32]{1: {nil, 1}, -1: {[]byte{}, float32(math.NaN())}})))
	f.Fuzz(func(t *testing.T, data []byte) { checkStrict(t, c, data) })
}

func FuzzDecodeMap(f *testing.F) {
	c := MustFor[map[string]map[int8]float64]()
	f.Add(c.Append(nil, map[string]map[int8]float64{"a": {1: 2}, "b": nil, "": {}}))
	f.Add(c.Append(nil, map[string]map[int8]float64{"a": {1: math.NaN(), 2: math.NaN()}}))
	f.Fuzz(func(t *testing.T, data []byte) { checkStrict(t, c, data) })
}

// FuzzDecodeMarshalers checks codecs that call marshaling methods, which
// need not be strict: what decodes must re-encode to bytes that decode to a
// value with the same encoding.
func FuzzDecodeMarshalers(f *testing.F) {
	c := MustFor[withMarshalers]()
	f.Add(c.Append(nil, withMarshalers{A: appendType{1}, AS: []appendType{{2}}, MM: map[appendType]marshalType{{3}: {"x"}}}))
	f.Fuzz(func(t *testing.T, data []byte) {
		v, err := c.Decode(data)
		if err != nil {
			if !errors.Is(err, ErrCorrupt) {
				t.Fatalf("error %v does not wrap ErrCorrupt", err)
			}
			return
		}
		enc := c.Append(nil, v)
		v2, err := c.Decode(enc)
		if err != nil {
			t.Fatalf("re-encoding %x does not decode: %v", enc, err)
		}
		if enc2 := c.Append(nil, v2); !bytes.Equal(enc2, enc) {
			t.Fatalf("second round trip gave %x, want %x", enc2, enc)
		}
	})
}

// FuzzRoundTrip encodes values built from fuzzed inputs and checks that
// they decode to themselves.
func FuzzRoundTrip(f *testing.F) {
	c := MustFor[fuzzRecord]()
	f.Add(int64(0), "", 0.0, []byte(nil), false)
	f.Add(int64(math.MinInt64), "héllo", math.NaN(), []byte{}, true)
	f.Fuzz(func(t *testing.T, i int64, s string, fl float64, b []byte, flag bool) {
		v := fuzzRecord{
			B: flag, I16: int16(i), I32: int32(i), I: int(i), U64: uint64(i), F64: fl, F32: float32(fl),
			S: Word(s), Raw: b, When: time.Unix(i, i&0x3fffffff%1e9).UTC(), TTL: time.Duration(i),
			Items: []Item{{SKU: s, Tags: []string{s, s}}}, M: map[string]int32{s: int32(i), s + "x": 1},
			MM: map[int64][]string{i: {s}, i ^ 1: nil}, Nums: []float64{fl, -fl},
		}
		enc := c.Append(nil, v)
		got, err := c.Decode(enc)
		if err != nil {
			t.Fatalf("Decode(Append(v)): %v", err)
		}
		if re := c.Append(nil, got); !bytes.Equal(re, enc) {
			t.Fatalf("re-encoding gave %x, want %x", re, enc)
		}
		// DeepEqual treats -0 and +0 as equal, but NaN as unequal to itself.
		if !math.IsNaN(fl) && !eqDeep(got, v) {
			t.Fatalf("round trip gave %+v, want %+v", got, v)
		}
	})
}
