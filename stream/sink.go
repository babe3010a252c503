package stream

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"sync"

	"github.com/runnel-io/runnel/runtime/graph"
	"github.com/runnel-io/runnel/runtime/operator"
)

// Sink writes a stream out of the job, in the shape of Flink's Sink V2: a
// description that creates one writer per parallel subtask.
type Sink[T any] interface {
	CreateWriter(ctx context.Context, rc *RuntimeContext) (SinkWriter[T], error)
}

// SinkWriter writes the records of one subtask of a sink. Its methods are
// called from the subtask's goroutine only.
type SinkWriter[T any] interface {
	// Write writes one record; ts is its timestamp (or math.MinInt64 if it
	// has none).
	Write(v T, ts int64) error
	// Flush pushes out what the writer buffers. It is called when the
	// subtask's input runs dry (endOfInput false) and once after the last
	// record of bounded input (endOfInput true).
	Flush(endOfInput bool) error
	// Close releases the writer's resources; it is called exactly once,
	// also when the job fails.
	Close() error
}

// DataStreamSink is a sink added to the job, to be named and configured.
type DataStreamSink struct {
	env  *Environment
	node *graph.Node
}

// Name sets the sink's name.
func (s DataStreamSink) Name(name string) DataStreamSink { s.node.Name = name; return s }

// UID sets the sink's stable ID.
func (s DataStreamSink) UID(uid string) DataStreamSink { s.node.UID = uid; return s }

// SetParallelism sets the sink's number of subtasks.
func (s DataStreamSink) SetParallelism(p int) DataStreamSink {
	if p < 1 {
		s.env.errorf("stream: sink %q: SetParallelism(%d): parallelism must be at least 1", s.node.Name, p)
		return s
	}
	s.node.Parallelism = p
	return s
}

// DisableChaining runs the sink in a task of its own.
func (s DataStreamSink) DisableChaining() DataStreamSink {
	s.node.Chaining = graph.ChainNever
	return s
}

// SinkTo adds sink at the end of s.
func (s DataStream[T]) SinkTo(sink Sink[T], name string) DataStreamSink {
	n := newNode[struct{}](s.env, "Sink", name, oneInput[T, struct{}](func(c *operator.Context, _ operator.Output[struct{}]) (interface {
		operator.Operator
		operator.Output[T]
	}, error) {
		return &sinkOp[T]{c: c, sink: sink}, nil
	}), s.ports)
	return DataStreamSink{env: s.env, node: n}
}

type sinkOp[T any] struct {
	c      *operator.Context
	sink   Sink[T]
	writer SinkWriter[T]
}

func (o *sinkOp[T]) Open(ctx context.Context) (err error) {
	defer operator.Guard(o.c, &err)
	w, err := o.sink.CreateWriter(ctx, runtimeContext(o.c))
	if err != nil {
		return o.c.Fail(err)
	}
	o.writer = w
	return nil
}

func (o *sinkOp[T]) Collect(v T, ts int64) (err error) {
	defer operator.Guard(o.c, &err)
	return o.c.Fail(o.writer.Write(v, ts))
}

// EmitWatermark drops the watermark: sinks are the end of event time.
func (o *sinkOp[T]) EmitWatermark(int64) error { return nil }

// EmitWatermarkStatus drops the status.
func (o *sinkOp[T]) EmitWatermarkStatus(bool) error { return nil }

func (o *sinkOp[T]) Flush() (err error) {
	defer operator.Guard(o.c, &err)
	return o.c.Fail(o.writer.Flush(false))
}

func (o *sinkOp[T]) Finish() (err error) {
	defer operator.Guard(o.c, &err)
	return o.c.Fail(o.writer.Flush(true))
}

func (o *sinkOp[T]) Close() (err error) {
	defer operator.Guard(o.c, &err)
	if o.writer == nil {
		return nil
	}
	return o.c.Fail(o.writer.Close())
}

// Print writes every record to the environment's standard output (see
// SetStdout), one line each, formatted with fmt's %v. When the sink runs
// with parallelism above 1, each line starts with the 1-based index of the
// subtask that wrote it, as in Flink: "2> record".
func (s DataStream[T]) Print() DataStreamSink {
	env := s.env
	return s.SinkTo(writerSink[T]{w: func() io.Writer { return env.stdout }}, "Print to Std. Out")
}

// PrintToErr is Print to the environment's standard error.
func (s DataStream[T]) PrintToErr() DataStreamSink {
	env := s.env
	return s.SinkTo(writerSink[T]{w: func() io.Writer { return env.stderr }}, "Print to Std. Err")
}

// writerSink formats records as lines into a shared writer, a buffer of
// whole lines at a time. w returns the writer when the job runs, so that
// SetStdout and SetStderr apply to Print sinks added before them.
type writerSink[T any] struct{ w func() io.Writer }

