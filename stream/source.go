package stream

import (
	"context"
	"fmt"
	"iter"

	"github.com/runnel-io/runnel/internal/pace"
	"github.com/runnel-io/runnel/runtime/operator"
)

// InputStatus is what a SourceReader reports after a poll.
type InputStatus = operator.InputStatus

// The statuses of a poll.
const (
	MoreAvailable    = operator.MoreAvailable
	NothingAvailable = operator.NothingAvailable
	EndOfInput       = operator.EndOfInput
)

// pollBatch is how many records the built-in readers emit per poll: enough
// to amortize the poll, few enough for the task to react quickly.
const pollBatch = 256

// Source is a source of records, in the shape of Flink's FLIP-27 sources:
// a description that creates one reader per parallel subtask.
//
// The split enumerator of FLIP-27 is not part of this interface yet: each
// reader derives its share of the work from its subtask index and the
// parallelism, deterministically.
type Source[T any] interface {
	// Bounded reports whether the source ends.
	Bounded() bool
	// CreateReader creates the reader of one subtask. ctx is done when the
	// subtask stops; the reader must not use it after Close.
	CreateReader(ctx context.Context, rc *RuntimeContext) (SourceReader[T], error)
}

// SourceReader reads the records of one subtask of a source. Its methods are
// called from the subtask's goroutine only.
type SourceReader[T any] interface {
	// PollNext emits the records available now, a bounded batch of them,
	// and reports whether more are available at once (MoreAvailable), later
	// (NothingAvailable: wait for Available) or never (EndOfInput). It must
	// not block for long.
	PollNext(out ReaderOutput[T]) (InputStatus, error)
	// Available returns a channel that becomes ready when a poll after
	// NothingAvailable may make progress. Spurious wake-ups are allowed.
	Available() <-chan struct{}
	// Close releases the reader's resources and stops its goroutines, if
	// any. It is called exactly once.
	Close() error
}

// ReaderOutput receives the records of a SourceReader.
type ReaderOutput[T any] interface {
	// Collect emits a record without a timestamp of the reader's own (the
	// strategy's timestamp assigner may give it one).
	Collect(v T)
	// CollectWithTimestamp emits a record with an event timestamp in
	// milliseconds.
	CollectWithTimestamp(v T, ts int64)
	// Split returns the output for the records of one split of the source
	// (a file block, a partition). Each split has a watermark generator of
	// its own, and the source's watermark is the minimum over its active
	// splits: Flink's per-split watermarks. The same id gives the same
	// output until ReleaseSplit.
	Split(id string) ReaderOutput[T]
	// ReleaseSplit says that a split is finished: its watermark no longer
	// holds the source's back.
	ReleaseSplit(id string)
}

// FromSource adds a source to the job, with the strategy that gives its
// records timestamps and watermarks (NoWatermarks for none). A bounded
// source emits the final watermark (math.MaxInt64) after its last record,
// so that every event-time window and timer downstream fires.
func FromSource[T any](env *Environment, src Source[T], strategy WatermarkStrategy[T], name string) DataStream[T] {
	if strategy.err != nil {
		env.errs = append(env.errs, strategy.err)
	}
	n := newNode[T](env, "Source", name, operator.FactoryFunc(func(c *operator.Context, out any) (operator.Operator, []any, error) {
		o, err := operator.OutputAs[T](c, out)
		if err != nil {
			return nil, nil, err
		}
		op := &sourceOp[T]{c: c, src: src, out: o, strategy: strategy}
		op.mux = newSplitMux(o)
		return op, nil, nil
	}))
	n.Source, n.Bounded = true, src.Bounded()
	return streamOf[T](env, n)
}

func nonParallel[T any](s DataStream[T]) DataStream[T] {
	n := s.ports[0].node
	n.Parallelism, n.NonParallel = 1, true
	return s
}

type sourceOp[T any] struct {
	c        *operator.Context
	src      Source[T]
	reader   SourceReader[T]
	out      operator.Output[T]
	strategy WatermarkStrategy[T]
	mux      *splitMux
	main     *splitOutput[T]
	splits   map[string]*splitOutput[T]
	err      error // first error of the output
}

func (o *sourceOp[T]) Open(ctx context.Context) (err error) {
	defer operator.Guard(o.c, &err)
	o.main = o.newSplit("")
	r, err := o.src.CreateReader(ctx, runtimeContext(o.c))
	if err != nil {
		return o.c.Fail(err)
	}
	o.reader = r
	return nil
}

func (o *sourceOp[T]) newSplit(id string) *splitOutput[T] {
	so := &splitOutput[T]{op: o, id: id}
	so.gen = newGenerated(o.c, o.strategy.newGenerator, o.strategy.idleness, o.mux.add(id))
	so.gen.start()
	return so
}

func (o *sourceOp[T]) PollNext() (st operator.InputStatus, err error) {
	defer operator.Guard(o.c, &err)
	st, err = o.reader.PollNext(o.main)
	if o.err != nil {
		return st, o.err
	}
	if err != nil {
		return st, o.c.Fail(err)
	}
	if st == operator.EndOfInput {
		return st, o.mux.end()
	}
	return st, nil
}

