package codec

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"net/netip"
	"reflect"
	"strings"
	"testing"
	"time"
)

type (
	Word     string
	Count    int64
	Level    uint8
	Ratio    float32
	Flag     bool
	Blob     []byte
	Names    []Word
	Counters map[Word]Count
)

type Point struct {
	X, Y int32
}

type Item struct {
	SKU   string
	Qty   uint16
	Price float64
	Tags  []string
}

type Order struct {
	ID       int64
	Customer Word
	Level    Level
	Ratio    Ratio
	Flag     Flag
	Where    Point
	Path     [3]Point
	Items    []Item
	Extra    map[string][]int
	Counts   Counters
	Note     *string
	Parent   *Point
	Raw      Blob
	Digest   [4]byte
	Names    Names
	When     time.Time
	TTL      time.Duration
	Small    []int8
	Z        complex128
	Addr     netip.Addr // AppendBinary / UnmarshalBinary
	Nothing  struct{}
	Empty    [0]int
	Skipped  string `codec:"-"`
	_        int
	Byteses  [][]byte
	Matrix   [2][2]float32
	PtrSlice []*Point
	Uints    [2]uint
}

func sampleOrder() Order {
	note := "leave at door"
	return Order{
		ID:       -42,
		Customer: "ada",
		Level:    3,
		Ratio:    0.5,
		Flag:     true,
		Where:    Point{1, -2},
		Path:     [3]Point{{1, 2}, {3, 4}, {5, 6}},
		Items:    []Item{{"a-1", 2, 9.99, []string{"x", ""}}, {"b-2", 0, -1, nil}, {SKU: "c", Tags: []string{}}},
		Extra:    map[string][]int{"one": {1}, "none": nil, "empty": {}, "many": {3, 2, 1}},
		Counts:   Counters{"the": 10, "a": 7, "zebra": -1},
		Note:     &note,
		Parent:   nil,
		Raw:      Blob("raw bytes"),
		Digest:   [4]byte{0xde, 0xad, 0xbe, 0xef},
		Names:    Names{"x", "y"},
		When:     time.Date(2025, 3, 14, 15, 9, 26, 535897932, time.UTC),
		TTL:      90 * time.Second,
		Small:    []int8{-128, 0, 127},
		Z:        complex(1.5, -2.5),
		Addr:     netip.MustParseAddr("2001:db8::1"),
		Byteses:  [][]byte{nil, {}, {1, 2}},
		Matrix:   [2][2]float32{{1, 2}, {3, 4}},
		PtrSlice: []*Point{{7, 8}, nil},
		Uints:    [2]uint{0, math.MaxUint},
	}
}

func TestCompiledStructRoundTrip(t *testing.T) {
	c, err := For[Order]()
	if err != nil {
		t.Fatal(err)
	}
	v := sampleOrder()
	checkRoundTrip(t, c, v, v, eqDeep[Order])

	// Skipped fields are not encoded and decode as zero.
	w := v
	w.Skipped = "not encoded"
	got, err := c.Decode(c.Append(nil, w))
	if err != nil || got.Skipped != "" || !bytes.Equal(c.Append(nil, w), c.Append(nil, v)) {
		t.Errorf("skipped field: decoded %q, %v", got.Skipped, err)
	}

	// The zero value and a value with empty (not nil) containers round-trip
	// exactly: nil and empty are kept apart.
	checkRoundTrip(t, c, Order{}, Order{}, eqDeep[Order])
	e := Order{Items: []Item{}, Extra: map[string][]int{}, Counts: Counters{}, Raw: Blob{}, Names: Names{}, Small: []int8{}, Byteses: [][]byte{}, PtrSlice: []*Point{}}
	checkRoundTrip(t, c, e, e, eqDeep[Order])
}