func (s writerSink[T]) CreateWriter(_ context.Context, rc *RuntimeContext) (SinkWriter[T], error) {
	w := &lineWriter[T]{w: s.w()}
	if rc.Parallelism > 1 {
		w.prefix = strconv.Itoa(rc.Subtask+1) + "> "
	}
	return w, nil
}

// lineWriter buffers formatted lines and hands whole lines to w.
type lineWriter[T any] struct {
	w      io.Writer
	closer io.Closer
	prefix string
	buf    []byte
}

func (l *lineWriter[T]) Write(v T, _ int64) error {
	l.buf = append(l.buf, l.prefix...)
	l.buf = fmt.Append(l.buf, v)
	l.buf = append(l.buf, '\n')
	if len(l.buf) >= 32<<10 {
		return l.Flush(false)
	}
	return nil
}

func (l *lineWriter[T]) Flush(bool) error {
	if len(l.buf) == 0 {
		return nil
	}
	_, err := l.w.Write(l.buf)
	l.buf = l.buf[:0]
	return err
}

func (l *lineWriter[T]) Close() error {
	if l.closer == nil {
		return nil
	}
	return l.closer.Close()
}

// WriteMode says what a file sink does with an existing file.
type WriteMode int

const (
	// NoOverwrite fails the job if the file exists (Flink's default).
	NoOverwrite WriteMode = iota
	// Overwrite replaces the file.
	Overwrite
)

// WriteAsText writes every record as a line (fmt's %v) to a file. With
// parallelism 1 path is that file; with parallelism p > 1 path is a
// directory holding the files 1 ... p, one per subtask, as in Flink's
// writeAsText.
func (s DataStream[T]) WriteAsText(path string, mode WriteMode) DataStreamSink {
	return s.SinkTo(textFileSink[T]{path: path, mode: mode}, "Text File Sink ("+path+")")
}

type textFileSink[T any] struct {
	path string
	mode WriteMode
}

func (s textFileSink[T]) CreateWriter(_ context.Context, rc *RuntimeContext) (SinkWriter[T], error) {
	path := s.path
	if rc.Parallelism > 1 {
		if err := os.MkdirAll(path, 0o755); err != nil {
			return nil, fmt.Errorf("stream: text file sink: %w", err)
		}
		path = filepath.Join(path, strconv.Itoa(rc.Subtask+1))
	}
	flags := os.O_WRONLY | os.O_CREATE | os.O_TRUNC
	if s.mode == NoOverwrite {
		flags = os.O_WRONLY | os.O_CREATE | os.O_EXCL
	}
	f, err := os.OpenFile(path, flags, 0o644)
	if errors.Is(err, os.ErrExist) {
		return nil, fmt.Errorf("stream: text file sink: %s exists; write with Overwrite to replace it: %w", path, err)
	}
	if err != nil {
		return nil, fmt.Errorf("stream: text file sink: %w", err)
	}
	return &lineWriter[T]{w: f, closer: f}, nil
}

// Discard drops every record: a sink for jobs run for their side effects or
// for measurement.
func (s DataStream[T]) Discard() DataStreamSink {
	return s.SinkTo(discardSink[T]{}, "Discarding Sink")
}

type discardSink[T any] struct{}

func (discardSink[T]) CreateWriter(context.Context, *RuntimeContext) (SinkWriter[T], error) {
	return discardSink[T]{}, nil
}
func (discardSink[T]) Write(T, int64) error { return nil }
func (discardSink[T]) Flush(bool) error     { return nil }
func (discardSink[T]) Close() error         { return nil }

// Collected holds the records a Collect sink received.
type Collected[T any] struct {
	sink   DataStreamSink
	mu     sync.Mutex
	values []T
}

// Values returns the records received, every subtask's in its order, the
// subtasks' lists concatenated in the order they ended. Call it after
// Execute returns; a job that failed or was cancelled leaves what reached
// the sink before.
func (c *Collected[T]) Values() []T {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]T(nil), c.values...)
}

// Collect gathers the stream's records in memory, for tests and small
// results.
func (s DataStream[T]) Collect() *Collected[T] {
	c := &Collected[T]{}
	c.sink = s.SinkTo(collectSink[T]{c}, "Collect Sink")
	return c
}

// Sink returns the collecting sink, to name or configure it.
func (c *Collected[T]) Sink() DataStreamSink { return c.sink }

type collectSink[T any] struct{ c *Collected[T] }

func (s collectSink[T]) CreateWriter(context.Context, *RuntimeContext) (SinkWriter[T], error) {
	return &collectWriter[T]{c: s.c}, nil
}

type collectWriter[T any] struct {
	c   *Collected[T]
	buf []T
}

func (w *collectWriter[T]) Write(v T, _ int64) error { w.buf = append(w.buf, v); return nil }
func (w *collectWriter[T]) Flush(bool) error         { return nil }

// Close hands over what the subtask received, also when the job was
// cancelled or failed.
func (w *collectWriter[T]) Close() error {
	w.c.mu.Lock()
	w.c.values = append(w.c.values, w.buf...)
	w.c.mu.Unlock()
	w.buf = nil
	return nil
}
