package stream

import (
	"context"
	"errors"
	"fmt"
	"slices"

	"github.com/runnel-io/runnel/codec"
	"github.com/runnel-io/runnel/runtime/operator"
	"github.com/runnel-io/runnel/state"
)

// SplitSource is a replayable source, in the shape of Flink's FLIP-27
// sources: its work is cut into splits of type S (a file block, a range of
// indices, a partition), which a split enumerator, running once per job,
// hands out to the readers, one per subtask. A reader's unfinished splits,
// with their positions, are part of every checkpoint, and so are the
// splits the enumerator has not assigned yet: a job restored from a
// checkpoint emits exactly the records that followed it, at any
// parallelism (the readers' splits are redistributed evenly).
//
// S must have a codec (codec.For), since splits travel between the
// enumerator and the readers and are stored in checkpoints; its positions
// must be values, not handles (an offset, not an open file).
//
// CreateEnumerator and RestoreEnumerator are called on the coordinator's
// goroutine, CreateSplitReader on each subtask's, concurrently with one
// another: the source itself must be safe for concurrent use (typically it
// is immutable configuration).
type SplitSource[T, S any] interface {
	// Bounded reports whether the source ends.
	Bounded() bool
	// CreateEnumerator creates the enumerator on a fresh start;
	// RestoreEnumerator from the splits it had not assigned at the
	// checkpoint the job restores (the slice is the enumerator's). The
	// enumerator sends through ctx from its own methods only.
	CreateEnumerator(ctx SplitEnumeratorContext[S]) (SplitEnumerator[S], error)
	RestoreEnumerator(ctx SplitEnumeratorContext[S], unassigned []S) (SplitEnumerator[S], error)
	// CreateSplitReader creates the reader of one subtask. ctx is done when
	// the subtask stops; the reader must not use it after Close. sc is how
	// the reader asks the enumerator for work; the reader may keep it until
	// Close.
	CreateSplitReader(ctx context.Context, rc *RuntimeContext, sc SplitReaderContext) (SplitReader[T, S], error)
}

// SplitEnumerator discovers the splits of a SplitSource and assigns them to
// the readers: Flink's SplitEnumerator. It runs once per job, beside the
// subtasks. Its methods are called from one goroutine, never concurrently,
// and must not block for long: Start first, Close last, once, whether or
// not Start succeeded. An error from SnapshotState declines the
// checkpoint; from the other methods it fails the job.
//
// Splits assigned to a reader are the reader's from then on: they are in
// its state at every later checkpoint, so the enumerator forgets them. When
// a job restores a checkpoint, the enumerator is created anew from what it
// had not assigned (SplitSource.RestoreEnumerator) and the readers start
// from their own splits; every reader registers again (AddReader).
type SplitEnumerator[S any] interface {
	// Start starts the enumerator; it may assign splits from here on.
	Start() error
	// AddReader says that the reader of subtask has (re)started.
	AddReader(subtask int) error
	// HandleSplitRequest says that the reader of subtask asks for more
	// work (SplitReaderContext.SendSplitRequest).
	HandleSplitRequest(subtask int) error
	// SnapshotState returns the splits not yet assigned, for checkpoint
	// checkpointID. The caller encodes them before it returns: the slice
	// stays the enumerator's.
	SnapshotState(checkpointID int64) ([]S, error)
	// Close releases the enumerator's resources.
	Close() error
}

// SplitEnumeratorContext is what a SplitEnumerator may call, from its own
// methods only (on the enumerator's goroutine). Sending does not block: an
// assignment reaches the reader later, between two of its polls.
type SplitEnumeratorContext[S any] interface {
	// Parallelism is the number of readers (subtasks of the source).
	Parallelism() int
	// AssignSplits sends splits to the reader of subtask. They are encoded
	// before it returns: the slice stays the caller's.
	AssignSplits(subtask int, splits []S) error
	// SignalNoMoreSplits tells the reader of subtask that it will get no
	// more splits: a bounded reader ends once it has finished its own.
	SignalNoMoreSplits(subtask int) error
}

