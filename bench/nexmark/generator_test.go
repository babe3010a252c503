package nexmark

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"math"
	"os"
	"slices"
	"strings"
	"testing"
)

func newGen(t testing.TB, cfg GeneratorConfig, index, count int) *Generator {
	t.Helper()
	g, err := NewGenerator(cfg, index, count)
	if err != nil {
		t.Fatal(err)
	}
	return g
}

func collect(g *Generator) []Event {
	var out []Event
	for e, ok := g.Next(); ok; e, ok = g.Next() {
		out = append(out, e)
	}
	return out
}

func dump(e Event) string { return string(appendDump(nil, e)) }

func TestJavaRandom(t *testing.T) {
	// Drawn from java.util.Random on OpenJDK 17: nextInt(), nextInt(10),
	// nextInt(1<<20), three nextInt(2000000001) (which reject draws),
	// nextLong(), nextDouble() as bits, Math.abs(nextLong() % 5e9).
	vectors := []struct {
		seed int64
		want [9]int64
	}{
		{0, [9]int64{-1155484576, 8, 252220, 1302116447, 1368843515, 663681053, -8292973307042192125, 4603557428926125371, 2083548235}},
		{42, [9]int64{-1170105035, 3, 716411, 102948884, 662969970, 595021505, -5391787952107853122, 4591245052412484072, 3996739737}},
		{-1, [9]int64{1155099827, 5, 12866, 1176895439, 1421815604, 1290198438, 7681931065131779340, 4605616660428343751, 4754968255}},
		{123456789012345, [9]int64{-1421006947, 4, 906057, 1308132652, 1893134285, 1802514868, 1596561836080580602, 4605508676808762938, 1516534338}},
		{math.MinInt64, [9]int64{-1155484576, 8, 252220, 1302116447, 1368843515, 663681053, -8292973307042192125, 4603557428926125371, 2083548235}},
	}
	for _, v := range vectors {
		var r javaRandom
		r.reset(v.seed)
		got := [9]int64{
			int64(r.int32()), int64(r.intn(10)), int64(r.intn(1 << 20)),
			int64(r.intn(2000000001)), int64(r.intn(2000000001)), int64(r.intn(2000000001)),
			r.int64(), int64(math.Float64bits(r.float64())), r.longn(5000000000),
		}
		if got != v.want {
			t.Errorf("seed %d: got %v, want %v", v.seed, got, v.want)
		}
	}
}

// The oracle is a Java transcription of Nexmark's generator (Beam's
// seeding, nexmark-flink's bids, the channel URLs of this package) run on
// OpenJDK 17; these are SHA-256 sums of its output in the format of
// appendDump, and testdata/oracle_head.txt is its first 100 lines.
const (
	oracleHash100k  = "880d9bc7f8012232ddc694c1b1ddc84d139c7c452a72605c5b877a54276d6331"
	oracleHash1M    = "0e316526320376e16df8fd154e2201fffda7422161061bf7b6df6071edf28cab"
	oracleHash20kG7 = "42b672f9f36c85506f5078e3cf732db1d8be579f37d986d713118e56442a71fd"
)

func dumpHash(t *testing.T, cfg GeneratorConfig) string {
	h := sha256.New()
	if err := writeDump(h, newGen(t, cfg, 0, 1)); err != nil {
		t.Fatal(err)
	}
	return hex.EncodeToString(h.Sum(nil))
}

// TestMatchesJavaOracle proves invariant 1 of the package documentation:
// the events are those of Nexmark's algorithm, byte for byte.
func TestMatchesJavaOracle(t *testing.T) {
	head, err := os.ReadFile("testdata/oracle_head.txt")
	if err != nil {
		t.Fatal(err)
	}
	want := strings.SplitAfter(string(head), "\n")
	g := newGen(t, GeneratorConfig{}, 0, 1)
	for i, line := range want[:len(want)-1] {
		e, _ := g.Next()
		if got := dump(e); got != line {
			t.Fatalf("event %d:\n got %q\nwant %q", i, got, line)
		}
	}

	cases := []struct {
		name string
		cfg  GeneratorConfig
		want string
	}{
		{"1M", GeneratorConfig{Events: 1_000_000}, oracleHash1M},
		{"100k", GeneratorConfig{Events: 100_000}, oracleHash100k},
		{"20k out of order 7", GeneratorConfig{Events: 20_000, OutOfOrderGroupSize: 7}, oracleHash20kG7},
	}
	for _, c := range cases {
		if c.cfg.Events > 100_000 && (raceEnabled || testing.Short()) {
			continue
		}
		if got := dumpHash(t, c.cfg); got != c.want {
			t.Errorf("%s: hash %s, want the oracle's %s", c.name, got, c.want)
		}
	}
}

