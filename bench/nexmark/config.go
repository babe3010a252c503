package nexmark

import (
	"errors"
	"fmt"
	"math"
)

// ErrInvalidConfig is returned (wrapped, with the name of the field) by
// GeneratorConfig.Validate and by the constructors of Generator.
var ErrInvalidConfig = errors.New("nexmark: invalid generator config")

// The first ids, as in Nexmark: they start above zero so that queries find
// matches even in small data sets.
const (
	FirstPersonID   = 1000
	FirstAuctionID  = 1000
	FirstCategoryID = 10
)

// DefaultBaseTime is the event time of the first event when
// GeneratorConfig.BaseTime is zero: 2015-07-15T00:00:00Z in ms, Beam's
// Nexmark base time, fixed so that every run sees the same events.
const DefaultBaseTime int64 = 1436918400000

// GeneratorConfig says what a Generator produces. The zero value of a field
// means its default, given in its comment; EnsureDefaults fills them in and
// Validate checks the result. The defaults are those of the Nexmark suite.
type GeneratorConfig struct {
	// Events is the number of events of the whole stream, shared out over
	// the parallel generators, at most 2^53. Default 0: unbounded (in
	// practice, as in Nexmark, capped at math.MaxInt64 / (proportion total ×
	// the largest average size), about 3.7e14 events with the defaults).
	Events int64

	// EventsPerSecond is the event-time rate of the whole stream, Nexmark's
	// firstEventRate: consecutive events are 1e6/EventsPerSecond µs apart
	// (the interEventDelayUs) in event time. Default 10,000. It says nothing
	// about how fast a Generator runs in wall-clock time.
	EventsPerSecond float64

	// OutOfOrderGroupSize: each run of this many consecutive events is
	// emitted in a pseudo-random order (Nexmark's outOfOrderGroupSize). 1,
	// the default, emits in event-time order. A multiple of 953 is rejected
	// (see the package documentation).
	OutOfOrderGroupSize int64

	// BaseTime is the event time of event 0, in ms since the Unix epoch.
	// Default DefaultBaseTime.
	BaseTime int64

	// Seed varies the random content of the events. Default 0: the event
	// with id n draws from java.util.Random seeded with n, as in Beam.
	Seed int64

	// PersonProportion, AuctionProportion and BidProportion: of every
	// PersonProportion+AuctionProportion+BidProportion consecutive events,
	// the first PersonProportion are persons, the next AuctionProportion
	// auctions, the rest bids. Defaults 1, 3 and 46.
	PersonProportion  int64
	AuctionProportion int64
	BidProportion     int64

	// AvgPersonByteSize, AvgAuctionByteSize and AvgBidByteSize are the
	// average sizes Nexmark pads its events to with their Extra field, in
	// Nexmark's accounting (see the package documentation). Defaults 200,
	// 500 and 100.
	AvgPersonByteSize  int64
	AvgAuctionByteSize int64
	AvgBidByteSize     int64

	// HotAuctionRatio: a bid goes to the current hot auction with
	// probability 1 - 1/HotAuctionRatio. Default 2.
	HotAuctionRatio int64
	// HotSellersRatio: an auction is opened by the current hot seller with
	// probability 1 - 1/HotSellersRatio. Default 4.
	HotSellersRatio int64
	// HotBiddersRatio: a bid is made by the current hot bidder with
	// probability 1 - 1/HotBiddersRatio. Default 4.
	HotBiddersRatio int64

	// NumInFlightAuctions is the number of recent auctions a bid that is
	// not for the hot auction picks from, and sets the average auction
	// length. Default 100.
	NumInFlightAuctions int64
	// NumActivePeople is the number of recent people a seller or bidder
	// that is not hot is picked from. Default 1000.
	NumActivePeople int64

	// SharedExtra cuts the Extra padding of every event from one fixed
	// random string instead of drawing its characters: the same lengths
	// and character distribution, but not Nexmark's characters, and no
	// memory of its own (a generated event then allocates only its few
	// short random strings). Default false: Nexmark's padding.
	SharedExtra bool
}

