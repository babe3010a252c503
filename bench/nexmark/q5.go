package nexmark

import (
	"context"
	"time"

	"github.com/runnel-io/runnel/state"
	"github.com/runnel-io/runnel/stream"
	"github.com/runnel-io/runnel/stream/window"
)

// Time columns. The results of the queries give every TIMESTAMP(3) column
// (dateTime, and the window bounds starttime, endtime, window_start and
// window_end) as an integer number of milliseconds since the Unix epoch,
// as AppendJSON writes the dateTime of the events: exact, cheap, and what
// the events carry. A Flink TIMESTAMP(3) has no time zone; Nexmark's
// source makes it from epoch milliseconds, so it reads as UTC, and the
// strings that DATE_FORMAT makes of it, and the HOUR it has, are those of
// UTC (see utcDate and q14).

func init() {
	register(Query{Name: "q5", Summary: "hot items: the auctions with the most bids per 10 s window sliding by 2 s", Build: buildQ5, Reference: refQ5})
}

// q5Row is a row of nexmark_q5.
type q5Row struct {
	Auction int64 `json:"auction"`
	Num     int64 `json:"num"`
}

// The hop windows of Query 5.
const (
	q5Size  = 10 * time.Second
	q5Slide = 2 * time.Second
)

// buildQ5 is Nexmark's Query 5, hot items: for every window of 10 s
// starting every 2 s, the auctions with the most bids in it (all of them
// if several tie).
//
//	CREATE TABLE nexmark_q5 (
//	  auction  BIGINT,
//	  num  BIGINT
//	) WITH (
//	  'connector' = 'blackhole'
//	);
//
//	INSERT INTO nexmark_q5
//	SELECT AuctionBids.auction, AuctionBids.num
//	 FROM (
//	   SELECT
//	     auction,
//	     count(*) AS num,
//	     window_start AS starttime,
//	     window_end AS endtime
//	     FROM TABLE(
//	             HOP(TABLE bid, DESCRIPTOR(`dateTime`), INTERVAL '2' SECOND, INTERVAL '10' SECOND))
//	     GROUP BY auction, window_start, window_end
//	 ) AS AuctionBids
//	 JOIN (
//	   SELECT
//	     max(CountBids.num) AS maxn,
//	     CountBids.starttime,
//	     CountBids.endtime
//	   FROM (
//	     SELECT
//	       count(*) AS num,
//	       window_start AS starttime,
//	       window_end AS endtime
//	     FROM TABLE(
//	                HOP(TABLE bid, DESCRIPTOR(`dateTime`), INTERVAL '2' SECOND, INTERVAL '10' SECOND))
//	     GROUP BY auction, window_start, window_end
//	     ) AS CountBids
//	   GROUP BY CountBids.starttime, CountBids.endtime
//	 ) AS MaxBids
//	 ON AuctionBids.starttime = MaxBids.starttime AND
//	    AuctionBids.endtime = MaxBids.endtime AND
//	    AuctionBids.num >= MaxBids.maxn;
//
// The two HOP aggregations are the same, so they are computed once: a
// sliding event-time window per auction counts its bids (of which only the
// auction id and the timestamp travel) and emits the
// count when the watermark passes the window, with the window's end; then,
// keyed by that end, a process function keeps the largest count of the
// window and the auctions that have it, and emits them when the watermark
// passes the window (a timer at its last millisecond, the timestamp of the
// counts, which the watermark reaches only after every count of the window
// arrived). The join's num >= maxn is num = maxn, since maxn is the
// largest num.
func buildQ5(events stream.DataStream[Event], sink *Sink) {
	auctions := projectBids(events, "Q5 Bid Auctions", func(b Bid) int64 { return b.Auction })
	byAuction := stream.KeyBy(auctions, func(a int64) int64 { return a })
	windows := stream.Window(byAuction, window.SlidingEventTimeWindows[int64](q5Size, q5Slide, 0))
	counts := stream.WindowAggregateProcess(windows, countAll[int64]{},
		stream.ProcessWindowFunc[int64, int64, q5Count, window.TimeWindow](func(ctx *stream.WindowContext[int64, window.TimeWindow], n []int64, out stream.Collector[q5Count]) error {
			out.Collect(q5Count{Auction: ctx.CurrentKey(), Num: n[0], End: ctx.Window().End})
			return nil
		})).Name("Q5 Count Bids")
	byWindow := stream.KeyBy(counts, func(c q5Count) int64 { return c.End })
	hot := stream.KeyedProcessEach(byWindow, func() stream.KeyedProcessFunction[int64, q5Count, q5Row] { return &q5Hottest{} })
	Emit(hot.Name("Q5 Hottest"), sink)
}