// goldenJSONHash is the SHA-256 of the JSON lines of the first 10,000
// events of the default config. A change means the events or their JSON
// changed: every stored data set and result made with them is stale.
const goldenJSONHash = "1f7a80772d2cc09ec6cef00f287f5c211d300e70a0536c0e0b7983f5ff463822"

// TestGoldenJSONHash proves invariant 2 (determinism) over versions.
func TestGoldenJSONHash(t *testing.T) {
	g := newGen(t, GeneratorConfig{Events: 10_000}, 0, 1)
	h := sha256.New()
	for e, ok := g.Next(); ok; e, ok = g.Next() {
		if err := WriteJSON(h, e); err != nil {
			t.Fatal(err)
		}
	}
	if got := hex.EncodeToString(h.Sum(nil)); got != goldenJSONHash {
		t.Errorf("JSON of the first 10k events hashes to %s, want %s", got, goldenJSONHash)
	}
}

// TestDeterminism proves invariant 2: equal configs give equal events; the
// seed changes them.
func TestDeterminism(t *testing.T) {
	cfg := GeneratorConfig{Events: 5000}
	a, b := collect(newGen(t, cfg, 0, 1)), collect(newGen(t, cfg, 0, 1))
	if !slices.EqualFunc(a, b, Event.Equal) {
		t.Fatal("two generators of one config differ")
	}
	cfg.Seed = 7
	c, d := collect(newGen(t, cfg, 0, 1)), collect(newGen(t, cfg, 0, 1))
	if !slices.EqualFunc(c, d, Event.Equal) {
		t.Fatal("two generators of one seeded config differ")
	}
	same := 0
	for i := range a {
		if a[i].Equal(c[i]) {
			same++
		}
	}
	if same > len(a)/100 {
		t.Errorf("seed 7 left %d of %d events unchanged", same, len(a))
	}
	for i := range a { // the seed changes content, not structure
		if a[i].Kind != c[i].Kind || EventTimestamp(a[i]) != EventTimestamp(c[i]) {
			t.Fatalf("event %d: seed changed kind or time", i)
		}
	}
}

// TestSharedExtra proves invariant 13: SharedExtra changes only the
// characters of Extra, which it cuts from a fixed string.
func TestSharedExtra(t *testing.T) {
	cfg := GeneratorConfig{Events: 20_000, OutOfOrderGroupSize: 3}
	exact := collect(newGen(t, cfg, 0, 1))
	cfg.SharedExtra = true
	shared := collect(newGen(t, cfg, 0, 1))
	pad := sharedPadding()
	extra := func(e *Event) *string {
		switch e.Kind {
		case KindPerson:
			return &e.Person.Extra
		case KindAuction:
			return &e.Auction.Extra
		}
		return &e.Bid.Extra
	}
	for i := range exact {
		x, s := exact[i], shared[i]
		if x.Person != nil {
			p := *x.Person
			x.Person = &p
		}
		if x.Auction != nil {
			a := *x.Auction
			x.Auction = &a
		}
		ex, sx := extra(&x), *extra(&s)
		if len(*ex) != len(sx) || !strings.Contains(pad, sx) {
			t.Fatalf("event %d: shared extra of %d bytes for %d, or not from the padding", i, len(sx), len(*ex))
		}
		*ex = sx
		if !x.Equal(s) {
			t.Fatalf("event %d differs beyond its extra:\n%+v\n%+v", i, x, s)
		}
	}
	gens, _ := Split(cfg, 3)
	for k, e := range collect(gens[2]) {
		if !e.Equal(shared[2+3*k]) {
			t.Fatalf("shared extra: split event %d differs", k)
		}
	}
}