// DefaultConfig returns the Nexmark defaults, unbounded.
func DefaultConfig() GeneratorConfig {
	var c GeneratorConfig
	c.EnsureDefaults()
	return c
}

// EnsureDefaults sets every zero field of c to its default.
func (c *GeneratorConfig) EnsureDefaults() {
	setDefault(&c.EventsPerSecond, 10_000)
	setDefault(&c.OutOfOrderGroupSize, 1)
	setDefault(&c.BaseTime, DefaultBaseTime)
	setDefault(&c.PersonProportion, 1)
	setDefault(&c.AuctionProportion, 3)
	setDefault(&c.BidProportion, 46)
	setDefault(&c.AvgPersonByteSize, 200)
	setDefault(&c.AvgAuctionByteSize, 500)
	setDefault(&c.AvgBidByteSize, 100)
	setDefault(&c.HotAuctionRatio, 2)
	setDefault(&c.HotSellersRatio, 4)
	setDefault(&c.HotBiddersRatio, 4)
	setDefault(&c.NumInFlightAuctions, 100)
	setDefault(&c.NumActivePeople, 1000)
}

func setDefault[T int64 | float64](p *T, v T) {
	if *p == 0 {
		*p = v
	}
}

// Validate reports the first field of c (after defaults) that is out of
// range, as an error wrapping ErrInvalidConfig.
func (c GeneratorConfig) Validate() error {
	c.EnsureDefaults()
	bad := func(field string, v any, want string) error {
		return fmt.Errorf("%w: %s is %v, want %s", ErrInvalidConfig, field, v, want)
	}
	const maxInt32 = math.MaxInt32
	switch {
	case c.Events < 0 || c.Events > maxEvents:
		return bad("Events", c.Events, fmt.Sprintf("in [0, %d]", int64(maxEvents)))
	case c.BaseTime < -1<<62 || c.BaseTime > 1<<61:
		return bad("BaseTime", c.BaseTime, "in [-2^62, 2^61]")
	case !(c.EventsPerSecond > 0) || math.IsInf(c.EventsPerSecond, 0):
		return bad("EventsPerSecond", c.EventsPerSecond, "a finite number > 0")
	case c.OutOfOrderGroupSize < 1:
		return bad("OutOfOrderGroupSize", c.OutOfOrderGroupSize, ">= 1")
	case c.OutOfOrderGroupSize%outOfOrderStride == 0:
		return bad("OutOfOrderGroupSize", c.OutOfOrderGroupSize, "not a multiple of 953 (it would repeat events)")
	}
	positive := []struct {
		name string
		v    int64
	}{
		{"PersonProportion", c.PersonProportion},
		{"AuctionProportion", c.AuctionProportion},
		{"BidProportion", c.BidProportion},
		{"AvgPersonByteSize", c.AvgPersonByteSize},
		{"AvgAuctionByteSize", c.AvgAuctionByteSize},
		{"AvgBidByteSize", c.AvgBidByteSize},
		{"HotAuctionRatio", c.HotAuctionRatio},
		{"HotSellersRatio", c.HotSellersRatio},
		{"HotBiddersRatio", c.HotBiddersRatio},
		{"NumInFlightAuctions", c.NumInFlightAuctions},
		{"NumActivePeople", c.NumActivePeople},
	}
	for _, f := range positive {
		// Every one of these reaches java.util.Random.nextInt or a string
		// length, which are 32-bit.
		if f.v < 1 || f.v > maxInt32/8 {
			return bad(f.name, f.v, fmt.Sprintf("in [1, %d]", maxInt32/8))
		}
	}
	if c.PersonProportion+c.AuctionProportion+c.BidProportion > maxInt32/8 {
		return bad("PersonProportion+AuctionProportion+BidProportion", c.PersonProportion+c.AuctionProportion+c.BidProportion, fmt.Sprintf("<= %d", maxInt32/8))
	}
	return nil
}

// maxEvents bounds GeneratorConfig.Events, so that the arithmetic on event
// numbers cannot overflow.
const maxEvents = 1 << 53