// SplitReader reads the splits assigned to one subtask of a SplitSource.
// All its methods are called from the subtask's goroutine; AddSplits and
// NotifyNoMoreSplits between polls, never during one.
//
// A reader that has no split to read returns NothingAvailable: the
// operator polls it again when splits (or the end of them) arrive, without
// waiting for Available, so a reader that waits only for splits need not
// signal its Available channel. It returns EndOfInput only after
// NotifyNoMoreSplits, once every split it was given is finished.
//
// A reader emits the records of split x through out.Split(x's id) when
// each split is to have watermarks of its own (see ReaderOutput).
type SplitReader[T, S any] interface {
	SourceReader[T]
	// AddSplits gives the reader more splits: assigned by the enumerator,
	// or, when the subtask restores a checkpoint, its share of the splits
	// the readers held then (before the reader registers with the
	// enumerator). The slice is the reader's.
	AddSplits(splits []S)
	// NotifyNoMoreSplits says that no split will be added.
	NotifyNoMoreSplits()
	// SnapshotState returns the reader's unfinished splits with their
	// current positions, for checkpoint checkpointID: records emitted
	// before the call are not re-emitted after a restore from it, and
	// records after it are. The operator copies the result before the
	// reader's next call.
	SnapshotState(checkpointID int64) ([]S, error)
}

// SplitReaderContext is a split reader's link to its source's enumerator.
// It is used from the subtask's goroutine, in the reader's methods.
type SplitReaderContext interface {
	// SendSplitRequest asks the enumerator for more splits for this
	// subtask (SplitEnumerator.HandleSplitRequest). The enumerator's
	// answer, if any, comes later, never during the call: AddSplits or
	// NotifyNoMoreSplits, between two polls. An error fails the subtask.
	SendSplitRequest() error
}

// FromSplitSource adds a replayable source to the job, with the strategy
// that gives its records timestamps and watermarks (NoWatermarks for
// none). The enumerator runs as the operator's coordinator; a bounded
// source emits the final watermark (math.MaxInt64) after its last record.
//
// When the runtime runs no coordinators, the built-in split sources
// (Generate, FromSlice, ReadTextFile) run their enumerator inside each
// subtask, scoped to it, with the static assignment of splits to subtasks;
// other split sources then fail to open.
func FromSplitSource[T, S any](env *Environment, src SplitSource[T, S], strategy WatermarkStrategy[T], name string) DataStream[T] {
	if strategy.err != nil {
		env.errs = append(env.errs, strategy.err)
	}
	sc, err := codec.For[[]S]()
	if err != nil {
		env.errorf("stream: split source %q: the splits have no codec: %v", name, err)
	}
	n := newNode[T](env, "Source", name, operator.FactoryFunc(func(c *operator.Context, out any) (operator.Operator, []any, error) {
		o, err := operator.OutputAs[T](c, out)
		if err != nil {
			return nil, nil, err
		}
		op := &splitSourceOp[T, S]{src: src, codec: sc}
		op.sourceOp = sourceOp[T]{c: c, out: o, strategy: strategy, mux: newSplitMux(o)}
		return op, nil, nil
	}))
	n.Source, n.Bounded = true, src.Bounded()
	n.Coordinator = func(ctx operator.CoordinatorContext, restored []byte) (operator.Coordinator, error) {
		return newSplitCoordinator(n.Name, ctx, sc, src, restored)
	}
	return streamOf[T](env, n)
}

// The events between a split source's readers and its coordinator: a tag
// byte, followed, for eventAddSplits, by the splits' codec.For[[]S]
// encoding. Every other event is the tag alone.
const (
	eventReaderRegistered byte = 1 // reader to coordinator: the reader (re)started
	eventSplitRequest     byte = 2 // reader to coordinator: more work, please
	eventAddSplits        byte = 3 // coordinator to reader: splits for you
	eventNoMoreSplits     byte = 4 // coordinator to reader: that was all
)

// enumeratorStateVersion starts the coordinator's state, followed by the
// codec.For[[]S] encoding of the unassigned splits. The state is never
// empty: an empty one comes from a checkpoint taken without a coordinator
// (see newSplitCoordinator).
const enumeratorStateVersion byte = 1

// splitsStateName is the operator list state that holds a reader's splits.
const splitsStateName = "source-splits"

// errMalformedEvent is wrapped by the errors of events that do not decode.
var errMalformedEvent = errors.New("malformed source event")

