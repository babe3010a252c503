package nexmark

import (
	"encoding/json"
	"slices"
	"testing"

	"github.com/runnel-io/runnel/stream"
)

// The tests of q0, q1, q2, q5, q7, q11, q12, q14, q15, q16 and q17 run each
// query on the engine at parallelism 1 and 4 over generated events and
// compare its results, line for line, with its Reference over the same
// events. Results missing from the engine's output (a window dropped, a
// bid counted late) show as missing lines.

// Event streams for the tests, each small and spanning the periods its
// queries group by.
var (
	// Stateless queries: 8,000 events over 22 hours, so that q14 sees
	// every part of the day.
	statelessEvents = GeneratorConfig{Events: 8_000, EventsPerSecond: 0.1}
	// 10 s windows: 15,000 events over 60 s, about 2,300 bids per 10 s.
	windowEvents = GeneratorConfig{Events: 15_000, EventsPerSecond: 250}
	// Sessions of 10 s: 10,000 events over 200 s, so that the bidders who
	// are not hot bid every 40 s or so, and sessions end.
	sessionEvents = GeneratorConfig{Events: 10_000, EventsPerSecond: 50}
	// Days: 12,000 events over 3.5 days.
	dailyEvents = GeneratorConfig{Events: 12_000, EventsPerSecond: 0.04}
)

func TestQ0(t *testing.T)  { checkQueryA(t, "q0", statelessEvents) }
func TestQ1(t *testing.T)  { checkQueryA(t, "q1", statelessEvents) }
func TestQ2(t *testing.T)  { checkQueryA(t, "q2", statelessEvents) }
func TestQ5(t *testing.T)  { checkQueryA(t, "q5", windowEvents) }
func TestQ7(t *testing.T)  { checkQueryA(t, "q7", windowEvents) }
func TestQ11(t *testing.T) { checkQueryA(t, "q11", sessionEvents) }
func TestQ14(t *testing.T) { checkQueryA(t, "q14", statelessEvents) }
func TestQ15(t *testing.T) { checkQueryA(t, "q15", dailyEvents) }
func TestQ16(t *testing.T) { checkQueryA(t, "q16", dailyEvents) }
func TestQ17(t *testing.T) { checkQueryA(t, "q17", dailyEvents) }

// checkQueryA runs the query name over the events of cfg at parallelism 1
// and 4 and compares its results with its Reference's.
func checkQueryA(t *testing.T, name string, cfg GeneratorConfig) {
	t.Parallel()
	q, ok := Lookup(name)
	if !ok || q.Reference == nil {
		t.Fatalf("no query %s with a reference", name)
	}
	checkNothingLate(t, cfg, 4)
	want := q.Reference(collect(newGen(t, cfg, 0, 1)))
	if len(want) == 0 {
		t.Fatalf("%s: the reference has no results: the test proves nothing", name)
	}
	for _, p := range []int{1, 4} {
		got := runQuery(t, q, p, func(env *stream.Environment) stream.DataStream[Event] {
			return Events(env, Source{Config: cfg})
		})
		compareLines(t, name, p, got, want)
	}
}

// bidAtA is a bid at ms after DefaultBaseTime (a midnight, so a multiple
// of every window size).
func bidAtA(ms, auction, bidder, price int64) Event {
	return BidEvent(Bid{Auction: auction, Bidder: bidder, Price: price, DateTime: DefaultBaseTime + ms, Channel: "Google", Extra: "abc"})
}

// checkCasesA runs the query name over events at parallelism 1 and 4 and
// checks that it and its Reference give want (JSON lines, any order).
func checkCasesA(t *testing.T, name string, events []Event, want []string) {
	t.Helper()
	q, _ := Lookup(name)
	want = slices.Sorted(slices.Values(want))
	compareLines(t, name+" reference", 1, q.Reference(events), want)
	for _, p := range []int{1, 4} {
		compareLines(t, name, p, runQuery(t, q, p, sliceEvents(events)), want)
	}
}

// TestQ7Boundaries: BETWEEN includes the window's end, so a bid at a
// window's end joins the maximum of the window before too, and ties are
// all results.
func TestQ7Boundaries(t *testing.T) {
	t.Parallel()
	const b = DefaultBaseTime
	row := func(ms, auction, bidder, price int64) string {
		r, _ := json.Marshal(q7Row{Auction: auction, Bidder: bidder, Price: price, DateTime: b + ms, Extra: "abc"})
		return string(r)
	}
	checkCasesA(t, "q7", []Event{
		bidAtA(1_000, 1, 100, 50),
		bidAtA(5_000, 2, 101, 70),
		bidAtA(9_999, 3, 102, 60),
		bidAtA(10_000, 4, 103, 70), // [10 s, 20 s), and the end of [0, 10 s)
		bidAtA(12_000, 5, 104, 20),
		bidAtA(20_000, 6, 105, 10), // the end of [10 s, 20 s), not its maximum
		bidAtA(25_000, 7, 106, 30),
		bidAtA(29_000, 8, 107, 30), // a tie
	}, []string{
		row(5_000, 2, 101, 70),
		row(10_000, 4, 103, 70), // joined with [0, 10 s)
		row(10_000, 4, 103, 70), // joined with [10 s, 20 s)
		row(25_000, 7, 106, 30),
		row(29_000, 8, 107, 30),
	})
}

