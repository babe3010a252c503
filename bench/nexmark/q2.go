package nexmark

import "github.com/runnel-io/runnel/stream"

func init() {
	register(Query{Name: "q2", Summary: "selection: the bids on every 123rd auction", Build: buildQ2, Reference: refQ2})
}

// q2Row is a row of nexmark_q2.
type q2Row struct {
	Auction int64 `json:"auction"`
	Price   int64 `json:"price"`
}

// q2Modulus selects the auctions of Query 2: those whose id it divides.
const q2Modulus = 123

// buildQ2 is Nexmark's Query 2, selection: the bids on the auctions whose
// id is a multiple of 123. (The original Nexmark query picks five fixed
// auction ids; the suite takes every 123rd auction to get more results.)
//
//	CREATE TABLE nexmark_q2 (
//	  auction  BIGINT,
//	  price  BIGINT
//	) WITH (
//	  'connector' = 'blackhole'
//	);
//
//	INSERT INTO nexmark_q2
//	SELECT auction, price FROM bid WHERE MOD(auction, 123) = 0;
func buildQ2(events stream.DataStream[Event], sink *Sink) {
	rows := stream.FlatMap(bidView(events), func(b Bid, out stream.Collector[q2Row]) error {
		if b.Auction%q2Modulus == 0 {
			out.Collect(q2Row{Auction: b.Auction, Price: b.Price})
		}
		return nil
	})
	Emit(rows.Name("Q2 Select"), sink)
}

func refQ2(events []Event) []string {
	var rows []q2Row
	for _, e := range events {
		if e.Kind == KindBid && e.Bid.Auction%123 == 0 {
			rows = append(rows, q2Row{Auction: e.Bid.Auction, Price: e.Bid.Price})
		}
	}
	return jsonLines(rows)
}