// decodeReaderEvent decodes an event sent to a reader: its splits, or
// noMore for the end of them.
func decodeReaderEvent[S any](c codec.Codec[[]S], ev []byte) (splits []S, noMore bool, err error) {
	if len(ev) == 0 {
		return nil, false, fmt.Errorf("%w: empty", errMalformedEvent)
	}
	switch ev[0] {
	case eventAddSplits:
		splits, err := c.Decode(ev[1:])
		if err != nil {
			return nil, false, fmt.Errorf("%w: splits: %w", errMalformedEvent, err)
		}
		return splits, false, nil
	case eventNoMoreSplits:
		if len(ev) != 1 {
			return nil, false, fmt.Errorf("%w: %d bytes after the end of splits", errMalformedEvent, len(ev)-1)
		}
		return nil, true, nil
	}
	return nil, false, fmt.Errorf("%w: tag %d is not an event for a reader", errMalformedEvent, ev[0])
}

// splitCoordinator is the coordinator of a split source: it runs the
// enumerator, turns the readers' events into its calls and its
// assignments into events. It is a core without goroutines: its caller
// delivers the events both ways.
type splitCoordinator[S any] struct {
	name   string
	ctx    operator.CoordinatorContext
	codec  codec.Codec[[]S]
	create func(SplitEnumeratorContext[S]) (SplitEnumerator[S], error)
	enum   SplitEnumerator[S] // nil before Start
}

// newSplitCoordinator returns the coordinator of src named name: on a
// fresh start if restored is nil, else restored from it. An empty restored
// state (a checkpoint taken without a coordinator, by the local fallback,
// which assigns every split before the first checkpoint) restores an
// enumerator with nothing unassigned.
func newSplitCoordinator[T, S any](name string, ctx operator.CoordinatorContext, c codec.Codec[[]S], src SplitSource[T, S], restored []byte) (*splitCoordinator[S], error) {
	k := &splitCoordinator[S]{name: name, ctx: ctx, codec: c, create: src.CreateEnumerator}
	switch {
	case restored == nil:
		return k, nil
	case len(restored) == 0:
		k.create = func(ec SplitEnumeratorContext[S]) (SplitEnumerator[S], error) {
			return src.RestoreEnumerator(ec, nil)
		}
		return k, nil
	case restored[0] != enumeratorStateVersion:
		return nil, fmt.Errorf("stream: split source %q: restored enumerator state of version %d, want %d", name, restored[0], enumeratorStateVersion)
	}
	unassigned, err := c.Decode(restored[1:])
	if err != nil {
		return nil, fmt.Errorf("stream: split source %q: restored enumerator state: %w", name, err)
	}
	k.create = func(ec SplitEnumeratorContext[S]) (SplitEnumerator[S], error) {
		return src.RestoreEnumerator(ec, unassigned)
	}
	return k, nil
}

func (k *splitCoordinator[S]) errorf(format string, args ...any) error {
	return fmt.Errorf("stream: split source %q: "+format, append([]any{k.name}, args...)...)
}

// Start implements operator.Coordinator: it creates and starts the
// enumerator.
func (k *splitCoordinator[S]) Start() error {
	if k.enum != nil {
		return k.errorf("coordinator started twice")
	}
	enum, err := k.create(enumeratorContext[S]{k})
	if err != nil {
		return err
	}
	if enum == nil {
		return k.errorf("the source created no enumerator")
	}
	k.enum = enum
	return enum.Start()
}

// HandleEventFromOperator implements operator.Coordinator.
func (k *splitCoordinator[S]) HandleEventFromOperator(subtask int, ev []byte) error {
	if k.enum == nil {
		return k.errorf("event from subtask %d before the coordinator started", subtask)
	}
	if subtask < 0 || subtask >= k.ctx.Parallelism() {
		return k.errorf("event from subtask %d, and the source's subtasks are 0 to %d", subtask, k.ctx.Parallelism()-1)
	}
	if len(ev) != 1 {
		return k.errorf("event from subtask %d: %w: %d bytes, want 1", subtask, errMalformedEvent, len(ev))
	}
	switch ev[0] {
	case eventReaderRegistered:
		return k.enum.AddReader(subtask)
	case eventSplitRequest:
		return k.enum.HandleSplitRequest(subtask)
	}
	return k.errorf("event from subtask %d: %w: tag %d is not an event for the enumerator", subtask, errMalformedEvent, ev[0])
}

// unassigned returns the enumerator's unassigned splits.
func (k *splitCoordinator[S]) unassigned(checkpointID int64) ([]S, error) {
	if k.enum == nil {
		return nil, k.errorf("snapshot of checkpoint %d before the coordinator started", checkpointID)
	}
	return k.enum.SnapshotState(checkpointID)
}

