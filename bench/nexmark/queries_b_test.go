package nexmark

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/runnel-io/runnel/stream"
)

// The tests of q3, q4, q8, q9, q13, q18, q19, q20, q21 and q22 run each
// query on the engine at parallelism 1 and 4 over generated events, with
// watermarks every millisecond so that event time advances while the
// events flow, and compare its results, line for line, with its Reference
// over the same events (q9 also over a stream shuffled in groups).
// Hand-made cases check the boundaries (ranges, ties, windows, records that
// come early or for nothing); TestQ9StateDrains checks that the winning-bid
// operator of q9 and q4 keeps its state bounded and drains it; the string
// functions of q21 and q22 are checked against package regexp and
// strings.Split.

var (
	// eventsCfgB: 20,000 events over 400 s of event time. Auctions take
	// bids for about 33 s (while they are among the last hundred) and
	// expire up to 67 s after they open, both long against the 4 s by
	// which the watermark lags: so auctions expire within the stream,
	// bids keep coming after they closed, and bids that come before their
	// auction wait for it or are dropped, each often. SharedExtra halves
	// the cost of generating the events, which the race detector
	// multiplies.
	eventsCfgB = GeneratorConfig{Events: 20_000, EventsPerSecond: 50, SharedExtra: true}
	// windowCfgB: 20,000 events over 40 s, so that q8's 10 s windows hold
	// about 100 persons and 300 auctions each.
	windowCfgB = GeneratorConfig{Events: 20_000, EventsPerSecond: 500, SharedExtra: true}
	// shuffledCfgB: eventsCfgB shuffled in groups of 101 events (2 s,
	// within the 4 s of the watermark's delay).
	shuffledCfgB = GeneratorConfig{Events: 20_000, EventsPerSecond: 50, OutOfOrderGroupSize: 101, SharedExtra: true}
)

func TestQ3(t *testing.T)  { t.Parallel(); checkQueryB(t, "q3", eventsCfgB, 1, 4) }
func TestQ4(t *testing.T)  { t.Parallel(); checkQueryB(t, "q4", eventsCfgB, 1, 4) }
func TestQ8(t *testing.T)  { t.Parallel(); checkQueryB(t, "q8", windowCfgB, 1, 4) }
func TestQ13(t *testing.T) { t.Parallel(); checkQueryB(t, "q13", eventsCfgB, 1, 4) }
func TestQ18(t *testing.T) { t.Parallel(); checkQueryB(t, "q18", eventsCfgB, 1, 4) }
func TestQ19(t *testing.T) { t.Parallel(); checkQueryB(t, "q19", eventsCfgB, 1, 4) }
func TestQ20(t *testing.T) { t.Parallel(); checkQueryB(t, "q20", eventsCfgB, 1, 4) }
func TestQ21(t *testing.T) { t.Parallel(); checkQueryB(t, "q21", eventsCfgB, 1, 4) }
func TestQ22(t *testing.T) { t.Parallel(); checkQueryB(t, "q22", eventsCfgB, 1, 4) }

func TestQ9(t *testing.T) {
	t.Parallel()
	checkQueryB(t, "q9", eventsCfgB, 1, 4)
	checkQueryB(t, "q9", shuffledCfgB, 4)
}

// eventsB returns the single stream of cfg, generated once per config for
// all the tests.
var eventsB = func() func(t *testing.T, cfg GeneratorConfig) []Event {
	var mu sync.Mutex
	cache := map[GeneratorConfig][]Event{}
	return func(t *testing.T, cfg GeneratorConfig) []Event {
		t.Helper()
		mu.Lock()
		defer mu.Unlock()
		if events, ok := cache[cfg]; ok {
			return events
		}
		events := collect(newGen(t, cfg, 0, 1))
		cache[cfg] = events
		return events
	}
}()

// checkQueryB runs the query name over the events of cfg at each of the
// parallelisms and compares its results with its Reference's.
func checkQueryB(t *testing.T, name string, cfg GeneratorConfig, parallelisms ...int) {
	q, ok := Lookup(name)
	if !ok || q.Reference == nil {
		t.Fatalf("no query %s with a reference", name)
	}
	checkNothingLate(t, cfg, 4)
	want := q.Reference(eventsB(t, cfg))
	if len(want) == 0 {
		t.Fatalf("%s: the reference has no results: the test proves nothing", name)
	}
	for _, p := range parallelisms {
		got := runQuery(t, q, p, func(env *stream.Environment) stream.DataStream[Event] {
			return Events(env, Source{Config: cfg})
		})
		compareLines(t, name, p, got, want)
	}
}

