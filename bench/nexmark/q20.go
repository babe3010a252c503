package nexmark

import "github.com/runnel-io/runnel/stream"

func init() {
	register(Query{
		Name:      "q20",
		Summary:   "expand bids with their auction, for auctions in category 10",
		Build:     buildQ20,
		Reference: refQ20,
	})
}

// q20Row is a result of q20: a bid and its auction.
type q20Row struct {
	Auction         int64  `json:"auction"`
	Bidder          int64  `json:"bidder"`
	Price           int64  `json:"price"`
	Channel         string `json:"channel"`
	URL             string `json:"url"`
	BidDateTime     int64  `json:"bid_dateTime"`
	BidExtra        string `json:"bid_extra"`
	ItemName        string `json:"itemName"`
	Description     string `json:"description"`
	InitialBid      int64  `json:"initialBid"`
	Reserve         int64  `json:"reserve"`
	AuctionDateTime int64  `json:"auction_dateTime"`
	Expires         int64  `json:"expires"`
	Seller          int64  `json:"seller"`
	Category        int64  `json:"category"`
	AuctionExtra    string `json:"auction_extra"`
}

func q20Join(a Auction, b Bid) q20Row {
	return q20Row{
		Auction: b.Auction, Bidder: b.Bidder, Price: b.Price, Channel: b.Channel, URL: b.URL,
		BidDateTime: b.DateTime, BidExtra: b.Extra,
		ItemName: a.ItemName, Description: a.Description, InitialBid: a.InitialBid, Reserve: a.Reserve,
		AuctionDateTime: a.DateTime, Expires: a.Expires, Seller: a.Seller, Category: a.Category,
		AuctionExtra: a.Extra,
	}
}

// buildQ20 is query 20 of the nexmark/nexmark suite (not in the original
// Nexmark), a regular inner join of bids with their auction:
//
//	INSERT INTO nexmark_q20
//	SELECT
//	    auction, bidder, price, channel, url, B.dateTime, B.extra,
//	    itemName, description, initialBid, reserve, A.dateTime, expires, seller, category, A.extra
//	FROM
//	    bid AS B INNER JOIN auction AS A on B.auction = A.id
//	WHERE A.category = 10;
//
// (The suite's sink table names the columns of the two dateTimes and extras
// bid_dateTime, bid_extra, auction_dateTime and auction_extra.) It is the
// join of q3 (uniqueKeyJoin) with auctions on the unique side: the filter on
// the category is applied in the join, so that the bids of other auctions
// are dropped as they come; bids that come before their auction wait for
// it; every auction of category 10 is kept for ever, as a regular join
// keeps its state, since bids for it may come at any time. Each match is
// emitted once, whatever the order of arrival.
func buildQ20(events stream.DataStream[Event], sink *Sink) {
	auctions := stream.FlatMap(events, func(e Event, out stream.Collector[Auction]) error {
		if e.Kind == KindAuction {
			out.Collect(*e.auction())
		}
		return nil
	}).Name("q20 Auctions")
	bids := stream.FlatMap(events, func(e Event, out stream.Collector[Bid]) error {
		if e.Kind == KindBid {
			out.Collect(e.Bid)
		}
		return nil
	}).Name("q20 Bids")
	joined := stream.KeyedCoProcessEach(
		stream.ConnectKeyed(
			stream.KeyBy(auctions, func(a Auction) int64 { return a.ID }),
			stream.KeyBy(bids, func(b Bid) int64 { return b.Auction })),
		func() stream.KeyedCoProcessFunction[int64, Auction, Bid, q20Row] {
			return &uniqueKeyJoin[int64, Auction, Bid, q20Row]{
				query: "q20",
				keep:  func(a Auction) bool { return a.Category == 10 },
				join:  q20Join,
			}
		}).Name("q20 Join")
	Emit(joined, sink)
}

// refQ20 is q20 as a loop over the bids, each joined with the auctions of
// its id (found through a map from id to auctions).
func refQ20(events []Event) []string {
	byID := map[int64][]Auction{}
	for _, e := range events {
		if e.Kind == KindAuction {
			a := *e.auction()
			byID[a.ID] = append(byID[a.ID], a)
		}
	}
	var rows []q20Row
	for _, e := range events {
		if e.Kind != KindBid {
			continue
		}
		for _, a := range byID[e.Bid.Auction] {
			if a.Category == 10 {
				rows = append(rows, q20Join(a, e.Bid))
			}
		}
	}
	return jsonLines(rows)
}
