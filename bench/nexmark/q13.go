package nexmark

import (
	"context"
	"strconv"
	"sync"

	"github.com/runnel-io/runnel/stream"
)

func init() {
	register(Query{
		Name:      "q13",
		Summary:   "bounded side input join: bids enriched from a static table on auction mod 10000",
		Build:     buildQ13,
		Reference: refQ13,
	})
}

// q13Row is a result of q13.
type q13Row struct {
	Auction  int64  `json:"auction"`
	Bidder   int64  `json:"bidder"`
	Price    int64  `json:"price"`
	DateTime int64  `json:"dateTime"`
	Value    string `json:"value"`
}

// q13SideRows is the number of rows of the side input, keys 0 to 9,999: the
// suite's side_input_gen.sh runs SideInputGenerator --num 10000.
const q13SideRows = 10_000

// q13SideInput is the side input table: the value of key k is the decimal
// k, as SideInputGenerator writes it (the line "k,k" for each key). It is
// built once per process and never changes; subtasks share it.
var q13SideInput = sync.OnceValue(func() *[q13SideRows]string {
	t := new([q13SideRows]string)
	for k := range t {
		t[k] = strconv.Itoa(k)
	}
	return t
})

// q13Lookup returns the side input's value for a bid's auction: the row of
// key MOD(auction, 10000), which SQL computes with the sign of auction, so
// a negative auction finds no row.
func q13Lookup(side *[q13SideRows]string, auction int64) (string, bool) {
	k := auction % q13SideRows
	if k < 0 {
		return "", false
	}
	return side[k], true
}

// buildQ13 is query 13 of the nexmark/nexmark suite (not in the original
// Nexmark), a lookup join of the bids with a bounded side input:
//
//	CREATE TABLE side_input (
//	  key BIGINT,
//	  `value` VARCHAR
//	) WITH (
//	  'connector.type' = 'filesystem',
//	  'connector.path' = 'file://${FLINK_HOME}/data/side_input.txt',
//	  'format.type' = 'csv'
//	);
//
//	INSERT INTO nexmark_q13
//	SELECT
//	    B.auction,
//	    B.bidder,
//	    B.price,
//	    B.`dateTime`,
//	    S.`value`
//	FROM (SELECT *, PROCTIME() as p_time FROM bid) B
//	JOIN side_input FOR SYSTEM_TIME AS OF B.p_time AS S
//	ON mod(B.auction, 10000) = S.key;
//
// Deviation: there is no side_input.txt file and no lookup source. The
// table is built in memory (q13SideInput) with the rows the suite's
// generator writes to the file, and each subtask takes it in Open; the
// join is then a lookup in it per bid. A lookup join as of processing time
// sees the table as it is when the bid is processed, and the file does not
// change during a run, so the results are the same, and they are
// deterministic though the SQL names PROCTIME. The join needs no shuffle:
// it runs where the bids are.
func buildQ13(events stream.DataStream[Event], sink *Sink) {
	rows := stream.ProcessEach(events, func() stream.ProcessFunction[Event, q13Row] {
		return &q13Join{}
	}).Name("q13 Side Input Join")
	Emit(rows, sink)
}

// q13Join is the lookup join of one subtask.
type q13Join struct {
	side *[q13SideRows]string
}

func (j *q13Join) Open(context.Context, *stream.RuntimeContext) error {
	j.side = q13SideInput()
	return nil
}

func (j *q13Join) ProcessElement(_ *stream.Context, e Event, out stream.Collector[q13Row]) error {
	if e.Kind != KindBid {
		return nil
	}
	b := &e.Bid
	if v, ok := q13Lookup(j.side, b.Auction); ok {
		out.Collect(q13Row{Auction: b.Auction, Bidder: b.Bidder, Price: b.Price, DateTime: b.DateTime, Value: v})
	}
	return nil
}

// refQ13 is q13 as a loop over the bids, with the side input as the file
// holds it, a list of (key, value) rows, indexed by key.
func refQ13(events []Event) []string {
	type sideRow struct {
		key   int64
		value string
	}
	var side []sideRow
	for k := range int64(q13SideRows) {
		side = append(side, sideRow{k, strconv.FormatInt(k, 10)})
	}
	index := map[int64][]string{}
	for _, r := range side {
		index[r.key] = append(index[r.key], r.value)
	}
	var rows []q13Row
	for _, e := range events {
		if e.Kind != KindBid {
			continue
		}
		b := e.Bid
		for _, v := range index[b.Auction%10000] {
			rows = append(rows, q13Row{Auction: b.Auction, Bidder: b.Bidder, Price: b.Price, DateTime: b.DateTime, Value: v})
		}
	}
	return jsonLines(rows)
}
