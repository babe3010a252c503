package nexmark

import (
	"context"
	"time"

	"github.com/runnel-io/runnel/state"
	"github.com/runnel-io/runnel/stream"
)

// Daily aggregates. Queries 15 to 17 group bids by DATE_FORMAT(`dateTime`,
// 'yyyy-MM-dd') (and a channel or an auction) without a window: in
// streaming SQL, an unbounded aggregation whose every input row updates
// its group's row (a changelog). Here a day group is an event-time window
// of one (UTC) day instead: its one row, the group's final value, is
// emitted when the watermark passes the end of the day, and its state is
// dropped then. That row is the one an upsert sink keyed by the group (or
// a batch run) would hold in the end, provided no bid arrives after the
// watermark passed its day; such a late bid is dropped, as a window drops
// it. Nexmark's source produces none: its splits are in event-time order
// and its watermark lags by 4 s (the tests compare every group with a
// reference that counts every bid). Two consequences for the benchmark:
// Flink's sink receives an update per bid where this emits one row per
// group, so the result counts differ; and at the suite's event rate a run
// spans seconds of event time, one day, whose rows come at the end of the
// input.

func init() {
	register(Query{Name: "q15", Summary: "bidding statistics: bids, bidders and auctions per day and price rank", Build: buildQ15, Reference: refQ15})
}

// q15Row is a row of nexmark_q15.
type q15Row struct {
	Day string `json:"day"`
	rankCounts
}

// rankCounts are the count columns of Queries 15 and 16.
type rankCounts struct {
	TotalBids     int64 `json:"total_bids"`
	Rank1Bids     int64 `json:"rank1_bids"`
	Rank2Bids     int64 `json:"rank2_bids"`
	Rank3Bids     int64 `json:"rank3_bids"`
	TotalBidders  int64 `json:"total_bidders"`
	Rank1Bidders  int64 `json:"rank1_bidders"`
	Rank2Bidders  int64 `json:"rank2_bidders"`
	Rank3Bidders  int64 `json:"rank3_bidders"`
	TotalAuctions int64 `json:"total_auctions"`
	Rank1Auctions int64 `json:"rank1_auctions"`
	Rank2Auctions int64 `json:"rank2_auctions"`
	Rank3Auctions int64 `json:"rank3_auctions"`
}

// buildQ15 is Nexmark's Query 15, bidding statistics report (not in the
// original suite): per day, the number of bids and of distinct bidders and
// auctions, in all and per price rank. See "Daily aggregates" above for
// when its rows are emitted.
//
//	CREATE TABLE nexmark_q15 (
//	  `day` VARCHAR,
//	  total_bids BIGINT,
//	  rank1_bids BIGINT,
//	  rank2_bids BIGINT,
//	  rank3_bids BIGINT,
//	  total_bidders BIGINT,
//	  rank1_bidders BIGINT,
//	  rank2_bidders BIGINT,
//	  rank3_bidders BIGINT,
//	  total_auctions BIGINT,
//	  rank1_auctions BIGINT,
//	  rank2_auctions BIGINT,
//	  rank3_auctions BIGINT
//	) WITH (
//	  'connector' = 'blackhole'
//	);
//
//	INSERT INTO nexmark_q15
//	SELECT
//	     DATE_FORMAT(`dateTime`, 'yyyy-MM-dd') as `day`,
//	     count(*) AS total_bids,
//	     count(*) filter (where price < 10000) AS rank1_bids,
//	     count(*) filter (where price >= 10000 and price < 1000000) AS rank2_bids,
//	     count(*) filter (where price >= 1000000) AS rank3_bids,
//	     count(distinct bidder) AS total_bidders,
//	     count(distinct bidder) filter (where price < 10000) AS rank1_bidders,
//	     count(distinct bidder) filter (where price >= 10000 and price < 1000000) AS rank2_bidders,
//	     count(distinct bidder) filter (where price >= 1000000) AS rank3_bidders,
//	     count(distinct auction) AS total_auctions,
//	     count(distinct auction) filter (where price < 10000) AS rank1_auctions,
//	     count(distinct auction) filter (where price >= 10000 and price < 1000000) AS rank2_auctions,
//	     count(distinct auction) filter (where price >= 1000000) AS rank3_auctions
//	FROM bid
//	GROUP BY DATE_FORMAT(`dateTime`, 'yyyy-MM-dd');
//
// The day is kept as a number (utcDay) and formatted only in the result.
func buildQ15(events stream.DataStream[Event], sink *Sink) {
	bids := projectBids(events, "Q15 Bid Columns", func(b Bid) rankBid {
		return rankBid{Auction: b.Auction, Bidder: b.Bidder, Price: b.Price, DateTime: b.DateTime}
	})
	byDay := stream.KeyBy(bids, func(b rankBid) int64 { return utcDay(b.DateTime) })
	rows := stream.KeyedProcessEach(byDay, func() stream.KeyedProcessFunction[int64, rankBid, q15Row] {
		return &dailyRanks[int64, q15Row]{row: func(day int64, s *rankStats) q15Row {
			return q15Row{Day: utcDate(day), rankCounts: s.counts()}
		}}
	})
	Emit(rows.Name("Q15 Daily Ranks"), sink)
}