// TestQ11Boundaries: session windows that touch merge; a bid more than the
// gap after a session's last one starts another.
func TestQ11Boundaries(t *testing.T) {
	t.Parallel()
	const b = DefaultBaseTime
	row := func(bidder, n, start, end int64) string {
		r, _ := json.Marshal(q11Row{Bidder: bidder, BidCount: n, StartTime: b + start, EndTime: b + end})
		return string(r)
	}
	checkCasesA(t, "q11", []Event{
		bidAtA(0, 1, 100, 5),
		bidAtA(3_000, 1, 101, 5),
		bidAtA(10_000, 1, 100, 5), // touches [0, 10 s): one session
		bidAtA(20_001, 1, 100, 5), // 1 ms past [0, 20 s): a new one
		bidAtA(40_000, 1, 101, 5),
	}, []string{
		row(100, 2, 0, 20_000),
		row(100, 1, 20_001, 30_001),
		row(101, 1, 3_000, 13_000),
		row(101, 1, 40_000, 50_000),
	})
}

// TestQ5Ties: every auction with the top count of a window is a result,
// for every window.
func TestQ5Ties(t *testing.T) {
	t.Parallel()
	row := func(auction, n int64) string {
		r, _ := json.Marshal(q5Row{Auction: auction, Num: n})
		return string(r)
	}
	// Auction 1 has bids at 1 s and 3 s, auction 2 at 3.5 s and 5 s,
	// auction 3 at 11 s. The windows [s, s+10 s) that have bids, for s
	// from -8 s to 10 s by 2 s, and their top auctions:
	//	-8 s: auction 1 (1 bid)
	//	-6 s: auction 1 (2 bids; auction 2 has 1)
	//	-4, -2 and 0 s: auctions 1 and 2 (2 bids each)
	//	2 s: auction 2 (2 bids; 1 and 3 have 1)
	//	4 s: auctions 2 and 3 (1 bid each)
	//	6, 8 and 10 s: auction 3 (1 bid)
	checkCasesA(t, "q5", []Event{
		bidAtA(1_000, 1, 100, 5),
		bidAtA(3_000, 1, 100, 5),
		bidAtA(3_500, 2, 100, 5),
		bidAtA(5_000, 2, 100, 5),
		bidAtA(11_000, 3, 100, 5),
	}, []string{
		row(1, 1),
		row(1, 2),
		row(1, 2), row(2, 2), row(1, 2), row(2, 2), row(1, 2), row(2, 2),
		row(2, 2),
		row(2, 1), row(3, 1),
		row(3, 1), row(3, 1), row(3, 1),
	})
}

// TestQ12 checks what does not depend on processing time: every bid is
// counted in exactly one window of its bidder, windows are aligned 10 s
// long, and each is emitted once.
func TestQ12(t *testing.T) {
	t.Parallel()
	cfg := GeneratorConfig{Events: 10_000}
	bids := map[int64]int64{}
	for _, e := range collect(newGen(t, cfg, 0, 1)) {
		if e.Kind == KindBid {
			bids[e.Bid.Bidder]++
		}
	}
	q, _ := Lookup("q12")
	for _, p := range []int{1, 4} {
		lines := runQuery(t, q, p, func(env *stream.Environment) stream.DataStream[Event] {
			return Events(env, Source{Config: cfg})
		})
		counted := map[int64]int64{}
		type bidderWindow struct{ bidder, start int64 }
		seen := map[bidderWindow]bool{}
		for _, l := range lines {
			var r q12Row
			if err := json.Unmarshal([]byte(l), &r); err != nil {
				t.Fatal(err)
			}
			if r.EndTime-r.StartTime != 10_000 || r.StartTime%10_000 != 0 || r.BidCount < 1 {
				t.Errorf("parallelism %d: bad window %s", p, l)
			}
			if k := (bidderWindow{r.Bidder, r.StartTime}); seen[k] {
				t.Errorf("parallelism %d: window emitted twice: %s", p, l)
			} else {
				seen[k] = true
			}
			counted[r.Bidder] += r.BidCount
		}
		for bidder, n := range bids {
			if counted[bidder] != n {
				t.Errorf("parallelism %d: bidder %d: %d bids counted, made %d", p, bidder, counted[bidder], n)
			}
		}
		if len(counted) != len(bids) {
			t.Errorf("parallelism %d: %d bidders counted, %d bid", p, len(counted), len(bids))
		}
	}
}

// TestQ1Decimal: DECIMAL(23, 3) values print with three decimals.
func TestQ1Decimal(t *testing.T) {
	for _, c := range []struct {
		d    decimal3
		want string
	}{
		{0, "0.000"}, {1, "0.001"}, {908, "0.908"}, {1234567, "1234.567"},
		{-500, "-0.500"}, {-1, "-0.001"}, {euros(100), "90.800"}, {euros(3), "2.724"},
		{-1 << 63, "-9223372036854775.808"},
	} {
		if got, _ := json.Marshal(c.d); string(got) != c.want {
			t.Errorf("decimal3(%d) is %s, want %s", int64(c.d), got, c.want)
		}
	}
}

// TestQ14Helpers: the time of day of Query 14's CASE, and count_char.
func TestQ14Helpers(t *testing.T) {
	for hour, want := range []string{
		"nightTime", "nightTime", "nightTime", "nightTime", "nightTime", "nightTime", "nightTime",
		"otherTime",
		"dayTime", "dayTime", "dayTime", "dayTime", "dayTime", "dayTime", "dayTime", "dayTime", "dayTime", "dayTime", "dayTime",
		"otherTime",
		"nightTime", "nightTime", "nightTime", "nightTime",
	} {
		for _, ms := range []int64{0, 3_599_999} {
			ts := DefaultBaseTime + 3*msPerDay + int64(hour)*3_600_000 + ms
			if got := bidTimeType(ts); got != want {
				t.Errorf("hour %d (+%d ms): %s, want %s", hour, ms, got, want)
			}
		}
	}
	if n := countChar("accbcc", 'c'); n != 4 {
		t.Errorf("countChar: %d, want 4", n)
	}
	if n := countChar("", 'c'); n != 0 {
		t.Errorf("countChar of the empty string: %d", n)
	}
}
