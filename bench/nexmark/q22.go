package nexmark

import (
	"strings"

	"github.com/runnel-io/runnel/stream"
)

func init() {
	register(Query{
		Name:      "q22",
		Summary:   "get URL directories: the first three directories of each bid's URL",
		Build:     buildQ22,
		Reference: refQ22,
	})
}

// q22Row is a result of q22.
type q22Row struct {
	Auction int64       `json:"auction"`
	Bidder  int64       `json:"bidder"`
	Price   int64       `json:"price"`
	Channel string      `json:"channel"`
	Dir1    q22Nullable `json:"dir1"`
	Dir2    q22Nullable `json:"dir2"`
	Dir3    q22Nullable `json:"dir3"`
}

// q22Nullable is a VARCHAR that may be NULL (Valid false), which JSON
// writes as null. It holds no pointer, so a row costs no allocation.
type q22Nullable struct {
	S     string
	Valid bool
}

// MarshalJSON writes the string, or null. (appendJSONString writes what
// json.Marshal would once encoding/json has HTML-escaped it, as it does
// what a MarshalJSON returns; it is cheaper.)
func (n q22Nullable) MarshalJSON() ([]byte, error) {
	if !n.Valid {
		return []byte("null"), nil
	}
	return appendJSONString(make([]byte, 0, len(n.S)+2), n.S), nil
}

// q22SplitIndex is Flink's SPLIT_INDEX(s, sep, index): field index, from
// 0, of s split at every sep, empty fields included; NULL if there is no
// such field or s is empty (commons-lang's
// splitByWholeSeparatorPreserveAllTokens, which Flink calls, returns no
// fields for an empty string).
func q22SplitIndex(s string, sep byte, index int) q22Nullable {
	if s == "" || index < 0 {
		return q22Nullable{}
	}
	for ; index > 0; index-- {
		i := strings.IndexByte(s, sep)
		if i < 0 {
			return q22Nullable{}
		}
		s = s[i+1:]
	}
	if i := strings.IndexByte(s, sep); i >= 0 {
		s = s[:i]
	}
	return q22Nullable{S: s, Valid: true}
}

// buildQ22 is query 22 of the nexmark/nexmark suite (not in the original
// Nexmark), which splits each bid's URL into directories:
//
//	INSERT INTO discard_sink
//	SELECT
//	    auction, bidder, price, channel,
//	    SPLIT_INDEX(url, '/', 3) as dir1,
//	    SPLIT_INDEX(url, '/', 4) as dir2,
//	    SPLIT_INDEX(url, '/', 5) as dir3 FROM bid;
//
// A stateless projection (q22SplitIndex), which allocates nothing: the
// directories are substrings of the URL. Nexmark's URLs are
// https://www.nexmark.com/dir1/dir2/dir3/item.htm?query=1..., so fields 0
// to 2 are "https:", "" and the host.
func buildQ22(events stream.DataStream[Event], sink *Sink) {
	rows := stream.FlatMap(events, func(e Event, out stream.Collector[q22Row]) error {
		if e.Kind != KindBid {
			return nil
		}
		b := &e.Bid
		out.Collect(q22Row{
			Auction: b.Auction, Bidder: b.Bidder, Price: b.Price, Channel: b.Channel,
			Dir1: q22SplitIndex(b.URL, '/', 3),
			Dir2: q22SplitIndex(b.URL, '/', 4),
			Dir3: q22SplitIndex(b.URL, '/', 5),
		})
		return nil
	}).Name("q22 URL Directories")
	Emit(rows, sink)
}

// refQ22 is q22 with strings.Split for SPLIT_INDEX.
func refQ22(events []Event) []string {
	var rows []q22Row
	for _, e := range events {
		if e.Kind != KindBid {
			continue
		}
		b := e.Bid
		var dirs [3]q22Nullable
		if parts := strings.Split(b.URL, "/"); b.URL != "" {
			for i := range dirs {
				if 3+i < len(parts) {
					dirs[i] = q22Nullable{S: parts[3+i], Valid: true}
				}
			}
		}
		rows = append(rows, q22Row{
			Auction: b.Auction, Bidder: b.Bidder, Price: b.Price, Channel: b.Channel,
			Dir1: dirs[0], Dir2: dirs[1], Dir3: dirs[2],
		})
	}
	return jsonLines(rows)
}