// TestCompiledMatchesCombinators checks that the compiled codecs write the
// documented formats, by comparing them with codecs built by hand.
func TestCompiledMatchesCombinators(t *testing.T) {
	same := func(name string, a, b []byte) {
		t.Helper()
		if !bytes.Equal(a, b) {
			t.Errorf("%s: compiled %x, by hand %x", name, a, b)
		}
	}
	tup := T2("key", int64(-5))
	same("Tuple2", MustFor[Tuple2[string, int64]]().Append(nil, tup),
		Tuple2Codec(String(), Int64()).Append(nil, tup))
	tup3 := T3(Word("w"), []float64{1, 2}, map[int32]bool{3: true, -1: false})
	same("Tuple3", MustFor[Tuple3[Word, []float64, map[int32]bool]]().Append(nil, tup3),
		Tuple3Codec(String(), Slice(Float64()), Map(Int32(), Bool())).Append(nil, T3("w", []float64{1, 2}, map[int32]bool{3: true, -1: false})))

	item := Item{"sku", 3, 1.25, []string{"a", "bc"}}
	byHand := Tuple3Codec(String(), Uint16(), Tuple2Codec(Float64(), Slice(String())))
	same("Item", MustFor[Item]().Append(nil, item),
		byHand.Append(nil, T3(item.SKU, item.Qty, T2(item.Price, item.Tags))))

	m := map[string][]int{"b": {1}, "a": nil, "c": {}}
	same("map", MustFor[map[string][]int]().Append(nil, m), Map(String(), Slice(Int())).Append(nil, m))
	p := &Point{1, 2}
	same("pointer", MustFor[*Point]().Append(nil, p), Pointer(MustFor[Point]()).Append(nil, p))
	same("nil pointer", MustFor[*Point]().Append(nil, nil), Pointer(MustFor[Point]()).Append(nil, nil))
	same("[]int8 is bytes", MustFor[struct{ B []int8 }]().Append(nil, struct{ B []int8 }{[]int8{-1, 2}}),
		Bytes().(nested[[]byte]).appendNested(nil, []byte{0xff, 2}))
	ts := time.Unix(1e9, 5)
	same("time", MustFor[struct{ T time.Time }]().Append(nil, struct{ T time.Time }{ts}), Time().Append(nil, ts))
}

func TestNamedBasicTypes(t *testing.T) {
	wc := MustFor[Word]()
	if enc := wc.Append(nil, "hello"); string(enc) != "hello" {
		t.Errorf("named string at top level = %q, want raw bytes", enc)
	}
	checkRoundTrip(t, wc, "hello", "hello", eqComparable[Word])
	checkRoundTrip(t, wc, "", "", eqComparable[Word])
	checkRoundTrip(t, MustFor[Count](), math.MinInt64, math.MinInt64, eqComparable[Count])
	checkRoundTrip(t, MustFor[Level](), 255, 255, eqComparable[Level])
	checkRoundTrip(t, MustFor[Ratio](), 1.5, 1.5, eqComparable[Ratio])
	checkRoundTrip(t, MustFor[Flag](), true, true, eqComparable[Flag])
	checkRoundTrip(t, MustFor[Blob](), Blob("x"), Blob("x"), eqDeep[Blob])
	checkRoundTrip(t, MustFor[Blob](), nil, nil, eqDeep[Blob])
	checkRoundTrip(t, MustFor[Names](), Names{"a", ""}, Names{"a", ""}, eqDeep[Names])
	checkRoundTrip(t, MustFor[Counters](), Counters{"a": 1}, Counters{"a": 1}, eqDeep[Counters])
	checkRoundTrip(t, MustFor[complex64](), complex(1, 2), complex(1, 2), eqComparable[complex64])

	// Named types encode exactly like their underlying types.
	for _, tc := range []struct{ a, b []byte }{
		{MustFor[Word]().Append(nil, "x"), String().Append(nil, "x")},
		{MustFor[Count]().Append(nil, -3), Int64().Append(nil, -3)},
		{MustFor[Blob]().Append(nil, Blob{1}), Bytes().Append(nil, []byte{1})},
		{MustFor[struct{ W Word }]().Append(nil, struct{ W Word }{"x"}), Tuple2Codec(String(), MustFor[struct{}]()).Append(nil, T2("x", struct{}{}))},
	} {
		if !bytes.Equal(tc.a, tc.b) {
			t.Errorf("named type encodes as %x, underlying as %x", tc.a, tc.b)
		}
	}
	// A struct with one string field uses the nested (length-prefixed) form.
	if enc := MustFor[struct{ S string }]().Append(nil, struct{ S string }{"ab"}); !bytes.Equal(enc, []byte{2, 'a', 'b'}) {
		t.Errorf("struct{S string} encodes as %x", enc)
	}
}

