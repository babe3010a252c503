package nexmark

import (
	"context"
	"fmt"
	"math"
	"strings"
	"time"

	"github.com/runnel-io/runnel/state"
	"github.com/runnel-io/runnel/stream"
)

func init() {
	register(Query{
		Name:      "q9",
		Summary:   "winning bids: the highest bid of each auction while it was open",
		Build:     buildQ9,
		Reference: refQ9,
	})
}

// q9Row is a result of q9: an auction and its winning bid.
type q9Row struct {
	ID          int64  `json:"id"`
	ItemName    string `json:"itemName"`
	Description string `json:"description"`
	InitialBid  int64  `json:"initialBid"`
	Reserve     int64  `json:"reserve"`
	DateTime    int64  `json:"dateTime"`
	Expires     int64  `json:"expires"`
	Seller      int64  `json:"seller"`
	Category    int64  `json:"category"`
	Extra       string `json:"extra"`
	Auction     int64  `json:"auction"`
	Bidder      int64  `json:"bidder"`
	Price       int64  `json:"price"`
	BidDateTime int64  `json:"bid_dateTime"`
	BidExtra    string `json:"bid_extra"`
}

// q9Bid is what q9 reads of a bid.
type q9Bid struct {
	Auction, Bidder, Price, DateTime int64
	Extra                            string
}

func q9Result(a Auction, b q9Bid) q9Row {
	return q9Row{
		ID: a.ID, ItemName: a.ItemName, Description: a.Description, InitialBid: a.InitialBid,
		Reserve: a.Reserve, DateTime: a.DateTime, Expires: a.Expires, Seller: a.Seller,
		Category: a.Category, Extra: a.Extra,
		Auction: a.ID, Bidder: b.Bidder, Price: b.Price, BidDateTime: b.DateTime, BidExtra: b.Extra,
	}
}

// q9Beats reports whether bid b ranks before c: ORDER BY price DESC,
// dateTime ASC, and then, where the SQL leaves the choice to the engine's
// order of arrival (which differs between runs and parallelisms), bidder
// ASC and extra ASC, the other columns of the result.
func q9Beats(b, c q9Bid) bool {
	switch {
	case b.Price != c.Price:
		return b.Price > c.Price
	case b.DateTime != c.DateTime:
		return b.DateTime < c.DateTime
	case b.Bidder != c.Bidder:
		return b.Bidder < c.Bidder
	}
	return strings.Compare(b.Extra, c.Extra) < 0
}

// buildQ9 is query 9 of the nexmark/nexmark suite (not in the original
// Nexmark), the winning bid of every auction:
//
//	INSERT INTO nexmark_q9
//	SELECT
//	    id, itemName, description, initialBid, reserve, `dateTime`, expires, seller, category, extra,
//	    auction, bidder, price, bid_dateTime, bid_extra
//	FROM (
//	   SELECT A.*, B.auction, B.bidder, B.price, B.`dateTime` AS bid_dateTime, B.extra AS bid_extra,
//	     ROW_NUMBER() OVER (PARTITION BY A.id ORDER BY B.price DESC, B.`dateTime` ASC) AS rownum
//	   FROM auction A, bid B
//	   WHERE A.id = B.auction AND B.`dateTime` BETWEEN A.`dateTime` AND A.expires
//	)
//	WHERE rownum <= 1;
//
// Flink runs this as a regular join feeding a Top-1 that retracts and
// replaces its row whenever a better bid comes. Here each auction's result
// is emitted once, final, when its auction expires: an event-time timer at
// expires fires when the watermark says that no bid of time <= expires is
// still to come, so no later bid can be in the auction's range (see
// auctionWinner, which also explains the state clean-up this allows). The
// rows are those of the SQL query at the end of the input, except that ties
// of price and dateTime, which ROW_NUMBER breaks by arrival order, go to the
// lower bidder (see q9Beats). An auction without a bid in its range has no
// row, as in the inner join.
func buildQ9(events stream.DataStream[Event], sink *Sink) {
	auctions, bids := q9Inputs(events)
	Emit(q9Winner.build(auctions, bids), sink)
}

// q9Inputs projects the events to the auctions and the bids of q9.
func q9Inputs(events stream.DataStream[Event]) (stream.DataStream[Auction], stream.DataStream[q9Bid]) {
	auctions := stream.FlatMap(events, func(e Event, out stream.Collector[Auction]) error {
		if e.Kind == KindAuction {
			out.Collect(*e.auction())
		}
		return nil
	}).Name("q9 Auctions")
	bids := stream.FlatMap(events, func(e Event, out stream.Collector[q9Bid]) error {
		if e.Kind == KindBid {
			b := &e.Bid
			out.Collect(q9Bid{Auction: b.Auction, Bidder: b.Bidder, Price: b.Price, DateTime: b.DateTime, Extra: b.Extra})
		}
		return nil
	}).Name("q9 Bids")
	return auctions, bids
}