func (o *sourceOp[T]) Available() <-chan struct{} { return o.reader.Available() }

func (o *sourceOp[T]) Finish() error { return nil }

func (o *sourceOp[T]) Close() (err error) {
	defer operator.Guard(o.c, &err)
	o.main.gen.stop()
	for _, so := range o.splits {
		so.gen.stop()
	}
	if o.reader == nil {
		return nil
	}
	return o.c.Fail(o.reader.Close())
}

// splitOutput is the ReaderOutput of one split (id "" being the reader's
// own output).
type splitOutput[T any] struct {
	op  *sourceOp[T]
	id  string
	gen *generated
}

func (so *splitOutput[T]) Collect(v T) { so.CollectWithTimestamp(v, operator.NoTimestamp) }

func (so *splitOutput[T]) CollectWithTimestamp(v T, ts int64) {
	o := so.op
	if o.err != nil {
		return
	}
	if o.strategy.assigner != nil {
		ts = o.strategy.assigner(v, ts)
	}
	if err := so.gen.event(ts); err != nil {
		o.err = err
		return
	}
	o.err = o.out.Collect(v, ts)
}

func (so *splitOutput[T]) Split(id string) ReaderOutput[T] {
	o := so.op
	if id == "" {
		return o.main
	}
	if s, ok := o.splits[id]; ok {
		return s
	}
	if o.splits == nil {
		o.splits = map[string]*splitOutput[T]{}
	}
	s := o.newSplit(id)
	o.splits[id] = s
	return s
}

func (so *splitOutput[T]) ReleaseSplit(id string) {
	o := so.op
	s, ok := o.splits[id]
	if !ok {
		return
	}
	s.gen.stop()
	delete(o.splits, id)
	if err := o.mux.remove(id); err != nil && o.err == nil {
		o.err = err
	}
}

// splitMux combines the watermarks of a source's splits into the source's:
// the minimum over the splits that are neither idle nor released, never
// going backwards; the source is idle when all its splits are. The reader's
// own output counts as a split until another split emits a watermark.
type splitMux struct {
	out     watermarkSink
	slots   map[string]*muxSlot
	emitted int64
	idle    bool
}

type muxSlot struct {
	m    *splitMux
	id   string
	wm   int64
	idle bool
	used bool // has emitted a watermark or status
}

func newSplitMux(out watermarkSink) *splitMux {
	return &splitMux{out: out, slots: map[string]*muxSlot{}, emitted: operator.MinWatermark}
}

func (m *splitMux) add(id string) *muxSlot {
	s := &muxSlot{m: m, id: id, wm: operator.MinWatermark}
	m.slots[id] = s
	return s
}

func (m *splitMux) remove(id string) error {
	delete(m.slots, id)
	return m.update()
}

func (s *muxSlot) EmitWatermark(wm int64) error {
	s.wm, s.used = wm, true
	return s.m.update()
}

func (s *muxSlot) EmitWatermarkStatus(idle bool) error {
	s.idle, s.used = idle, true
	return s.m.update()
}

// update emits the combined watermark and status if they changed.
func (m *splitMux) update() error {
	min, active := int64(operator.MaxWatermark), 0
	for id, s := range m.slots {
		if id == "" && !s.used {
			continue // the reader's own output, unused: a source of splits
		}
		if s.idle {
			continue
		}
		active++
		min = minInt(min, s.wm)
	}
	idle := active == 0 && len(m.slots) > 0 && m.anyUsed()
	if idle != m.idle {
		m.idle = idle
		if err := m.out.EmitWatermarkStatus(idle); err != nil {
			return err
		}
	}
	if active == 0 || min <= m.emitted {
		return nil
	}
	m.emitted = min
	return m.out.EmitWatermark(min)
}

// end emits the final watermark of bounded input. An idle source becomes
// active first: consumers ignore the watermarks of an idle stream (Flink's
// sources, too, mark themselves active before emitting a watermark).
func (m *splitMux) end() error {
	if m.idle {
		m.idle = false
		if err := m.out.EmitWatermarkStatus(false); err != nil {
			return err
		}
	}
	m.emitted = operator.MaxWatermark
	return m.out.EmitWatermark(operator.MaxWatermark)
}

func (m *splitMux) anyUsed() bool {
	for _, s := range m.slots {
		if s.used {
			return true
		}
	}
	return false
}

func minInt(a, b int64) int64 {
	if a < b {
		return a
	}
	return b
}

// always is a channel that is always ready: the Available of readers that
// never return NothingAvailable.
var always = func() chan struct{} { c := make(chan struct{}); close(c); return c }()

// FromSlice emits the elements of values, in order, from one subtask.
func FromSlice[T any](env *Environment, values []T) DataStream[T] {
	return nonParallel(FromSource(env, sliceSource[T](values), NoWatermarks[T](), "Collection Source"))
}

// FromValues emits its arguments, in order, from one subtask.
func FromValues[T any](env *Environment, values ...T) DataStream[T] {
	return FromSlice(env, values)
}

type sliceSource[T any] []T