// SnapshotState implements operator.Coordinator: the enumerator's
// unassigned splits.
func (k *splitCoordinator[S]) SnapshotState(checkpointID int64) ([]byte, error) {
	splits, err := k.unassigned(checkpointID)
	if err != nil {
		return nil, err
	}
	return k.codec.Append([]byte{enumeratorStateVersion}, splits), nil
}

// NotifyCheckpointComplete implements operator.Coordinator. The enumerator
// has nothing to do then: what it assigned is in the readers' state.
func (k *splitCoordinator[S]) NotifyCheckpointComplete(int64) {}

// Close implements operator.Coordinator.
func (k *splitCoordinator[S]) Close() error {
	if k.enum == nil {
		return nil
	}
	return k.enum.Close()
}

// enumeratorContext is the SplitEnumeratorContext of a coordinator.
type enumeratorContext[S any] struct{ k *splitCoordinator[S] }

func (e enumeratorContext[S]) Parallelism() int { return e.k.ctx.Parallelism() }

func (e enumeratorContext[S]) check(subtask int) error {
	if p := e.k.ctx.Parallelism(); subtask < 0 || subtask >= p {
		return e.k.errorf("the enumerator sends to subtask %d, and the source's subtasks are 0 to %d", subtask, p-1)
	}
	return nil
}

func (e enumeratorContext[S]) AssignSplits(subtask int, splits []S) error {
	if err := e.check(subtask); err != nil {
		return err
	}
	if len(splits) == 0 {
		return nil
	}
	return e.k.ctx.SendEvent(subtask, e.k.codec.Append([]byte{eventAddSplits}, splits))
}

func (e enumeratorContext[S]) SignalNoMoreSplits(subtask int) error {
	if err := e.check(subtask); err != nil {
		return err
	}
	return e.k.ctx.SendEvent(subtask, []byte{eventNoMoreSplits})
}

// subtaskEnumerable is implemented by the built-in split sources, whose
// enumerators can also run inside one subtask, scoped to it: the
// enumerator holds and assigns only that subtask's share of the splits
// under a static assignment (a function of the subtask's index and the
// parallelism), all of it when the reader registers. That is the fallback
// of a runtime without coordinators (see localCoordinator).
type subtaskEnumerable[S any] interface {
	createSubtaskEnumerator(ctx SplitEnumeratorContext[S], subtask int) (SplitEnumerator[S], error)
}

// localCoordinator runs a split source's coordinator inside one subtask,
// for a runtime that runs no coordinators (the operator's Context has no
// Coordinator). It is only used then, and only for sources that implement
// subtaskEnumerable: every subtask runs its own enumerator, which gives its
// reader exactly the splits the static assignment gives it, and signals no
// more splits, all as the reader registers during Open. So every split is
// in a reader's state before the first checkpoint, and the local
// enumerator holds nothing that would need one: the operator checks that
// at every checkpoint. On a restore the enumerator is restored empty, and
// the readers' splits come from their state.
//
// It is the reader's CoordinatorGateway: an event the reader sends reaches
// the enumerator at once, and the enumerator's events to the reader are
// queued until the operator delivers them (deliverLocal), after the
// reader's call returns, so that a reader is never re-entered.
type localCoordinator[S any] struct {
	coord  *splitCoordinator[S]
	events localEvents
}

func newLocalCoordinator[T, S any](c *operator.Context, src SplitSource[T, S], sc codec.Codec[[]S]) (*localCoordinator[S], error) {
	scoped, ok := src.(subtaskEnumerable[S])
	if !ok {
		return nil, fmt.Errorf("stream: split source %q: the runtime runs no coordinator for the source's enumerator", c.OperatorName)
	}
	l := &localCoordinator[S]{events: localEvents{name: c.OperatorName, subtask: c.Subtask, parallelism: c.Parallelism}}
	l.coord = &splitCoordinator[S]{name: c.OperatorName, ctx: &l.events, codec: sc}
	if c.Restored {
		l.coord.create = func(ec SplitEnumeratorContext[S]) (SplitEnumerator[S], error) {
			return src.RestoreEnumerator(ec, nil)
		}
	} else {
		l.coord.create = func(ec SplitEnumeratorContext[S]) (SplitEnumerator[S], error) {
			return scoped.createSubtaskEnumerator(ec, c.Subtask)
		}
	}
	if err := l.coord.Start(); err != nil {
		return l, err
	}
	return l, nil
}

// SendEvent implements operator.CoordinatorGateway.
func (l *localCoordinator[S]) SendEvent(ev []byte) error {
	return l.coord.HandleEventFromOperator(l.events.subtask, ev)
}