// q9Winner is q9's winning bid: the whole auction and the bid's columns,
// ranked by q9Beats.
var q9Winner = auctionWinner[Auction, q9Bid, q9Row]{
	query:   "q9",
	auction: func(a Auction) (int64, int64, int64) { return a.ID, a.DateTime, a.Expires },
	bid:     func(b q9Bid) (int64, int64) { return b.Auction, b.DateTime },
	beats:   q9Beats,
	result:  q9Result,
}

// refQ9 is q9 as a loop over the auctions, each scanning its bids.
func refQ9(events []Event) []string {
	bidsOf := map[int64][]q9Bid{}
	for _, e := range events {
		if e.Kind == KindBid {
			b := e.Bid
			bidsOf[b.Auction] = append(bidsOf[b.Auction], q9Bid{Auction: b.Auction, Bidder: b.Bidder, Price: b.Price, DateTime: b.DateTime, Extra: b.Extra})
		}
	}
	var rows []q9Row
	for _, e := range events {
		if e.Kind != KindAuction {
			continue
		}
		a := *e.auction()
		var best q9Bid
		found := false
		for _, b := range bidsOf[a.ID] {
			if b.DateTime >= a.DateTime && b.DateTime <= a.Expires && (!found || q9Beats(b, best)) {
				best, found = b, true
			}
		}
		if found {
			rows = append(rows, q9Result(a, best))
		}
	}
	return jsonLines(rows)
}

// auctionWinner finds the winning bid of each auction: of the bids with the
// auction's id and a dateTime in [auction dateTime, auction expires], the
// first by beats. It is the keyed core of q9 and q4; A is what a query reads
// of an auction and B of a bid, and the functions read their columns.
//
// Keyed by auction id, it keeps per auction:
//
//   - From the auction's arrival to its expiry: the auction and the best bid
//     so far. A bid out of the auction's range is dropped at once. At the
//     expiry, an event-time timer emits result(auction, best bid), if there
//     was a bid in range, and the entry shrinks to a marker that the
//     auction is closed.
//   - The closed marker until closedRetention after the expiry, so that the
//     bids that keep coming for a closed auction (Nexmark's bidders pick
//     among the last hundred auctions, open or not) are dropped at once.
//   - Bids that come before their auction ("early" bids: the join's two
//     inputs reach it in no fixed order, and Nexmark bids for up to ten
//     auctions ahead), until the auction comes or the watermark passes
//     their dateTime.
//
// Results are final and state can be dropped because of what a watermark
// w promises: no record of time <= w is still to come. Once w >= expires,
// no bid of the auction's range is; once w >= an early bid's dateTime t,
// no auction of dateTime <= t is, and only such an auction could take the
// bid. A bid that comes after the closed marker is gone is taken for early
// and dropped when the watermark passes it: the same result, later. The
// argument needs the input not to be late (behind the watermark), which
// holds for Nexmark's generated stream: every source share is in event-time
// order and its watermark lags WatermarkDelay behind. Auction ids must be
// unique, as Nexmark's are; a second auction with an id whose entry still
// exists fails the job.
type auctionWinner[A, B, Out any] struct {
	query   string
	auction func(A) (id, opens, expires int64)
	bid     func(B) (auction, dateTime int64)
	beats   func(b, than B) bool
	result  func(A, B) Out
}

// closedRetention is how long in event time auctionWinner keeps the marker
// of a closed auction.
const closedRetention = WatermarkDelay

// build adds the winner operator over auctions and bids.
func (w auctionWinner[A, B, Out]) build(auctions stream.DataStream[A], bids stream.DataStream[B]) stream.DataStream[Out] {
	return stream.KeyedCoProcessEach(
		stream.ConnectKeyed(
			stream.KeyBy(auctions, func(a A) int64 { id, _, _ := w.auction(a); return id }),
			stream.KeyBy(bids, func(b B) int64 { id, _ := w.bid(b); return id })),
		func() stream.KeyedCoProcessFunction[int64, A, B, Out] {
			return &winnerFunc[A, B, Out]{auctionWinner: w}
		}).Name(w.query + " Winning Bids")
}

