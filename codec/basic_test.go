package codec

import (
	"bytes"
	"errors"
	"math"
	"reflect"
	"strings"
	"testing"
	"time"
)

// checkRoundTrip encodes v with c, checks the codec's Append and Decode
// contract on it, and returns the encoding. want is the value Decode must
// return (usually v).
func checkRoundTrip[T any](t *testing.T, c Codec[T], v, want T, eq func(a, b T) bool) []byte {
	t.Helper()
	enc := c.Append(nil, v)

	// Append appends: existing bytes are kept and the rest is the same.
	pre := []byte("prefix")
	if got := c.Append(pre, v); !bytes.Equal(got[:len(pre)], pre) || !bytes.Equal(got[len(pre):], enc) {
		t.Fatalf("%T: Append to a non-empty slice gave %x, want prefix then %x", c, got, enc)
	}
	// Deterministic: encoding again gives the same bytes.
	if again := c.Append(nil, v); !bytes.Equal(again, enc) {
		t.Fatalf("%T: encodings of the same value differ: %x vs %x", c, enc, again)
	}

	// Decode must not retain its input.
	src := bytes.Clone(enc)
	got, err := c.Decode(src)
	if err != nil {
		t.Fatalf("%T: Decode(%x) of %#v: %v", c, enc, v, err)
	}
	for i := range src {
		src[i] ^= 0xff
	}
	if !eq(got, want) {
		t.Fatalf("%T: Decode(Append(%#v)) = %#v, want %#v", c, v, got, want)
	}
	// The decoded value re-encodes to the same bytes.
	if re := c.Append(nil, got); !bytes.Equal(re, enc) {
		t.Fatalf("%T: re-encoding %#v gave %x, want %x", c, got, re, enc)
	}

	// Nested, inside a tuple followed by another field, and in a slice.
	tc := Tuple2Codec(c, Int8())
	tenc := tc.Append(nil, T2(v, int8(-7)))
	tv, err := tc.Decode(tenc)
	if err != nil || !eq(tv.F0, want) || tv.F1 != -7 {
		t.Fatalf("%T nested in a tuple: Decode(%x) = %#v, %v", c, tenc, tv, err)
	}
	sc := Slice(c)
	senc := sc.Append(nil, []T{v, v})
	sv, err := sc.Decode(senc)
	if err != nil || len(sv) != 2 || !eq(sv[0], want) || !eq(sv[1], want) {
		t.Fatalf("%T nested in a slice: Decode(%x) = %#v, %v", c, senc, sv, err)
	}
	return enc
}

func eqComparable[T comparable](a, b T) bool { return a == b }

func eqFloat64Bits(a, b float64) bool { return math.Float64bits(a) == math.Float64bits(b) }
func eqFloat32Bits(a, b float32) bool { return math.Float32bits(a) == math.Float32bits(b) }

func eqDeep[T any](a, b T) bool { return reflect.DeepEqual(a, b) }

func roundTripAll[T comparable](t *testing.T, c Codec[T], vs ...T) {
	t.Helper()
	for _, v := range vs {
		checkRoundTrip(t, c, v, v, eqComparable[T])
	}
}

func TestIntegers(t *testing.T) {
	roundTripAll(t, Int(), 0, 1, -1, 63, -64, 64, -65, math.MaxInt, math.MinInt)
	roundTripAll(t, Int8(), 0, 1, -1, math.MaxInt8, math.MinInt8)
	roundTripAll(t, Int16(), 0, 1, -1, math.MaxInt16, math.MinInt16)
	roundTripAll(t, Int32(), 0, 1, -1, math.MaxInt32, math.MinInt32)
	roundTripAll(t, Int64(), 0, 1, -1, math.MaxInt64, math.MinInt64, 1<<56, -1<<56)
	roundTripAll(t, Uint(), 0, 1, 127, 128, math.MaxUint)
	roundTripAll(t, Uint8(), 0, 1, 0x80, math.MaxUint8)
	roundTripAll(t, Uint16(), 0, 1, math.MaxUint16)
	roundTripAll(t, Uint32(), 0, 1, math.MaxUint32)
	roundTripAll(t, Uint64(), 0, 1, 127, 128, 1<<63, math.MaxUint64)
	roundTripAll(t, Duration(), 0, time.Nanosecond, -time.Hour, math.MaxInt64, math.MinInt64)
	roundTripAll(t, Bool(), false, true)
}

