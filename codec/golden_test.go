package codec

import (
	"encoding/hex"
	"math"
	"testing"
	"time"
)

// golden pins the wire format: a change to any of these encodings breaks
// snapshots and the assignment of keys to key groups.
type golden struct {
	name string
	enc  []byte
	want string // hex
}

func goldenCases() []golden {
	type Rec struct {
		ID    int64
		Name  Word
		Price float64
		Tags  []string
		Attrs map[string]int32
		Next  *Point
		On    bool
		When  time.Time
		B     [2]byte
		U     uint
	}
	rec := Rec{
		ID: 300, Name: "go", Price: 1.5, Tags: []string{"a", ""},
		Attrs: map[string]int32{"y": -1, "x": 1, "": 64},
		Next:  &Point{-1, 1}, On: true,
		When: time.Date(2001, 9, 9, 1, 46, 40, 5, time.UTC), // Unix 1e9
		B:    [2]byte{0xab, 0xcd}, U: 128,
	}
	return []golden{
		{"bool", Bool().Append(nil, true), "01"},
		{"int64 0", Int64().Append(nil, 0), "00"},
		{"int64 -1", Int64().Append(nil, -1), "01"},
		{"int64 1", Int64().Append(nil, 1), "02"},
		{"int64 300", Int64().Append(nil, 300), "d804"},
		{"int64 min", Int64().Append(nil, math.MinInt64), "ffffffffffffffffff01"},
		{"int32 max", Int32().Append(nil, math.MaxInt32), "feffffff0f"},
		{"int8 -2", Int8().Append(nil, -2), "fe"},
		{"uint64 300", Uint64().Append(nil, 300), "ac02"},
		{"uint64 max", Uint64().Append(nil, math.MaxUint64), "ffffffffffffffffff01"},
		{"float64 1.5", Float64().Append(nil, 1.5), "000000000000f83f"},
		{"float64 -0", Float64().Append(nil, math.Copysign(0, -1)), "0000000000000000"},
		{"float32 1.5", Float32().Append(nil, 1.5), "0000c03f"},
		{"string", String().Append(nil, "héllo"), "68c3a96c6c6f"},
		{"bytes", Bytes().Append(nil, []byte{1, 2}), "0102"},
		{"time", Time().Append(nil, time.Unix(1e9, 5)), "80a8d6b907" + "05"},
		{"time zero", Time().Append(nil, time.Time{}), "ffdb8ff9ce03" + "00"},
		{"duration", Duration().Append(nil, time.Second), "80a8d6b907"},
		{"tuple", Tuple2Codec(String(), Int64()).Append(nil, T2("ab", int64(-2))), "02616203"},
		{"slice nil", Slice(Int64()).Append(nil, nil), "00"},
		{"slice empty", Slice(Int64()).Append(nil, []int64{}), "01"},
		{"slice", Slice(Int64()).Append(nil, []int64{1, -1}), "030201"},
		{"map", Map(String(), Int64()).Append(nil, map[string]int64{"b": 1, "a": 2, "": 3}), "04" + "0006" + "016104" + "016202"},
		{"pointer", Pointer(Int64()).Append(nil, new(int64)), "0100"},
		{"struct", MustFor[Rec]().Append(nil, rec),
			"d804" + // ID 300
				"02676f" + // Name "go"
				"000000000000f83f" + // Price 1.5
				"03" + "0161" + "00" + // Tags: 2 elements, "a", ""
				"04" + "00" + "8001" + "0178" + "02" + "0179" + "01" + // Attrs: 3 entries sorted by key
				"01" + "01" + "02" + // Next: present, X -1, Y 1
				"01" + // On
				"80a8d6b907" + "05" + // When
				"abcd" + // B
				"8001"}, // U 128
	}
}

func TestGolden(t *testing.T) {
	for _, g := range goldenCases() {
		if got := hex.EncodeToString(g.enc); got != g.want {
			t.Errorf("%s: encoding %s, want %s", g.name, got, g.want)
		}
	}
}
