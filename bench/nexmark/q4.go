package nexmark

import (
	"context"
	"math"

	"github.com/runnel-io/runnel/state"
	"github.com/runnel-io/runnel/stream"
)

func init() {
	register(Query{
		Name:      "q4",
		Summary:   "average price for a category: the mean winning bid of the auctions of each category",
		Build:     buildQ4,
		Reference: refQ4,
	})
}

// q4Row is a result of q4. The suite's sink table names the category id
// and the average final.
type q4Row struct {
	ID    int64 `json:"id"`
	Final int64 `json:"final"`
}

// q4Auction, q4Bid and q4Final are what q4 reads of an auction and a bid,
// and an auction's winning price.
type q4Auction struct {
	ID, DateTime, Expires, Category int64
}

type q4Bid struct {
	Auction, Price, DateTime int64
}

type q4Final struct {
	Category, Price int64
}

// buildQ4 is Nexmark's query 4, the average winning price per category:
//
//	INSERT INTO nexmark_q4
//	SELECT
//	    Q.category,
//	    AVG(Q.final)
//	FROM (
//	    SELECT MAX(B.price) AS final, A.category
//	    FROM auction A, bid B
//	    WHERE A.id = B.auction AND B.dateTime BETWEEN A.dateTime AND A.expires
//	    GROUP BY A.id, A.category
//	) Q
//	GROUP BY Q.category;
//
// The inner query is q9's winning bid reduced to its price (auctionWinner,
// ranking by price alone): each auction's maximum is final when the
// auction expires, and only then does it go to the average of its
// category, so no retraction is ever needed. Flink's plan instead updates
// both aggregates with every bid, retracting the old maximum and average.
// The average is AVG over BIGINT, which is BIGINT in Flink: the sum
// divided by the count, truncated.
//
// Results: one row per category, emitted at the end of the input (an
// event-time timer at math.MaxInt64) with the final average: the state the
// SQL query's changelog reaches at the end. A category without a winning
// bid has no row.
func buildQ4(events stream.DataStream[Event], sink *Sink) {
	auctions := stream.FlatMap(events, func(e Event, out stream.Collector[q4Auction]) error {
		if e.Kind == KindAuction {
			a := e.auction()
			out.Collect(q4Auction{ID: a.ID, DateTime: a.DateTime, Expires: a.Expires, Category: a.Category})
		}
		return nil
	}).Name("q4 Auctions")
	bids := stream.FlatMap(events, func(e Event, out stream.Collector[q4Bid]) error {
		if e.Kind == KindBid {
			out.Collect(q4Bid{Auction: e.Bid.Auction, Price: e.Bid.Price, DateTime: e.Bid.DateTime})
		}
		return nil
	}).Name("q4 Bids")
	finals := auctionWinner[q4Auction, q4Bid, q4Final]{
		query:   "q4",
		auction: func(a q4Auction) (int64, int64, int64) { return a.ID, a.DateTime, a.Expires },
		bid:     func(b q4Bid) (int64, int64) { return b.Auction, b.DateTime },
		beats:   func(b, c q4Bid) bool { return b.Price > c.Price },
		result:  func(a q4Auction, b q4Bid) q4Final { return q4Final{Category: a.Category, Price: b.Price} },
	}.build(auctions, bids)
	averages := stream.KeyedProcessEach(
		stream.KeyBy(finals, func(f q4Final) int64 { return f.Category }),
		func() stream.KeyedProcessFunction[int64, q4Final, q4Row] { return &q4Average{} }).Name("q4 Average")
	Emit(averages, sink)
}

// q4Average keeps the sum and count of the winning prices of a category
// and emits their average at the end of the input.
type q4Average struct {
	acc state.ValueState[q4Sum]
}

type q4Sum struct {
	Sum, Count int64
}

func (f *q4Average) Open(_ context.Context, rc *stream.KeyedRuntimeContext[int64]) (err error) {
	f.acc, err = stream.GetValueState(rc, state.Value[q4Sum]("sum"))
	return err
}

func (f *q4Average) ProcessElement(ctx *stream.KeyedContext[int64], v q4Final, _ stream.Collector[q4Row]) error {
	s, ok, err := f.acc.Value()
	if err != nil {
		return err
	}
	if !ok {
		ctx.TimerService().RegisterEventTimeTimer(math.MaxInt64)
	}
	s.Sum += v.Price
	s.Count++
	return f.acc.Update(s)
}

func (f *q4Average) OnTimer(ctx *stream.TimerContext[int64], _ int64, out stream.Collector[q4Row]) error {
	s, ok, err := f.acc.Value()
	if err != nil || !ok {
		return err
	}
	out.Collect(q4Row{ID: ctx.CurrentKey(), Final: s.Sum / s.Count})
	return f.acc.Clear()
}

// refQ4 is q4 as loops: the maximum price of each auction over its bids in
// range, then the truncated mean of the maxima per category.
func refQ4(events []Event) []string {
	bidsOf := map[int64][]Bid{}
	for _, e := range events {
		if e.Kind == KindBid {
			bidsOf[e.Bid.Auction] = append(bidsOf[e.Bid.Auction], e.Bid)
		}
	}
	maxOf := map[int64]int64{} // auction id -> maximum price in range
	for _, e := range events {
		if e.Kind != KindAuction {
			continue
		}
		a := e.auction()
		for _, b := range bidsOf[a.ID] {
			if b.DateTime >= a.DateTime && b.DateTime <= a.Expires {
				if m, ok := maxOf[a.ID]; !ok || b.Price > m {
					maxOf[a.ID] = b.Price
				}
			}
		}
	}
	sum, count := map[int64]int64{}, map[int64]int64{}
	for _, ea := range events {
		if ea.Kind != KindAuction {
			continue
		}
		a := ea.auction()
		if m, ok := maxOf[a.ID]; ok {
			sum[a.Category] += m
			count[a.Category]++
		}
	}
	var rows []q4Row
	for c, s := range sum {
		rows = append(rows, q4Row{ID: c, Final: s / count[c]})
	}
	return jsonLines(rows)
}
