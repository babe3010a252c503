package nexmark

import (
	"context"

	"github.com/runnel-io/runnel/state"
	"github.com/runnel-io/runnel/stream"
)

func init() {
	register(Query{Name: "q7", Summary: "highest bid: the bids at the top price of each 10 s window", Build: buildQ7, Reference: refQ7})
}

// q7Row is a row of nexmark_q7.
type q7Row struct {
	Auction  int64  `json:"auction"`
	Bidder   int64  `json:"bidder"`
	Price    int64  `json:"price"`
	DateTime int64  `json:"dateTime"`
	Extra    string `json:"extra"`
}

// q7Window is the length of the tumbling windows of Query 7, in ms.
const q7Window = 10_000

// buildQ7 is Nexmark's Query 7, highest bid: the bids whose price is the
// highest of a tumbling window of 10 s, joined with those maxima.
//
//	CREATE TABLE nexmark_q7 (
//	  auction  BIGINT,
//	  bidder  BIGINT,
//	  price  BIGINT,
//	  `dateTime`  TIMESTAMP(3),
//	  extra  VARCHAR
//	) WITH (
//	  'connector' = 'blackhole'
//	);
//
//	INSERT INTO nexmark_q7
//	SELECT B.auction, B.price, B.bidder, B.`dateTime`, B.extra
//	from bid B
//	JOIN (
//	  SELECT MAX(price) AS maxprice, window_end as `dateTime`
//	  FROM TABLE(
//	          TUMBLE(TABLE bid, DESCRIPTOR(`dateTime`), INTERVAL '10' SECOND))
//	  GROUP BY window_start, window_end
//	) B1
//	ON B.price = B1.maxprice
//	WHERE B.`dateTime` BETWEEN B1.`dateTime`  - INTERVAL '10' SECOND AND B1.`dateTime`;
//
// Two details of the SQL matter:
//
//   - BETWEEN includes both ends, so a bid at exactly a window's end (the
//     first millisecond of the next window) is joined with that window's
//     maximum too, and is a result twice if it has the top price of both.
//     So every bid is a candidate for the window that contains it, and a
//     bid at a window's start also for the window before, without counting
//     towards that window's maximum.
//   - The SELECT lists price before bidder while the sink declares bidder
//     before price, so in the suite (INSERT maps columns by position) the
//     sink's bidder column receives the price and its price the bidder.
//     That is a slip of the suite; here each column holds what its name
//     says.
//
// The join is computed without keeping the bids of a window: keyed by the
// window's end, a process function keeps the highest price so far and the
// bids at that price (and the few candidates from the window's end), and
// emits them when the watermark reaches the window's end, when every bid
// at or before it has arrived. The result is that of the join, which
// joins each window's maximum only with bids of that window (or its end).
// Before the exchange, each subtask drops the bids below a price it saw
// in the same window (q7Local).
func buildQ7(events stream.DataStream[Event], sink *Sink) {
	cands := stream.ProcessEach(bidView(events), func() stream.ProcessFunction[Bid, q7Candidate] {
		return &q7Local{max: map[int64]int64{}}
	}).Name("Q7 Local Max")
	byWindow := stream.KeyBy(cands, func(c q7Candidate) int64 { return c.End })
	top := stream.KeyedProcessEach(byWindow, func() stream.KeyedProcessFunction[int64, q7Candidate, q7Row] { return &q7Highest{} })
	Emit(top.Name("Q7 Highest"), sink)
}

// q7Local makes the candidates of the join from the bids of one subtask,
// dropping those that cannot have the top price of their window: those
// below a price already seen for that window in the subtask. This is the
// local phase of a two-phase aggregation; it leaves few bids per window to
// send to q7Highest.
type q7Local struct {
	max map[int64]int64 // the highest price of each window seen, by its end
}

func (l *q7Local) ProcessElement(ctx *stream.Context, b Bid, out stream.Collector[q7Candidate]) error {
	start := windowStartMs(b.DateTime, q7Window)
	end := start + q7Window
	if m, ok := l.max[end]; !ok || b.Price >= m {
		if !ok {
			l.forget(ctx.CurrentWatermark())
		}
		l.max[end] = b.Price
		out.Collect(q7Candidate{Bid: q7RowOf(b), End: end, Counts: true})
	}
	if b.DateTime == start {
		if m, ok := l.max[start]; !ok || b.Price >= m {
			out.Collect(q7Candidate{Bid: q7RowOf(b), End: start})
		}
	}
	return nil
}

