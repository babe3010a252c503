package nexmark

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"iter"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode/utf16"
	"unicode/utf8"
	"unsafe"
)

// ErrSyntax is returned (wrapped, with the line number) by ReadJSON for a
// line that is not a Nexmark event.
var ErrSyntax = errors.New("nexmark: malformed JSON event")

// AppendJSON appends e as one JSON object in the field names of the Nexmark
// SQL suite, with times as integer milliseconds since the Unix epoch:
//
//	{"person":{"id":…,"name":…,"emailAddress":…,"creditCard":…,"city":…,"state":…,"dateTime":…,"extra":…}}
//	{"auction":{"id":…,"itemName":…,"description":…,"initialBid":…,"reserve":…,"dateTime":…,"expires":…,"seller":…,"category":…,"extra":…}}
//	{"bid":{"auction":…,"bidder":…,"price":…,"channel":…,"url":…,"dateTime":…,"extra":…}}
//
// In strings, quotes, backslashes and control characters are escaped (\n,
// \r, \t or \u00XX), invalid UTF-8 becomes U+FFFD, and everything else is
// written as it is. It allocates only to grow dst.
func AppendJSON(dst []byte, e Event) []byte {
	switch e.Kind {
	case KindPerson:
		p := e.person()
		dst = append(dst, `{"person":{"id":`...)
		dst = strconv.AppendInt(dst, p.ID, 10)
		dst = appendField(dst, `,"name":`, p.Name)
		dst = appendField(dst, `,"emailAddress":`, p.EmailAddress)
		dst = appendField(dst, `,"creditCard":`, p.CreditCard)
		dst = appendField(dst, `,"city":`, p.City)
		dst = appendField(dst, `,"state":`, p.State)
		dst = append(dst, `,"dateTime":`...)
		dst = strconv.AppendInt(dst, p.DateTime, 10)
		dst = appendField(dst, `,"extra":`, p.Extra)
	case KindAuction:
		a := e.auction()
		dst = append(dst, `{"auction":{"id":`...)
		dst = strconv.AppendInt(dst, a.ID, 10)
		dst = appendField(dst, `,"itemName":`, a.ItemName)
		dst = appendField(dst, `,"description":`, a.Description)
		dst = append(dst, `,"initialBid":`...)
		dst = strconv.AppendInt(dst, a.InitialBid, 10)
		dst = append(dst, `,"reserve":`...)
		dst = strconv.AppendInt(dst, a.Reserve, 10)
		dst = append(dst, `,"dateTime":`...)
		dst = strconv.AppendInt(dst, a.DateTime, 10)
		dst = append(dst, `,"expires":`...)
		dst = strconv.AppendInt(dst, a.Expires, 10)
		dst = append(dst, `,"seller":`...)
		dst = strconv.AppendInt(dst, a.Seller, 10)
		dst = append(dst, `,"category":`...)
		dst = strconv.AppendInt(dst, a.Category, 10)
		dst = appendField(dst, `,"extra":`, a.Extra)
	default:
		b := &e.Bid
		dst = append(dst, `{"bid":{"auction":`...)
		dst = strconv.AppendInt(dst, b.Auction, 10)
		dst = append(dst, `,"bidder":`...)
		dst = strconv.AppendInt(dst, b.Bidder, 10)
		dst = append(dst, `,"price":`...)
		dst = strconv.AppendInt(dst, b.Price, 10)
		dst = appendField(dst, `,"channel":`, b.Channel)
		dst = appendField(dst, `,"url":`, b.URL)
		dst = append(dst, `,"dateTime":`...)
		dst = strconv.AppendInt(dst, b.DateTime, 10)
		dst = appendField(dst, `,"extra":`, b.Extra)
	}
	return append(dst, "}}"...)
}

func appendField(dst []byte, key, s string) []byte {
	return appendJSONString(append(dst, key...), s)
}

const hexDigits = "0123456789abcdef"

// jsonSafe[c] says whether byte c stands for itself in a JSON string:
// printable ASCII other than '"' and '\\'.
var jsonSafe = func() (t [256]bool) {
	for c := 0x20; c < utf8.RuneSelf; c++ {
		t[c] = c != '"' && c != '\\'
	}
	return t
}()

