package nexmark

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"time"

	"github.com/runnel-io/runnel/internal/pace"
	"github.com/runnel-io/runnel/stream"
)

// sourceBatch is how many events a reader emits per poll.
const sourceBatch = 256

// Source is the Nexmark generator as a replayable parallel source (a
// stream.SplitSource): its splits are the generator's shares, with their
// positions. A job at parallelism p starts with the shares of Split(cfg, p),
// share s in subtask s, so the job's events are the same at any
// parallelism. Each share's position is in every checkpoint: a job
// restored after a failure, or from a savepoint at any parallelism,
// continues every share where the checkpoint left it, and so emits exactly
// the events that followed the checkpoint.
//
// A restored job keeps the shares of the job that started it: restored at
// a lower parallelism, a subtask may hold several (and at a higher one,
// some subtasks none). Such a subtask emits its shares in turn, a batch of
// events of one share per poll. Each share emits through its own split
// output (stream.ReaderOutput.Split) with a watermark generator of its own,
// so each share's events are in order, as in the share's generator, and
// the subtask's watermark is the minimum over its unfinished shares: no
// event of a share that is behind is late because another one ran ahead.
//
// Events carry their Nexmark timestamps; cfg.EventsPerSecond is only the
// rate of event time, not a pacing of the source (see Rate). A restored job
// generates its events from its own Source's Config: restoring a
// checkpoint of another config continues the shares' positions in the
// stream this one describes.
type Source struct {
	Config GeneratorConfig
	// Rate, if positive, paces the source: at most Rate events per second
	// of processing time over all subtasks together.
	Rate float64
}

// Share is a split of Source: share Index of Count of the stream (the
// events numbered Index, Index+Count, ...; see NewGenerator) at Position,
// the number of its events already emitted (Generator.Position).
type Share struct {
	Index, Count int
	Position     int64
}

var _ stream.SplitSource[Event, Share] = Source{}

// Bounded implements stream.SplitSource.
func (s Source) Bounded() bool { return true }

// CreateEnumerator implements stream.SplitSource: subtask s of p gets share
// s of p.
func (s Source) CreateEnumerator(ctx stream.SplitEnumeratorContext[Share]) (stream.SplitEnumerator[Share], error) {
	p := ctx.Parallelism()
	e := &enumerator{ctx: ctx, pending: make(map[int][]Share, p)}
	for i := range p {
		e.pending[i] = []Share{{Index: i, Count: p}}
	}
	return e, nil
}

// RestoreEnumerator implements stream.SplitSource: the shares not assigned
// at the checkpoint (none, unless it was taken before every reader had
// registered) go round-robin to the subtasks.
func (s Source) RestoreEnumerator(ctx stream.SplitEnumeratorContext[Share], unassigned []Share) (stream.SplitEnumerator[Share], error) {
	p := ctx.Parallelism()
	e := &enumerator{ctx: ctx, pending: make(map[int][]Share, p)}
	for i, sh := range unassigned {
		e.pending[i%p] = append(e.pending[i%p], sh)
	}
	return e, nil
}

// CreateSplitReader implements stream.SplitSource. Its error wraps
// ErrInvalidConfig for an invalid Config.
func (s Source) CreateSplitReader(_ context.Context, rc *stream.RuntimeContext, _ stream.SplitReaderContext) (stream.SplitReader[Event, Share], error) {
	cfg := s.Config
	cfg.EnsureDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("nexmark: source: %w", err)
	}
	r := &reader{cfg: cfg}
	if s.Rate > 0 {
		r.pacer = pace.New(s.Rate / float64(rc.Parallelism))
	}
	return r, nil
}

// enumerator is the split enumerator of Source: a static assignment. Each
// subtask gets its pending shares when its reader registers, then the end
// of them; a request for more gets the end of them too.
type enumerator struct {
	ctx     stream.SplitEnumeratorContext[Share]
	pending map[int][]Share // by subtask
}

func (e *enumerator) Start() error { return nil }

func (e *enumerator) AddReader(subtask int) error {
	shares := e.pending[subtask]
	delete(e.pending, subtask)
	if err := e.ctx.AssignSplits(subtask, shares); err != nil {
		return err
	}
	return e.ctx.SignalNoMoreSplits(subtask)
}

func (e *enumerator) HandleSplitRequest(subtask int) error {
	return e.ctx.SignalNoMoreSplits(subtask)
}

func (e *enumerator) SnapshotState(int64) ([]Share, error) {
	var left []Share
	for s := range e.ctx.Parallelism() {
		left = append(left, e.pending[s]...)
	}
	return left, nil
}

