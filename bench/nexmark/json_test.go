package nexmark

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"strings"
	"testing"
	"testing/iotest"
)

func readAll(t *testing.T, r io.Reader) []Event {
	t.Helper()
	var out []Event
	for e, err := range ReadJSON(r) {
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, e)
	}
	return out
}

// TestJSONRoundTrip proves invariant 11: ReadJSON returns the events
// WriteJSON wrote.
func TestJSONRoundTrip(t *testing.T) {
	events := collect(newGen(t, GeneratorConfig{Events: 30_000, OutOfOrderGroupSize: 5}, 0, 1))
	var buf bytes.Buffer
	for _, e := range events {
		if err := WriteJSON(&buf, e); err != nil {
			t.Fatal(err)
		}
	}
	if !bytes.Contains(buf.Bytes(), []byte(`\\`)) {
		t.Fatal("no escaped backslash in the extras: the test misses escapes")
	}
	got := readAll(t, iotest.HalfReader(bytes.NewReader(buf.Bytes())))
	if len(got) != len(events) {
		t.Fatalf("read %d events, wrote %d", len(got), len(events))
	}
	for i := range events {
		if !got[i].Equal(events[i]) {
			t.Fatalf("event %d:\n got %+v\nwant %+v", i, got[i], events[i])
		}
	}
}

func TestJSONFormat(t *testing.T) {
	cases := []struct {
		e    Event
		want string
	}{
		{PersonEvent(Person{ID: 1000, Name: "Peter Jones", EmailAddress: "a@b.com", CreditCard: "0001 0002 0003 0004", City: "Bend", State: "OR", DateTime: 1436918400000, Extra: `x"\y`}),
			`{"person":{"id":1000,"name":"Peter Jones","emailAddress":"a@b.com","creditCard":"0001 0002 0003 0004","city":"Bend","state":"OR","dateTime":1436918400000,"extra":"x\"\\y"}}`},
		{AuctionEvent(Auction{ID: 1001, ItemName: "i", Description: "d", InitialBid: 1, Reserve: 2, DateTime: 3, Expires: 4, Seller: 5, Category: 10, Extra: ""}),
			`{"auction":{"id":1001,"itemName":"i","description":"d","initialBid":1,"reserve":2,"dateTime":3,"expires":4,"seller":5,"category":10,"extra":""}}`},
		{BidEvent(Bid{Auction: 1, Bidder: 2, Price: 3, Channel: "Google", URL: "https://x/?a=1&b=<2>", DateTime: -4, Extra: "é\t\n\r\x01\xff\u2028"}),
			`{"bid":{"auction":1,"bidder":2,"price":3,"channel":"Google","url":"https://x/?a=1&b=<2>","dateTime":-4,"extra":"é\t\n\r\u0001\ufffd` + "\u2028" + `"}}`},
	}
	for _, c := range cases {
		got := string(AppendJSON(nil, c.e))
		if got != c.want {
			t.Errorf("AppendJSON:\n got %s\nwant %s", got, c.want)
		}
		if !json.Valid([]byte(got)) {
			t.Errorf("invalid JSON: %s", got)
		}
		// encoding/json reads what we write.
		var m map[string]map[string]any
		if err := json.Unmarshal([]byte(got), &m); err != nil || len(m) != 1 || m[c.e.Kind.String()] == nil {
			t.Errorf("encoding/json reads %s as %v (%v)", got, m, err)
		}
	}
}

// TestNilEntities checks that an event whose pointer is missing reads as a
// zero entity.
func TestNilEntities(t *testing.T) {
	for _, k := range []Kind{KindPerson, KindAuction} {
		e := Event{Kind: k}
		if EventTimestamp(e) != 0 || !e.Equal(Event{Kind: k}) {
			t.Errorf("%v without its entity: timestamp %d", k, EventTimestamp(e))
		}
		line := AppendJSON(nil, e)
		got := readAll(t, bytes.NewReader(line))
		if len(got) != 1 || !got[0].Equal(e) {
			t.Errorf("%s reads back as %+v", line, got)
		}
		if d, err := EventCodec().Decode(EventCodec().Append(nil, e)); err != nil || !d.Equal(e) {
			t.Errorf("%v without its entity: codec gives %+v, %v", k, d, err)
		}
	}
}

func TestReadJSONShapes(t *testing.T) {
	input := strings.Join([]string{
		``,
		`  {"event_type":2,"person":null,"auction":null,"bid":{"auction":1,"bidder":2,"price":3,"channel":"c","url":"u","dateTime":"2015-07-15 00:00:00.001","extra":"","unknown":[1,-2.5e3,{"a":null,"b":[true,false]}]}}  `,
		`{"auction":{"id":7,"expires":"2015-07-15T00:00:01Z","dateTime":null,"seller":-3,"extra":null}}`,
		`{"person":{"name":"\u00e9\ud83d\ude00\ud800x\u0041\/\b\f","id":9}, "other": "ignored"}`,
	}, "\r\n")
	got := readAll(t, strings.NewReader(input))
	want := []Event{
		BidEvent(Bid{Auction: 1, Bidder: 2, Price: 3, Channel: "c", URL: "u", DateTime: DefaultBaseTime + 1}),
		AuctionEvent(Auction{ID: 7, Expires: DefaultBaseTime + 1000, Seller: -3}),
		PersonEvent(Person{ID: 9, Name: "é😀\ufffdxA/\b\f"}),
	}
	if len(got) != len(want) {
		t.Fatalf("got %d events, want %d", len(got), len(want))
	}
	for i := range want {
		if !got[i].Equal(want[i]) {
			t.Errorf("event %d:\n got %+v\nwant %+v", i, got[i], want[i])
		}
	}
}

