package nexmark

import (
	"context"
	"math"

	"github.com/runnel-io/runnel/state"
	"github.com/runnel-io/runnel/stream"
)

func init() {
	register(Query{
		Name:      "q18",
		Summary:   "find last bid: the latest bid of each bidder on each auction",
		Build:     buildQ18,
		Reference: refQ18,
	})
}

// q18Row is a result of q18: a bid.
type q18Row struct {
	Auction  int64  `json:"auction"`
	Bidder   int64  `json:"bidder"`
	Price    int64  `json:"price"`
	Channel  string `json:"channel"`
	URL      string `json:"url"`
	DateTime int64  `json:"dateTime"`
	Extra    string `json:"extra"`
}

func q18Result(b Bid) q18Row { return q18Row(b) }

// q18Key is the partition of q18: a bidder on an auction.
type q18Key struct {
	Bidder, Auction int64
}

// q18Later reports whether bid b replaces c as the last: its dateTime is
// later, or the same and b ranks first by compareBidRank. (Flink keeps the
// later arrival of equal times, which depends on the parallelism.)
func q18Later(b, c Bid) bool {
	if b.DateTime != c.DateTime {
		return b.DateTime > c.DateTime
	}
	return compareBidRank(b, c) < 0
}

// buildQ18 is query 18 of the nexmark/nexmark suite (not in the original
// Nexmark), a deduplication keeping the last bid of each bidder on each
// auction:
//
//	INSERT INTO nexmark_q18
//	SELECT auction, bidder, price, channel, url, dateTime, extra
//	 FROM (SELECT *, ROW_NUMBER() OVER (PARTITION BY bidder, auction ORDER BY dateTime DESC) AS rank_number
//	       FROM bid)
//	 WHERE rank_number <= 1;
//
// Keyed by (bidder, auction), each key keeps its last bid so far (q18Later,
// which breaks ties of dateTime). Flink's rowtime deduplication emits an
// update whenever the last bid changes; here each key's row is emitted
// once, at the end of the input (an event-time timer at math.MaxInt64):
// the final rows, the state the SQL query's changelog reaches at the end.
func buildQ18(events stream.DataStream[Event], sink *Sink) {
	bids := stream.FlatMap(events, func(e Event, out stream.Collector[Bid]) error {
		if e.Kind == KindBid {
			out.Collect(e.Bid)
		}
		return nil
	}).Name("q18 Bids")
	rows := stream.KeyedProcessEach(
		stream.KeyBy(bids, func(b Bid) q18Key { return q18Key{Bidder: b.Bidder, Auction: b.Auction} }),
		func() stream.KeyedProcessFunction[q18Key, Bid, q18Row] { return &q18Last{} }).Name("q18 Last Bid")
	Emit(rows, sink)
}

// q18Last keeps the last bid of each key.
type q18Last struct {
	last state.ValueState[Bid]
}

func (f *q18Last) Open(_ context.Context, rc *stream.KeyedRuntimeContext[q18Key]) (err error) {
	f.last, err = stream.GetValueState(rc, state.Value[Bid]("last"))
	return err
}

func (f *q18Last) ProcessElement(ctx *stream.KeyedContext[q18Key], b Bid, _ stream.Collector[q18Row]) error {
	last, ok, err := f.last.Value()
	switch {
	case err != nil:
		return err
	case !ok:
		ctx.TimerService().RegisterEventTimeTimer(math.MaxInt64)
	case !q18Later(b, last):
		return nil
	}
	return f.last.Update(b)
}

func (f *q18Last) OnTimer(_ *stream.TimerContext[q18Key], _ int64, out stream.Collector[q18Row]) error {
	last, ok, err := f.last.Value()
	if err != nil || !ok {
		return err
	}
	out.Collect(q18Result(last))
	return f.last.Clear()
}

// refQ18 is q18 as a loop over the bids keeping the last per key in a map.
func refQ18(events []Event) []string {
	last := map[q18Key]Bid{}
	for _, e := range events {
		if e.Kind != KindBid {
			continue
		}
		k := q18Key{Bidder: e.Bid.Bidder, Auction: e.Bid.Auction}
		if l, ok := last[k]; !ok || q18Later(e.Bid, l) {
			last[k] = e.Bid
		}
	}
	var rows []q18Row
	for _, b := range last {
		rows = append(rows, q18Result(b))
	}
	return jsonLines(rows)
}