func (e *enumerator) Close() error { return nil }

// reader is the split reader of Source: one generator per share it holds.
type reader struct {
	cfg    GeneratorConfig // with its defaults
	shares []*share        // unfinished, emitted in turn
	// fresh counts the last shares, added since the last poll, that have
	// no output yet.
	fresh  int
	turn   int // the index in shares of the next to emit
	noMore bool
	pacer  *pace.Pacer // nil: unlimited
	err    error       // a share that cannot be generated
	snap   []Share     // SnapshotState's result, reused
}

// share is one share a reader generates.
type share struct {
	index, count int
	id           string // its split's id
	g            *Generator
	out          stream.ReaderOutput[Event] // its split's output
}

// ready is always ready: the Available of a reader that is not paced.
var ready = func() chan struct{} { c := make(chan struct{}); close(c); return c }()

func (r *reader) AddSplits(splits []Share) {
	for _, sp := range splits {
		g, err := NewGenerator(r.cfg, sp.Index, sp.Count)
		if err == nil {
			err = g.Restore(sp.Position)
		}
		if err != nil {
			if r.err == nil {
				r.err = fmt.Errorf("nexmark: source: share %d of %d at position %d: %w", sp.Index, sp.Count, sp.Position, err)
			}
			continue
		}
		if g.Remaining() == 0 {
			continue
		}
		id := strconv.Itoa(sp.Index) + "/" + strconv.Itoa(sp.Count)
		r.shares = append(r.shares, &share{index: sp.Index, count: sp.Count, id: id, g: g})
		r.fresh++
	}
}

func (r *reader) NotifyNoMoreSplits() { r.noMore = true }

func (r *reader) PollNext(out stream.ReaderOutput[Event]) (stream.InputStatus, error) {
	if r.err != nil {
		return stream.EndOfInput, r.err
	}
	// Give new shares their outputs before any of them emits, so that each
	// holds the watermark back from the start.
	for _, s := range r.shares[len(r.shares)-r.fresh:] {
		s.out = out.Split(s.id)
	}
	r.fresh = 0
	if len(r.shares) == 0 {
		return r.idle(), nil
	}
	n := int64(sourceBatch)
	if r.pacer != nil {
		if n = r.pacer.Allow(n); n == 0 {
			return stream.NothingAvailable, nil
		}
	}
	if r.turn >= len(r.shares) {
		r.turn = 0
	}
	s := r.shares[r.turn]
	g, o := s.g, s.out
	emitted := int64(0)
	for ; emitted < n; emitted++ {
		e, ok := g.Next()
		if !ok {
			break
		}
		o.CollectWithTimestamp(e, EventTimestamp(e))
	}
	if r.pacer != nil {
		r.pacer.Emitted(emitted)
	}
	if g.Remaining() > 0 {
		r.turn++
		return stream.MoreAvailable, nil
	}
	out.ReleaseSplit(s.id)
	r.shares = slices.Delete(r.shares, r.turn, r.turn+1)
	if len(r.shares) == 0 {
		return r.idle(), nil
	}
	return stream.MoreAvailable, nil
}

// idle is the status of a reader without shares.
func (r *reader) idle() stream.InputStatus {
	if r.noMore {
		return stream.EndOfInput
	}
	return stream.NothingAvailable
}

func (r *reader) SnapshotState(int64) ([]Share, error) {
	r.snap = r.snap[:0]
	for _, s := range r.shares {
		r.snap = append(r.snap, Share{Index: s.index, Count: s.count, Position: s.g.Position()})
	}
	return r.snap, nil
}

func (r *reader) Available() <-chan struct{} {
	switch {
	case len(r.shares) == 0:
		return nil // waits for shares, whose arrival the operator signals
	case r.pacer != nil:
		return r.pacer.Ready()
	}
	return ready
}

func (r *reader) Close() error {
	if r.pacer != nil {
		r.pacer.Stop()
	}
	return nil
}

// WatermarkDelay is the out-of-orderness the Nexmark DDL declares:
// WATERMARK FOR dateTime AS dateTime - INTERVAL '4' SECOND.
const WatermarkDelay = 4 * time.Second

// Events adds the generator as the job's source, replayable (see Source),
// with Nexmark's watermark strategy (bounded out-of-orderness of
// WatermarkDelay, per share).
func Events(env *stream.Environment, src Source) stream.DataStream[Event] {
	ws := stream.ForBoundedOutOfOrderness[Event](WatermarkDelay)
	return stream.FromSplitSource(env, src, ws, "Nexmark Source").WithCodec(EventCodec())
}