// localEvents is the CoordinatorContext of a local coordinator: it queues
// the events for its subtask and refuses the others.
type localEvents struct {
	name                 string
	subtask, parallelism int
	queue                [][]byte
}

func (q *localEvents) SendEvent(subtask int, ev []byte) error {
	if subtask != q.subtask {
		return fmt.Errorf("stream: split source %q: the enumerator scoped to subtask %d sends to subtask %d", q.name, q.subtask, subtask)
	}
	q.queue = append(q.queue, ev)
	return nil
}

func (q *localEvents) Parallelism() int { return q.parallelism }

// splitSourceOp is the operator of a split source: the operator of a
// Source (which owns the reader's outputs and watermarks), plus the
// reader's splits in operator state and the events of the coordinator.
type splitSourceOp[T, S any] struct {
	sourceOp[T]
	src    SplitSource[T, S]
	codec  codec.Codec[[]S]
	sr     SplitReader[T, S] // the reader, as sourceOp.reader
	splits state.ListState[S]
	gate   operator.CoordinatorGateway
	local  *localCoordinator[S] // nil when the runtime runs the coordinator
	// woken is set when an event was handled since the last poll: the
	// reader may have work although it said NothingAvailable.
	woken bool
}

var (
	_ operator.SourceOperator = (*splitSourceOp[int, int])(nil)
	_ operator.EventReceiver  = (*splitSourceOp[int, int])(nil)
	_ operator.Snapshotter    = (*splitSourceOp[int, int])(nil)
)

func (o *splitSourceOp[T, S]) errorf(format string, args ...any) error {
	return fmt.Errorf("stream: split source %q: "+format, append([]any{o.c.OperatorName}, args...)...)
}

// Open creates the reader, gives it its splits from the restored state,
// and registers it with the enumerator.
func (o *splitSourceOp[T, S]) Open(ctx context.Context) (err error) {
	defer operator.Guard(o.c, &err)
	o.main = o.newSplit("")
	backend := o.c.OperatorState
	if backend == nil {
		// A runtime without operator state does not checkpoint either.
		backend = state.NewOperatorBackend()
	}
	if o.splits, err = state.GetOperatorListState(backend, state.List[S](splitsStateName)); err != nil {
		return o.c.Fail(o.errorf("%w", err))
	}
	o.gate = o.c.Coordinator
	if o.gate == nil {
		o.local, err = newLocalCoordinator(o.c, o.src, o.codec)
		if err != nil {
			return o.c.Fail(err)
		}
		o.gate = o.local
	}
	r, err := o.src.CreateSplitReader(ctx, runtimeContext(o.c), readerContext[T, S]{o})
	if err != nil {
		return o.c.Fail(err)
	}
	o.sr, o.reader = r, r
	if o.c.Restored {
		restored, err := o.splits.Get()
		if err != nil {
			return o.c.Fail(o.errorf("%w", err))
		}
		if len(restored) > 0 {
			r.AddSplits(slices.Clone(restored))
		}
	}
	if err := o.gate.SendEvent([]byte{eventReaderRegistered}); err != nil {
		return o.c.Fail(err)
	}
	return o.deliverLocal()
}

// deliverLocal hands the reader the events of a local coordinator.
func (o *splitSourceOp[T, S]) deliverLocal() error {
	if o.local == nil {
		return nil
	}
	q := &o.local.events.queue
	for len(*q) > 0 {
		ev := (*q)[0]
		(*q)[0] = nil
		*q = (*q)[1:]
		if err := o.handle(ev); err != nil {
			return err
		}
	}
	*q = nil
	return o.err
}

// PollNext implements operator.SourceOperator.
func (o *splitSourceOp[T, S]) PollNext() (st operator.InputStatus, err error) {
	defer operator.Guard(o.c, &err)
	o.woken = false
	st, err = o.poll()
	if err != nil || st == operator.EndOfInput {
		return st, err
	}
	if o.local != nil && len(o.local.events.queue) > 0 {
		if err := o.deliverLocal(); err != nil {
			return st, err
		}
		return operator.MoreAvailable, nil
	}
	return st, nil
}

// Available implements operator.SourceOperator: ready at once after an
// event, else when the reader is.
func (o *splitSourceOp[T, S]) Available() <-chan struct{} {
	if o.woken {
		return always
	}
	return o.reader.Available()
}

