package nexmark

import "fmt"

// Kind says which of the three Nexmark entities an Event carries. The values
// are those of the event_type column of the Nexmark SQL suite.
type Kind uint8

// The kinds of event.
const (
	KindPerson  Kind = 0 // a new person registers (Event.Person)
	KindAuction Kind = 1 // a person opens an auction (Event.Auction)
	KindBid     Kind = 2 // a person bids on an auction (Event.Bid)
)

// String returns "person", "auction" or "bid".
func (k Kind) String() string {
	switch k {
	case KindPerson:
		return "person"
	case KindAuction:
		return "auction"
	case KindBid:
		return "bid"
	}
	return fmt.Sprintf("Kind(%d)", uint8(k))
}

// Person is a new person registering with the auction site.
type Person struct {
	ID           int64 // from FirstPersonID up, one per person event
	Name         string
	EmailAddress string
	CreditCard   string
	City         string
	State        string
	DateTime     int64 // event time, ms since the Unix epoch
	Extra        string
}

// Auction is a person opening an auction.
type Auction struct {
	ID          int64 // from FirstAuctionID up, one per auction event
	ItemName    string
	Description string
	InitialBid  int64
	Reserve     int64
	DateTime    int64 // event time, ms since the Unix epoch
	Expires     int64 // ms since the Unix epoch, after DateTime
	Seller      int64 // a Person.ID
	Category    int64 // FirstCategoryID up to FirstCategoryID+4
	Extra       string
}

// Bid is a person bidding on an auction.
type Bid struct {
	Auction  int64 // an Auction.ID
	Bidder   int64 // a Person.ID
	Price    int64
	Channel  string
	URL      string
	DateTime int64 // event time, ms since the Unix epoch
	Extra    string
}

// Event is one record of the Nexmark stream. Kind says which entity it
// carries: a bid inline in Bid, a person or an auction behind the Person or
// Auction pointer. The other fields are zero (Bid) or nil.
//
// Bids are 92% of the stream, so they are inline and an Event is 104 bytes
// on 64-bit machines; the rare persons and auctions are pointers, which the
// Generator hands out from blocks it allocates a few dozen at a time. The
// plain alternative, all three entities inline, is 304 bytes: storing an
// event in a batch slice and passing one to a function, as an operator
// does, took about twice as long as with this layout (55-72 ns against
// 31-34 ns on a loaded 2-CPU machine; BenchmarkEventCopy),
// and three pointers (32 bytes) would cost decoding an allocation for
// every bid. Copies of an Event share its Person and Auction: records are
// not to be modified (see package stream), and these never are.
//
// The functions of this package treat a nil Person or Auction of an event
// of that kind as a zero entity.
//
// The strings and entities of a generated Event are ordinary immutable
// values, valid for ever, but they share backing memory with those of
// neighbouring events (see Generator); copy what you keep for long.
type Event struct {
	Kind    Kind
	Bid     Bid      // when Kind is KindBid
	Person  *Person  // when Kind is KindPerson, else nil
	Auction *Auction // when Kind is KindAuction, else nil
}

var (
	zeroPerson  Person
	zeroAuction Auction
)

// person returns e's person, or a zero one.
func (e *Event) person() *Person {
	if e.Person != nil {
		return e.Person
	}
	return &zeroPerson
}

// auction returns e's auction, or a zero one.
func (e *Event) auction() *Auction {
	if e.Auction != nil {
		return e.Auction
	}
	return &zeroAuction
}

// EventTimestamp returns the event time of e in milliseconds since the Unix
// epoch: the DateTime of the entity it carries. It is the timestamp a
// source should attach to e.
func EventTimestamp(e Event) int64 {
	switch e.Kind {
	case KindPerson:
		return e.person().DateTime
	case KindAuction:
		return e.auction().DateTime
	default:
		return e.Bid.DateTime
	}
}

// Equal reports whether e and f carry the same kind and entity, comparing
// persons and auctions by value.
func (e Event) Equal(f Event) bool {
	if e.Kind != f.Kind {
		return false
	}
	switch e.Kind {
	case KindPerson:
		return *e.person() == *f.person()
	case KindAuction:
		return *e.auction() == *f.auction()
	default:
		return e.Bid == f.Bid
	}
}

// PersonEvent returns an Event carrying p.
func PersonEvent(p Person) Event { return Event{Kind: KindPerson, Person: &p} }

// AuctionEvent returns an Event carrying a.
func AuctionEvent(a Auction) Event { return Event{Kind: KindAuction, Auction: &a} }

// BidEvent returns an Event carrying b.
func BidEvent(b Bid) Event { return Event{Kind: KindBid, Bid: b} }