// safeWord reports whether the eight bytes of w are all jsonSafe, with the
// zero-byte test of "Bit Twiddling Hacks" (exact when no byte is >= 0x80,
// which the last term rules out).
func safeWord(w uint64) bool {
	const ones, highs = 0x0101010101010101, 0x8080808080808080
	q, bs := w^'"'*ones, w^'\\'*ones
	return ((w-0x20*ones)&^w|(q-ones)&^q|(bs-ones)&^bs|w)&highs == 0
}

// appendJSONString appends s as a JSON string.
func appendJSONString(dst []byte, s string) []byte {
	dst = append(dst, '"')
	start := 0
	b := unsafe.Slice(unsafe.StringData(s), len(s)) // read only
	for i := 0; i < len(s); {
		if i+8 <= len(b) && safeWord(binary.LittleEndian.Uint64(b[i:])) {
			i += 8
			continue
		}
		if jsonSafe[s[i]] {
			i++
			continue
		}
		if c := s[i]; c < utf8.RuneSelf {
			dst = append(dst, s[start:i]...)
			switch c {
			case '"', '\\':
				dst = append(dst, '\\', c)
			case '\n':
				dst = append(dst, '\\', 'n')
			case '\r':
				dst = append(dst, '\\', 'r')
			case '\t':
				dst = append(dst, '\\', 't')
			default:
				dst = append(dst, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xf])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			dst = append(dst, s[start:i]...)
			dst = append(dst, `\ufffd`...)
			i++
			start = i
			continue
		}
		i += size
	}
	dst = append(dst, s[start:]...)
	return append(dst, '"')
}

var jsonBuffers = sync.Pool{New: func() any { b := make([]byte, 0, 1024); return &b }}

// WriteJSON writes e to w as one line: AppendJSON and a newline, in one
// Write. It allocates nothing in the steady state; w should be buffered.
func WriteJSON(w io.Writer, e Event) error {
	bp := jsonBuffers.Get().(*[]byte)
	b := append(AppendJSON((*bp)[:0], e), '\n')
	_, err := w.Write(b)
	*bp = b
	jsonBuffers.Put(bp)
	return err
}

// maxJSONLine bounds the length of a line ReadJSON accepts.
const maxJSONLine = 64 << 20

// ReadJSON returns the events of r, one JSON object per line as AppendJSON
// writes them; blank lines are skipped. It also reads the nullable-row
// shape of the Nexmark SQL tables, {"event_type":2,"person":null,
// "auction":null,"bid":{…}}: exactly one of person, auction and bid must be
// an object, event_type (if present) must agree with it, and other members
// are ignored, as are unknown fields of the entity. Times are integer
// milliseconds or strings in RFC 3339 or SQL form ("2015-07-15
// 00:00:00.000", taken as UTC); a missing field or null is zero.
//
// The sequence stops after the first error, which it yields with a zero
// Event: a syntax error wrapping ErrSyntax and naming the line, or an error
// of r. The strings and entities of the events share memory blocks as the
// Generator's do.
func ReadJSON(r io.Reader) iter.Seq2[Event, error] {
	return func(yield func(Event, error) bool) {
		sc := bufio.NewScanner(r)
		sc.Buffer(make([]byte, 0, 64<<10), maxJSONLine)
		var p jsonParser
		for line := 1; sc.Scan(); line++ {
			p.b, p.i = sc.Bytes(), 0
			if p.skipSpace(); p.i == len(p.b) {
				continue
			}
			e, err := p.event()
			if err != nil {
				yield(Event{}, fmt.Errorf("%w: line %d: %w", ErrSyntax, line, err))
				return
			}
			if !yield(e, nil) {
				return
			}
		}
		if err := sc.Err(); err != nil {
			yield(Event{}, fmt.Errorf("nexmark: reading JSON events: %w", err))
		}
	}
}

// jsonParser parses one line at a time.
type jsonParser struct {
	b        []byte
	i        int
	arena    arena
	persons  slab[Person]
	auctions slab[Auction]
}

// maxJSONDepth bounds the nesting of ignored values.
const maxJSONDepth = 1000