func TestReadJSONErrors(t *testing.T) {
	bad := []string{
		`{"bid":{"auction":1}`,
		`{"bid":{"auction":1.5}}`,
		`{"bid":{"auction":1e3}}`,
		`{"bid":{"auction":01}}`,
		`{"bid":{"auction":99999999999999999999}}`,
		`{"bid":{"auction":"1"}}`,
		`{"bid":{"dateTime":"yesterday"}}`,
		`{"bid":{"channel":"a` + "\x01" + `"}}`,
		`{"bid":{"channel":"\x"}}`,
		`{"bid":{"channel":"\u12"}}`,
		`{"bid":{},"person":{}}`,
		`{}`,
		`{"person":null}`,
		`{"event_type":1,"bid":{}}`,
		`{"bid":{}} x`,
		`{"bid":{"x":[1,]}}`,
		`{"bid":{"x":tru}}`,
		`{"bid":{"x":-}}`,
		`{"bid":{"x":1.}}`,
		`[]`,
		`{"bid":{"x":` + strings.Repeat("[", 2000) + strings.Repeat("]", 2000) + `}}`,
	}
	for _, line := range bad {
		input := `{"bid":{}}` + "\n" + line + "\n" + `{"bid":{}}`
		var n int
		var err error
		for _, err = range ReadJSON(strings.NewReader(input)) {
			if err != nil {
				break
			}
			n++
		}
		if !errors.Is(err, ErrSyntax) || !strings.Contains(err.Error(), "line 2") || n != 1 {
			t.Errorf("%s: after %d events, %v; want ErrSyntax at line 2 after 1", line, n, err)
		}
	}

	// An error of the reader ends the sequence.
	readErr := errors.New("disk on fire")
	var last error
	for _, err := range ReadJSON(io.MultiReader(strings.NewReader(`{"bid":{}}`+"\n"), iotest.ErrReader(readErr))) {
		last = err
	}
	if !errors.Is(last, readErr) {
		t.Errorf("reader error: %v", last)
	}

	// Stopping early is allowed.
	for range ReadJSON(strings.NewReader("{\"bid\":{}}\n{\"bid\":{}}\n")) {
		break
	}
}

// TestJSONMatchesEncodingJSON checks the writer against encoding/json: it
// reads our lines into structs tagged with the suite's field names and
// finds the generated events.
func TestJSONMatchesEncodingJSON(t *testing.T) {
	type wire struct {
		Person *struct {
			ID           int64  `json:"id"`
			Name         string `json:"name"`
			EmailAddress string `json:"emailAddress"`
			CreditCard   string `json:"creditCard"`
			City         string `json:"city"`
			State        string `json:"state"`
			DateTime     int64  `json:"dateTime"`
			Extra        string `json:"extra"`
		} `json:"person"`
		Auction *struct {
			ID          int64  `json:"id"`
			ItemName    string `json:"itemName"`
			Description string `json:"description"`
			InitialBid  int64  `json:"initialBid"`
			Reserve     int64  `json:"reserve"`
			DateTime    int64  `json:"dateTime"`
			Expires     int64  `json:"expires"`
			Seller      int64  `json:"seller"`
			Category    int64  `json:"category"`
			Extra       string `json:"extra"`
		} `json:"auction"`
		Bid *struct {
			Auction  int64  `json:"auction"`
			Bidder   int64  `json:"bidder"`
			Price    int64  `json:"price"`
			Channel  string `json:"channel"`
			URL      string `json:"url"`
			DateTime int64  `json:"dateTime"`
			Extra    string `json:"extra"`
		} `json:"bid"`
	}
	g := newGen(t, GeneratorConfig{Events: 5000}, 0, 1)
	for e, ok := g.Next(); ok; e, ok = g.Next() {
		line := AppendJSON(nil, e)
		dec := json.NewDecoder(bytes.NewReader(line))
		dec.DisallowUnknownFields()
		var w wire
		if err := dec.Decode(&w); err != nil {
			t.Fatalf("%s: %v", line, err)
		}
		var got Event
		switch {
		case w.Person != nil:
			got = PersonEvent(Person(*w.Person))
		case w.Auction != nil:
			got = AuctionEvent(Auction(*w.Auction))
		case w.Bid != nil:
			got = BidEvent(Bid(*w.Bid))
		}
		if !got.Equal(e) {
			t.Fatalf("encoding/json reads %s as %+v, want %+v", line, got, e)
		}
	}
}
