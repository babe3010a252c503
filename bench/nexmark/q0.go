package nexmark

import "github.com/runnel-io/runnel/stream"

func init() {
	register(Query{Name: "q0", Summary: "pass-through: every bid", Build: buildQ0, Reference: refQ0})
}

// q0Row is a row of nexmark_q0. dateTime, a TIMESTAMP(3), is in
// milliseconds since the Unix epoch (see the note on time columns in q5.go).
type q0Row struct {
	Auction  int64  `json:"auction"`
	Bidder   int64  `json:"bidder"`
	Price    int64  `json:"price"`
	DateTime int64  `json:"dateTime"`
	Extra    string `json:"extra"`
}

// buildQ0 is Nexmark's Query 0, pass-through (not in the original suite):
// it measures the cost of the source and the sink.
//
//	CREATE TABLE nexmark_q0 (
//	  auction  BIGINT,
//	  bidder  BIGINT,
//	  price  BIGINT,
//	  `dateTime`  TIMESTAMP(3),
//	  extra  VARCHAR
//	) WITH (
//	  'connector' = 'blackhole'
//	);
//
//	INSERT INTO nexmark_q0
//	SELECT auction, bidder, price, `dateTime`, extra FROM bid;
func buildQ0(events stream.DataStream[Event], sink *Sink) {
	rows := stream.Map(bidView(events), func(b Bid) (q0Row, error) {
		return q0Row{Auction: b.Auction, Bidder: b.Bidder, Price: b.Price, DateTime: b.DateTime, Extra: b.Extra}, nil
	})
	Emit(rows.Name("Q0 Project"), sink)
}

func refQ0(events []Event) []string {
	var rows []q0Row
	for _, e := range events {
		if e.Kind != KindBid {
			continue
		}
		b := e.Bid
		rows = append(rows, q0Row{Auction: b.Auction, Bidder: b.Bidder, Price: b.Price, DateTime: b.DateTime, Extra: b.Extra})
	}
	return jsonLines(rows)
}

// bidView is the bid view of the Nexmark DDL (SELECT bid.* FROM nexmark
// WHERE event_type = 2): the bids of the event stream, with their event
// timestamps.
func bidView(events stream.DataStream[Event]) stream.DataStream[Bid] {
	return projectBids(events, "Bid View", func(b Bid) Bid { return b })
}

// projectBids is the bid view projected to the columns a query reads:
// project(bid) for each bid, with the bid's timestamp. Its operator chains
// to the source, so the events themselves never cross a task boundary,
// and what does is no larger than the query needs (a bid's URL and extra
// are most of its size).
func projectBids[T any](events stream.DataStream[Event], name string, project func(b Bid) T) stream.DataStream[T] {
	return stream.FlatMap(events, func(e Event, out stream.Collector[T]) error {
		if e.Kind == KindBid {
			out.Collect(project(e.Bid))
		}
		return nil
	}).Name(name)
}
