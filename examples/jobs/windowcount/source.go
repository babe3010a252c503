package windowcount

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"strconv"
	"strings"
	"unicode"

	"github.com/runnel-io/runnel/stream"
)

// ErrMalformedLine is wrapped by the error of an input line that is not
// "timestamp_millis,key".
var ErrMalformedLine = errors.New("windowcount: malformed input line")

// Event is one line of the input.
type Event struct {
	Timestamp int64 // milliseconds
	Key       string
	Line      string // the line as read, without its ending: what --late-output gets
}

func (e Event) key() string { return e.Key }

// EventSource reads the events of the file path, in order, each with its
// timestamp. It has one reader: use it at parallelism 1 (a reader at any
// other parallelism fails).
func EventSource(path string) stream.Source[Event] { return eventSource{path: path} }

type eventSource struct{ path string }

func (s eventSource) Bounded() bool { return true }

func (s eventSource) CreateReader(_ context.Context, rc *stream.RuntimeContext) (stream.SourceReader[Event], error) {
	if rc.Parallelism != 1 {
		return nil, fmt.Errorf("windowcount: the source of %s reads it in order with one reader, and runs at parallelism %d", s.path, rc.Parallelism)
	}
	f, err := os.Open(s.path)
	if err != nil {
		return nil, fmt.Errorf("windowcount: %w", err)
	}
	return &eventReader{path: s.path, f: f, r: bufio.NewReaderSize(f, 64<<10)}, nil
}

// eventReader reads its file line by line.
type eventReader struct {
	path string
	f    *os.File
	r    *bufio.Reader
	line int // lines read
}

// pollLines is how many lines a poll reads at most.
const pollLines = 256

func (r *eventReader) PollNext(out stream.ReaderOutput[Event]) (stream.InputStatus, error) {
	for range pollLines {
		text, err := r.r.ReadString('\n')
		if err != nil && !errors.Is(err, io.EOF) {
			return stream.MoreAvailable, fmt.Errorf("windowcount: reading %s: %w", r.path, err)
		}
		if text == "" { // at EOF
			return stream.EndOfInput, nil
		}
		r.line++
		text = strings.TrimSuffix(strings.TrimSuffix(text, "\n"), "\r")
		if text != "" {
			e, perr := parseEvent(text)
			if perr != nil {
				return stream.MoreAvailable, fmt.Errorf("%w: %s line %d: %q: %v", ErrMalformedLine, r.path, r.line, text, perr)
			}
			out.CollectWithTimestamp(e, e.Timestamp)
		}
		if err != nil { // the last line had no ending
			return stream.EndOfInput, nil
		}
	}
	return stream.MoreAvailable, nil
}

func (r *eventReader) Available() <-chan struct{} { return ready }

func (r *eventReader) Close() error { return r.f.Close() }

// ready is always ready: a file can always be read.
var ready = func() chan struct{} { c := make(chan struct{}); close(c); return c }()

// parseEvent parses a line "timestamp_millis,key".
func parseEvent(line string) (Event, error) {
	tsText, key, ok := strings.Cut(line, ",")
	if !ok {
		return Event{}, errors.New("want timestamp_millis,key")
	}
	ts, err := strconv.ParseInt(tsText, 10, 64)
	if err != nil || ts == math.MinInt64 {
		// math.MinInt64 is the runtime's "no timestamp".
		return Event{}, fmt.Errorf("the timestamp %q is not an integer number of milliseconds in (-2^63, 2^63)", tsText)
	}
	switch {
	case key == "":
		return Event{}, errors.New("the key is empty")
	case strings.Contains(key, ","):
		return Event{}, fmt.Errorf("the key %q has a comma, which would make the output ambiguous", key)
	case strings.TrimFunc(key, unicode.IsSpace) != key:
		return Event{}, fmt.Errorf("the key %q has leading or trailing white space", key)
	}
	return Event{Timestamp: ts, Key: key, Line: line}, nil
}