// forget drops the maxima of the windows whose end the watermark passed:
// bids for them are late.
func (l *q7Local) forget(watermark int64) {
	for end := range l.max {
		if end < watermark {
			delete(l.max, end)
		}
	}
}

// q7Candidate is a bid (the columns of a result) to join with the maximum
// of the window that ends at End. Counts says that the bid is in that
// window, so that its price counts towards the maximum; a bid at exactly
// End does not.
type q7Candidate struct {
	Bid    q7Row
	End    int64
	Counts bool
}

// q7Top is the state of q7Highest per window.
type q7Top struct {
	HasMax bool
	Max    int64   // the highest price of the window's bids so far
	Top    []q7Row // the window's bids at price Max
	Edge   []q7Row // the bids at the window's end
}

// q7Highest keeps the highest bids of each window and emits them when the
// watermark reaches the window's end.
type q7Highest struct {
	top state.ValueState[q7Top]
}

func (h *q7Highest) Open(_ context.Context, rc *stream.KeyedRuntimeContext[int64]) (err error) {
	h.top, err = stream.GetValueState(rc, state.Value[q7Top]("top"))
	return err
}

func (h *q7Highest) ProcessElement(ctx *stream.KeyedContext[int64], c q7Candidate, _ stream.Collector[q7Row]) error {
	top, ok, err := h.top.Value()
	if err != nil {
		return err
	}
	if !ok {
		ctx.TimerService().RegisterEventTimeTimer(c.End)
	}
	switch p := c.Bid.Price; {
	case !c.Counts:
		top.Edge = append(top.Edge, c.Bid)
	case !top.HasMax || p > top.Max:
		// A new slice: the state keeps the old one (see state.ValueState).
		top.HasMax, top.Max, top.Top = true, p, []q7Row{c.Bid}
	case p == top.Max:
		top.Top = append(top.Top, c.Bid)
	default:
		return nil
	}
	return h.top.Update(top)
}

func (h *q7Highest) OnTimer(_ *stream.TimerContext[int64], _ int64, out stream.Collector[q7Row]) error {
	top, _, err := h.top.Value()
	if err != nil {
		return err
	}
	if top.HasMax {
		for _, b := range top.Top {
			out.Collect(b)
		}
		for _, b := range top.Edge {
			if b.Price == top.Max {
				out.Collect(b)
			}
		}
	}
	return h.top.Clear()
}

func q7RowOf(b Bid) q7Row {
	return q7Row{Auction: b.Auction, Bidder: b.Bidder, Price: b.Price, DateTime: b.DateTime, Extra: b.Extra}
}

// windowStartMs returns the start of the window of size ms aligned to the
// epoch that contains t: the largest multiple of size <= t, also for
// negative t.
func windowStartMs(t, size int64) int64 {
	r := t % size
	if r < 0 {
		r += size
	}
	return t - r
}

func refQ7(events []Event) []string {
	// B1: the highest price of each tumbling window that has bids, by the
	// window's end.
	maxprice := map[int64]int64{}
	for _, e := range events {
		if e.Kind != KindBid {
			continue
		}
		t := e.Bid.DateTime
		end := t - ((t%10_000)+10_000)%10_000 + 10_000
		if m, ok := maxprice[end]; !ok || e.Bid.Price > m {
			maxprice[end] = e.Bid.Price
		}
	}
	// The join, literally.
	var rows []q7Row
	for end, m := range maxprice {
		for _, e := range events {
			b := e.Bid
			if e.Kind == KindBid && b.Price == m && end-10_000 <= b.DateTime && b.DateTime <= end {
				rows = append(rows, q7Row{Auction: b.Auction, Bidder: b.Bidder, Price: b.Price, DateTime: b.DateTime, Extra: b.Extra})
			}
		}
	}
	return jsonLines(rows)
}