// rankBid is what Queries 15 to 17 read of a bid.
type rankBid struct {
	Channel                          string // q16 only
	Auction, Bidder, Price, DateTime int64
}

// msPerDay is the length of a day in milliseconds.
const msPerDay = 24 * 60 * 60 * 1000

// utcDay returns the number of the UTC day of the time ts (ms since the
// epoch): 0 for 1970-01-01.
func utcDay(ts int64) int64 { return windowStartMs(ts, msPerDay) / msPerDay }

// utcDate returns DATE_FORMAT(t, 'yyyy-MM-dd') for the times t of the UTC
// day with the given number.
func utcDate(day int64) string {
	return time.UnixMilli(day * msPerDay).UTC().Format(time.DateOnly)
}

// priceRank is the price rank of the FILTERs of Queries 15 to 17: 1 below
// 10,000, 2 from there to below 1,000,000, 3 from there up.
func priceRank(price int64) int {
	switch {
	case price < 10_000:
		return 1
	case price < 1_000_000:
		return 2
	default:
		return 3
	}
}

// rankStats is the state of dailyRanks per group.
type rankStats struct {
	// Bids, Bidders and Auctions count bids, distinct bidders and distinct
	// auctions: [0] all of them, [r] those of price rank r.
	Bids, Bidders, Auctions [4]int64
	// Last is the latest dateTime of the group's bids.
	Last int64
}

func (s *rankStats) counts() rankCounts {
	return rankCounts{
		TotalBids: s.Bids[0], Rank1Bids: s.Bids[1], Rank2Bids: s.Bids[2], Rank3Bids: s.Bids[3],
		TotalBidders: s.Bidders[0], Rank1Bidders: s.Bidders[1], Rank2Bidders: s.Bidders[2], Rank3Bidders: s.Bidders[3],
		TotalAuctions: s.Auctions[0], Rank1Auctions: s.Auctions[1], Rank2Auctions: s.Auctions[2], Rank3Auctions: s.Auctions[3],
	}
}

// dailyRanks is the keyed function of Queries 15 and 16: per group of bids
// of one day (the key K), it keeps a rankStats and, to count distinct
// bidders and auctions, the ranks in which it saw each (a bit set: bit r
// for rank r); it emits row(key, stats) when the watermark passes the end
// of the day.
type dailyRanks[K comparable, R any] struct {
	row func(key K, s *rankStats) R

	stats    state.ValueState[rankStats]
	bidders  state.MapState[int64, uint8]
	auctions state.MapState[int64, uint8]
}

