package nexmark

import (
	"context"
	"fmt"

	"github.com/runnel-io/runnel/state"
	"github.com/runnel-io/runnel/stream"
)

func init() {
	register(Query{
		Name:      "q3",
		Summary:   "local item suggestion: sellers in OR, ID or CA and their auctions in category 10",
		Build:     buildQ3,
		Reference: refQ3,
	})
}

// q3Row is a result of q3.
type q3Row struct {
	Name  string `json:"name"`
	City  string `json:"city"`
	State string `json:"state"`
	ID    int64  `json:"id"`
}

// q3Person and q3Auction are the columns of person and auction that q3
// reads: the projection, done before the records cross to the join.
type q3Person struct {
	ID                int64
	Name, City, State string
}

type q3Auction struct {
	ID, Seller int64
}

// q3LocalState reports whether a person's state is one q3 looks for.
func q3LocalState(s string) bool { return s == "OR" || s == "ID" || s == "CA" }

// buildQ3 is Nexmark's query 3, a regular (unwindowed) inner join of
// persons and auctions on the seller:
//
//	INSERT INTO nexmark_q3
//	SELECT
//	    P.name, P.city, P.state, A.id
//	FROM
//	    auction AS A INNER JOIN person AS P on A.seller = P.id
//	WHERE
//	    A.category = 10 and (P.state = 'OR' OR P.state = 'ID' OR P.state = 'CA');
//
// Auctions are filtered before the join, persons in it (see uniqueKeyJoin):
// a person outside the three states is remembered as such, so that the
// auctions of that seller are dropped instead of waiting for a match that
// cannot come. Each match is emitted once, when its second side arrives; as
// both inputs only insert, that is the whole of the SQL result, and it does
// not depend on the order of arrival. Person ids are unique in Nexmark; a
// second person with the same id fails the job rather than give a result
// that would differ from the SQL one.
func buildQ3(events stream.DataStream[Event], sink *Sink) {
	persons := stream.FlatMap(events, func(e Event, out stream.Collector[q3Person]) error {
		if e.Kind == KindPerson {
			p := e.person()
			out.Collect(q3Person{ID: p.ID, Name: p.Name, City: p.City, State: p.State})
		}
		return nil
	}).Name("q3 Persons")
	auctions := stream.FlatMap(events, func(e Event, out stream.Collector[q3Auction]) error {
		if e.Kind == KindAuction {
			if a := e.auction(); a.Category == 10 {
				out.Collect(q3Auction{ID: a.ID, Seller: a.Seller})
			}
		}
		return nil
	}).Name("q3 Auctions")
	joined := stream.KeyedCoProcessEach(
		stream.ConnectKeyed(
			stream.KeyBy(persons, func(p q3Person) int64 { return p.ID }),
			stream.KeyBy(auctions, func(a q3Auction) int64 { return a.Seller })),
		func() stream.KeyedCoProcessFunction[int64, q3Person, q3Auction, q3Row] {
			return &uniqueKeyJoin[int64, q3Person, q3Auction, q3Row]{
				query: "q3",
				keep:  func(p q3Person) bool { return q3LocalState(p.State) },
				join: func(p q3Person, a q3Auction) q3Row {
					return q3Row{Name: p.Name, City: p.City, State: p.State, ID: a.ID}
				},
			}
		}).Name("q3 Join")
	Emit(joined, sink)
}

// refQ3 is q3 as a nested loop over every auction and person.
func refQ3(events []Event) []string {
	var rows []q3Row
	for _, ea := range events {
		if ea.Kind != KindAuction || ea.auction().Category != 10 {
			continue
		}
		a := ea.auction()
		for _, ep := range events {
			if ep.Kind != KindPerson {
				continue
			}
			if p := ep.person(); p.ID == a.Seller && q3LocalState(p.State) {
				rows = append(rows, q3Row{Name: p.Name, City: p.City, State: p.State, ID: a.ID})
			}
		}
	}
	return jsonLines(rows)
}

// uniqueKeyJoin is a streaming inner join of two inputs keyed alike, where
// the key is unique on the first input, the "one" side (a person id, an
// auction id), and the second, the "many" side, may hold any number of
// records per key. It keeps, per key:
//
//   - the one-side record, if keep accepted it, or else only the fact that
//     it came (so that many-side records of a rejected key are dropped at
//     once): keep is the WHERE condition on the one side, evaluated in the
//     join rather than before it for that reason;
//   - the many-side records that came before their one-side record, until
//     it comes.
//
// Each pair is emitted once, by whichever of its two records comes second,
// so the result is that of the SQL regular join whatever the order of
// arrival. The one-side records are kept for ever, as a regular join keeps
// its state: many-side records may still come for them at any time. A
// second one-side record for a key fails the job.
//
// It is not shared between subtasks: each has its own, made by
// KeyedCoProcessEach, holding its states.
type uniqueKeyJoin[K comparable, One, Many, Out any] struct {
	query string // for errors
	keep  func(One) bool
	join  func(One, Many) Out

	one     state.ValueState[uniqueSide[One]]
	pending state.ListState[Many]
}

// uniqueSide is what uniqueKeyJoin keeps of a one-side record: the record,
// if it was kept, or just Seen.
type uniqueSide[One any] struct {
	Value One // the zero One unless Kept
	Kept  bool
}

func (j *uniqueKeyJoin[K, One, Many, Out]) Open(_ context.Context, rc *stream.KeyedRuntimeContext[K]) (err error) {
	if j.one, err = stream.GetValueState(rc, state.Value[uniqueSide[One]]("one")); err != nil {
		return err
	}
	j.pending, err = stream.GetListState(rc, state.List[Many]("pending"))
	return err
}

// ProcessElement1 takes the one-side record of its key and joins the
// many-side records that waited for it.
func (j *uniqueKeyJoin[K, One, Many, Out]) ProcessElement1(ctx *stream.KeyedContext[K], v One, out stream.Collector[Out]) error {
	_, seen, err := j.one.Value()
	if err != nil {
		return err
	}
	if seen {
		return fmt.Errorf("nexmark: %s: a second record with the unique key %v", j.query, ctx.CurrentKey())
	}
	side := uniqueSide[One]{Kept: j.keep(v)}
	if side.Kept {
		side.Value = v
	}
	if err := j.one.Update(side); err != nil {
		return err
	}
	waiting, err := j.pending.Get()
	if err != nil || len(waiting) == 0 {
		return err
	}
	if side.Kept {
		for _, m := range waiting {
			out.Collect(j.join(v, m))
		}
	}
	return j.pending.Clear()
}

// ProcessElement2 joins a many-side record with the one-side record of its
// key, or keeps it until that comes.
func (j *uniqueKeyJoin[K, One, Many, Out]) ProcessElement2(_ *stream.KeyedContext[K], v Many, out stream.Collector[Out]) error {
	side, seen, err := j.one.Value()
	switch {
	case err != nil:
		return err
	case !seen:
		return j.pending.Add(v)
	case side.Kept:
		out.Collect(j.join(side.Value, v))
	}
	return nil
}