// winnerSlot is auctionWinner's entry of an auction that came: the auction
// and its best bid while it is open, only Expires and Closed after.
type winnerSlot[A, B any] struct {
	Auction        A
	Best           B
	Opens, Expires int64
	HasBest        bool
	Closed         bool
}

// takes reports whether a bid of time t is in the auction's range:
// BETWEEN dateTime AND expires, both included.
func (s *winnerSlot[A, B]) takes(t int64) bool { return t >= s.Opens && t <= s.Expires }

// winnerFunc is auctionWinner's function of one subtask.
type winnerFunc[A, B, Out any] struct {
	auctionWinner[A, B, Out]
	slot  state.ValueState[winnerSlot[A, B]]
	early state.ListState[B]
	kept  []B // scratch of OnTimer
}

func (f *winnerFunc[A, B, Out]) Open(_ context.Context, rc *stream.KeyedRuntimeContext[int64]) (err error) {
	if f.slot, err = stream.GetValueState(rc, state.Value[winnerSlot[A, B]]("auction")); err != nil {
		return err
	}
	f.early, err = stream.GetListState(rc, state.List[B]("early-bids"))
	return err
}

// ProcessElement1 takes an auction, with the early bids that waited for it.
func (f *winnerFunc[A, B, Out]) ProcessElement1(ctx *stream.KeyedContext[int64], a A, _ stream.Collector[Out]) error {
	if _, seen, err := f.slot.Value(); err != nil || seen {
		if seen {
			err = fmt.Errorf("nexmark: %s: a second auction with id %d", f.query, ctx.CurrentKey())
		}
		return err
	}
	_, opens, expires := f.auction(a)
	s := winnerSlot[A, B]{Auction: a, Opens: opens, Expires: expires}
	early, err := f.early.Get()
	if err != nil {
		return err
	}
	for _, b := range early {
		if _, t := f.bid(b); s.takes(t) && (!s.HasBest || f.beats(b, s.Best)) {
			s.Best, s.HasBest = b, true
		}
	}
	if len(early) > 0 {
		if err := f.early.Clear(); err != nil {
			return err
		}
	}
	ctx.TimerService().RegisterEventTimeTimer(expires)
	return f.slot.Update(s)
}

// ProcessElement2 takes a bid: a candidate of an open auction, nothing for
// a closed one, an early bid if its auction has not come.
func (f *winnerFunc[A, B, Out]) ProcessElement2(ctx *stream.KeyedContext[int64], b B, _ stream.Collector[Out]) error {
	s, ok, err := f.slot.Value()
	if err != nil {
		return err
	}
	_, t := f.bid(b)
	switch {
	case !ok:
		ctx.TimerService().RegisterEventTimeTimer(t)
		return f.early.Add(b)
	case s.Closed || !s.takes(t):
		return nil
	case s.HasBest && !f.beats(b, s.Best):
		return nil
	}
	s.Best, s.HasBest = b, true
	return f.slot.Update(s)
}

// OnTimer closes an expired auction, drops the marker of a closed one, or
// drops the early bids that the watermark has passed, whichever is due:
// timers are told apart by the state, not by their time.
func (f *winnerFunc[A, B, Out]) OnTimer(ctx *stream.TimerContext[int64], t int64, out stream.Collector[Out]) error {
	s, ok, err := f.slot.Value()
	if err != nil {
		return err
	}
	if ok {
		end := addMillis(s.Expires, closedRetention)
		switch {
		case !s.Closed && t >= s.Expires:
			if s.HasBest {
				out.Collect(f.result(s.Auction, s.Best))
			}
			ctx.TimerService().RegisterEventTimeTimer(end)
			return f.slot.Update(winnerSlot[A, B]{Expires: s.Expires, Closed: true})
		case s.Closed && t >= end:
			return f.slot.Clear()
		}
		return nil
	}
	early, err := f.early.Get()
	if err != nil {
		return err
	}
	f.kept = f.kept[:0]
	for _, b := range early {
		if _, bt := f.bid(b); bt > t {
			f.kept = append(f.kept, b)
		}
	}
	if len(f.kept) == len(early) {
		return nil
	}
	if len(f.kept) == 0 {
		return f.early.Clear()
	}
	err = f.early.Update(f.kept)
	clear(f.kept)
	return err
}

// addMillis returns t + d in milliseconds, saturating at math.MaxInt64.
func addMillis(t int64, d time.Duration) int64 {
	ms := d.Milliseconds()
	if t > math.MaxInt64-ms {
		return math.MaxInt64
	}
	return t + ms
}
