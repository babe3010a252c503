package nexmark

import (
	"regexp"
	"strings"

	"github.com/runnel-io/runnel/stream"
)

func init() {
	register(Query{
		Name:      "q21",
		Summary:   "add channel id: the id of each bid's channel, from its name or its URL",
		Build:     buildQ21,
		Reference: refQ21,
	})
}

// q21Row is a result of q21.
type q21Row struct {
	Auction   int64  `json:"auction"`
	Bidder    int64  `json:"bidder"`
	Price     int64  `json:"price"`
	Channel   string `json:"channel"`
	ChannelID string `json:"channel_id"`
}

// q21ChannelID is q21's channel_id of a bid and whether the bid passes the
// WHERE clause: the id of one of the four named channels, else
// REGEXP_EXTRACT(url, '(&|^)channel_id=([^&]*)', 2). A bid passes exactly
// when channel_id is not NULL, so the two are computed together.
func q21ChannelID(channel, url string) (string, bool) {
	switch {
	case q21LowerIs(channel, "apple"):
		return "0", true
	case q21LowerIs(channel, "google"):
		return "1", true
	case q21LowerIs(channel, "facebook"):
		return "2", true
	case q21LowerIs(channel, "baidu"):
		return "3", true
	}
	return q21ExtractChannelID(url)
}

// q21LowerIs reports whether lower(s) = lit, for an ASCII lower-case lit,
// without allocating for ASCII s. SQL's LOWER is Java's toLowerCase (in
// the root locale); for other s strings.ToLower does the same but for
// U+0130, which Java lowers to "i" and a combining dot, so that lower(s) is
// then never ASCII.
func q21LowerIs(s, lit string) bool {
	for i := range len(s) {
		if s[i] >= 0x80 {
			return !strings.ContainsRune(s, '\u0130') && strings.ToLower(s) == lit
		}
	}
	if len(s) != len(lit) {
		return false
	}
	for i := range len(s) {
		c := s[i]
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		if c != lit[i] {
			return false
		}
	}
	return true
}

// q21ExtractChannelID is REGEXP_EXTRACT(url, '(&|^)channel_id=([^&]*)', 2)
// without a regular expression: the leftmost match starts at the first
// "channel_id=" that begins the url or follows a '&', and its group 2 runs
// from there to the next '&' or the end. No match is NULL (false).
func q21ExtractChannelID(url string) (string, bool) {
	const key = "channel_id="
	for from := 0; ; {
		i := strings.Index(url[from:], key)
		if i < 0 {
			return "", false
		}
		i += from
		if i == 0 || url[i-1] == '&' {
			v := url[i+len(key):]
			if j := strings.IndexByte(v, '&'); j >= 0 {
				v = v[:j]
			}
			return v, true
		}
		from = i + 1
	}
}

// buildQ21 is query 21 of the nexmark/nexmark suite (not in the original
// Nexmark), which adds a channel_id column to the bids:
//
//	INSERT INTO nexmark_q21
//	SELECT
//	    auction, bidder, price, channel,
//	    CASE
//	        WHEN lower(channel) = 'apple' THEN '0'
//	        WHEN lower(channel) = 'google' THEN '1'
//	        WHEN lower(channel) = 'facebook' THEN '2'
//	        WHEN lower(channel) = 'baidu' THEN '3'
//	        ELSE REGEXP_EXTRACT(url, '(&|^)channel_id=([^&]*)', 2)
//	        END
//	    AS channel_id FROM bid
//	    where REGEXP_EXTRACT(url, '(&|^)channel_id=([^&]*)', 2) is not null or
//	          lower(channel) in ('apple', 'google', 'facebook', 'baidu');
//
// A stateless filter and projection (q21ChannelID), which allocates
// nothing: the id is a constant or a substring of the url.
func buildQ21(events stream.DataStream[Event], sink *Sink) {
	rows := stream.FlatMap(events, func(e Event, out stream.Collector[q21Row]) error {
		if e.Kind != KindBid {
			return nil
		}
		b := &e.Bid
		if id, ok := q21ChannelID(b.Channel, b.URL); ok {
			out.Collect(q21Row{Auction: b.Auction, Bidder: b.Bidder, Price: b.Price, Channel: b.Channel, ChannelID: id})
		}
		return nil
	}).Name("q21 Channel Id")
	Emit(rows, sink)
}

// refQ21 is q21 with the SQL's functions as Go's: strings.ToLower for
// lower and package regexp for REGEXP_EXTRACT (run once per distinct url,
// and only on urls that have the literal part of the expression).
func refQ21(events []Event) []string {
	re := regexp.MustCompile(`(&|^)channel_id=([^&]*)`)
	ids := map[string]string{"apple": "0", "google": "1", "facebook": "2", "baidu": "3"}
	type extract struct {
		id string
		ok bool
	}
	extracted := map[string]extract{}
	var rows []q21Row
	for _, e := range events {
		if e.Kind != KindBid {
			continue
		}
		b := e.Bid
		id, ok := ids[strings.ToLower(b.Channel)]
		if !ok && strings.Contains(b.URL, "channel_id=") {
			x, done := extracted[b.URL]
			if !done {
				if m := re.FindStringSubmatch(b.URL); m != nil {
					x = extract{m[2], true}
				}
				extracted[b.URL] = x
			}
			id, ok = x.id, x.ok
		}
		if ok {
			rows = append(rows, q21Row{Auction: b.Auction, Bidder: b.Bidder, Price: b.Price, Channel: b.Channel, ChannelID: id})
		}
	}
	return jsonLines(rows)
}