func TestForBuiltins(t *testing.T) {
	check := func(got, want any) {
		t.Helper()
		if reflect.TypeOf(got) != reflect.TypeOf(want) {
			t.Errorf("For gave %T, want %T", got, want)
		}
	}
	check(MustFor[bool](), Bool())
	check(MustFor[int](), Int())
	check(MustFor[int8](), Int8())
	check(MustFor[int64](), Int64())
	check(MustFor[uint32](), Uint32())
	check(MustFor[byte](), Uint8())
	check(MustFor[float64](), Float64())
	check(MustFor[string](), String())
	check(MustFor[[]byte](), Bytes())
	check(MustFor[time.Time](), Time())
	check(MustFor[time.Duration](), Duration())
}

// The marshaler test types: one with AppendBinary on the value, one with
// MarshalBinary on the pointer. Both have unexported fields.
type appendType struct{ n uint32 }

func (a appendType) AppendBinary(b []byte) ([]byte, error) {
	return binary.BigEndian.AppendUint32(b, a.n), nil
}

func (a *appendType) UnmarshalBinary(b []byte) error {
	if len(b) != 4 {
		return errors.New("want 4 bytes")
	}
	a.n = binary.BigEndian.Uint32(b)
	return nil
}

type marshalType struct{ s string }

func (m *marshalType) MarshalBinary() ([]byte, error) { return []byte(strings.ToUpper(m.s)), nil }
func (m *marshalType) UnmarshalBinary(b []byte) error {
	m.s = strings.ToLower(string(b))
	return nil
}

type failing struct{}

func (failing) AppendBinary(b []byte) ([]byte, error) { return b, errors.New("boom") }
func (*failing) UnmarshalBinary([]byte) error         { return nil }

type withMarshalers struct {
	A  appendType
	M  marshalType
	AP *appendType
	AS []appendType
	MM map[appendType]marshalType
	AA [2]appendType
	N  int
}

func TestMarshalers(t *testing.T) {
	ac := MustFor[appendType]()
	if enc := ac.Append(nil, appendType{0x01020304}); !bytes.Equal(enc, []byte{1, 2, 3, 4}) {
		t.Errorf("top-level marshaler wrote %x, want its bytes", enc)
	}
	checkRoundTrip(t, ac, appendType{7}, appendType{7}, eqComparable[appendType])
	checkRoundTrip(t, MustFor[marshalType](), marshalType{"abc"}, marshalType{"abc"}, eqComparable[marshalType])
	if enc := MustFor[marshalType]().Append(nil, marshalType{"abc"}); string(enc) != "ABC" {
		t.Errorf("MarshalBinary-based codec wrote %q", enc)
	}
	c := MustFor[withMarshalers]()
	v := withMarshalers{
		A: appendType{1}, M: marshalType{"x"}, AP: &appendType{2},
		AS: []appendType{{3}, {4}}, MM: map[appendType]marshalType{{5}: {"y"}, {6}: {"z"}},
		AA: [2]appendType{{8}, {9}}, N: -1,
	}
	enc := checkRoundTrip(t, c, v, v, eqDeep[withMarshalers])
	if !bytes.HasPrefix(enc, []byte{4, 0, 0, 0, 1, 1, 'X'}) {
		t.Errorf("nested marshalers are not length-prefixed: %x", enc)
	}
	if _, err := ac.Decode([]byte{1, 2, 3}); !errors.Is(err, ErrCorrupt) || !strings.Contains(err.Error(), "want 4 bytes") {
		t.Errorf("UnmarshalBinary error not wrapped: %v", err)
	}
	if _, err := c.Decode(enc[:len(enc)-1]); !errors.Is(err, ErrCorrupt) {
		t.Errorf("truncated: %v", err)
	}
	func() {
		defer func() {
			r := recover()
			if err, ok := r.(error); !ok || !strings.Contains(err.Error(), "boom") || !strings.HasPrefix(err.Error(), "codec: ") {
				t.Errorf("AppendBinary error: recovered %v", r)
			}
		}()
		MustFor[failing]().Append(nil, failing{})
	}()
}

type half struct{ X int }

func (half) AppendBinary(b []byte) ([]byte, error) { return b, nil }