func (p *jsonParser) errorf(format string, args ...any) error {
	return fmt.Errorf("offset %d: "+format, append([]any{p.i}, args...)...)
}

func (p *jsonParser) skipSpace() {
	for p.i < len(p.b) {
		switch p.b[p.i] {
		case ' ', '\t', '\r', '\n':
			p.i++
		default:
			return
		}
	}
}

// consume skips space and then c, or fails.
func (p *jsonParser) consume(c byte) error {
	p.skipSpace()
	if p.i < len(p.b) && p.b[p.i] == c {
		p.i++
		return nil
	}
	if p.i == len(p.b) {
		return p.errorf("want %q, found end of line", c)
	}
	return p.errorf("want %q, found %q", c, p.b[p.i])
}

// peek skips space and returns the next byte, 0 at the end.
func (p *jsonParser) peek() byte {
	p.skipSpace()
	if p.i < len(p.b) {
		return p.b[p.i]
	}
	return 0
}

// literal consumes the literal word (true, false, null) at the cursor.
func (p *jsonParser) literal(word string) error {
	if len(p.b)-p.i >= len(word) && string(p.b[p.i:p.i+len(word)]) == word {
		p.i += len(word)
		return nil
	}
	return p.errorf("invalid literal")
}

// object parses an object, calling member with each key (valid until the
// next parse) with the cursor at its value, which member must consume.
func (p *jsonParser) object(member func(key []byte) error) error {
	if err := p.consume('{'); err != nil {
		return err
	}
	if p.peek() == '}' {
		p.i++
		return nil
	}
	for {
		p.skipSpace()
		key, err := p.rawString()
		if err != nil {
			return err
		}
		if err := p.consume(':'); err != nil {
			return err
		}
		p.skipSpace()
		if err := member(key); err != nil {
			return err
		}
		switch p.peek() {
		case ',':
			p.i++
		case '}':
			p.i++
			return nil
		default:
			return p.errorf("want ',' or '}' after a member")
		}
	}
}

// rawString parses a string and returns its decoded bytes, which alias
// the line when it has no escapes and are valid until the next parse
// otherwise.
func (p *jsonParser) rawString() ([]byte, error) {
	if p.i >= len(p.b) || p.b[p.i] != '"' {
		return nil, p.errorf("want a string")
	}
	p.i++
	start := p.i
	for p.i < len(p.b) {
		switch c := p.b[p.i]; {
		case c == '"':
			s := p.b[start:p.i]
			p.i++
			return s, nil
		case c == '\\':
			return p.escapedString(start)
		case c < 0x20:
			return nil, p.errorf("control character in string")
		default:
			p.i++
		}
	}
	return nil, p.errorf("unterminated string")
}

// escapedString finishes a string with escapes that began at start, into
// the arena's tail, which str may take.
func (p *jsonParser) escapedString(start int) ([]byte, error) {
	end := p.i // the closing quote, or the end of the line: a bound of the output
	for ; end < len(p.b) && p.b[end] != '"'; end++ {
		if p.b[end] == '\\' {
			end++
		}
	}
	out := p.arena.tail(min(end, len(p.b)) - start)
	out = append(out, p.b[start:p.i]...)
	for p.i < len(p.b) {
		c := p.b[p.i]
		switch {
		case c == '"':
			p.i++
			return out, nil
		case c < 0x20:
			return nil, p.errorf("control character in string")
		case c != '\\':
			out = append(out, c)
			p.i++
			continue
		}
		if p.i+1 >= len(p.b) {
			return nil, p.errorf("unterminated string")
		}
		p.i += 2
		switch e := p.b[p.i-1]; e {
		case '"', '\\', '/':
			out = append(out, e)
		case 'b':
			out = append(out, '\b')
		case 'f':
			out = append(out, '\f')
		case 'n':
			out = append(out, '\n')
		case 'r':
			out = append(out, '\r')
		case 't':
			out = append(out, '\t')
		case 'u':
			r, ok := p.hex4()
			if !ok {
				return nil, p.errorf("invalid \\u escape")
			}
			if utf16.IsSurrogate(r) {
				r2 := utf8.RuneError
				if p.i+1 < len(p.b) && p.b[p.i] == '\\' && p.b[p.i+1] == 'u' {
					save := p.i
					p.i += 2
					if lo, ok := p.hex4(); ok {
						if r2 = utf16.DecodeRune(r, lo); r2 == utf8.RuneError {
							p.i = save // not a pair: the next escape stands alone
						}
					} else {
						return nil, p.errorf("invalid \\u escape")
					}
				}
				r = r2
			}
			out = utf8.AppendRune(out, r)
		default:
			return nil, p.errorf("invalid escape \\%c", e)
		}
	}
	return nil, p.errorf("unterminated string")
}

