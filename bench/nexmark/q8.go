package nexmark

import (
	"time"

	"github.com/runnel-io/runnel/stream"
	"github.com/runnel-io/runnel/stream/window"
)

func init() {
	register(Query{
		Name:      "q8",
		Summary:   "monitor new users: people who registered and opened an auction in the same 10 s window",
		Build:     buildQ8,
		Reference: refQ8,
	})
}

// q8Window is the size of q8's tumbling windows.
const q8Window = 10 * time.Second

// q8Row is a result of q8; stime is the window's start, in milliseconds
// since the Unix epoch as every time of this package.
type q8Row struct {
	ID    int64  `json:"id"`
	Name  string `json:"name"`
	STime int64  `json:"stime"`
}

// q8Person and q8Seller are what q8 reads of a person and an auction.
type q8Person struct {
	ID       int64
	Name     string
	DateTime int64
}

type q8Seller struct {
	Seller int64
}

// q8WindowStart returns the start of the window of q8 that holds time ts:
// windows are aligned to the epoch, and negative times floored, as
// TumblingEventTimeWindows aligns them.
func q8WindowStart(ts int64) int64 {
	size := q8Window.Milliseconds()
	return ts - ((ts%size)+size)%size
}

// buildQ8 is Nexmark's query 8, the persons who opened an auction in the
// 10-second window in which they registered:
//
//	INSERT INTO nexmark_q8
//	SELECT P.id, P.name, P.starttime
//	FROM (
//	  SELECT id, name,
//	        window_start AS starttime,
//	        window_end AS endtime
//	  FROM TABLE(
//	            TUMBLE(TABLE person, DESCRIPTOR(dateTime), INTERVAL '10' SECOND))
//	  GROUP BY id, name, window_start, window_end
//	) P
//	JOIN (
//	  SELECT seller,
//	        window_start AS starttime,
//	        window_end AS endtime
//	  FROM TABLE(
//	        TUMBLE(TABLE auction, DESCRIPTOR(dateTime), INTERVAL '10' SECOND))
//	  GROUP BY seller, window_start, window_end
//	) A
//	ON P.id = A.seller AND P.starttime = A.starttime AND P.endtime = A.endtime;
//
// It is a window coGroup (Flink's DataStream form of the query): persons
// keyed by id and auctions keyed by seller, in the same tumbling event-time
// windows of 10 s, so that each key's window holds the persons and the
// auctions that the two GROUP BYs and the join on id and window bring
// together. When the window fires, every distinct (id, name) among its
// persons is a row if the window has at least one auction of that seller:
// the GROUP BYs make the result distinct, where a window join would emit
// one row per pair. stime is computed from the person's dateTime, which
// lies in the window. Rows are emitted when the watermark passes the
// window's end, as Flink emits them.
func buildQ8(events stream.DataStream[Event], sink *Sink) {
	persons := stream.FlatMap(events, func(e Event, out stream.Collector[q8Person]) error {
		if e.Kind == KindPerson {
			p := e.person()
			out.Collect(q8Person{ID: p.ID, Name: p.Name, DateTime: p.DateTime})
		}
		return nil
	}).Name("q8 Persons")
	sellers := stream.FlatMap(events, func(e Event, out stream.Collector[q8Seller]) error {
		if e.Kind == KindAuction {
			out.Collect(q8Seller{Seller: e.auction().Seller})
		}
		return nil
	}).Name("q8 Sellers")
	type in = stream.TaggedUnion[q8Person, q8Seller]
	joined := stream.WindowJoin(persons, sellers,
		func(p q8Person) int64 { return p.ID },
		func(s q8Seller) int64 { return s.Seller },
		window.TumblingEventTimeWindows[in](q8Window, 0))
	rows := stream.CoGroupApply(joined, stream.CoGroupFunc[q8Person, q8Seller, q8Row](
		func(persons []q8Person, sellers []q8Seller, out stream.Collector[q8Row]) error {
			if len(sellers) == 0 {
				return nil
			}
		next:
			for i, p := range persons {
				for _, q := range persons[:i] {
					if q.Name == p.Name {
						continue next // GROUP BY id, name: once per name
					}
				}
				out.Collect(q8Row{ID: p.ID, Name: p.Name, STime: q8WindowStart(p.DateTime)})
			}
			return nil
		})).Name("q8 Window Join")
	Emit(rows, sink)
}

// refQ8 is q8 as sets: the distinct (id, name, window) of the persons and
// the distinct (seller, window) of the auctions, and the loop over the
// former looking each up in the latter.
func refQ8(events []Event) []string {
	type sellerWindow struct{ seller, start int64 }
	sellers := map[sellerWindow]bool{}
	persons := map[q8Row]bool{}
	for _, e := range events {
		switch e.Kind {
		case KindPerson:
			p := e.person()
			persons[q8Row{ID: p.ID, Name: p.Name, STime: q8WindowStart(p.DateTime)}] = true
		case KindAuction:
			a := e.auction()
			sellers[sellerWindow{a.Seller, q8WindowStart(a.DateTime)}] = true
		}
	}
	var rows []q8Row
	for p := range persons {
		if sellers[sellerWindow{p.ID, p.STime}] {
			rows = append(rows, p)
		}
	}
	return jsonLines(rows)
}
