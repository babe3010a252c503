package nexmark

import (
	"math"
	"math/bits"
	"slices"
	"strconv"
	"sync"
	"unsafe"
)

// The value lists of Nexmark's person generator, kept short so that the
// queries find matches even in small data sets.
var (
	usStates   = [...]string{"AZ", "CA", "ID", "OR", "WA", "WY"}
	usCities   = [...]string{"Phoenix", "Los Angeles", "San Francisco", "Boise", "Portland", "Bend", "Redmond", "Seattle", "Kent", "Cheyenne"}
	firstNames = [...]string{"Peter", "Paul", "Luke", "John", "Saul", "Vicky", "Kate", "Julie", "Sarah", "Deiter", "Walter"}
	lastNames  = [...]string{"Shultz", "Abrams", "Spencer", "White", "Bartels", "Walton", "Smith", "Jones", "Noris"}
)

// fullNames holds every "First Last" name, so that choosing one allocates
// nothing: fullNames[i*len(lastNames)+j] is firstNames[i] + " " + lastNames[j].
var fullNames = func() []string {
	names := make([]string, 0, len(firstNames)*len(lastNames))
	for _, f := range firstNames {
		for _, l := range lastNames {
			names = append(names, f+" "+l)
		}
	}
	return names
}()

// Constants of Nexmark's generators that its configuration does not expose.
const (
	personIDLead     = 10 // person ids a seller or bidder may be ahead of the last person
	auctionIDLead    = 10 // auction ids a bid may be ahead of the last auction
	hotSellerBatch   = 100
	hotAuctionBatch  = 100
	hotBidderBatch   = 100
	numCategories    = 5
	minStringLength  = 3
	hotChannelsRatio = 2
	numChannels      = 10_000
	urlPartMaxLength = 5
)

// hotChannels are the channels of half of all bids.
var hotChannels = [...]string{"Google", "Facebook", "Baidu", "Apple"}

// channelTable holds the channel names and URLs of bids. Nexmark draws the
// URLs from an unseeded random source once per process; here they are drawn
// from fixed seeds, so that they are the same in every process.
type channelTable struct {
	hotURLs [len(hotChannels)]string
	names   [numChannels]string
	urls    [numChannels]string
}

// Seeds of the channel URLs: hotURLs[i] draws from channelSeed-1-i,
// urls[n] from channelSeed+n. Any fixed values would do.
const channelSeed = 0x6e65786d61726b // "nexmark"

var channels = sync.OnceValue(func() *channelTable {
	t := new(channelTable)
	var r javaRandom
	var buf []byte
	for i := range t.hotURLs {
		r.reset(channelSeed - 1 - int64(i))
		t.hotURLs[i] = string(appendBaseURL(buf[:0], &r))
	}
	for n := range t.names {
		t.names[n] = "channel-" + strconv.Itoa(n)
		r.reset(channelSeed + int64(n))
		buf = appendBaseURL(buf[:0], &r)
		if r.intn(10) > 0 {
			// Java's Math.abs(Integer.reverse(n)): the reversed bits as a
			// signed int, whose absolute value stays negative for MinInt32.
			v := int32(bits.Reverse32(uint32(n)))
			if v < 0 {
				v = -v
			}
			buf = append(buf, "&channel_id="...)
			buf = strconv.AppendInt(buf, int64(v), 10)
		}
		t.urls[n] = string(buf)
	}
	return t
})

func appendBaseURL(dst []byte, r *javaRandom) []byte {
	dst = append(dst, "https://www.nexmark.com/"...)
	for range 3 {
		dst = appendNextString(dst, r, urlPartMaxLength, '_')
		dst = append(dst, '/')
	}
	return append(dst, "item.htm?query=1"...)
}

// appendNextString appends Nexmark's nextString(random, maxLength, special):
// between 3 and maxLength-1 characters, each special with probability 1/13
// and otherwise a random lower-case letter, then Java's String.trim (which
// removes the spaces at both ends when special is a space).
func appendNextString(dst []byte, r *javaRandom, maxLength int32, special byte) []byte {
	start := len(dst)
	for n := minStringLength + r.intn(maxLength-minStringLength); n > 0; n-- {
		v := r.tryIntn(13)
		for v < 0 {
			v = r.tryIntn(13)
		}
		if v == 0 {
			dst = append(dst, special)
			continue
		}
		c := r.tryIntn(26)
		for c < 0 {
			c = r.tryIntn(26)
		}
		dst = append(dst, byte('a'+c))
	}
	s := dst[start:]
	lead := 0
	for lead < len(s) && s[lead] <= ' ' {
		lead++
	}
	end := len(s)
	for end > lead && s[end-1] <= ' ' {
		end--
	}
	copy(s, s[lead:end])
	return dst[:start+end-lead]
}

