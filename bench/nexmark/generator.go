package nexmark

import (
	"errors"
	"fmt"
	"math"
)

// ErrInvalidPosition is returned (wrapped) by Generator.Restore for a
// position the generator does not have.
var ErrInvalidPosition = errors.New("nexmark: invalid generator position")

// Generator produces one share of the Nexmark event stream described by a
// GeneratorConfig: split index of count, the stream's event numbers n with
// n mod count == index, in increasing order. The event with number n is a
// pure function of the config and n, so the shares of any count of
// generators are disjoint and together make up the stream of one, with
// identical events, and each share advances through event time at the
// pace of the whole stream.
//
// A Generator is not safe for concurrent use; distinct generators are
// independent. Its state is its Position, which Restore sets back.
type Generator struct {
	t      timeline
	index  int64 // this share's first event number
	stride int64 // the number of shares
	pos    int64 // events emitted by this share
	limit  int64 // events in this share
	rnd    javaRandom
	arena  arena // strings
	// persons and auctions hold the entities of Event.Person and
	// Event.Auction.
	persons  slab[Person]
	auctions slab[Auction]
	pad      string // sharedPadding, with SharedExtra
}

// NewGenerator returns the generator of share index of count (0 <= index <
// count) of the stream cfg describes, at position 0. Its error wraps
// ErrInvalidConfig for an invalid cfg.
func NewGenerator(cfg GeneratorConfig, index, count int) (*Generator, error) {
	if count < 1 || index < 0 || index >= count {
		return nil, fmt.Errorf("%w: share %d of %d, want 0 <= index < count", ErrInvalidConfig, index, count)
	}
	t, err := newTimeline(cfg)
	if err != nil {
		return nil, err
	}
	g := &Generator{t: t, index: int64(index), stride: int64(count)}
	if t.SharedExtra {
		g.pad = sharedPadding()
	}
	if g.index < t.maxEvents {
		g.limit = (t.maxEvents-g.index-1)/g.stride + 1
	}
	return g, nil
}

// Split returns the n generators of the shares of the stream cfg
// describes, in order of index: the stream of NewGenerator(cfg, 0, 1)
// divided n ways.
func Split(cfg GeneratorConfig, n int) ([]*Generator, error) {
	if n < 1 {
		return nil, fmt.Errorf("%w: split into %d, want >= 1", ErrInvalidConfig, n)
	}
	gens := make([]*Generator, n)
	for i := range gens {
		g, err := NewGenerator(cfg, i, n)
		if err != nil {
			return nil, err
		}
		gens[i] = g
	}
	return gens, nil
}

// Config returns the generator's config with its defaults filled in.
func (g *Generator) Config() GeneratorConfig { return g.t.GeneratorConfig }

// Next returns the next event of the share and true, or false when the
// share is exhausted. The event's time is EventTimestamp(e). It allocates
// nothing but, every few hundred events, a block for their strings or
// entities.
func (g *Generator) Next() (e Event, ok bool) {
	if g.pos >= g.limit {
		return Event{}, false
	}
	n := g.index + g.pos*g.stride
	g.pos++
	id := g.t.eventID(n)
	ts := g.t.timestamp(id)
	g.rnd.reset(seedFor(id, g.t.Seed))
	switch e.Kind = g.t.kind(id); e.Kind {
	case KindPerson:
		e.Person = g.persons.next()
		g.person(e.Person, id, ts)
	case KindAuction:
		e.Auction = g.auctions.next()
		g.auction(e.Auction, id, ts)
	default:
		g.bid(&e.Bid, id, ts)
	}
	return e, true
}

// Position returns the number of events the generator has returned since
// position 0: the checkpoint of a source built on it.
func (g *Generator) Position() int64 { return g.pos }

// Restore moves the generator to pos (0 <= pos <= the share's length), from
// which Next returns the same events as it did, or would have, after pos
// events. Its error wraps ErrInvalidPosition.
func (g *Generator) Restore(pos int64) error {
	if pos < 0 || pos > g.limit {
		return fmt.Errorf("%w: %d, want 0 <= pos <= %d", ErrInvalidPosition, pos, g.limit)
	}
	g.pos = pos
	return nil
}

// Remaining returns the number of events left in the share.
func (g *Generator) Remaining() int64 { return g.limit - g.pos }

// Watermark returns a lower bound of the event time of every event the
// share has yet to return, or math.MaxInt64 when it is exhausted. With
// OutOfOrderGroupSize 1 it is the timestamp of the next event.
func (g *Generator) Watermark() int64 {
	if g.pos >= g.limit {
		return math.MaxInt64
	}
	return g.t.timestamp(g.t.watermarkID(g.index + g.pos*g.stride))
}
