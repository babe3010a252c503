package stream

import (
	"context"
	"fmt"
	"iter"
	"slices"

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

// Source is a source of records that is not replayable: a description that
// creates one reader per parallel subtask, each deriving its share of the
// work from its subtask index and the parallelism. Nothing of a reader is
// in a checkpoint, so after a failover a Source starts over: records it
// emitted since the last checkpoint may be emitted again, or lost if what
// it reads has moved on. SplitSource is the replayable form, in the full
// shape of Flink's FLIP-27 sources.
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
//
// A Source is not replayable: when the job checkpoints, each subtask logs
// a warning as it opens. A built-in source that is also a SplitSource
// (TextFileSource) is added as by FromSplitSource, and is replayable.
func FromSource[T any](env *Environment, src Source[T], strategy WatermarkStrategy[T], name string) DataStream[T] {
	if r, ok := src.(replayableSource[T]); ok {
		return r.fromSplitSource(env, strategy, name)
	}
	if strategy.err != nil {
		env.errs = append(env.errs, strategy.err)
	}
	n := newNode[T](env, "Source", name, operator.FactoryFunc(func(c *operator.Context, out any) (operator.Operator, []any, error) {
		o, err := operator.OutputAs[T](c, out)
		if err != nil {
			return nil, nil, err
		}
		return &sourceOp[T]{c: c, src: src, out: o, strategy: strategy, mux: newSplitMux(o)}, nil, nil
	}))
	n.Source, n.Bounded = true, src.Bounded()
	return streamOf[T](env, n)
}

// replayableSource is implemented by the built-in sources that are both a
// Source and a SplitSource: FromSource adds them as split sources.
type replayableSource[T any] interface {
	fromSplitSource(env *Environment, strategy WatermarkStrategy[T], name string) DataStream[T]
}

// notReplayable is implemented by the built-in Sources that say, in the
// warning of a checkpointed job, what a failover does to them.
type notReplayable interface {
	replayWarning() string
}

func nonParallel[T any](s DataStream[T]) DataStream[T] {
	n := s.ports[0].node
	n.Parallelism, n.NonParallel = 1, true
	return s
}

// sourceOp is the operator of a Source, and the core of a SplitSource's
// (splitSourceOp): it polls the reader and gives each of the reader's
// splits a watermark generator.
type sourceOp[T any] struct {
	c        *operator.Context
	src      Source[T] // nil for a split source
	reader   SourceReader[T]
	out      operator.Output[T]
	strategy WatermarkStrategy[T]
	mux      *splitMux
	main     *splitOutput[T]
	splits   map[string]*splitOutput[T]
	err      error // first error of the output or of the coordinator's gateway
}

func (o *sourceOp[T]) Open(ctx context.Context) (err error) {
	defer operator.Guard(o.c, &err)
	o.main = o.newSplit("")
	if o.c.Checkpointing && o.c.Logger != nil {
		msg := "source is not replayable: after a failover it starts over, and the records it emitted since the last checkpoint are emitted again, or lost if what it reads has moved on"
		if n, ok := o.src.(notReplayable); ok {
			msg = n.replayWarning()
		}
		o.c.Logger.Warn(msg)
	}
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
	return o.poll()
}

// poll polls the reader once; at the end of input it emits the final
// watermark.
func (o *sourceOp[T]) poll() (operator.InputStatus, error) {
	st, err := o.reader.PollNext(o.main)
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

// EndInput implements operator.InputEnder: a stop with a savepoint that
// drains ends the input here, with the final watermark, as the end of
// bounded input would.
func (o *sourceOp[T]) EndInput() (err error) {
	defer operator.Guard(o.c, &err)
	return o.mux.end()
}

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

// FromSlice emits the elements of values, in order, from one subtask. It
// is replayable: its position is in every checkpoint.
func FromSlice[T any](env *Environment, values []T) DataStream[T] {
	return nonParallel(FromSplitSource(env, sliceSource[T](values), NoWatermarks[T](), "Collection Source"))
}

// FromValues emits its arguments, in order, from one subtask. It is
// replayable, as FromSlice.
func FromValues[T any](env *Environment, values ...T) DataStream[T] {
	return FromSlice(env, values)
}

// sliceSource is the split source of FromSlice: one split, the whole
// slice, assigned to subtask 0. It is also a Source, which FromSource adds
// as a split source.
type sliceSource[T any] []T

// sliceSplit is the position in a slice.
type sliceSplit struct {
	Next int // the index of the next value to emit
}

func (s sliceSource[T]) Bounded() bool { return true }

func (s sliceSource[T]) share(subtask, _ int) []sliceSplit {
	if subtask != 0 {
		return nil
	}
	return []sliceSplit{{Next: 0}}
}

func (s sliceSource[T]) CreateEnumerator(ctx SplitEnumeratorContext[sliceSplit]) (SplitEnumerator[sliceSplit], error) {
	return newStaticEnumerator(ctx, s.share, -1), nil
}

func (s sliceSource[T]) RestoreEnumerator(ctx SplitEnumeratorContext[sliceSplit], unassigned []sliceSplit) (SplitEnumerator[sliceSplit], error) {
	return restoreStaticEnumerator(ctx, unassigned), nil
}

func (s sliceSource[T]) createSubtaskEnumerator(ctx SplitEnumeratorContext[sliceSplit], subtask int) (SplitEnumerator[sliceSplit], error) {
	return newStaticEnumerator(ctx, s.share, subtask), nil
}

func (s sliceSource[T]) CreateSplitReader(context.Context, *RuntimeContext, SplitReaderContext) (SplitReader[T, sliceSplit], error) {
	return &sliceReader[T]{values: s}, nil
}

// CreateReader implements Source: the reader of subtask 0 reads the whole
// slice, the others nothing.
func (s sliceSource[T]) CreateReader(_ context.Context, rc *RuntimeContext) (SourceReader[T], error) {
	r := &sliceReader[T]{values: s, splits: s.share(rc.Subtask, rc.Parallelism)}
	r.NotifyNoMoreSplits()
	return r, nil
}

func (s sliceSource[T]) fromSplitSource(env *Environment, strategy WatermarkStrategy[T], name string) DataStream[T] {
	return FromSplitSource(env, s, strategy, name)
}

type sliceReader[T any] struct {
	values []T
	splits []sliceSplit // unfinished, read in turn
	noMore bool
}

func (r *sliceReader[T]) PollNext(out ReaderOutput[T]) (InputStatus, error) {
	for n := 0; n < pollBatch && len(r.splits) > 0; {
		sp := &r.splits[0]
		if sp.Next < 0 || sp.Next > len(r.values) {
			return EndOfInput, fmt.Errorf("stream: collection source: position %d in a slice of %d values", sp.Next, len(r.values))
		}
		end := min(sp.Next+pollBatch-n, len(r.values))
		n += end - sp.Next
		for ; sp.Next < end; sp.Next++ {
			out.Collect(r.values[sp.Next])
		}
		if sp.Next == len(r.values) {
			r.splits = r.splits[1:]
		}
	}
	switch {
	case len(r.splits) > 0:
		return MoreAvailable, nil
	case r.noMore:
		return EndOfInput, nil
	}
	return NothingAvailable, nil
}

func (r *sliceReader[T]) AddSplits(splits []sliceSplit) { r.splits = append(r.splits, splits...) }
func (r *sliceReader[T]) NotifyNoMoreSplits()           { r.noMore = true }

func (r *sliceReader[T]) SnapshotState(int64) ([]sliceSplit, error) { return r.splits, nil }

func (r *sliceReader[T]) Available() <-chan struct{} {
	if len(r.splits) == 0 {
		return nil // waits for splits, whose arrival the operator signals
	}
	return always
}

func (r *sliceReader[T]) Close() error { return nil }

// FromSeq emits the values of seq, in order, from one subtask. The sequence
// is pulled from the subtask's goroutine (iter.Pull) and stopped when the
// subtask ends.
//
// FromSeq is not replayable: a sequence cannot be positioned, so after a
// failover the subtask iterates seq again from its start. For a sequence
// that resumes where it stopped (one that reads a channel or a connection)
// that is at most once: the values pulled but not yet processed at the
// failure are lost. A sequence that starts over emits its values again.
// When the job checkpoints, the subtask logs a warning as it opens. Use
// FromSlice or a SplitSource for exactly once.
func FromSeq[T any](env *Environment, seq iter.Seq[T]) DataStream[T] {
	return nonParallel(FromSource(env, seqSource[T](seq), NoWatermarks[T](), "Iterator Source"))
}

type seqSource[T any] iter.Seq[T]

func (s seqSource[T]) Bounded() bool { return true }

func (s seqSource[T]) replayWarning() string {
	return "iterator source (FromSeq) is not replayable: after a failover it iterates its sequence again from the start; values pulled but not yet processed at the failure are lost, and a sequence that starts over emits its values again"
}

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
// on the parallelism. It is replayable: each subtask's position is in
// every checkpoint, and a job restored at another parallelism spreads the
// positions over its subtasks (each then emits its indices in increasing
// order, but no longer those of one residue).
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
	return FromSplitSource(env, &genSource[T]{gen: g, fn: fn}, NoWatermarks[T](), "Generator Source")
}

// genSource is the split source of Generate: split s of p is the stride
// sequence s, s+p, s+2p, ..., assigned to subtask s.
type genSource[T any] struct {
	gen generator
	fn  func(int64) (T, error)
}

// genSplit is a stride sequence of a generator's indices, with its
// position.
type genSplit struct {
	First, Step int64 // the indices First, First+Step, ...
	Count       int64 // the generator's count: the indices are below it, unless Unbounded
	Next        int64 // the next index to emit
}

func (sp *genSplit) done() bool { return sp.Count != Unbounded && sp.Next >= sp.Count }

func (s *genSource[T]) Bounded() bool { return s.gen.count != Unbounded }

func (s *genSource[T]) share(subtask, p int) []genSplit {
	sp := genSplit{First: int64(subtask), Step: int64(p), Count: s.gen.count, Next: int64(subtask)}
	if sp.done() {
		return nil
	}
	return []genSplit{sp}
}

func (s *genSource[T]) CreateEnumerator(ctx SplitEnumeratorContext[genSplit]) (SplitEnumerator[genSplit], error) {
	return newStaticEnumerator(ctx, s.share, -1), nil
}

func (s *genSource[T]) RestoreEnumerator(ctx SplitEnumeratorContext[genSplit], unassigned []genSplit) (SplitEnumerator[genSplit], error) {
	return restoreStaticEnumerator(ctx, unassigned), nil
}

func (s *genSource[T]) createSubtaskEnumerator(ctx SplitEnumeratorContext[genSplit], subtask int) (SplitEnumerator[genSplit], error) {
	return newStaticEnumerator(ctx, s.share, subtask), nil
}

func (s *genSource[T]) CreateSplitReader(_ context.Context, rc *RuntimeContext, _ SplitReaderContext) (SplitReader[T, genSplit], error) {
	r := &genReader[T]{fn: s.fn}
	if s.gen.rate > 0 {
		r.pacer = pace.New(s.gen.rate / float64(rc.Parallelism))
	}
	return r, nil
}

// genReader emits its splits' indices in increasing order (merged, when a
// rescaled job gave it several).
type genReader[T any] struct {
	fn     func(int64) (T, error)
	splits []genSplit // unfinished
	noMore bool
	pacer  *pace.Pacer // nil: unlimited
	err    error       // a split that is not a stride sequence
}

func (r *genReader[T]) PollNext(out ReaderOutput[T]) (InputStatus, error) {
	if r.err != nil {
		return EndOfInput, r.err
	}
	if len(r.splits) == 0 {
		return r.idle(), nil
	}
	n := int64(pollBatch)
	if r.pacer != nil {
		if n = r.pacer.Allow(n); n == 0 {
			return NothingAvailable, nil
		}
		r.pacer.Emitted(n)
	}
	for n > 0 {
		// One split emits a run of records; several take turns, record by
		// record, lowest index first.
		i, run := 0, n
		if len(r.splits) > 1 {
			i, run = r.lowest(), 1
		}
		sp := &r.splits[i]
		emitted, err := r.emit(sp, run, out)
		if err != nil {
			return MoreAvailable, err
		}
		n -= emitted
		if sp.done() {
			r.splits = slices.Delete(r.splits, i, i+1)
			if len(r.splits) == 0 {
				return r.idle(), nil
			}
		}
	}
	return MoreAvailable, nil
}

// emit emits up to run records of sp, fewer at its end, and returns how
// many. It keeps the position in locals: this is the generator's hot loop.
func (r *genReader[T]) emit(sp *genSplit, run int64, out ReaderOutput[T]) (int64, error) {
	if sp.Count != Unbounded {
		run = min(run, (sp.Count-sp.Next+sp.Step-1)/sp.Step)
	}
	for i := range run {
		v, err := r.fn(sp.Next)
		if err != nil {
			return i, fmt.Errorf("generator record %d: %w", sp.Next, err)
		}
		out.Collect(v)
		sp.Next += sp.Step
	}
	return run, nil
}

// idle is the status of a reader without splits.
func (r *genReader[T]) idle() InputStatus {
	if r.noMore {
		return EndOfInput
	}
	return NothingAvailable
}

// lowest returns the index of the split whose next index is the smallest.
func (r *genReader[T]) lowest() int {
	low := 0
	for i := 1; i < len(r.splits); i++ {
		if r.splits[i].Next < r.splits[low].Next {
			low = i
		}
	}
	return low
}

func (r *genReader[T]) AddSplits(splits []genSplit) {
	for _, sp := range splits {
		switch {
		case sp.Step <= 0 || sp.Next < sp.First || (sp.Next-sp.First)%sp.Step != 0:
			if r.err == nil {
				r.err = fmt.Errorf("stream: generator source: a split of the indices from %d in steps of %d, next %d, is not a sequence of indices",
					sp.First, sp.Step, sp.Next)
			}
		case !sp.done():
			r.splits = append(r.splits, sp)
		}
	}
}

func (r *genReader[T]) NotifyNoMoreSplits() { r.noMore = true }

func (r *genReader[T]) SnapshotState(int64) ([]genSplit, error) { return r.splits, nil }

func (r *genReader[T]) Available() <-chan struct{} {
	switch {
	case len(r.splits) == 0:
		return nil // waits for splits, whose arrival the operator signals
	case r.pacer == nil:
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