func (s sliceSource[T]) Bounded() bool { return true }

func (s sliceSource[T]) CreateReader(context.Context, *RuntimeContext) (SourceReader[T], error) {
	return &sliceReader[T]{values: s}, nil
}

type sliceReader[T any] struct {
	values []T
	next   int
}

func (r *sliceReader[T]) PollNext(out ReaderOutput[T]) (InputStatus, error) {
	end := min(r.next+pollBatch, len(r.values))
	for ; r.next < end; r.next++ {
		out.Collect(r.values[r.next])
	}
	if r.next == len(r.values) {
		return EndOfInput, nil
	}
	return MoreAvailable, nil
}

func (r *sliceReader[T]) Available() <-chan struct{} { return always }
func (r *sliceReader[T]) Close() error               { return nil }

// FromSeq emits the values of seq, in order, from one subtask. The sequence
// is pulled from the subtask's goroutine (iter.Pull) and stopped when the
// subtask ends.
func FromSeq[T any](env *Environment, seq iter.Seq[T]) DataStream[T] {
	return nonParallel(FromSource(env, seqSource[T](seq), NoWatermarks[T](), "Iterator Source"))
}

type seqSource[T any] iter.Seq[T]

func (s seqSource[T]) Bounded() bool { return true }

func (s seqSource[T]) CreateReader(context.Context, *RuntimeContext) (SourceReader[T], error) {
	next, stop := iter.Pull(iter.Seq[T](s))
	return &seqReader[T]{next: next, stop: stop}, nil
}

type seqReader[T any] struct {
	next func() (T, bool)
	stop func()
}

func (r *seqReader[T]) PollNext(out ReaderOutput[T]) (InputStatus, error) {
	for range pollBatch {
		v, ok := r.next()
		if !ok {
			return EndOfInput, nil
		}
		out.Collect(v)
	}
	return MoreAvailable, nil
}

func (r *seqReader[T]) Available() <-chan struct{} { return always }

func (r *seqReader[T]) Close() error {
	r.stop()
	return nil
}

// Unbounded is the count of a generator that never ends.
const Unbounded int64 = -1

// GeneratorOption configures Generate.
type GeneratorOption func(*generator)

// WithRate limits a generator to perSecond records per second, over all of
// its subtasks together (Flink's RateLimiterStrategy.perSecond).
func WithRate(perSecond float64) GeneratorOption {
	return func(g *generator) { g.rate = perSecond }
}

type generator struct {
	count int64
	rate  float64
}

// Generate emits fn(0), fn(1), ..., fn(count-1), or forever if count is
// Unbounded. It runs in parallel: subtask s of p emits the indices i with
// i mod p = s, in increasing order, so the set of records does not depend
// on the parallelism.
func Generate[T any](env *Environment, count int64, fn func(i int64) (T, error), opts ...GeneratorOption) DataStream[T] {
	g := generator{count: count}
	for _, o := range opts {
		o(&g)
	}
	if count < 0 && count != Unbounded {
		env.errorf("stream: Generate: count %d, want at least 0 or Unbounded", count)
	}
	if g.rate < 0 {
		env.errorf("stream: Generate: rate %v, want a positive number of records per second", g.rate)
	}
	return FromSource(env, &genSource[T]{gen: g, fn: fn}, NoWatermarks[T](), "Generator Source")
}

type genSource[T any] struct {
	gen generator
	fn  func(int64) (T, error)
}

func (s *genSource[T]) Bounded() bool { return s.gen.count != Unbounded }

func (s *genSource[T]) CreateReader(_ context.Context, rc *RuntimeContext) (SourceReader[T], error) {
	r := &genReader[T]{fn: s.fn, next: int64(rc.Subtask), step: int64(rc.Parallelism), count: s.gen.count}
	if s.gen.rate > 0 {
		r.pacer = pace.New(s.gen.rate / float64(rc.Parallelism))
	}
	return r, nil
}

type genReader[T any] struct {
	fn         func(int64) (T, error)
	next, step int64
	count      int64
	pacer      *pace.Pacer // nil: unlimited
}

func (r *genReader[T]) PollNext(out ReaderOutput[T]) (InputStatus, error) {
	n := int64(pollBatch)
	if r.pacer != nil {
		if n = r.pacer.Allow(n); n == 0 {
			return NothingAvailable, nil
		}
		r.pacer.Emitted(n)
	}
	for ; n > 0; n-- {
		if r.count != Unbounded && r.next >= r.count {
			return EndOfInput, nil
		}
		v, err := r.fn(r.next)
		if err != nil {
			return MoreAvailable, fmt.Errorf("generator record %d: %w", r.next, err)
		}
		out.Collect(v)
		r.next += r.step
	}
	if r.count != Unbounded && r.next >= r.count {
		return EndOfInput, nil
	}
	return MoreAvailable, nil
}

func (r *genReader[T]) Available() <-chan struct{} {
	if r.pacer == nil {
		return always
	}
	return r.pacer.Ready()
}

func (r *genReader[T]) Close() error {
	if r.pacer != nil {
		r.pacer.Stop()
	}
	return nil
}