func TestIntegerSizes(t *testing.T) {
	for _, tc := range []struct {
		enc  []byte
		want int
	}{
		{Int64().Append(nil, 0), 1},
		{Int64().Append(nil, -64), 1},
		{Int64().Append(nil, 63), 1},
		{Int64().Append(nil, 64), 2},
		{Int64().Append(nil, math.MinInt64), 10},
		{Int().Append(nil, math.MinInt32), 5},
		{Uint64().Append(nil, math.MaxUint64), 10},
		{Uint8().Append(nil, 255), 1},
		{Int8().Append(nil, -128), 1},
	} {
		if len(tc.enc) != tc.want {
			t.Errorf("encoding %x has %d bytes, want %d", tc.enc, len(tc.enc), tc.want)
		}
	}
}

func TestFloats(t *testing.T) {
	nan := math.Float64frombits(0x7ff8_0000_dead_beef) // a NaN with a payload
	for _, v := range []float64{0, 1, -1, math.Pi, math.MaxFloat64, -math.MaxFloat64,
		math.SmallestNonzeroFloat64, math.Inf(1), math.Inf(-1), math.NaN(), nan} {
		checkRoundTrip(t, Float64(), v, v, eqFloat64Bits)
	}
	nan32 := math.Float32frombits(0x7fc0_1234)
	for _, v := range []float32{0, 1, -1, math.MaxFloat32, math.SmallestNonzeroFloat32,
		float32(math.Inf(1)), float32(math.Inf(-1)), nan32} {
		checkRoundTrip(t, Float32(), v, v, eqFloat32Bits)
	}

	// Negative zero == positive zero, so it must encode the same: it is
	// written as positive zero and decodes as such.
	negZero := math.Copysign(0, -1)
	enc := checkRoundTrip(t, Float64(), negZero, 0, eqFloat64Bits)
	if !bytes.Equal(enc, Float64().Append(nil, 0)) {
		t.Errorf("-0 encodes as %x, +0 as %x", enc, Float64().Append(nil, 0))
	}
	negZero32 := float32(math.Copysign(0, -1))
	enc = checkRoundTrip(t, Float32(), negZero32, 0, eqFloat32Bits)
	if !bytes.Equal(enc, Float32().Append(nil, 0)) {
		t.Errorf("float32 -0 encodes as %x", enc)
	}
}

func TestString(t *testing.T) {
	roundTripAll(t, String(), "", "a", "héllo, 世界", "\xff\xfe invalid utf-8", "\x00", strings.Repeat("x", 1000))
	if enc := String().Append(nil, "abc"); string(enc) != "abc" {
		t.Errorf("top-level string encoding = %q, want the raw bytes", enc)
	}
}

func TestBytes(t *testing.T) {
	for _, v := range [][]byte{{0}, []byte("hello"), bytes.Repeat([]byte{0xff}, 300)} {
		checkRoundTrip(t, Bytes(), v, v, eqDeep[[]byte])
	}
	// At top level nil and empty are the same, and decode as nil.
	checkRoundTrip(t, Bytes(), nil, nil, eqDeep[[]byte])
	checkRoundTrip(t, Bytes(), []byte{}, nil, bytes.Equal)
	if b, err := Bytes().Decode([]byte{}); b != nil || err != nil {
		t.Errorf("Bytes().Decode(empty) = %#v, %v; want nil", b, err)
	}
	// Nested, they are kept apart.
	c := Tuple2Codec(Bytes(), Bytes())
	v := T2([]byte(nil), []byte{})
	got, err := c.Decode(c.Append(nil, v))
	if err != nil || got.F0 != nil || got.F1 == nil || len(got.F1) != 0 {
		t.Errorf("nested nil and empty []byte decoded as %#v, %v", got, err)
	}
	// Decode copies: the result does not alias the input.
	src := []byte("abc")
	b, _ := Bytes().Decode(src)
	src[0] = 'x'
	if string(b) != "abc" {
		t.Errorf("Bytes().Decode result aliases its input")
	}
}