type stamp time.Time

type recursive struct {
	Name     string
	Children []recursive
}

type recursivePtr struct {
	Next *recursivePtr
}

type Event struct {
	ID   int64
	Meta any
}

type base struct {
	Key  string
	Seen int64
}

type Embeds struct {
	base
	*Point
	Item
	N int8
}

func TestEmbedded(t *testing.T) {
	c := MustFor[Embeds]()
	v := Embeds{base{"k", 1}, &Point{2, 3}, Item{SKU: "s", Tags: []string{"t"}}, 4}
	checkRoundTrip(t, c, v, v, eqDeep[Embeds])
	// The embedded structs are encoded in place, like ordinary fields.
	want := Tuple3Codec(Tuple2Codec(String(), Int64()), Pointer(MustFor[Point]()), Tuple2Codec(MustFor[Item](), Int8())).
		Append(nil, T3(T2("k", int64(1)), &Point{2, 3}, T2(Item{SKU: "s", Tags: []string{"t"}}, int8(4))))
	if got := c.Append(nil, v); !bytes.Equal(got, want) {
		t.Errorf("embedded structs encode as %x, want %x", got, want)
	}
}

type hidden struct {
	Visible int
	secret  int
}

// String uses the unexported field the codec refuses to encode.
func (h hidden) String() string { return fmt.Sprint(h.Visible, h.secret) }

func TestForErrors(t *testing.T) {
	for _, tc := range []struct {
		err  error
		want string
	}{
		{errOf[Event](), "codec: no default codec for codec.Event field .Meta (interface {})"},
		{errOf[any](), "codec: no default codec for interface {}"},
		{errOf[chan int](), "codec: no default codec for chan int"},
		{errOf[func()](), "codec: no default codec for func()"},
		{errOf[uintptr](), "codec: no default codec for uintptr"},
		{errOf[[]struct{ F func() }](), "codec: no default codec for []struct { F func() } element [].F (func())"},
		{errOf[map[string]chan int](), "codec: no default codec for map[string]chan int element [value] (chan int)"},
		{errOf[struct{ M map[any]int }](), "codec: no default codec for struct { M map[interface {}]int } field .M[key] (interface {})"},
		{errOf[hidden](), "codec: no default codec for codec.hidden field .secret (int): unexported field"},
		{errOf[recursive](), "codec: no default codec for codec.recursive field .Children[] (codec.recursive): recursive type codec.recursive"},
		{errOf[recursivePtr](), "codec: no default codec for codec.recursivePtr field .Next (codec.recursivePtr): recursive type"},
		{errOf[half](), "codec: no default codec for codec.half: it implements encoding.BinaryAppender or encoding.BinaryMarshaler but *codec.half does not implement encoding.BinaryUnmarshaler"},
		{errOf[struct{ T struct{ H half } }](), "field .T.H (codec.half)"},
		{errOf[stamp](), "codec: no default codec for codec.stamp field .wall (uint64): unexported field"},
	} {
		if tc.err == nil {
			t.Errorf("no error, want %q", tc.want)
			continue
		}
		if !strings.Contains(tc.err.Error(), tc.want) {
			t.Errorf("error %q\nwant it to contain %q", tc.err, tc.want)
		}
	}
	defer func() {
		if r := recover(); r == nil || !strings.Contains(fmt.Sprint(r), "codec.Event field .Meta") {
			t.Errorf("MustFor panicked with %v", r)
		}
	}()
	MustFor[Event]()
}

func errOf[T any]() error {
	_, err := For[T]()
	return err
}

func TestForeignCodecNested(t *testing.T) {
	// A codec from outside the package is nested with a length prefix, and
	// its errors are made to wrap ErrCorrupt.
	c := Tuple2Codec[string, string](upper{}, upper{})
	enc := c.Append(nil, T2("ab", "c"))
	if !bytes.Equal(enc, []byte{2, 'A', 'B', 1, 'C'}) {
		t.Errorf("foreign codec nested as %x", enc)
	}
	got, err := c.Decode(enc)
	if err != nil || got != T2("ab", "c") {
		t.Errorf("Decode = %v, %v", got, err)
	}
	if _, err := c.Decode([]byte{1, 'x', 1, 'C'}); !errors.Is(err, ErrCorrupt) || !strings.Contains(err.Error(), "lower case") {
		t.Errorf("foreign error: %v", err)
	}
	// Inserting the length prefix does not allocate when dst has room, even
	// when the prefix takes several bytes.
	long := strings.Repeat("a", 300)
	buf := make([]byte, 0, 1024)
	if n := testing.AllocsPerRun(100, func() { buf = c.Append(buf[:0], T2(long, long)) }); n != 0 {
		t.Errorf("nesting a foreign codec allocates %v times", n)
	}
	got, err = c.Decode(buf)
	if err != nil || got.F0 != long || got.F1 != long {
		t.Errorf("long values: %v", err)
	}
}