func (p *jsonParser) hex4() (rune, bool) {
	if len(p.b)-p.i < 4 {
		return 0, false
	}
	var r rune
	for _, c := range p.b[p.i : p.i+4] {
		switch {
		case '0' <= c && c <= '9':
			c -= '0'
		case 'a' <= c && c <= 'f':
			c -= 'a' - 10
		case 'A' <= c && c <= 'F':
			c -= 'A' - 10
		default:
			return 0, false
		}
		r = r<<4 | rune(c)
	}
	p.i += 4
	return r, true
}

// str parses a string value (or null, as "") into a string of the arena.
func (p *jsonParser) str() (string, error) {
	if p.peek() == 'n' {
		return "", p.literal("null")
	}
	raw, err := p.rawString()
	if err != nil || len(raw) == 0 {
		return "", err
	}
	if p.arena.owns(raw) {
		return p.arena.take(raw), nil
	}
	return p.arena.take(append(p.arena.tail(len(raw)), raw...)), nil
}

// integer parses an integer value (or null, as 0).
func (p *jsonParser) integer() (int64, error) {
	if p.peek() == 'n' {
		return 0, p.literal("null")
	}
	start := p.i
	if p.i < len(p.b) && p.b[p.i] == '-' {
		p.i++
	}
	digits := p.i
	for p.i < len(p.b) && '0' <= p.b[p.i] && p.b[p.i] <= '9' {
		p.i++
	}
	switch {
	case p.i == digits:
		return 0, p.errorf("want an integer")
	case p.b[digits] == '0' && p.i-digits > 1:
		return 0, p.errorf("leading zero in number")
	case p.i < len(p.b) && (p.b[p.i] == '.' || p.b[p.i] == 'e' || p.b[p.i] == 'E'):
		return 0, p.errorf("want an integer, found a fraction or exponent")
	}
	v, err := strconv.ParseInt(unsafe.String(&p.b[start], p.i-start), 10, 64)
	if err != nil {
		return 0, p.errorf("integer out of range")
	}
	return v, nil
}

// timeLayouts are the string forms of times ReadJSON accepts.
var timeLayouts = []string{time.RFC3339Nano, "2006-01-02 15:04:05.999999999", "2006-01-02T15:04:05.999999999"}

// millis parses a time: integer milliseconds or a string.
func (p *jsonParser) millis() (int64, error) {
	if p.peek() != '"' {
		return p.integer()
	}
	raw, err := p.rawString()
	if err != nil {
		return 0, err
	}
	for _, layout := range timeLayouts {
		if t, err := time.Parse(layout, string(raw)); err == nil {
			return t.UnixMilli(), nil
		}
	}
	return 0, p.errorf("invalid time %q", raw)
}

// skip parses and discards any value.
func (p *jsonParser) skip(depth int) error {
	if depth > maxJSONDepth {
		return p.errorf("nested too deeply")
	}
	switch c := p.peek(); {
	case c == '{':
		return p.object(func([]byte) error { return p.skip(depth + 1) })
	case c == '[':
		p.i++
		if p.peek() == ']' {
			p.i++
			return nil
		}
		for {
			if err := p.skip(depth + 1); err != nil {
				return err
			}
			switch p.peek() {
			case ',':
				p.i++
			case ']':
				p.i++
				return nil
			default:
				return p.errorf("want ',' or ']' in an array")
			}
		}
	case c == '"':
		_, err := p.rawString()
		return err
	case c == 't':
		return p.literal("true")
	case c == 'f':
		return p.literal("false")
	case c == 'n':
		return p.literal("null")
	default:
		return p.number()
	}
}