// TestSplitUnion proves invariant 3: the shares of n generators are the
// single stream's events at positions index, index+n, …, so their union
// is the single stream.
func TestSplitUnion(t *testing.T) {
	for _, group := range []int64{1, 7} {
		cfg := GeneratorConfig{Events: 10_007, OutOfOrderGroupSize: group}
		single := collect(newGen(t, cfg, 0, 1))
		if len(single) != int(cfg.Events) {
			t.Fatalf("single generator made %d events, want %d", len(single), cfg.Events)
		}
		want := make([]string, len(single))
		for i, e := range single {
			want[i] = dump(e)
		}
		slices.Sort(want)
		for _, n := range []int{1, 2, 4, 7} {
			gens, err := Split(cfg, n)
			if err != nil {
				t.Fatal(err)
			}
			var union []string
			for i, g := range gens {
				for k, e := range collect(g) {
					if pos := i + k*n; pos >= len(single) || !e.Equal(single[pos]) {
						t.Fatalf("group %d, split %d/%d: event %d is not event %d of the single stream", group, i, n, k, pos)
					}
					union = append(union, dump(e))
				}
			}
			slices.Sort(union)
			if !slices.Equal(union, want) {
				t.Errorf("group %d: the union of %d splits (%d events) is not the single stream (%d)", group, n, len(union), len(want))
			}
		}
	}
}

// TestRestore proves invariant 4: from a restored position a generator
// returns the same events.
func TestRestore(t *testing.T) {
	cfg := GeneratorConfig{Events: 5000, OutOfOrderGroupSize: 3}
	all := collect(newGen(t, cfg, 1, 3))
	for _, pos := range []int64{0, 1, 777, int64(len(all)) - 1, int64(len(all))} {
		g := newGen(t, cfg, 1, 3)
		if err := g.Restore(pos); err != nil {
			t.Fatal(err)
		}
		if rest := collect(g); !slices.EqualFunc(rest, all[pos:], Event.Equal) {
			t.Errorf("from position %d: %d events, differing from the original's %d", pos, len(rest), len(all[pos:]))
		}
	}
	// Backwards on a generator in use, as after a failure.
	g := newGen(t, cfg, 1, 3)
	for range 100 {
		g.Next()
	}
	if g.Position() != 100 || g.Remaining() != int64(len(all))-100 {
		t.Fatalf("after 100 events: position %d, remaining %d", g.Position(), g.Remaining())
	}
	if err := g.Restore(40); err != nil {
		t.Fatal(err)
	}
	if e, _ := g.Next(); !e.Equal(all[40]) {
		t.Error("restoring backwards changed the events")
	}
	for _, bad := range []int64{-1, int64(len(all)) + 1} {
		if err := g.Restore(bad); !errors.Is(err, ErrInvalidPosition) {
			t.Errorf("Restore(%d): %v, want ErrInvalidPosition", bad, err)
		}
	}
}

// TestProportions proves invariant 5: each cycle of proportion-total
// events is persons, then auctions, then bids, in the configured numbers.
func TestProportions(t *testing.T) {
	for _, p := range [][3]int64{{1, 3, 46}, {2, 5, 13}} {
		cfg := GeneratorConfig{Events: 100 * (p[0] + p[1] + p[2]), PersonProportion: p[0], AuctionProportion: p[1], BidProportion: p[2]}
		events := collect(newGen(t, cfg, 0, 1))
		total := int(p[0] + p[1] + p[2])
		for i, e := range events {
			want := KindBid
			switch off := int64(i % total); {
			case off < p[0]:
				want = KindPerson
			case off < p[0]+p[1]:
				want = KindAuction
			}
			if e.Kind != want {
				t.Fatalf("proportions %v: event %d is a %v, want a %v", p, i, e.Kind, want)
			}
		}
	}
}

// nexmarkSize is an event's size in Nexmark's own accounting, the one its
// average sizes are about: 8 bytes for the numbers it counts and the
// length of its strings (a bid's channel and URL, which nexmark-flink
// added later, are not counted).
func nexmarkSize(e Event) int {
	switch e.Kind {
	case KindPerson:
		p := e.Person
		return 8 + len(p.Name) + len(p.EmailAddress) + len(p.CreditCard) + len(p.City) + len(p.State) + len(p.Extra)
	case KindAuction:
		a := e.Auction
		return 8 + len(a.ItemName) + len(a.Description) + 5*8 + len(a.Extra)
	default:
		return 4*8 + len(e.Bid.Extra)
	}
}

