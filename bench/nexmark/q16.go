package nexmark

import (
	"time"

	"github.com/runnel-io/runnel/stream"
)

func init() {
	register(Query{Name: "q16", Summary: "channel statistics: bids, bidders and auctions per channel, day and price rank", Build: buildQ16, Reference: refQ16})
}

// q16Row is a row of nexmark_q16.
type q16Row struct {
	Channel string `json:"channel"`
	Day     string `json:"day"`
	Minute  string `json:"minute"`
	rankCounts
}

// q16Key is the group of a bid in Query 16: its channel and UTC day.
type q16Key struct {
	Channel string
	Day     int64
}

// buildQ16 is Nexmark's Query 16, channel statistics report (not in the
// original suite): Query 15 per channel and day, with the latest minute
// of the day that had a bid of the channel. See "Daily aggregates" in
// q15.go for when its rows are emitted.
//
//	CREATE TABLE nexmark_q16 (
//	    channel VARCHAR,
//	    `day` VARCHAR,
//	    `minute` VARCHAR,
//	    total_bids BIGINT,
//	    rank1_bids BIGINT,
//	    rank2_bids BIGINT,
//	    rank3_bids BIGINT,
//	    total_bidders BIGINT,
//	    rank1_bidders BIGINT,
//	    rank2_bidders BIGINT,
//	    rank3_bidders BIGINT,
//	    total_auctions BIGINT,
//	    rank1_auctions BIGINT,
//	    rank2_auctions BIGINT,
//	    rank3_auctions BIGINT
//	) WITH (
//	    'connector' = 'blackhole'
//	);
//
//	INSERT INTO nexmark_q16
//	SELECT
//	    channel,
//	    DATE_FORMAT(`dateTime`, 'yyyy-MM-dd') as `day`,
//	    max(DATE_FORMAT(`dateTime`, 'HH:mm')) as `minute`,
//	    count(*) AS total_bids,
//	    count(*) filter (where price < 10000) AS rank1_bids,
//	    count(*) filter (where price >= 10000 and price < 1000000) AS rank2_bids,
//	    count(*) filter (where price >= 1000000) AS rank3_bids,
//	    count(distinct bidder) AS total_bidders,
//	    count(distinct bidder) filter (where price < 10000) AS rank1_bidders,
//	    count(distinct bidder) filter (where price >= 10000 and price < 1000000) AS rank2_bidders,
//	    count(distinct bidder) filter (where price >= 1000000) AS rank3_bidders,
//	    count(distinct auction) AS total_auctions,
//	    count(distinct auction) filter (where price < 10000) AS rank1_auctions,
//	    count(distinct auction) filter (where price >= 10000 and price < 1000000) AS rank2_auctions,
//	    count(distinct auction) filter (where price >= 1000000) AS rank3_auctions
//	FROM bid
//	GROUP BY channel, DATE_FORMAT(`dateTime`, 'yyyy-MM-dd');
//
// Within one day, the largest 'HH:mm' string is that of the latest bid, so
// the group keeps the latest time and formats it in the result.
func buildQ16(events stream.DataStream[Event], sink *Sink) {
	bids := projectBids(events, "Q16 Bid Columns", func(b Bid) rankBid {
		return rankBid{Channel: b.Channel, Auction: b.Auction, Bidder: b.Bidder, Price: b.Price, DateTime: b.DateTime}
	})
	byChannelDay := stream.KeyBy(bids, func(b rankBid) q16Key { return q16Key{Channel: b.Channel, Day: utcDay(b.DateTime)} })
	rows := stream.KeyedProcessEach(byChannelDay, func() stream.KeyedProcessFunction[q16Key, rankBid, q16Row] {
		return &dailyRanks[q16Key, q16Row]{row: func(k q16Key, s *rankStats) q16Row {
			return q16Row{Channel: k.Channel, Day: utcDate(k.Day), Minute: time.UnixMilli(s.Last).UTC().Format("15:04"), rankCounts: s.counts()}
		}}
	})
	Emit(rows.Name("Q16 Channel Ranks"), sink)
}

func refQ16(events []Event) []string {
	type key struct{ channel, day string }
	type group struct {
		minute string
		ranks  *refRanks
	}
	groups := map[key]*group{}
	for _, e := range events {
		if e.Kind != KindBid {
			continue
		}
		b := e.Bid
		t := time.UnixMilli(b.DateTime).UTC()
		k := key{b.Channel, t.Format("2006-01-02")}
		g := groups[k]
		if g == nil {
			g = &group{ranks: newRefRanks()}
			groups[k] = g
		}
		g.minute = max(g.minute, t.Format("15:04"))
		g.ranks.add(b)
	}
	var rows []q16Row
	for k, g := range groups {
		rows = append(rows, q16Row{Channel: k.channel, Day: k.day, Minute: g.minute, rankCounts: g.ranks.counts()})
	}
	return jsonLines(rows)
}
