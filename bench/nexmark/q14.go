package nexmark

import (
	"strings"
	"time"

	"github.com/runnel-io/runnel/stream"
)

func init() {
	register(Query{Name: "q14", Summary: "calculation: bids in a price range, with their time of day and a UDF", Build: buildQ14, Reference: refQ14})
}

// q14Row is a row of nexmark_q14.
type q14Row struct {
	Auction     int64    `json:"auction"`
	Bidder      int64    `json:"bidder"`
	Price       decimal3 `json:"price"`
	BidTimeType string   `json:"bidTimeType"`
	DateTime    int64    `json:"dateTime"`
	Extra       string   `json:"extra"`
	CCounts     int64    `json:"c_counts"`
}

// buildQ14 is Nexmark's Query 14, calculation (not in the original suite):
// the bids whose price in euros is strictly between 1,000,000 and
// 50,000,000, with the part of the day they were made in and the number
// of 'c's in their extra (the suite's UDF count_char, here countChar).
//
//	CREATE FUNCTION count_char AS 'com.github.nexmark.flink.udf.CountChar';
//
//	CREATE TABLE nexmark_q14 (
//	    auction BIGINT,
//	    bidder BIGINT,
//	    price  DECIMAL(23, 3),
//	    bidTimeType VARCHAR,
//	    `dateTime` TIMESTAMP(3),
//	    extra VARCHAR,
//	    c_counts BIGINT
//	) WITH (
//	  'connector' = 'blackhole'
//	);
//
//	INSERT INTO nexmark_q14
//	SELECT
//	    auction,
//	    bidder,
//	    0.908 * price as price,
//	    CASE
//	        WHEN HOUR(`dateTime`) >= 8 AND HOUR(`dateTime`) <= 18 THEN 'dayTime'
//	        WHEN HOUR(`dateTime`) <= 6 OR HOUR(`dateTime`) >= 20 THEN 'nightTime'
//	        ELSE 'otherTime'
//	    END AS bidTimeType,
//	    `dateTime`,
//	    extra,
//	    count_char(extra, 'c') AS c_counts
//	FROM bid
//	WHERE 0.908 * price > 1000000 AND 0.908 * price < 50000000;
//
// The price is the exact DECIMAL of Query 1 (see euros), so the bounds
// compare exactly; HOUR is that of UTC (see q5.go).
func buildQ14(events stream.DataStream[Event], sink *Sink) {
	rows := stream.FlatMap(bidView(events), func(b Bid, out stream.Collector[q14Row]) error {
		p := euros(b.Price)
		if p > 1_000_000*decimal3(1000) && p < 50_000_000*decimal3(1000) {
			out.Collect(q14Row{
				Auction: b.Auction, Bidder: b.Bidder, Price: p,
				BidTimeType: bidTimeType(b.DateTime), DateTime: b.DateTime, Extra: b.Extra,
				CCounts: countChar(b.Extra, 'c'),
			})
		}
		return nil
	})
	Emit(rows.Name("Q14 Calc"), sink)
}

// bidTimeType is the CASE of Query 14 on the hour of day (UTC) of the time
// ts (ms since the epoch).
func bidTimeType(ts int64) string {
	const msPerHour = 3600 * 1000
	switch hour := (ts - windowStartMs(ts, msPerDay)) / msPerHour; {
	case hour >= 8 && hour <= 18:
		return "dayTime"
	case hour <= 6 || hour >= 20:
		return "nightTime"
	default:
		return "otherTime"
	}
}

// countChar is the suite's UDF count_char(s, c): the number of bytes of s
// (in UTF-8) equal to the byte c.
func countChar(s string, c byte) int64 {
	var n int64
	for i := 0; i < len(s); i++ {
		if s[i] == c {
			n++
		}
	}
	return n
}

func refQ14(events []Event) []string {
	var rows []q14Row
	for _, e := range events {
		if e.Kind != KindBid {
			continue
		}
		b := e.Bid
		euros := decimal3(b.Price * 908) // thousandths of a euro
		if !(euros > 1_000_000_000 && euros < 50_000_000_000) {
			continue
		}
		hour := time.UnixMilli(b.DateTime).UTC().Hour()
		kind := "otherTime"
		if hour >= 8 && hour <= 18 {
			kind = "dayTime"
		} else if hour <= 6 || hour >= 20 {
			kind = "nightTime"
		}
		rows = append(rows, q14Row{
			Auction: b.Auction, Bidder: b.Bidder, Price: euros, BidTimeType: kind,
			DateTime: b.DateTime, Extra: b.Extra, CCounts: int64(strings.Count(b.Extra, "c")),
		})
	}
	return jsonLines(rows)
}
