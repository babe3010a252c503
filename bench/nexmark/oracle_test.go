package nexmark

import (
	"bufio"
	"io"
	"strconv"
)

// writeDump writes the events of g in the oracle's line format:
// the kind's initial and the fields in declaration order, separated by |.
func writeDump(w io.Writer, g *Generator) error {
	bw := bufio.NewWriter(w)
	var b []byte
	for {
		e, ok := g.Next()
		if !ok {
			break
		}
		b = appendDump(b[:0], e)
		bw.Write(b)
	}
	return bw.Flush()
}

func appendDump(b []byte, e Event) []byte {
	i := func(v int64) { b = append(b, '|'); b = strconv.AppendInt(b, v, 10) }
	s := func(v string) { b = append(b, '|'); b = append(b, v...) }
	switch e.Kind {
	case KindPerson:
		p := e.Person
		b = append(b, 'P')
		i(p.ID)
		s(p.Name)
		s(p.EmailAddress)
		s(p.CreditCard)
		s(p.City)
		s(p.State)
		i(p.DateTime)
		s(p.Extra)
	case KindAuction:
		a := e.Auction
		b = append(b, 'A')
		i(a.ID)
		s(a.ItemName)
		s(a.Description)
		i(a.InitialBid)
		i(a.Reserve)
		i(a.DateTime)
		i(a.Expires)
		i(a.Seller)
		i(a.Category)
		s(a.Extra)
	case KindBid:
		x := e.Bid
		b = append(b, 'B')
		i(x.Auction)
		i(x.Bidder)
		i(x.Price)
		s(x.Channel)
		s(x.URL)
		i(x.DateTime)
		s(x.Extra)
	}
	return append(b, '\n')
}