// HandleOperatorEvent implements operator.EventReceiver: splits or the end
// of them, from the enumerator.
func (o *splitSourceOp[T, S]) HandleOperatorEvent(ev []byte) (err error) {
	defer operator.Guard(o.c, &err)
	return o.handle(ev)
}

func (o *splitSourceOp[T, S]) handle(ev []byte) error {
	if o.sr == nil {
		return o.c.Fail(o.errorf("event before the reader opened"))
	}
	splits, noMore, err := decodeReaderEvent(o.codec, ev)
	if err != nil {
		return o.c.Fail(o.errorf("%w", err))
	}
	if noMore {
		o.sr.NotifyNoMoreSplits()
	} else {
		o.sr.AddSplits(splits)
	}
	o.woken = true
	return nil
}

// SnapshotState implements operator.Snapshotter: it stores the reader's
// unfinished splits in the operator list state, which a rescaled job
// redistributes evenly.
func (o *splitSourceOp[T, S]) SnapshotState(cp operator.Checkpoint) (err error) {
	defer operator.Guard(o.c, &err)
	if o.sr == nil {
		return o.c.Fail(o.errorf("checkpoint %d before the reader opened", cp.ID))
	}
	splits, err := o.sr.SnapshotState(cp.ID)
	if err != nil {
		return o.c.Fail(err)
	}
	if o.local != nil {
		left, err := o.local.coord.unassigned(cp.ID)
		if err != nil {
			return o.c.Fail(err)
		}
		if len(left) > 0 {
			return o.c.Fail(o.errorf("checkpoint %d: the enumerator in subtask %d holds %d unassigned splits, which only a coordinator can checkpoint",
				cp.ID, o.c.Subtask, len(left)))
		}
	}
	if err := o.splits.Update(splits); err != nil {
		return o.c.Fail(o.errorf("%w", err))
	}
	return nil
}

// Close implements operator.Operator.
func (o *splitSourceOp[T, S]) Close() error {
	err := o.sourceOp.Close()
	if o.local != nil {
		err = errors.Join(err, o.c.Fail(o.local.coord.Close()))
	}
	return err
}

// readerContext is the SplitReaderContext of an operator's reader.
type readerContext[T, S any] struct{ o *splitSourceOp[T, S] }

func (rc readerContext[T, S]) SendSplitRequest() error {
	o := rc.o
	err := o.gate.SendEvent([]byte{eventSplitRequest})
	if err != nil && o.err == nil {
		o.err = o.c.Fail(err)
	}
	return err
}

// staticEnumerator assigns splits by a function of the subtask and the
// parallelism: every reader gets its share when it registers, then no
// more. Restored, it spreads the splits it had not assigned over the
// subtasks round-robin.
type staticEnumerator[S any] struct {
	ctx     SplitEnumeratorContext[S]
	pending map[int][]S // by subtask
}

// newStaticEnumerator returns the enumerator that gives each subtask s of
// ctx's parallelism p the splits share(s, p); only subtask only's if only
// is not negative.
func newStaticEnumerator[S any](ctx SplitEnumeratorContext[S], share func(subtask, p int) []S, only int) *staticEnumerator[S] {
	e := &staticEnumerator[S]{ctx: ctx, pending: map[int][]S{}}
	p := ctx.Parallelism()
	for s := range p {
		if only < 0 || s == only {
			e.pending[s] = share(s, p)
		}
	}
	return e
}

func restoreStaticEnumerator[S any](ctx SplitEnumeratorContext[S], unassigned []S) *staticEnumerator[S] {
	e := &staticEnumerator[S]{ctx: ctx, pending: map[int][]S{}}
	p := ctx.Parallelism()
	for i, sp := range unassigned {
		e.pending[i%p] = append(e.pending[i%p], sp)
	}
	return e
}

func (e *staticEnumerator[S]) Start() error { return nil }

func (e *staticEnumerator[S]) AddReader(subtask int) error {
	splits := e.pending[subtask]
	delete(e.pending, subtask)
	if err := e.ctx.AssignSplits(subtask, splits); err != nil {
		return err
	}
	return e.ctx.SignalNoMoreSplits(subtask)
}

func (e *staticEnumerator[S]) HandleSplitRequest(subtask int) error {
	return e.ctx.SignalNoMoreSplits(subtask)
}

func (e *staticEnumerator[S]) SnapshotState(int64) ([]S, error) {
	var left []S
	for s := range e.ctx.Parallelism() {
		left = append(left, e.pending[s]...)
	}
	return left, nil
}

func (e *staticEnumerator[S]) Close() error { return nil }
