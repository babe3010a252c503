package nexmark

import (
	"context"
	"time"

	"github.com/runnel-io/runnel/state"
	"github.com/runnel-io/runnel/stream"
)

func init() {
	register(Query{Name: "q17", Summary: "auction statistics: bids and prices per auction and day", Build: buildQ17, Reference: refQ17})
}

// q17Row is a row of nexmark_q17.
type q17Row struct {
	Auction   int64  `json:"auction"`
	Day       string `json:"day"`
	TotalBids int64  `json:"total_bids"`
	Rank1Bids int64  `json:"rank1_bids"`
	Rank2Bids int64  `json:"rank2_bids"`
	Rank3Bids int64  `json:"rank3_bids"`
	MinPrice  int64  `json:"min_price"`
	MaxPrice  int64  `json:"max_price"`
	AvgPrice  int64  `json:"avg_price"`
	SumPrice  int64  `json:"sum_price"`
}

// q17Key is the group of a bid in Query 17: its auction and UTC day.
type q17Key struct {
	Auction, Day int64
}

// buildQ17 is Nexmark's Query 17, auction statistics report (not in the
// original suite): per auction and day, the number of bids in all and per
// price rank, and the lowest, highest, average and total price. See "Daily
// aggregates" in q15.go for when its rows are emitted.
//
//	CREATE TABLE nexmark_q17 (
//	  auction BIGINT,
//	  `day` VARCHAR,
//	  total_bids BIGINT,
//	  rank1_bids BIGINT,
//	  rank2_bids BIGINT,
//	  rank3_bids BIGINT,
//	  min_price BIGINT,
//	  max_price BIGINT,
//	  avg_price BIGINT,
//	  sum_price BIGINT
//	) WITH (
//	  'connector' = 'blackhole'
//	);
//
//	INSERT INTO nexmark_q17
//	SELECT
//	     auction,
//	     DATE_FORMAT(`dateTime`, 'yyyy-MM-dd') as `day`,
//	     count(*) AS total_bids,
//	     count(*) filter (where price < 10000) AS rank1_bids,
//	     count(*) filter (where price >= 10000 and price < 1000000) AS rank2_bids,
//	     count(*) filter (where price >= 1000000) AS rank3_bids,
//	     min(price) AS min_price,
//	     max(price) AS max_price,
//	     avg(price) AS avg_price,
//	     sum(price) AS sum_price
//	FROM bid
//	GROUP BY auction, DATE_FORMAT(`dateTime`, 'yyyy-MM-dd');
//
// avg of a BIGINT is a BIGINT in Flink: the sum divided by the count,
// truncated (Java's long division).
func buildQ17(events stream.DataStream[Event], sink *Sink) {
	bids := projectBids(events, "Q17 Bid Columns", func(b Bid) rankBid {
		return rankBid{Auction: b.Auction, Price: b.Price, DateTime: b.DateTime}
	})
	byAuctionDay := stream.KeyBy(bids, func(b rankBid) q17Key { return q17Key{Auction: b.Auction, Day: utcDay(b.DateTime)} })
	rows := stream.KeyedProcessEach(byAuctionDay, func() stream.KeyedProcessFunction[q17Key, rankBid, q17Row] { return &q17Daily{} })
	Emit(rows.Name("Q17 Auction Stats"), sink)
}

// q17Stats is the state of q17Daily per group.
type q17Stats struct {
	Bids          [4]int64 // [0] all, [r] of price rank r
	Min, Max, Sum int64
}

// q17Daily aggregates the bids of an auction and day, and emits the row
// when the watermark passes the end of the day.
type q17Daily struct {
	stats state.ValueState[q17Stats]
}

func (d *q17Daily) Open(_ context.Context, rc *stream.KeyedRuntimeContext[q17Key]) (err error) {
	d.stats, err = stream.GetValueState(rc, state.Value[q17Stats]("stats"))
	return err
}

func (d *q17Daily) ProcessElement(ctx *stream.KeyedContext[q17Key], b rankBid, _ stream.Collector[q17Row]) error {
	timers := ctx.TimerService()
	end := windowStartMs(b.DateTime, msPerDay) + msPerDay - 1 // the day's last ms
	if end <= timers.CurrentWatermark() {
		return nil // late: its day was emitted
	}
	s, ok, err := d.stats.Value()
	if err != nil {
		return err
	}
	if !ok {
		timers.RegisterEventTimeTimer(end)
		s.Min, s.Max = b.Price, b.Price
	}
	s.Bids[0]++
	s.Bids[priceRank(b.Price)]++
	s.Min, s.Max, s.Sum = min(s.Min, b.Price), max(s.Max, b.Price), s.Sum+b.Price
	return d.stats.Update(s)
}

func (d *q17Daily) OnTimer(ctx *stream.TimerContext[q17Key], _ int64, out stream.Collector[q17Row]) error {
	s, _, err := d.stats.Value()
	if err != nil {
		return err
	}
	k := ctx.CurrentKey()
	out.Collect(q17Row{
		Auction: k.Auction, Day: utcDate(k.Day),
		TotalBids: s.Bids[0], Rank1Bids: s.Bids[1], Rank2Bids: s.Bids[2], Rank3Bids: s.Bids[3],
		MinPrice: s.Min, MaxPrice: s.Max, AvgPrice: s.Sum / s.Bids[0], SumPrice: s.Sum,
	})
	return d.stats.Clear()
}

func refQ17(events []Event) []string {
	type key struct {
		auction int64
		day     string
	}
	groups := map[key]*q17Row{}
	for _, e := range events {
		if e.Kind != KindBid {
			continue
		}
		b := e.Bid
		k := key{b.Auction, time.UnixMilli(b.DateTime).UTC().Format("2006-01-02")}
		g := groups[k]
		if g == nil {
			g = &q17Row{Auction: k.auction, Day: k.day, MinPrice: b.Price, MaxPrice: b.Price}
			groups[k] = g
		}
		g.TotalBids++
		switch {
		case b.Price < 10000:
			g.Rank1Bids++
		case b.Price >= 10000 && b.Price < 1000000:
			g.Rank2Bids++
		case b.Price >= 1000000:
			g.Rank3Bids++
		}
		g.MinPrice = min(g.MinPrice, b.Price)
		g.MaxPrice = max(g.MaxPrice, b.Price)
		g.SumPrice += b.Price
	}
	var rows []q17Row
	for _, g := range groups {
		g.AvgPrice = g.SumPrice / g.TotalBids
		rows = append(rows, *g)
	}
	return jsonLines(rows)
}
