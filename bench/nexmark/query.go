package nexmark

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"sort"
	"sync"
	"sync/atomic"

	"github.com/runnel-io/runnel/stream"
)

// Query is one Nexmark query written on the DataStream API, with the
// semantics of its SQL text in the nexmark/nexmark suite (quoted in the doc
// comment of its Build function).
type Query struct {
	// Name is "q0" ... "q22".
	Name string
	// Summary says in a few words what the query computes.
	Summary string
	// Build adds the query to the dataflow over events; its results go to
	// sink through Emit.
	Build func(events stream.DataStream[Event], sink *Sink)
	// Reference computes the query's results over events with a plain loop
	// and no engine, as JSON lines (the columns of the SQL query), in any
	// order. Nil for queries whose results depend on processing time.
	Reference func(events []Event) []string
}

var (
	registryMu sync.Mutex
	registry   = map[string]Query{}
)

// register adds q to the queries; each query's file calls it from init.
func register(q Query) {
	registryMu.Lock()
	defer registryMu.Unlock()
	if _, dup := registry[q.Name]; dup {
		panic("nexmark: query " + q.Name + " registered twice")
	}
	registry[q.Name] = q
}

// Lookup returns the query called name.
func Lookup(name string) (Query, bool) {
	registryMu.Lock()
	defer registryMu.Unlock()
	q, ok := registry[name]
	return q, ok
}

// Queries returns every query, in the order q0, q1, ..., q22.
func Queries() []Query {
	registryMu.Lock()
	defer registryMu.Unlock()
	qs := make([]Query, 0, len(registry))
	for _, q := range registry {
		qs = append(qs, q)
	}
	sort.Slice(qs, func(i, j int) bool { return queryNumber(qs[i].Name) < queryNumber(qs[j].Name) })
	return qs
}

func queryNumber(name string) int {
	var n int
	fmt.Sscanf(name, "q%d", &n)
	return n
}

// Sink receives a query's results: it counts them and, if JSON is set,
// writes each as a JSON line.
type Sink struct {
	// JSON, if not nil, receives every result as a JSON line. Writes come
	// from the sink's subtasks, one line at a time, serialized by the Sink.
	JSON io.Writer

	count atomic.Int64
	mu    sync.Mutex
	// lines, if set (by tests), receives the results as JSON lines instead,
	// to sink them elsewhere; Results and JSON then see none of them.
	lines func(stream.DataStream[string])
}

// Results is the number of results so far.
func (s *Sink) Results() int64 { return s.count.Load() }

// Emit sends the results of a query to sink. R's JSON encoding (its json
// tags) gives the result columns their SQL names.
func Emit[R any](results stream.DataStream[R], sink *Sink) {
	if sink.lines != nil {
		sink.lines(stream.Map(results, func(r R) (string, error) {
			b, err := json.Marshal(r)
			if err != nil {
				return "", fmt.Errorf("nexmark: result %v: %w", r, err)
			}
			return string(b), nil
		}).Name("Nexmark Results JSON"))
		return
	}
	results.SinkTo(resultSink[R]{s: sink}, "Nexmark Results")
}

type resultSink[R any] struct{ s *Sink }

func (r resultSink[R]) CreateWriter(context.Context, *stream.RuntimeContext) (stream.SinkWriter[R], error) {
	return &resultWriter[R]{s: r.s}, nil
}

type resultWriter[R any] struct {
	s   *Sink
	n   int64
	buf []byte
}

func (w *resultWriter[R]) Write(v R, _ int64) error {
	w.n++
	if w.s.JSON == nil {
		return nil
	}
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Errorf("nexmark: result %v: %w", v, err)
	}
	w.buf = append(append(w.buf, b...), '\n')
	if len(w.buf) >= 32<<10 {
		return w.Flush(false)
	}
	return nil
}

func (w *resultWriter[R]) Flush(bool) error {
	w.s.count.Add(w.n)
	w.n = 0
	if len(w.buf) == 0 {
		return nil
	}
	w.s.mu.Lock()
	_, err := w.s.JSON.Write(w.buf)
	w.s.mu.Unlock()
	w.buf = w.buf[:0]
	return err
}

func (w *resultWriter[R]) Close() error { return w.Flush(true) }

// jsonLines encodes results as sorted JSON lines, for references and tests.
func jsonLines[R any](results []R) []string {
	lines := make([]string, len(results))
	for i, r := range results {
		b, err := json.Marshal(r)
		if err != nil {
			panic(fmt.Sprintf("nexmark: result %v: %v", r, err))
		}
		lines[i] = string(b)
	}
	slices.Sort(lines)
	return lines
}