func TestTime(t *testing.T) {
	eqTime := func(a, b time.Time) bool { return a == b }
	for _, v := range []time.Time{
		{},
		time.Unix(0, 0).UTC(),
		time.Unix(1, 999_999_999).UTC(),
		time.Unix(-1, 1).UTC(),
		time.Date(2024, 2, 29, 13, 14, 15, 123456789, time.UTC),
		time.Date(1, 1, 1, 0, 0, 0, 1, time.UTC),
		time.Date(9999, 12, 31, 23, 59, 59, 999999999, time.UTC),
	} {
		checkRoundTrip(t, Time(), v, v, eqTime)
	}
	// Other locations and monotonic readings are dropped, keeping the instant.
	eqInstant := func(a, b time.Time) bool { return a.Equal(b) && a.Location() == time.UTC }
	loc := time.FixedZone("X", -5*3600)
	v := time.Date(2024, 2, 29, 8, 14, 15, 5, loc)
	checkRoundTrip(t, Time(), v, v, eqInstant)
	now := time.Now()
	checkRoundTrip(t, Time(), now, now.UTC(), eqInstant)
	if !bytes.Equal(Time().Append(nil, v), Time().Append(nil, v.UTC())) {
		t.Error("equal instants in different locations encode differently")
	}
}

func TestDecodeCorruptBasic(t *testing.T) {
	for _, tc := range []struct {
		name string
		f    func([]byte) error
		src  []byte
	}{
		{"bool empty", decodeErr(Bool()), nil},
		{"bool 2", decodeErr(Bool()), []byte{2}},
		{"bool trailing", decodeErr(Bool()), []byte{1, 0}},
		{"int8 empty", decodeErr(Int8()), nil},
		{"int8 trailing", decodeErr(Int8()), []byte{1, 2}},
		{"int64 empty", decodeErr(Int64()), nil},
		{"int64 truncated", decodeErr(Int64()), []byte{0x80}},
		{"int64 non-minimal", decodeErr(Int64()), []byte{0x80, 0x00}},
		{"int64 non-minimal 0x81 0x00", decodeErr(Int64()), []byte{0x81, 0x00}},
		{"int64 11 bytes", decodeErr(Int64()), []byte{0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x01}},
		{"uint64 overflow", decodeErr(Uint64()), []byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x02}},
		{"int16 range", decodeErr(Int16()), Int64().Append(nil, math.MaxInt16+1)},
		{"int32 range", decodeErr(Int32()), Int64().Append(nil, math.MinInt32-1)},
		{"uint16 range", decodeErr(Uint16()), Uint64().Append(nil, 1<<16)},
		{"uint32 range", decodeErr(Uint32()), Uint64().Append(nil, 1<<32)},
		{"float64 short", decodeErr(Float64()), make([]byte, 7)},
		{"float64 long", decodeErr(Float64()), make([]byte, 9)},
		{"float64 -0", decodeErr(Float64()), []byte{0, 0, 0, 0, 0, 0, 0, 0x80}},
		{"float32 -0", decodeErr(Float32()), []byte{0, 0, 0, 0x80}},
		{"float32 short", decodeErr(Float32()), make([]byte, 3)},
		{"time nanos", decodeErr(Time()), append(Int64().Append(nil, 0), Uint64().Append(nil, 1e9)...)},
		{"time truncated", decodeErr(Time()), Int64().Append(nil, 0)},
		{"duration trailing", decodeErr(Duration()), []byte{0, 0}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.f(tc.src)
			if !errors.Is(err, ErrCorrupt) {
				t.Fatalf("Decode(%x) error = %v, want ErrCorrupt", tc.src, err)
			}
			if !strings.HasPrefix(err.Error(), "codec: ") {
				t.Errorf("error %q lacks the codec: prefix", err)
			}
		})
	}
}

func decodeErr[T any](c Codec[T]) func([]byte) error {
	return func(b []byte) error {
		_, err := c.Decode(b)
		return err
	}
}

func TestUvarintAgainstBinary(t *testing.T) {
	// Every minimal encoding decodes to its value; interesting values only.
	for _, x := range []uint64{0, 1, 127, 128, 255, 256, 16383, 16384, 1<<35 - 1, 1 << 35, 1<<63 - 1, 1 << 63, math.MaxUint64} {
		b := appendUvarint(nil, x)
		got, n, err := uvarint(b)
		if err != nil || got != x || n != len(b) || n != uvarintLen(x) {
			t.Errorf("uvarint(%x) = %d, %d, %v; want %d, %d", b, got, n, err, x, len(b))
		}
		for i := range b[:len(b)-1] {
			if _, _, err := uvarint(b[:i+1]); err == nil {
				t.Errorf("uvarint accepted truncated %x", b[:i+1])
			}
		}
	}
}
