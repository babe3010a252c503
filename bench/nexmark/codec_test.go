package nexmark

import (
	"errors"
	"testing"

	"github.com/runnel-io/runnel/codec"
)

// TestEventCodec proves invariant 12: EventCodec decodes what it encodes,
// in fewer bytes than codec.For[Event].
func TestEventCodec(t *testing.T) {
	ec := EventCodec()
	generic := codec.MustFor[Event]()
	var buf []byte
	var small, big int
	g := newGen(t, GeneratorConfig{Events: 5000}, 0, 1)
	for e, ok := g.Next(); ok; e, ok = g.Next() {
		buf = ec.Append(buf[:0], e)
		small += len(buf)
		got, err := ec.Decode(buf)
		if err != nil || !got.Equal(e) {
			t.Fatalf("decode %+v: %+v, %v", e, got, err)
		}
		big += len(generic.Append(buf[:0], e))
	}
	t.Logf("EventCodec %d bytes, codec.For[Event] %d bytes", small, big)
	if small >= big {
		t.Errorf("EventCodec (%d bytes) is not smaller than codec.For[Event] (%d)", small, big)
	}

	for _, bad := range [][]byte{nil, {3}, {byte(KindBid)}, append(ec.Append(nil, BidEvent(Bid{Extra: "x"})), 0)} {
		if _, err := ec.Decode(bad); !errors.Is(err, codec.ErrCorrupt) {
			t.Errorf("Decode(%v): %v, want ErrCorrupt", bad, err)
		}
	}
}
