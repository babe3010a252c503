package nexmark

import (
	"fmt"

	"github.com/runnel-io/runnel/codec"
)

// EventCodec returns a codec of Event for exchanges and state
// (DataStream.WithCodec): the kind as one byte, then the entity in use in
// the default struct format of package codec. codec.For[Event] works too,
// but writes the fields of the zero Bid of persons and auctions and a byte
// per nil pointer. The codec is safe for concurrent use.
func EventCodec() codec.Codec[Event] { return eventCodec{} }

var (
	personCodec  = codec.MustFor[Person]()
	auctionCodec = codec.MustFor[Auction]()
	bidCodec     = codec.MustFor[Bid]()
)

type eventCodec struct{}

func (eventCodec) Append(dst []byte, e Event) []byte {
	dst = append(dst, byte(e.Kind))
	switch e.Kind {
	case KindPerson:
		return personCodec.Append(dst, *e.person())
	case KindAuction:
		return auctionCodec.Append(dst, *e.auction())
	default:
		return bidCodec.Append(dst, e.Bid)
	}
}

func (eventCodec) Decode(src []byte) (e Event, err error) {
	if len(src) == 0 {
		return Event{}, fmt.Errorf("%w: nexmark.Event: empty input", codec.ErrCorrupt)
	}
	switch e.Kind = Kind(src[0]); e.Kind {
	case KindPerson:
		e.Person = new(Person)
		*e.Person, err = personCodec.Decode(src[1:])
	case KindAuction:
		e.Auction = new(Auction)
		*e.Auction, err = auctionCodec.Decode(src[1:])
	case KindBid:
		e.Bid, err = bidCodec.Decode(src[1:])
	default:
		return Event{}, fmt.Errorf("%w: nexmark.Event: kind %d", codec.ErrCorrupt, src[0])
	}
	if err != nil {
		return Event{}, err
	}
	return e, nil
}