func (d *dailyRanks[K, R]) Open(_ context.Context, rc *stream.KeyedRuntimeContext[K]) (err error) {
	if d.stats, err = stream.GetValueState(rc, state.Value[rankStats]("stats")); err != nil {
		return err
	}
	if d.bidders, err = stream.GetMapState(rc, state.Map[int64, uint8]("bidders")); err != nil {
		return err
	}
	d.auctions, err = stream.GetMapState(rc, state.Map[int64, uint8]("auctions"))
	return err
}

func (d *dailyRanks[K, R]) ProcessElement(ctx *stream.KeyedContext[K], b rankBid, _ stream.Collector[R]) error {
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
	}
	r := priceRank(b.Price)
	s.Bids[0]++
	s.Bids[r]++
	if err := countDistinct(d.bidders, b.Bidder, r, &s.Bidders); err != nil {
		return err
	}
	if err := countDistinct(d.auctions, b.Auction, r, &s.Auctions); err != nil {
		return err
	}
	if !ok || b.DateTime > s.Last {
		s.Last = b.DateTime
	}
	return d.stats.Update(s)
}

// countDistinct counts id in counts (in [0] if seen for the first time, in
// [r] if seen in rank r for the first time), with seen holding the ranks
// each id was seen in.
func countDistinct(seen state.MapState[int64, uint8], id int64, r int, counts *[4]int64) error {
	ranks, ok, err := seen.Get(id)
	if err != nil {
		return err
	}
	if !ok {
		counts[0]++
	}
	bit := uint8(1) << r
	if ranks&bit != 0 {
		return nil
	}
	counts[r]++
	return seen.Put(id, ranks|bit)
}

func (d *dailyRanks[K, R]) OnTimer(ctx *stream.TimerContext[K], _ int64, out stream.Collector[R]) error {
	s, _, err := d.stats.Value()
	if err != nil {
		return err
	}
	out.Collect(d.row(ctx.CurrentKey(), &s))
	if err := d.bidders.Clear(); err != nil {
		return err
	}
	if err := d.auctions.Clear(); err != nil {
		return err
	}
	return d.stats.Clear()
}

// refRanks is the reference's tally of one group of q15/q16: bids, and
// distinct bidders and auctions, in all ([0]) and per price rank ([1..3]).
type refRanks struct {
	bids              [4]int64
	bidders, auctions [4]map[int64]bool
}

func newRefRanks() *refRanks {
	g := &refRanks{}
	for i := range 4 {
		g.bidders[i], g.auctions[i] = map[int64]bool{}, map[int64]bool{}
	}
	return g
}

func (g *refRanks) add(b Bid) {
	rank := 3
	if b.Price < 10000 {
		rank = 1
	} else if b.Price < 1000000 {
		rank = 2
	}
	for _, i := range []int{0, rank} {
		g.bids[i]++
		g.bidders[i][b.Bidder] = true
		g.auctions[i][b.Auction] = true
	}
}

func (g *refRanks) counts() rankCounts {
	return rankCounts{
		TotalBids: g.bids[0], Rank1Bids: g.bids[1], Rank2Bids: g.bids[2], Rank3Bids: g.bids[3],
		TotalBidders: int64(len(g.bidders[0])), Rank1Bidders: int64(len(g.bidders[1])),
		Rank2Bidders: int64(len(g.bidders[2])), Rank3Bidders: int64(len(g.bidders[3])),
		TotalAuctions: int64(len(g.auctions[0])), Rank1Auctions: int64(len(g.auctions[1])),
		Rank2Auctions: int64(len(g.auctions[2])), Rank3Auctions: int64(len(g.auctions[3])),
	}
}

func refQ15(events []Event) []string {
	groups := map[string]*refRanks{}
	for _, e := range events {
		if e.Kind != KindBid {
			continue
		}
		day := time.UnixMilli(e.Bid.DateTime).UTC().Format("2006-01-02")
		if groups[day] == nil {
			groups[day] = newRefRanks()
		}
		groups[day].add(e.Bid)
	}
	var rows []q15Row
	for day, g := range groups {
		rows = append(rows, q15Row{Day: day, rankCounts: g.counts()})
	}
	return jsonLines(rows)
}
