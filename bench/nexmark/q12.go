package nexmark

import (
	"math"
	"time"

	"github.com/runnel-io/runnel/stream"
	"github.com/runnel-io/runnel/stream/window"
)

func init() {
	// No Reference: which window a bid falls in depends on when it is
	// processed.
	register(Query{Name: "q12", Summary: "processing-time windows: bids per bidder per 10 s of processing time", Build: buildQ12})
}

// q12Row is a row of Query 12's sink. The window's bounds are processing
// times in milliseconds (see q5.go).
type q12Row struct {
	Bidder    int64 `json:"bidder"`
	BidCount  int64 `json:"bid_count"`
	StartTime int64 `json:"starttime"`
	EndTime   int64 `json:"endtime"`
}

// q12Window is the length of Query 12's processing-time windows.
const q12Window = 10 * time.Second

// buildQ12 is Nexmark's Query 12, processing-time windows (not in the
// original suite): the number of bids of each bidder in each tumbling
// window of 10 s of processing time.
//
//	CREATE TABLE discard_sink (
//	  bidder BIGINT,
//	  bid_count BIGINT,
//	  starttime TIMESTAMP(3),
//	  endtime TIMESTAMP(3)
//	) WITH (
//	  'connector' = 'blackhole'
//	);
//
//	CREATE VIEW B AS SELECT *, PROCTIME() as p_time FROM bid;
//
//	INSERT INTO discard_sink
//	SELECT
//	    bidder,
//	    count(*) as bid_count,
//	    window_start AS starttime,
//	    window_end AS endtime
//	FROM TABLE(
//	        TUMBLE(TABLE B, DESCRIPTOR(p_time), INTERVAL '10' SECOND))
//	GROUP BY bidder, window_start, window_end;
//
// PROCTIME() is the time a bid reaches the window operator, by the task's
// clock. A processing-time window fires when that clock reaches its end;
// at the end of bounded input the job ends before it does, so the windows
// still open would be lost. q12Trigger fires them on the final watermark
// as well: every bid is counted in exactly one window.
func buildQ12(events stream.DataStream[Event], sink *Sink) {
	bidders := projectBids(events, "Q12 Bidders", func(b Bid) int64 { return b.Bidder })
	byBidder := stream.KeyBy(bidders, func(b int64) int64 { return b })
	windows := stream.Window(byBidder, window.TumblingProcessingTimeWindows[int64](q12Window, 0)).
		Trigger(q12Trigger{window.ProcessingTimeTrigger[int64, window.TimeWindow]()})
	rows := stream.WindowAggregateProcess(windows, countAll[int64]{},
		stream.ProcessWindowFunc[int64, int64, q12Row, window.TimeWindow](func(ctx *stream.WindowContext[int64, window.TimeWindow], n []int64, out stream.Collector[q12Row]) error {
			w := ctx.Window()
			out.Collect(q12Row{Bidder: ctx.CurrentKey(), BidCount: n[0], StartTime: w.Start, EndTime: w.End})
			return nil
		}))
	Emit(rows.Name("Q12 Windows"), sink)
}

// q12Trigger is ProcessingTimeTrigger that also fires, and purges, the
// windows still open at the end of input, when the watermark becomes
// math.MaxInt64: an event-time timer at that time, which nothing but the
// end of input reaches.
type q12Trigger struct {
	window.Trigger[int64, window.TimeWindow] // ProcessingTimeTrigger
}

func (t q12Trigger) OnElement(v int64, ts int64, w window.TimeWindow, ctx window.TriggerContext) (window.Result, error) {
	ctx.RegisterEventTimeTimer(math.MaxInt64)
	return t.Trigger.OnElement(v, ts, w, ctx)
}

func (t q12Trigger) OnEventTime(at int64, w window.TimeWindow, ctx window.TriggerContext) (window.Result, error) {
	if at == math.MaxInt64 {
		return window.FireAndPurge, nil
	}
	return t.Trigger.OnEventTime(at, w, ctx)
}

func (t q12Trigger) Clear(w window.TimeWindow, ctx window.TriggerContext) error {
	ctx.DeleteEventTimeTimer(math.MaxInt64)
	return t.Trigger.Clear(w, ctx)
}

func (q12Trigger) String() string { return "ProcessingTimeTrigger()+EndOfInput" }