// upper is a foreign codec: it upper-cases on encoding and insists on upper
// case when decoding.
type upper struct{}

func (upper) Append(dst []byte, v string) []byte {
	for i := range len(v) {
		c := v[i]
		if 'a' <= c && c <= 'z' {
			c -= 'a' - 'A'
		}
		dst = append(dst, c)
	}
	return dst
}

func (upper) Decode(src []byte) (string, error) {
	for _, c := range src {
		if 'a' <= c && c <= 'z' {
			return "", errors.New("lower case")
		}
	}
	return strings.ToLower(string(src)), nil
}

func TestMapDeterminism(t *testing.T) {
	// Maps with the same contents built in different orders encode the
	// same, whatever the iteration order.
	c := MustFor[map[string]int]()
	g := Map(String(), Int())
	a, b := map[string]int{}, map[string]int{}
	for i := range 200 {
		a[fmt.Sprint(i)] = i
		b[fmt.Sprint(199-i)] = 199 - i
	}
	want := c.Append(nil, a)
	for range 20 {
		if got := c.Append(nil, b); !bytes.Equal(got, want) {
			t.Fatal("compiled map encoding depends on insertion or iteration order")
		}
		if got := g.Append(nil, b); !bytes.Equal(got, want) {
			t.Fatal("Map encoding differs from the compiled one")
		}
	}
	// NaN keys are all distinct; they still encode deterministically.
	fm := map[float64]string{math.NaN(): "b", math.NaN(): "a", 1: "c"}
	fc := MustFor[map[float64]string]()
	enc := fc.Append(nil, fm)
	got, err := fc.Decode(enc)
	if err != nil || len(got) != 3 || !bytes.Equal(fc.Append(nil, got), enc) {
		t.Errorf("NaN keys: %v, %v", got, err)
	}
}

func TestZeroSize(t *testing.T) {
	type Z struct {
		A struct{}
		B [0]string
		C [4]struct{}
	}
	c := MustFor[[]Z]()
	v := make([]Z, 1000)
	enc := checkRoundTrip(t, c, v, v, eqDeep[[]Z])
	if !bytes.Equal(enc, appendUvarint(nil, 1001)) {
		t.Errorf("slice of zero-size elements encodes as %x", enc)
	}
	checkRoundTrip(t, Slice(MustFor[Z]()), v, v, eqDeep[[]Z])
	mc := MustFor[map[Z]Z]()
	checkRoundTrip(t, mc, map[Z]Z{{}: {}}, map[Z]Z{{}: {}}, eqDeep[map[Z]Z])
	if _, err := mc.Decode([]byte{3}); !errors.Is(err, ErrCorrupt) {
		t.Errorf("two zero-size keys: %v", err)
	}
	if _, err := Map(MustFor[Z](), MustFor[Z]()).Decode([]byte{3}); !errors.Is(err, ErrCorrupt) {
		t.Errorf("two zero-size keys: %v", err)
	}
}

func TestConcurrentUse(t *testing.T) {
	c := MustFor[Order]()
	v := sampleOrder()
	want := c.Append(nil, v)
	done := make(chan error)
	for range 8 {
		go func() {
			var buf []byte
			for range 200 {
				buf = c.Append(buf[:0], v)
				if !bytes.Equal(buf, want) {
					done <- errors.New("encoding differs")
					return
				}
				if _, err := c.Decode(buf); err != nil {
					done <- err
					return
				}
			}
			done <- nil
		}()
	}
	for range 8 {
		if err := <-done; err != nil {
			t.Fatal(err)
		}
	}
}