// q5Count is the number of bids on an auction in the window ending at End.
type q5Count struct {
	Auction, Num, End int64
}

// q5Top is the state of q5Hottest per window: the largest count so far and
// the auctions that have it.
type q5Top struct {
	Num      int64
	Auctions []int64
}

// q5Hottest keeps the auctions with the largest count of each window and
// emits them when the watermark passes the window.
type q5Hottest struct {
	top state.ValueState[q5Top]
}

func (h *q5Hottest) Open(_ context.Context, rc *stream.KeyedRuntimeContext[int64]) (err error) {
	h.top, err = stream.GetValueState(rc, state.Value[q5Top]("top"))
	return err
}

func (h *q5Hottest) ProcessElement(ctx *stream.KeyedContext[int64], c q5Count, _ stream.Collector[q5Row]) error {
	top, ok, err := h.top.Value()
	if err != nil {
		return err
	}
	switch {
	case !ok:
		ctx.TimerService().RegisterEventTimeTimer(c.End - 1)
		top = q5Top{Num: c.Num, Auctions: []int64{c.Auction}}
	case c.Num > top.Num:
		// A new slice: the state keeps the old one (see state.ValueState).
		top = q5Top{Num: c.Num, Auctions: []int64{c.Auction}}
	case c.Num == top.Num:
		top.Auctions = append(top.Auctions, c.Auction)
	default:
		return nil
	}
	return h.top.Update(top)
}

func (h *q5Hottest) OnTimer(_ *stream.TimerContext[int64], _ int64, out stream.Collector[q5Row]) error {
	top, _, err := h.top.Value()
	if err != nil {
		return err
	}
	for _, a := range top.Auctions {
		out.Collect(q5Row{Auction: a, Num: top.Num})
	}
	return h.top.Clear()
}

// countAll is count(*) as the AggregateFunction of a window.
type countAll[T any] struct{}

func (countAll[T]) CreateAccumulator() int64 { return 0 }
func (countAll[T]) Add(_ T, n int64) int64   { return n + 1 }
func (countAll[T]) Result(n int64) int64     { return n }
func (countAll[T]) Merge(a, b int64) int64   { return a + b }

func refQ5(events []Event) []string {
	type windowAuction struct{ start, auction int64 }
	const size, slide = 10_000, 2_000 // ms
	counts := map[windowAuction]int64{}
	for _, e := range events {
		if e.Kind != KindBid {
			continue
		}
		t := e.Bid.DateTime
		// Every window [start, start+size) with start a multiple of slide
		// that contains t.
		last := t - ((t%slide)+slide)%slide
		for start := last; start > t-size; start -= slide {
			counts[windowAuction{start, e.Bid.Auction}]++
		}
	}
	maxn := map[int64]int64{}
	for k, n := range counts {
		maxn[k.start] = max(maxn[k.start], n)
	}
	var rows []q5Row
	for k, n := range counts {
		if n >= maxn[k.start] {
			rows = append(rows, q5Row{Auction: k.auction, Num: n})
		}
	}
	return jsonLines(rows)
}