// TestAverageSizes proves invariant 6: the average sizes are Nexmark's.
func TestAverageSizes(t *testing.T) {
	cfg := GeneratorConfig{Events: 200_000}
	var n, size, jsonSize, codecSize [3]int
	ec := EventCodec()
	var buf []byte
	g := newGen(t, cfg, 0, 1)
	for e, ok := g.Next(); ok; e, ok = g.Next() {
		n[e.Kind]++
		size[e.Kind] += nexmarkSize(e)
		jsonSize[e.Kind] += len(AppendJSON(buf[:0], e)) + 1
		codecSize[e.Kind] += len(ec.Append(buf[:0], e))
	}
	want := [3]int{200, 500, 100}
	for k := range 3 {
		avg := float64(size[k]) / float64(n[k])
		t.Logf("%v: Nexmark size %.1f B, JSON line %.1f B, EventCodec %.1f B", Kind(k), avg, float64(jsonSize[k])/float64(n[k]), float64(codecSize[k])/float64(n[k]))
		if math.Abs(avg-float64(want[k])) > 0.15*float64(want[k]) {
			t.Errorf("%v: average Nexmark size %.1f, want %d ± 15%%", Kind(k), avg, want[k])
		}
	}
}

// TestTimestamps proves invariant 7: event time advances by
// 1e6/EventsPerSecond µs per event, in order when OutOfOrderGroupSize is
// 1, and never below a generator's Watermark.
func TestTimestamps(t *testing.T) {
	g := newGen(t, GeneratorConfig{Events: 30_000, EventsPerSecond: 1000, BaseTime: 5}, 0, 1)
	for i := int64(0); ; i++ {
		wm := g.Watermark()
		e, ok := g.Next()
		if !ok {
			if wm != math.MaxInt64 {
				t.Errorf("watermark of an exhausted generator is %d", wm)
			}
			break
		}
		if ts := EventTimestamp(e); ts != 5+i || wm != ts {
			t.Fatalf("event %d at %d with watermark %d, want both %d", i, ts, wm, 5+i)
		}
	}

	for _, group := range []int64{1, 7, 1000} {
		cfg := GeneratorConfig{Events: 20_000, OutOfOrderGroupSize: group}
		for _, n := range []int{1, 3} {
			gens, _ := Split(cfg, n)
			for _, g := range gens {
				var wms []int64
				var events []Event
				for {
					wms = append(wms, g.Watermark())
					e, ok := g.Next()
					if !ok {
						break
					}
					events = append(events, e)
				}
				// The minimum of the timestamps from each position on.
				low := int64(math.MaxInt64)
				for i := len(events) - 1; i >= 0; i-- {
					low = min(low, EventTimestamp(events[i]))
					if wms[i] > low {
						t.Fatalf("group %d, %d splits: watermark %d before event %d exceeds a later timestamp %d", group, n, wms[i], i, low)
					}
					if group == 1 && i > 0 && EventTimestamp(events[i-1]) > EventTimestamp(events[i]) {
						t.Fatalf("%d splits: event %d goes back in time", n, i)
					}
				}
			}
		}
	}
}

// TestHotSkew proves invariant 8: bids concentrate on hot auctions and hot
// bidders, auctions on hot sellers.
func TestHotSkew(t *testing.T) {
	auctions, bidders, sellers := map[int64]int{}, map[int64]int{}, map[int64]int{}
	bids, opened := 0, 0
	g := newGen(t, GeneratorConfig{Events: 100_000}, 0, 1)
	for e, ok := g.Next(); ok; e, ok = g.Next() {
		switch e.Kind {
		case KindBid:
			bids++
			auctions[e.Bid.Auction]++
			bidders[e.Bid.Bidder]++
		case KindAuction:
			opened++
			sellers[e.Auction.Seller]++
		}
	}
	check := func(what string, counts map[int64]int, total int) {
		top := 0
		for _, c := range counts {
			top = max(top, c)
		}
		share, uniform := float64(top)/float64(total), 1/float64(len(counts))
		t.Logf("%s: top share %.4f, uniform %.6f over %d", what, share, uniform, len(counts))
		if share < 20*uniform {
			t.Errorf("%s: the top share %.4f is not ≫ the uniform %.6f", what, share, uniform)
		}
	}
	check("bids per auction", auctions, bids)
	check("bids per bidder", bidders, bids)
	check("auctions per seller", sellers, opened)
}