// number consumes a JSON number: -?(0|[1-9][0-9]*)(.[0-9]+)?([eE][+-]?[0-9]+)?
func (p *jsonParser) number() error {
	digits := func() int {
		start := p.i
		for p.i < len(p.b) && '0' <= p.b[p.i] && p.b[p.i] <= '9' {
			p.i++
		}
		return p.i - start
	}
	next := func(set string) bool {
		if p.i < len(p.b) && strings.IndexByte(set, p.b[p.i]) >= 0 {
			p.i++
			return true
		}
		return false
	}
	next("-")
	start := p.i
	if n := digits(); n == 0 || n > 1 && p.b[start] == '0' {
		return p.errorf("invalid value")
	}
	if next(".") && digits() == 0 {
		return p.errorf("invalid number")
	}
	if next("eE") {
		next("+-")
		if digits() == 0 {
			return p.errorf("invalid number")
		}
	}
	return nil
}

// event parses one line.
func (p *jsonParser) event() (Event, error) {
	var e Event
	kind, found := Kind(0), 0
	eventType := int64(-1)
	err := p.object(func(key []byte) error {
		var k Kind
		switch string(key) {
		case "person":
			k = KindPerson
		case "auction":
			k = KindAuction
		case "bid":
			k = KindBid
		case "event_type":
			v, err := p.integer()
			eventType = v
			return err
		default:
			return p.skip(1)
		}
		if p.peek() == 'n' {
			return p.literal("null")
		}
		found++
		kind = k
		switch k {
		case KindPerson:
			if e.Person == nil {
				e.Person = p.persons.next()
			}
			return p.person(e.Person)
		case KindAuction:
			if e.Auction == nil {
				e.Auction = p.auctions.next()
			}
			return p.auction(e.Auction)
		default:
			return p.bid(&e.Bid)
		}
	})
	switch {
	case err != nil:
		return Event{}, err
	case found != 1:
		return Event{}, fmt.Errorf("want exactly one of person, auction and bid, found %d", found)
	case eventType >= 0 && eventType != int64(kind):
		return Event{}, fmt.Errorf("event_type %d but the event is a %v", eventType, kind)
	}
	if p.skipSpace(); p.i != len(p.b) {
		return Event{}, p.errorf("trailing data after the event")
	}
	e.Kind = kind
	return e, nil
}

func (p *jsonParser) person(x *Person) error {
	return p.object(func(key []byte) (err error) {
		switch string(key) {
		case "id":
			x.ID, err = p.integer()
		case "name":
			x.Name, err = p.str()
		case "emailAddress":
			x.EmailAddress, err = p.str()
		case "creditCard":
			x.CreditCard, err = p.str()
		case "city":
			x.City, err = p.str()
		case "state":
			x.State, err = p.str()
		case "dateTime":
			x.DateTime, err = p.millis()
		case "extra":
			x.Extra, err = p.str()
		default:
			err = p.skip(2)
		}
		return err
	})
}

func (p *jsonParser) auction(x *Auction) error {
	return p.object(func(key []byte) (err error) {
		switch string(key) {
		case "id":
			x.ID, err = p.integer()
		case "itemName":
			x.ItemName, err = p.str()
		case "description":
			x.Description, err = p.str()
		case "initialBid":
			x.InitialBid, err = p.integer()
		case "reserve":
			x.Reserve, err = p.integer()
		case "dateTime":
			x.DateTime, err = p.millis()
		case "expires":
			x.Expires, err = p.millis()
		case "seller":
			x.Seller, err = p.integer()
		case "category":
			x.Category, err = p.integer()
		case "extra":
			x.Extra, err = p.str()
		default:
			err = p.skip(2)
		}
		return err
	})
}

func (p *jsonParser) bid(x *Bid) error {
	return p.object(func(key []byte) (err error) {
		switch string(key) {
		case "auction":
			x.Auction, err = p.integer()
		case "bidder":
			x.Bidder, err = p.integer()
		case "price":
			x.Price, err = p.integer()
		case "channel":
			x.Channel, err = p.str()
		case "url":
			x.URL, err = p.str()
		case "dateTime":
			x.DateTime, err = p.millis()
		case "extra":
			x.Extra, err = p.str()
		default:
			err = p.skip(2)
		}
		return err
	})
}