// checkCasesB runs the query name over events at parallelism 1 and 4 and
// checks that it and its Reference give want (JSON lines, any order).
func checkCasesB(t *testing.T, name string, events []Event, want []string) {
	t.Helper()
	q, _ := Lookup(name)
	want = slices.Sorted(slices.Values(want))
	compareLines(t, name+" reference", 1, q.Reference(events), want)
	for _, p := range []int{1, 4} {
		compareLines(t, name, p, runQuery(t, q, p, sliceEvents(events)), want)
	}
}

// jsonB is the JSON line of a result.
func jsonB(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// Times of the hand-made cases: ms after DefaultBaseTime, a midnight, so a
// multiple of q8's window.
const baseB = DefaultBaseTime

func personB(ms, id int64, name, state string) Event {
	return PersonEvent(Person{ID: id, Name: name, City: "Bend", State: state, DateTime: baseB + ms})
}

func auctionB(ms, id, seller, category, expiresMs int64) Event {
	return AuctionEvent(Auction{ID: id, ItemName: "item", Seller: seller, Category: category, DateTime: baseB + ms, Expires: baseB + expiresMs, Extra: "a"})
}

func bidB(ms, auction, bidder, price int64) Event {
	return BidEvent(Bid{Auction: auction, Bidder: bidder, Price: price, Channel: "Apple", URL: "u", DateTime: baseB + ms, Extra: "b"})
}

// winnerCasesB are auctions and bids for q9 and q4, in the order of the
// source. (The join sees its two inputs in an order of its own: in the
// engine bids often come before their auction.)
var winnerCasesB = []Event{
	bidB(500, 1, 100, 900),  // before auction 1 opens: out of range
	bidB(1_000, 1, 101, 50), // at auction 1's dateTime: in range
	auctionB(1_000, 1, 7, 10, 5_000),
	bidB(3_000, 1, 102, 80),
	bidB(5_000, 1, 103, 85),  // at auction 1's expires: in range, the winner
	bidB(5_001, 1, 104, 999), // after it: out of range
	auctionB(2_000, 2, 7, 10, 4_000),
	bidB(3_000, 2, 106, 70), // ties with the next on price and time
	bidB(3_000, 2, 105, 70), // the lower bidder wins
	auctionB(2_500, 3, 7, 11, 9_000),
	bidB(2_400, 3, 107, 60), // before auction 3 opens
	bidB(6_000, 4, 108, 20), // for an auction that never comes
	auctionB(6_000, 5, 7, 11, 7_000),
	bidB(6_500, 5, 109, 40),
	bidB(6_999, 6, 110, 99), // before auction 6 opens
	auctionB(7_000, 6, 7, 11, 8_000),
	bidB(7_500, 6, 111, 30),     // ties with the next on price
	bidB(7_000, 6, 112, 30),     // at auction 6's dateTime, earlier: the winner
	bidB(20_000, 1, 113, 5_000), // long after auction 1 expired
	bidB(20_000, 5, 114, 5_000),
}

// TestQ9Cases: BETWEEN includes both ends; bids before the auction's
// dateTime or after its expires do not count; ties of price go to the
// earlier bid, then to the lower bidder; an auction without a bid in range
// has no row.
func TestQ9Cases(t *testing.T) {
	t.Parallel()
	row := func(a Event, bidder, price, ms int64) string {
		return jsonB(t, q9Result(*a.Auction, q9Bid{Auction: a.Auction.ID, Bidder: bidder, Price: price, DateTime: baseB + ms, Extra: "b"}))
	}
	checkCasesB(t, "q9", winnerCasesB, []string{
		row(winnerCasesB[2], 103, 85, 5_000),
		row(winnerCasesB[6], 105, 70, 3_000),
		row(winnerCasesB[12], 109, 40, 6_500),
		row(winnerCasesB[15], 112, 30, 7_000),
	})
}

// TestQ4Cases: the same auctions averaged per category, with AVG's
// truncation: auctions 1 and 2 in category 10, 5 and 6 in 11 (auction 3
// has no bid in range).
func TestQ4Cases(t *testing.T) {
	t.Parallel()
	checkCasesB(t, "q4", winnerCasesB, []string{
		jsonB(t, q4Row{ID: 10, Final: 77}), // (85 + 70) / 2
		jsonB(t, q4Row{ID: 11, Final: 35}), // (40 + 30) / 2
	})
}

// TestQ3Cases: a match whichever side comes first, once per auction;
// nothing for other states or categories, or for sellers who never come.
func TestQ3Cases(t *testing.T) {
	t.Parallel()
	row := func(name, state string, id int64) string {
		return jsonB(t, q3Row{Name: name, City: "Bend", State: state, ID: id})
	}
	checkCasesB(t, "q3", []Event{
		auctionB(0, 1, 10, 10, 100),  // before its seller
		personB(10, 10, "Ann", "OR"), //
		auctionB(20, 2, 10, 10, 100), // after
		auctionB(30, 3, 10, 11, 100), // another category
		auctionB(40, 4, 11, 10, 100), // a seller in WA
		personB(50, 11, "Bob", "WA"),
		auctionB(60, 5, 11, 10, 100),
		personB(70, 12, "Cy", "CA"),
		auctionB(80, 6, 12, 10, 100),
		auctionB(90, 7, 13, 10, 100), // a seller who never comes
		personB(100, 14, "Di", "ID"),
		auctionB(110, 8, 14, 10, 100),
	}, []string{
		row("Ann", "OR", 1), row("Ann", "OR", 2), row("Cy", "CA", 6), row("Di", "ID", 8),
	})
}

// TestQ20Cases: bids join their auction whichever comes first; bids of
// other categories' auctions, or of auctions that never come, do not.
func TestQ20Cases(t *testing.T) {
	t.Parallel()
	events := []Event{
		bidB(0, 1, 100, 5), // before its auction
		auctionB(10, 1, 7, 10, 100),
		bidB(20, 1, 101, 6),
		auctionB(30, 2, 7, 12, 100),
		bidB(40, 2, 102, 7),
		bidB(50, 3, 103, 8),
	}
	a := *events[1].Auction
	checkCasesB(t, "q20", events, []string{
		jsonB(t, q20Join(a, events[0].Bid)),
		jsonB(t, q20Join(a, events[2].Bid)),
	})
}

// TestQ8Cases: windows are [10k s, 10(k+1) s); a person is a row for a
// window in which they registered and opened an auction, once however
// many auctions.
func TestQ8Cases(t *testing.T) {
	t.Parallel()
	row := func(id int64, name string, start int64) string {
		return jsonB(t, q8Row{ID: id, Name: name, STime: baseB + start})
	}
	checkCasesB(t, "q8", []Event{
		personB(1_000, 1, "Ann", "OR"),
		auctionB(2_000, 10, 1, 10, 50_000),
		auctionB(9_999, 11, 1, 10, 50_000), // the same window: one row
		personB(9_999, 2, "Bob", "OR"),
		auctionB(10_000, 12, 2, 10, 50_000), // the next window: none
		personB(15_000, 3, "Cy", "OR"),
		auctionB(12_000, 13, 3, 10, 50_000), // before, same window
		auctionB(25_000, 14, 1, 10, 50_000), // Ann again, not registered then
	}, []string{
		row(1, "Ann", 0), row(3, "Cy", 10_000),
	})
}

// TestQ18Cases: the last bid per bidder and auction; a tie of dateTime
// goes to the higher price.
func TestQ18Cases(t *testing.T) {
	t.Parallel()
	events := []Event{
		bidB(0, 1, 100, 5),
		bidB(10, 1, 100, 6),
		bidB(5, 1, 100, 7), // out of order: not the last
		bidB(10, 1, 101, 1),
		bidB(20, 2, 100, 3),
		bidB(30, 3, 102, 4),
		bidB(30, 3, 102, 9), // a tie of time
		bidB(30, 3, 102, 2),
	}
	row := func(i int) string { return jsonB(t, q18Result(events[i].Bid)) }
	checkCasesB(t, "q18", events, []string{row(1), row(3), row(4), row(6)})
}

// TestQ19Cases: the ten highest bids per auction, ranked from 1; ties of
// price ranked by dateTime.
func TestQ19Cases(t *testing.T) {
	t.Parallel()
	var events []Event
	for i := range int64(14) {
		events = append(events, bidB(1_000-i, 1, 100+i, 10*(i%7))) // prices 0 to 60, each twice
	}
	events = append(events, bidB(0, 2, 100, 1))
	var want []string
	rank := 1
	for _, price := range []int64{60, 50, 40, 30, 20} {
		// The bids of price p are i = p/10 and i = p/10 + 7; the latter is
		// earlier, so ranks first.
		for _, i := range []int64{price/10 + 7, price / 10} {
			want = append(want, jsonB(t, q19Result(events[i].Bid, rank)))
			rank++
		}
	}
	want = append(want, jsonB(t, q19Result(events[14].Bid, 1)))
	checkCasesB(t, "q19", events, want)
}

// TestQ13Cases: the value is the side input's for auction mod 10000.
func TestQ13Cases(t *testing.T) {
	t.Parallel()
	events := []Event{bidB(0, 1_000, 1, 5), bidB(1, 10_000, 2, 6), bidB(2, 123_456, 3, 7)}
	row := func(i int, value string) string {
		b := events[i].Bid
		return jsonB(t, q13Row{Auction: b.Auction, Bidder: b.Bidder, Price: b.Price, DateTime: b.DateTime, Value: value})
	}
	checkCasesB(t, "q13", events, []string{row(0, "1000"), row(1, "0"), row(2, "3456")})
}

// TestQ21ChannelID checks q21ChannelID against the SQL's functions done
// with strings.ToLower and package regexp, on names and URLs at the edges
// of the regular expression.
func TestQ21ChannelID(t *testing.T) {
	re := regexp.MustCompile(`(&|^)channel_id=([^&]*)`)
	ids := map[string]string{"apple": "0", "google": "1", "facebook": "2", "baidu": "3"}
	channels := []string{"Apple", "APPLE", "apple", "Appl", "Apples", "Google", "gOOGLE", "Facebook",
		"Baidu", "FACEBOO\u212A" /* Kelvin sign, lower k */, "\uff21pple" /* fullwidth A */, "channel-1", ""}
	urls := []string{
		"", "channel_id=7", "channel_id=", "&channel_id=8", "a=1&channel_id=9&b=2",
		"https://www.nexmark.com/a/b/c/item.htm?query=1&channel_id=1234",
		"xchannel_id=1&channel_id=2", "?channel_id=1", "&channel_id=1&channel_id=2",
		"a&&channel_id=x&", "channel_id", "channel_id=a\nb&c",
	}
	for _, ch := range channels {
		for _, url := range urls {
			want, wantOK := ids[strings.ToLower(ch)]
			if !wantOK {
				if m := re.FindStringSubmatch(url); m != nil {
					want, wantOK = m[2], true
				}
			}
			if got, ok := q21ChannelID(ch, url); got != want || ok != wantOK {
				t.Errorf("q21ChannelID(%q, %q) = %q, %v; want %q, %v", ch, url, got, ok, want, wantOK)
			}
		}
	}
	// Java lowers U+0130 to "i" and a combining dot, Go to "i".
	if _, ok := q21ChannelID("BA\u0130DU", ""); ok {
		t.Errorf(`lower('BA\u0130DU') is not 'baidu' in SQL, but q21ChannelID took it for Baidu`)
	}
}

// TestQ21Q22Allocs: the per-bid functions of q21 and q22 allocate
// nothing.
func TestQ21Q22Allocs(t *testing.T) {
	if raceEnabled {
		t.Skip("the race detector allocates")
	}
	url := "https://www.nexmark.com/a/b/c/item.htm?query=1&channel_id=1234"
	if n := testing.AllocsPerRun(100, func() { q21ChannelID("channel-5", url); q21ChannelID("Google", "") }); n != 0 {
		t.Errorf("q21ChannelID allocates %v times", n)
	}
	if n := testing.AllocsPerRun(100, func() { q22SplitIndex(url, '/', 5) }); n != 0 {
		t.Errorf("q22SplitIndex allocates %v times", n)
	}
}

// TestQ22SplitIndex checks q22SplitIndex against strings.Split.
func TestQ22SplitIndex(t *testing.T) {
	for _, s := range []string{"", "/", "a", "a/b", "/a/", "//", "a//b/", "https://www.nexmark.com/a/b/c/item.htm?query=1"} {
		parts := strings.Split(s, "/")
		for i := range 8 {
			want := q22Nullable{}
			if s != "" && i < len(parts) {
				want = q22Nullable{S: parts[i], Valid: true}
			}
			if got := q22SplitIndex(s, '/', i); got != want {
				t.Errorf("q22SplitIndex(%q, '/', %d) = %+v, want %+v", s, i, got, want)
			}
		}
	}
	if got := jsonB(t, q22Row{Dir1: q22Nullable{S: "a", Valid: true}}); !strings.Contains(got, `"dir1":"a","dir2":null`) {
		t.Errorf("JSON of a row: %s", got)
	}
	for _, s := range []string{"", "abc", "a\"b\\c", "<&>", "\u2028\x00\n", "\xff", "é"} {
		if got, want := jsonB(t, q22Nullable{S: s, Valid: true}), jsonB(t, s); got != want {
			t.Errorf("JSON of %q: %s, want %s", s, got, want)
		}
	}
}

// TestQ9StateDrains: q9's operator keeps a bounded state while the input
// flows and none once it has ended: auctions are closed at their expiry,
// their markers dropped, and bids that come early taken or dropped. Each
// subtask's function is wrapped to watch the state's size (its number of
// entries, one per auction id and state).
func TestQ9StateDrains(t *testing.T) {
	t.Parallel()
	events := eventsB(t, eventsCfgB)
	auctions := 0
	for _, e := range events {
		if e.Kind == KindAuction {
			auctions++
		}
	}
	var peak atomic.Int64
	// The source is paced (20,000 events a second, 0.4 s of event time
	// between watermarks 1 ms apart), so that the watermark follows the
	// events closely; unpaced, the source outruns it by tens of seconds of
	// event time.
	env := stream.NewEnvironment().SetParallelism(2).SetAutoWatermarkInterval(time.Millisecond)
	var out bytes.Buffer
	sink := &Sink{JSON: &out}
	as, bs := q9Inputs(Events(env, Source{Config: eventsCfgB, Rate: 20_000}))
	w := q9Winner
	rows := stream.KeyedCoProcessEach(
		stream.ConnectKeyed(
			stream.KeyBy(as, func(a Auction) int64 { return a.ID }),
			stream.KeyBy(bs, func(b q9Bid) int64 { return b.Auction })),
		func() stream.KeyedCoProcessFunction[int64, Auction, q9Bid, q9Row] {
			return &stateWatchB{winnerFunc: &winnerFunc[Auction, q9Bid, q9Row]{auctionWinner: w}, peak: &peak}
		})
	Emit(rows, sink)
	if err := env.Execute(context.Background(), "q9 state"); err != nil {
		t.Fatal(err)
	}
	if sink.Results() == 0 {
		t.Fatal("no results")
	}
	// Auctions open 3 a second and live 33 s on average, their markers 4 s
	// more: about 110 at a time over both subtasks, plus a few with early
	// bids (peaks of 90 to 130 in one subtask were measured), where keeping
	// every auction to the end would reach 600 in each.
	if p := peak.Load(); p > int64(auctions)/3 {
		t.Errorf("the state held up to %d entries, for %d auctions in all", p, auctions)
	}
	t.Logf("%d auctions, peak of %d state entries in one of 2 subtasks", auctions, peak.Load())
}

// stateWatchB is the function of q9 that records the peak of its
// subtask's state and checks, when the input ends, that none is left.
type stateWatchB struct {
	*winnerFunc[Auction, q9Bid, q9Row]
	rc   *stream.KeyedRuntimeContext[int64]
	peak *atomic.Int64
}

func (s *stateWatchB) Open(ctx context.Context, rc *stream.KeyedRuntimeContext[int64]) error {
	s.rc = rc
	return s.winnerFunc.Open(ctx, rc)
}

func (s *stateWatchB) ProcessElement2(ctx *stream.KeyedContext[int64], b q9Bid, out stream.Collector[q9Row]) error {
	err := s.winnerFunc.ProcessElement2(ctx, b, out)
	for n := int64(s.rc.NumStateEntries()); ; {
		p := s.peak.Load()
		if n <= p || s.peak.CompareAndSwap(p, n) {
			break
		}
	}
	return err
}

func (s *stateWatchB) Finish(stream.Collector[q9Row]) error {
	if n := s.rc.NumStateEntries(); n != 0 {
		return fmt.Errorf("%d state entries left at the end of the input", n)
	}
	return nil
}