// TestReferences proves invariant 9: person and auction ids count up from
// their first ids, and auctions and bids refer to people and auctions that
// exist or are at most a lead of 10 ahead, bids to recent auctions.
func TestReferences(t *testing.T) {
	lastPerson, lastAuction := int64(FirstPersonID-1), int64(FirstAuctionID-1)
	var bids, bidsExisting int
	g := newGen(t, GeneratorConfig{Events: 200_000}, 0, 1)
	for i := 0; ; i++ {
		e, ok := g.Next()
		if !ok {
			break
		}
		if (e.Person != nil) != (e.Kind == KindPerson) || (e.Auction != nil) != (e.Kind == KindAuction) || e.Kind != KindBid && e.Bid != (Bid{}) {
			t.Fatalf("event %d: a %v with fields of other kinds: %+v", i, e.Kind, e)
		}
		switch e.Kind {
		case KindPerson:
			if e.Person.ID != lastPerson+1 {
				t.Fatalf("event %d: person %d after %d", i, e.Person.ID, lastPerson)
			}
			lastPerson = e.Person.ID
		case KindAuction:
			a := e.Auction
			if a.ID != lastAuction+1 {
				t.Fatalf("event %d: auction %d after %d", i, a.ID, lastAuction)
			}
			lastAuction = a.ID
			if a.Seller < FirstPersonID || a.Seller > lastPerson+personIDLead {
				t.Fatalf("event %d: seller %d with the last person %d", i, a.Seller, lastPerson)
			}
			if a.Expires <= a.DateTime || a.Category < FirstCategoryID || a.Category >= FirstCategoryID+numCategories ||
				a.InitialBid < 100 || a.Reserve < a.InitialBid+100 {
				t.Fatalf("event %d: implausible auction %+v", i, a)
			}
		case KindBid:
			b := e.Bid
			bids++
			if b.Auction <= lastAuction {
				bidsExisting++
			}
			if b.Auction < max(FirstAuctionID, lastAuction-g.t.NumInFlightAuctions) || b.Auction > lastAuction+auctionIDLead {
				t.Fatalf("event %d: bid for auction %d with the last auction %d", i, b.Auction, lastAuction)
			}
			if b.Bidder < FirstPersonID || b.Bidder > lastPerson+personIDLead {
				t.Fatalf("event %d: bidder %d with the last person %d", i, b.Bidder, lastPerson)
			}
			if b.Price < 100 || b.Price > 100_000_000 || b.Channel == "" || !strings.HasPrefix(b.URL, "https://www.nexmark.com/") {
				t.Fatalf("event %d: implausible bid %+v", i, b)
			}
		}
	}
	share := float64(bidsExisting) / float64(bids)
	t.Logf("%.3f of bids are for auctions already opened", share)
	if share < 0.9 {
		t.Errorf("only %.3f of bids are for auctions already opened", share)
	}
}

