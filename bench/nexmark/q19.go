package nexmark

import (
	"cmp"
	"context"
	"math"
	"slices"

	"github.com/runnel-io/runnel/state"
	"github.com/runnel-io/runnel/stream"
)

func init() {
	register(Query{
		Name:      "q19",
		Summary:   "auction top-10 price: the ten highest bids of each auction",
		Build:     buildQ19,
		Reference: refQ19,
	})
}

// q19Top is the number of bids q19 ranks per auction.
const q19Top = 10

// q19Row is a result of q19: a bid and its rank in its auction, from 1.
type q19Row struct {
	Auction    int64  `json:"auction"`
	Bidder     int64  `json:"bidder"`
	Price      int64  `json:"price"`
	Channel    string `json:"channel"`
	URL        string `json:"url"`
	DateTime   int64  `json:"dateTime"`
	Extra      string `json:"extra"`
	RankNumber int64  `json:"rank_number"`
}

func q19Result(b Bid, rank int) q19Row {
	return q19Row{
		Auction: b.Auction, Bidder: b.Bidder, Price: b.Price, Channel: b.Channel, URL: b.URL,
		DateTime: b.DateTime, Extra: b.Extra, RankNumber: int64(rank),
	}
}

// compareBidRank orders bids by price, highest first, and breaks ties, which
// the SQL queries that rank bids leave to the order of arrival (different
// between runs and parallelisms), by the other columns: dateTime, earliest
// first, then auction, bidder, channel, url and extra, ascending. It is a
// total order on distinct bids, so the queries that use it have one result.
func compareBidRank(a, b Bid) int {
	if c := cmp.Compare(b.Price, a.Price); c != 0 {
		return c
	}
	if c := cmp.Compare(a.DateTime, b.DateTime); c != 0 {
		return c
	}
	if c := cmp.Compare(a.Auction, b.Auction); c != 0 {
		return c
	}
	if c := cmp.Compare(a.Bidder, b.Bidder); c != 0 {
		return c
	}
	if c := cmp.Compare(a.Channel, b.Channel); c != 0 {
		return c
	}
	if c := cmp.Compare(a.URL, b.URL); c != 0 {
		return c
	}
	return cmp.Compare(a.Extra, b.Extra)
}

// buildQ19 is query 19 of the nexmark/nexmark suite (not in the original
// Nexmark), the top 10 bids of each auction by price:
//
//	INSERT INTO nexmark_q19
//	SELECT * FROM
//	(SELECT *, ROW_NUMBER() OVER (PARTITION BY auction ORDER BY price DESC) AS rank_number FROM bid)
//	WHERE rank_number <= 10;
//
// Keyed by auction, each auction keeps its top 10 so far, in rank order
// (compareBidRank, which breaks the ties of price that ROW_NUMBER leaves to
// the order of arrival). Flink's Top-N emits every change of the ranking,
// retracting the rows it displaces; here the rows are emitted once, at the
// end of the input (an event-time timer at math.MaxInt64): the final
// ranking, the state the SQL query's changelog reaches at the end. A bid
// that does not enter the top 10 costs a read of the list and nothing else.
func buildQ19(events stream.DataStream[Event], sink *Sink) {
	bids := stream.FlatMap(events, func(e Event, out stream.Collector[Bid]) error {
		if e.Kind == KindBid {
			out.Collect(e.Bid)
		}
		return nil
	}).Name("q19 Bids")
	rows := stream.KeyedProcessEach(
		stream.KeyBy(bids, func(b Bid) int64 { return b.Auction }),
		func() stream.KeyedProcessFunction[int64, Bid, q19Row] { return &q19TopN{} }).Name("q19 Top 10")
	Emit(rows, sink)
}

// q19TopN keeps the top bids of each auction.
type q19TopN struct {
	top     state.ListState[Bid] // in rank order, at most q19Top
	scratch []Bid
}

func (f *q19TopN) Open(_ context.Context, rc *stream.KeyedRuntimeContext[int64]) (err error) {
	f.top, err = stream.GetListState(rc, state.List[Bid]("top"))
	return err
}

func (f *q19TopN) ProcessElement(ctx *stream.KeyedContext[int64], b Bid, _ stream.Collector[q19Row]) error {
	top, err := f.top.Get()
	if err != nil {
		return err
	}
	if len(top) == q19Top && compareBidRank(b, top[len(top)-1]) >= 0 {
		return nil
	}
	if len(top) == 0 {
		ctx.TimerService().RegisterEventTimeTimer(math.MaxInt64)
	}
	i, _ := slices.BinarySearchFunc(top, b, compareBidRank)
	f.scratch = append(f.scratch[:0], top[:i]...)
	f.scratch = append(f.scratch, b)
	f.scratch = append(f.scratch, top[i:min(len(top), q19Top-1)]...)
	err = f.top.Update(f.scratch)
	clear(f.scratch)
	return err
}

func (f *q19TopN) OnTimer(_ *stream.TimerContext[int64], _ int64, out stream.Collector[q19Row]) error {
	top, err := f.top.Get()
	if err != nil {
		return err
	}
	for i, b := range top {
		out.Collect(q19Result(b, i+1))
	}
	return f.top.Clear()
}

// refQ19 is q19 as a sort of each auction's bids.
func refQ19(events []Event) []string {
	bidsOf := map[int64][]Bid{}
	for _, e := range events {
		if e.Kind == KindBid {
			bidsOf[e.Bid.Auction] = append(bidsOf[e.Bid.Auction], e.Bid)
		}
	}
	var rows []q19Row
	for _, bids := range bidsOf {
		slices.SortFunc(bids, compareBidRank)
		for i, b := range bids {
			if i < q19Top {
				rows = append(rows, q19Result(b, i+1))
			}
		}
	}
	return jsonLines(rows)
}