// appendExactString appends Nexmark's nextExactString(random, length): length
// characters, six per 32-bit draw, the base-26 digits of the draw from the
// lowest. Java's remainder of a negative draw is negative, so the characters
// run from 'a'-25 ('H') to 'z', not just letters.
func appendExactString(dst []byte, r *javaRandom, length int) []byte {
	n := len(dst)
	if cap(dst)-n < length {
		dst = slices.Grow(dst, length)
	}
	dst = dst[:n+length]
	out := dst[n:]
	for len(out) >= 6 {
		// Java divides by 26 six times; truncated division composes
		// (rnd/26/26 == rnd/676 also for negative rnd), so the quotients
		// are independent and the divisions (by constants) overlap.
		rnd := r.int32()
		q1, q2, q3 := rnd/26, rnd/(26*26), rnd/(26*26*26)
		q4, q5, q6 := rnd/(26*26*26*26), rnd/(26*26*26*26*26), rnd/(26*26*26*26*26*26)
		out[5] = byte('a' + q5 - q6*26)
		out[4] = byte('a' + q4 - q5*26)
		out[3] = byte('a' + q3 - q4*26)
		out[2] = byte('a' + q2 - q3*26)
		out[1] = byte('a' + q1 - q2*26)
		out[0] = byte('a' + rnd - q1*26)
		out = out[6:]
	}
	if len(out) > 0 {
		rnd := r.int32()
		for i := range out {
			q := rnd / 26
			out[i] = byte('a' + rnd - q*26)
			rnd = q
		}
	}
	return dst
}

// extraLen draws the length of Nexmark's nextExtra: padding that brings an
// event of size currentSize to desiredAverage on average, uniform within
// ±20%.
func extraLen(r *javaRandom, currentSize, desiredAverage int64) int {
	if currentSize > desiredAverage {
		return 0
	}
	want := desiredAverage - currentSize
	delta := int64(int32(javaRound(float64(want) * 0.2)))
	size := want - delta
	if delta != 0 {
		size += int64(r.intn(int32(2 * delta)))
	}
	return int(size)
}

// sharedPadding is the string the extras of SharedExtra are cut from:
// characters drawn as nextExactString draws them, from a fixed seed.
var sharedPadding = sync.OnceValue(func() string {
	var r javaRandom
	r.reset(channelSeed - 100)
	return string(appendExactString(nil, &r, sharedPaddingLen))
})

const sharedPaddingLen = 16 << 10

// extra returns an event's Extra: Nexmark's nextExtra for an event of size
// currentSize, or with SharedExtra a string of the same length cut from
// sharedPadding at an offset drawn from r.
func (g *Generator) extra(currentSize, desiredAverage int64) string {
	r := &g.rnd
	n := extraLen(r, currentSize, desiredAverage)
	if !g.t.SharedExtra {
		return g.arena.take(appendExactString(g.arena.tail(n), r, n))
	}
	pad := g.pad
	if n > len(pad) {
		n = len(pad) // only for averages of many kilobytes
	}
	off := int(uint32(r.int32()) % uint32(len(pad)-n+1))
	return pad[off : off+n]
}

// appendCreditCard appends four groups of four random digits.
func appendCreditCard(dst []byte, r *javaRandom) []byte {
	for i := range 4 {
		if i > 0 {
			dst = append(dst, ' ')
		}
		v := r.intn(10000)
		dst = append(dst, byte('0'+v/1000), byte('0'+v/100%10), byte('0'+v/10%10), byte('0'+v%10))
	}
	return dst
}

// nextPrice is Nexmark's PriceGenerator: 100 × 10^u for u uniform in
// [0, 6), rounded: prices from 100 to 10^8, log-uniform.
func nextPrice(r *javaRandom) int64 {
	return javaRound(math.Pow(10, r.float64()*6.0) * 100.0)
}

// arena hands out the bytes of generated strings from large blocks, so
// that events cost no allocation of their own. A string is written at the
// end of the current block and then never written again, which makes it
// safe to hand out as an immutable Go string; a block stays alive while any
// string in it does.
type arena struct {
	buf []byte // the current block; len is the part in use
}

// arenaBlock is the size of a block: a few hundred events' strings.
const arenaBlock = 32 << 10

// tail returns the unused end of the current block with room for at least
// n bytes, starting a new block if needed. Append to it (without exceeding
// n) and pass the result to take.
func (a *arena) tail(n int) []byte {
	if cap(a.buf)-len(a.buf) < n {
		a.buf = make([]byte, 0, max(arenaBlock, n))
	}
	return a.buf[len(a.buf):len(a.buf):cap(a.buf)]
}

// take returns the bytes written to a tail as a string and marks them used.
// b must be a tail of a extended in place: its capacity was reserved, so
// appending never moved it.
func (a *arena) take(b []byte) string {
	if len(b) == 0 {
		return ""
	}
	if !a.owns(b) || len(b) > cap(a.buf)-len(a.buf) {
		panic("nexmark: arena.take of bytes that are not the arena's tail")
	}
	a.buf = a.buf[:len(a.buf)+len(b)]
	return unsafe.String(unsafe.SliceData(b), len(b))
}

// owns reports whether b starts at the tail of the current block, that is
// whether it was appended to a tail and not yet taken.
func (a *arena) owns(b []byte) bool {
	return len(b) > 0 && cap(a.buf) > len(a.buf) &&
		unsafe.SliceData(b) == unsafe.SliceData(a.buf[len(a.buf):])
}