func TestConfig(t *testing.T) {
	c := DefaultConfig()
	if c.EventsPerSecond != 10_000 || c.BaseTime != DefaultBaseTime || c.BidProportion != 46 || c.HotAuctionRatio != 2 || c.NumActivePeople != 1000 {
		t.Errorf("defaults: %+v", c)
	}
	g := newGen(t, GeneratorConfig{}, 0, 1)
	if want := int64(math.MaxInt64 / (50 * 500)); g.Remaining() != want {
		t.Errorf("unbounded generator has %d events, want Nexmark's cap %d", g.Remaining(), want)
	}
	bad := []struct {
		cfg   GeneratorConfig
		field string
	}{
		{GeneratorConfig{Events: -1}, "Events"},
		{GeneratorConfig{Events: 1<<53 + 1}, "Events"},
		{GeneratorConfig{BaseTime: math.MaxInt64 - 5}, "BaseTime"},
		{GeneratorConfig{BaseTime: math.MinInt64 + 5}, "BaseTime"},
		{GeneratorConfig{EventsPerSecond: -5}, "EventsPerSecond"},
		{GeneratorConfig{EventsPerSecond: math.NaN()}, "EventsPerSecond"},
		{GeneratorConfig{OutOfOrderGroupSize: -2}, "OutOfOrderGroupSize"},
		{GeneratorConfig{OutOfOrderGroupSize: 953 * 2}, "OutOfOrderGroupSize"},
		{GeneratorConfig{BidProportion: -1}, "BidProportion"},
		{GeneratorConfig{HotSellersRatio: 1 << 40}, "HotSellersRatio"},
	}
	for _, b := range bad {
		err := b.cfg.Validate()
		if !errors.Is(err, ErrInvalidConfig) || !strings.Contains(err.Error(), b.field) {
			t.Errorf("%+v: %v, want an ErrInvalidConfig naming %s", b.cfg, err, b.field)
		}
		if _, err := NewGenerator(b.cfg, 0, 1); !errors.Is(err, ErrInvalidConfig) {
			t.Errorf("NewGenerator(%+v): %v", b.cfg, err)
		}
	}
	for _, c := range []GeneratorConfig{
		{Events: 1e15, EventsPerSecond: 1e-3},
		{Events: 1 << 50, EventsPerSecond: 100},
	} {
		if _, err := NewGenerator(c, 0, 1); !errors.Is(err, ErrInvalidConfig) || !strings.Contains(err.Error(), "overflow") {
			t.Errorf("%+v: %v, want an overflow", c, err)
		}
	}
	slow := newGen(t, GeneratorConfig{EventsPerSecond: 1e-3}, 0, 1)
	if slow.Remaining() >= g.Remaining() || slow.t.timestamp(slow.Remaining()+slow.t.auctionHorizon) < 0 {
		t.Errorf("an unbounded slow stream has %d events, ending at %d", slow.Remaining(), slow.t.timestamp(slow.Remaining()))
	}
	for _, share := range [][2]int{{-1, 2}, {2, 2}, {0, 0}} {
		if _, err := NewGenerator(GeneratorConfig{}, share[0], share[1]); !errors.Is(err, ErrInvalidConfig) {
			t.Errorf("NewGenerator share %v: %v", share, err)
		}
	}
	if _, err := Split(GeneratorConfig{}, 0); !errors.Is(err, ErrInvalidConfig) {
		t.Errorf("Split into 0: %v", err)
	}
	// More shares than events: the surplus ones are empty.
	gens, _ := Split(GeneratorConfig{Events: 3}, 5)
	for i, g := range gens {
		want := int64(0)
		if i < 3 {
			want = 1
		}
		if g.Remaining() != want {
			t.Errorf("share %d of 5 of 3 events has %d, want %d", i, g.Remaining(), want)
		}
	}
}

// TestNextAllocs proves invariant 10: Next allocates only the string
// blocks, a few per thousand events.
func TestNextAllocs(t *testing.T) {
	if raceEnabled {
		t.Skip("the race detector allocates")
	}
	g := newGen(t, GeneratorConfig{}, 0, 1)
	g.Next() // build the channel table
	const n = 10_000
	allocs := testing.AllocsPerRun(1, func() {
		for range n {
			g.Next()
		}
	})
	if perEvent := allocs / n; perEvent > 0.01 {
		t.Errorf("%.4f allocations per event, want < 0.01", perEvent)
	}
}

// TestArenaStrings checks that the strings of earlier events survive the
// generation of later ones: the arena never writes bytes it handed out.
func TestArenaStrings(t *testing.T) {
	cfg := GeneratorConfig{Events: 20_000}
	g := newGen(t, cfg, 0, 1)
	events := collect(g)
	var before bytes.Buffer
	for _, e := range events {
		before.WriteString(dump(e))
	}
	if err := g.Restore(0); err != nil {
		t.Fatal(err)
	}
	collect(g) // the same generator writes 20,000 more events' strings
	var after bytes.Buffer
	for _, e := range events {
		after.WriteString(dump(e))
	}
	if !bytes.Equal(before.Bytes(), after.Bytes()) {
		t.Fatal("the strings of returned events changed")
	}
}
