package nexmark

import (
	"slices"
	"time"

	"github.com/runnel-io/runnel/stream"
	"github.com/runnel-io/runnel/stream/window"
)

func init() {
	register(Query{Name: "q11", Summary: "user sessions: bids per bidder and session with a 10 s gap", Build: buildQ11, Reference: refQ11})
}

// q11Row is a row of nexmark_q11. The session's bounds are in
// milliseconds (see q5.go): starttime is its first bid's time, endtime its
// last bid's time plus the gap.
type q11Row struct {
	Bidder    int64 `json:"bidder"`
	BidCount  int64 `json:"bid_count"`
	StartTime int64 `json:"starttime"`
	EndTime   int64 `json:"endtime"`
}

// q11Gap is the session gap of Query 11.
const q11Gap = 10 * time.Second

// buildQ11 is Nexmark's Query 11, user sessions (not in the original
// suite): the number of bids of each bidder in each of their sessions, a
// session ending after 10 s without a bid of theirs.
//
//	CREATE TABLE nexmark_q11 (
//	  bidder BIGINT,
//	  bid_count BIGINT,
//	  starttime TIMESTAMP(3),
//	  endtime TIMESTAMP(3)
//	) WITH (
//	  'connector' = 'blackhole'
//	);
//
//	INSERT INTO nexmark_q11
//	SELECT
//	    B.bidder,
//	    count(*) as bid_count,
//	    SESSION_START(B.dateTime, INTERVAL '10' SECOND) as starttime,
//	    SESSION_END(B.dateTime, INTERVAL '10' SECOND) as endtime
//	FROM bid B
//	GROUP BY B.bidder, SESSION(B.dateTime, INTERVAL '10' SECOND);
//
// Flink's session windows are those of EventTimeSessionWindows: a bid at t
// opens [t, t+gap), and windows that overlap or touch merge, so that bids
// exactly 10 s apart are in one session.
func buildQ11(events stream.DataStream[Event], sink *Sink) {
	bidders := projectBids(events, "Q11 Bidders", func(b Bid) int64 { return b.Bidder })
	byBidder := stream.KeyBy(bidders, func(b int64) int64 { return b })
	sessions := stream.Window(byBidder, window.EventTimeSessionWindows[int64](q11Gap))
	rows := stream.WindowAggregateProcess(sessions, countAll[int64]{},
		stream.ProcessWindowFunc[int64, int64, q11Row, window.TimeWindow](func(ctx *stream.WindowContext[int64, window.TimeWindow], n []int64, out stream.Collector[q11Row]) error {
			w := ctx.Window()
			out.Collect(q11Row{Bidder: ctx.CurrentKey(), BidCount: n[0], StartTime: w.Start, EndTime: w.End})
			return nil
		}))
	Emit(rows.Name("Q11 Sessions"), sink)
}

func refQ11(events []Event) []string {
	const gap = 10_000           // ms
	times := map[int64][]int64{} // bidder -> the times of their bids
	for _, e := range events {
		if e.Kind == KindBid {
			times[e.Bid.Bidder] = append(times[e.Bid.Bidder], e.Bid.DateTime)
		}
	}
	var rows []q11Row
	for bidder, ts := range times {
		slices.Sort(ts)
		// A session goes on while the next bid is at most gap after the
		// last one.
		s := q11Row{Bidder: bidder, BidCount: 1, StartTime: ts[0], EndTime: ts[0] + gap}
		for _, t := range ts[1:] {
			if t <= s.EndTime {
				s.BidCount++
				s.EndTime = t + gap
				continue
			}
			rows = append(rows, s)
			s = q11Row{Bidder: bidder, BidCount: 1, StartTime: t, EndTime: t + gap}
		}
		rows = append(rows, s)
	}
	return jsonLines(rows)
}