// slab hands out values of T from blocks, as arena does bytes: a value is
// handed out once and never reused, and a block stays alive while any of
// its values is referenced.
type slab[T any] struct {
	buf []T
}

// slabBlock is the number of values in a slab's block.
const slabBlock = 64

// next returns a new zero T.
func (s *slab[T]) next() *T {
	if len(s.buf) == cap(s.buf) {
		s.buf = make([]T, 0, slabBlock)
	}
	s.buf = s.buf[:len(s.buf)+1]
	return &s.buf[len(s.buf)-1]
}

// Upper bounds of generated strings, for arena.tail.
const (
	maxEmailLen      = 6 + 1 + 4 + 4
	maxCreditCardLen = 19
	maxItemNameLen   = 19
	maxDescLen       = 99
)

// person fills p with the person whose event has the given id.
func (g *Generator) person(p *Person, id, ts int64) {
	t, r := &g.t, &g.rnd
	p.ID = t.lastPerson(id) + FirstPersonID
	first := r.intn(int32(len(firstNames)))
	last := r.intn(int32(len(lastNames)))
	p.Name = fullNames[int(first)*len(lastNames)+int(last)]

	b := g.arena.tail(maxEmailLen)
	b = appendNextString(b, r, 7, ' ')
	b = append(b, '@')
	b = appendNextString(b, r, 5, ' ')
	b = append(b, ".com"...)
	p.EmailAddress = g.arena.take(b)

	p.CreditCard = g.arena.take(appendCreditCard(g.arena.tail(maxCreditCardLen), r))
	p.City = usCities[r.intn(int32(len(usCities)))]
	p.State = usStates[r.intn(int32(len(usStates)))]
	p.DateTime = ts
	size := 8 + len(p.Name) + len(p.EmailAddress) + len(p.CreditCard) + len(p.City) + len(p.State)
	p.Extra = g.extra(int64(size), t.AvgPersonByteSize)
}

// randomPerson returns the base-0 id of a person active at the event with
// the given id: one of the last NumActivePeople, or up to personIDLead
// ahead of the last (so that a person can appear to act before joining).
func (g *Generator) randomPerson(id int64) int64 {
	people := g.t.lastPerson(id) + 1
	active := min(people, g.t.NumActivePeople)
	return people - active + g.rnd.longn(active+personIDLead)
}

// auction fills a with the auction whose event has the given id.
func (g *Generator) auction(a *Auction, id, ts int64) {
	t, r := &g.t, &g.rnd
	a.ID = t.lastAuction(id) + FirstAuctionID
	if r.intn(int32(t.HotSellersRatio)) > 0 {
		a.Seller = t.lastPerson(id) / hotSellerBatch * hotSellerBatch
	} else {
		a.Seller = g.randomPerson(id)
	}
	a.Seller += FirstPersonID
	a.Category = FirstCategoryID + int64(r.intn(numCategories))
	a.InitialBid = nextPrice(r)
	// Auctions last twice, on average, the time it takes to open
	// NumInFlightAuctions more.
	horizon := t.timestamp(id+t.auctionHorizon) - ts
	a.DateTime = ts
	a.Expires = ts + 1 + r.longn(max(horizon*2, 1))
	a.ItemName = g.arena.take(appendNextString(g.arena.tail(maxItemNameLen), r, 20, ' '))
	a.Description = g.arena.take(appendNextString(g.arena.tail(maxDescLen), r, 100, ' '))
	a.Reserve = a.InitialBid + nextPrice(r)
	size := 8 + len(a.ItemName) + len(a.Description) + 8 + 8 + 8 + 8 + 8
	a.Extra = g.extra(int64(size), t.AvgAuctionByteSize)
}

// bid fills b with the bid whose event has the given id.
func (g *Generator) bid(b *Bid, id, ts int64) {
	t, r := &g.t, &g.rnd
	if r.intn(int32(t.HotAuctionRatio)) > 0 {
		b.Auction = t.lastAuction(id) / hotAuctionBatch * hotAuctionBatch
	} else {
		last := t.lastAuction(id)
		lo := max(last-t.NumInFlightAuctions, 0)
		b.Auction = lo + r.longn(last-lo+1+auctionIDLead)
	}
	b.Auction += FirstAuctionID
	if r.intn(int32(t.HotBiddersRatio)) > 0 {
		// The second person of the batch, so that the hot bidder is not
		// the hot seller.
		b.Bidder = t.lastPerson(id)/hotBidderBatch*hotBidderBatch + 1
	} else {
		b.Bidder = g.randomPerson(id)
	}
	b.Bidder += FirstPersonID
	b.Price = nextPrice(r)
	ch := channels()
	if r.intn(hotChannelsRatio) > 0 {
		i := r.intn(int32(len(hotChannels)))
		b.Channel, b.URL = hotChannels[i], ch.hotURLs[i]
	} else {
		n := r.intn(numChannels)
		b.Channel, b.URL = ch.names[n], ch.urls[n]
	}
	b.DateTime = ts
	b.Extra = g.extra(8+8+8+8, t.AvgBidByteSize)
}
