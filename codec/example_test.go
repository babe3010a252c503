package codec_test

import (
	"fmt"

	"github.com/runnel-io/runnel/codec"
)

type Trade struct {
	Symbol string
	Qty    int64
	Price  float64
	Tags   []string
}

func ExampleFor() {
	c, err := codec.For[Trade]()
	if err != nil {
		panic(err)
	}
	buf := c.Append(nil, Trade{Symbol: "ACME", Qty: -3, Price: 1.5, Tags: []string{"x"}})
	fmt.Printf("% x\n", buf)
	t, err := c.Decode(buf)
	fmt.Printf("%+v %v\n", t, err)
	// Output:
	// 04 41 43 4d 45 05 00 00 00 00 00 00 f8 3f 02 01 78
	// {Symbol:ACME Qty:-3 Price:1.5 Tags:[x]} <nil>
}

func ExampleTuple2Codec() {
	c := codec.Tuple2Codec(codec.String(), codec.Int64())
	buf := c.Append(nil, codec.T2("word", int64(42)))
	fmt.Printf("% x\n", buf)
	v, _ := c.Decode(buf)
	fmt.Println(v.F0, v.F1)
	// Output:
	// 04 77 6f 72 64 54
	// word 42
}

func ExampleMap() {
	c := codec.Map(codec.String(), codec.Int())
	// Entries are written sorted by key encoding, whatever the map's
	// iteration order.
	fmt.Printf("% x\n", c.Append(nil, map[string]int{"b": 1, "a": 2}))
	// Output:
	// 03 01 61 04 01 62 02
}

type Secret struct{ value string }

func (s Secret) AppendBinary(b []byte) ([]byte, error) { return append(b, s.value...), nil }
func (s *Secret) UnmarshalBinary(b []byte) error       { s.value = string(b); return nil }

func ExampleFor_marshaler() {
	// Secret has an unexported field, so For uses its marshaling methods.
	c := codec.MustFor[struct {
		ID int64
		S  Secret
	}]()
	fmt.Printf("% x\n", c.Append(nil, struct {
		ID int64
		S  Secret
	}{1, Secret{"pw"}}))
	_, err := codec.For[struct{ X any }]()
	fmt.Println(err)
	// Output:
	// 02 02 70 77
	// codec: no default codec for struct { X interface {} } field .X (interface {})
}