// outOfOrderStride is Nexmark's multiplier for shuffling an out-of-order
// group: event n of a group goes to offset (n*953) mod size.
const outOfOrderStride = 953

// timeline is the arithmetic of a validated config that maps event numbers
// to event ids, kinds and timestamps. Event numbers count the events of the
// whole stream in emission order from 0.
type timeline struct {
	GeneratorConfig
	total     int64   // proportion total: the cycle of event kinds
	delayUs   float64 // interEventDelayUs
	maxEvents int64   // the number of events, Events or the unbounded cap
	// auctionHorizon is the number of events over which NumInFlightAuctions
	// auctions are opened.
	auctionHorizon int64
}

func newTimeline(cfg GeneratorConfig) (timeline, error) {
	cfg.EnsureDefaults()
	if err := cfg.Validate(); err != nil {
		return timeline{}, err
	}
	t := timeline{GeneratorConfig: cfg}
	t.total = cfg.PersonProportion + cfg.AuctionProportion + cfg.BidProportion
	t.delayUs = 1e6 / cfg.EventsPerSecond
	t.maxEvents = cfg.Events
	if t.maxEvents == 0 {
		t.maxEvents = math.MaxInt64 / (t.total * max(cfg.AvgPersonByteSize, cfg.AvgAuctionByteSize, cfg.AvgBidByteSize))
	}
	t.auctionHorizon = cfg.NumInFlightAuctions * t.total / cfg.AuctionProportion
	// Keep every timestamp the generator computes (up to an auction's
	// horizon beyond the last event), and its product in µs, far from
	// overflow.
	const limit = 1 << 62
	if lastUs := float64(t.maxEvents+t.auctionHorizon) * t.delayUs; lastUs >= limit/2 {
		if cfg.Events != 0 {
			return timeline{}, fmt.Errorf("%w: the times of %d events at %g per second overflow", ErrInvalidConfig, t.maxEvents, cfg.EventsPerSecond)
		}
		t.maxEvents = int64(limit/2/t.delayUs) - t.auctionHorizon
	}
	return t, nil
}

// eventID returns the id of the event emitted as event number n: n itself,
// or a shuffle of n within its out-of-order group (Nexmark's "adjusted
// event number"). The id decides the event's kind, ids, random content and
// timestamp.
func (t *timeline) eventID(n int64) int64 {
	g := t.OutOfOrderGroupSize
	if g == 1 {
		return n
	}
	return n/g*g + (n*outOfOrderStride)%g
}

// watermarkID returns an id no greater than the id of event number n or of
// any later event.
func (t *timeline) watermarkID(n int64) int64 {
	g := t.OutOfOrderGroupSize
	return n / g * g
}

// timestamp returns the event time of the event with the given id (or
// event number): BaseTime plus id × interEventDelayUs, in ms, truncated as
// Nexmark does.
func (t *timeline) timestamp(id int64) int64 {
	return t.BaseTime + int64(float64(id)*t.delayUs)/1000
}

// kind returns the kind of the event with the given id.
func (t *timeline) kind(id int64) Kind {
	switch rem := id % t.total; {
	case rem < t.PersonProportion:
		return KindPerson
	case rem < t.PersonProportion+t.AuctionProportion:
		return KindAuction
	default:
		return KindBid
	}
}

// lastPerson returns the base-0 id of the last person created up to the
// event with the given id: that event's own person if it is one.
func (t *timeline) lastPerson(id int64) int64 {
	epoch, off := id/t.total, id%t.total
	if off >= t.PersonProportion {
		off = t.PersonProportion - 1
	}
	return epoch*t.PersonProportion + off
}

// lastAuction returns the base-0 id of the last auction opened up to the
// event with the given id: that event's own auction if it is one. It is -1
// before the first auction.
func (t *timeline) lastAuction(id int64) int64 {
	epoch, off := id/t.total, id%t.total
	switch {
	case off < t.PersonProportion:
		epoch--
		off = t.AuctionProportion - 1
	case off >= t.PersonProportion+t.AuctionProportion:
		off = t.AuctionProportion - 1
	default:
		off -= t.PersonProportion
	}
	return epoch*t.AuctionProportion + off
}
