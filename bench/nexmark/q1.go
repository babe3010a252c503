package nexmark

import (
	"strconv"

	"github.com/runnel-io/runnel/stream"
)

func init() {
	register(Query{Name: "q1", Summary: "currency conversion: bid prices in euros", Build: buildQ1, Reference: refQ1})
}

// q1Row is a row of nexmark_q1.
type q1Row struct {
	Auction  int64    `json:"auction"`
	Bidder   int64    `json:"bidder"`
	Price    decimal3 `json:"price"`
	DateTime int64    `json:"dateTime"`
	Extra    string   `json:"extra"`
}

// buildQ1 is Nexmark's Query 1, currency conversion: each bid with its
// price in euros.
//
//	CREATE TABLE nexmark_q1 (
//	  auction  BIGINT,
//	  bidder  BIGINT,
//	  price  DECIMAL(23, 3),
//	  `dateTime`  TIMESTAMP(3),
//	  extra  VARCHAR
//	) WITH (
//	  'connector' = 'blackhole'
//	);
//
//	INSERT INTO nexmark_q1
//	SELECT
//	    auction,
//	    bidder,
//	    0.908 * price as price, -- convert dollar to euro
//	    `dateTime`,
//	    extra
//	FROM bid;
//
// 0.908 is a DECIMAL(4, 3) literal and price a BIGINT, so the product is
// the exact DECIMAL(23, 3) price·908/1000: see euros.
func buildQ1(events stream.DataStream[Event], sink *Sink) {
	rows := stream.Map(bidView(events), func(b Bid) (q1Row, error) {
		return q1Row{Auction: b.Auction, Bidder: b.Bidder, Price: euros(b.Price), DateTime: b.DateTime, Extra: b.Extra}, nil
	})
	Emit(rows.Name("Q1 Project"), sink)
}

func refQ1(events []Event) []string {
	var rows []q1Row
	for _, e := range events {
		if e.Kind != KindBid {
			continue
		}
		b := e.Bid
		rows = append(rows, q1Row{Auction: b.Auction, Bidder: b.Bidder, Price: decimal3(b.Price * 908), DateTime: b.DateTime, Extra: b.Extra})
	}
	return jsonLines(rows)
}

// decimal3 is a SQL DECIMAL with 3 digits after the point, as an integer
// count of thousandths: decimal3(1234) is 1.234. It is exact where a
// float64 is not (0.908 * 3 is 2.7240000000000002 in float64), and as
// cheap as an int64. Its JSON is a number with exactly three decimals, as
// Flink prints a DECIMAL(p, 3): 1.234, -0.500, 7.000.
type decimal3 int64

// euros returns the SQL expression 0.908 * dollars, Nexmark's currency
// conversion. It is exact for |dollars| below 10^16, far above any
// generated price (at most 10^8).
func euros(dollars int64) decimal3 { return decimal3(dollars * 908) }

// MarshalJSON implements json.Marshaler.
func (d decimal3) MarshalJSON() ([]byte, error) { return d.appendTo(nil), nil }

// appendTo appends d in decimal with three digits after the point.
func (d decimal3) appendTo(dst []byte) []byte {
	v := int64(d)
	if v < 0 {
		dst = append(dst, '-')
	}
	// Work with the magnitude as a uint64, which also holds -MinInt64.
	u := uint64(v)
	if v < 0 {
		u = -u
	}
	dst = strconv.AppendUint(dst, u/1000, 10)
	frac := u % 1000
	return append(dst, '.', byte('0'+frac/100), byte('0'+frac/10%10), byte('0'+frac%10))
}
