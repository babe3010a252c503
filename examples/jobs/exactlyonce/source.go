package exactlyonce

import (
	"context"

	"github.com/runnel-io/runnel/internal/pace"
	"github.com/runnel-io/runnel/stream"
)

// source emits the events of the job: a split source whose splits are
// classes of keys. Split r of m holds the keys k ≡ r (mod m) and emits
// their events in increasing order of event number, so that each key's
// events come out in sequence order from one reader, whatever the
// parallelism and however the splits move when the job is rescaled.
type source struct {
	events, keys int64
	rate         float64 // events per second per subtask; 0: unlimited
}

// split is a class of keys and the position of its next event: event
// Seq*keys + Key, the keys of a sequence number visited in increasing
// order from Residue in steps of Modulus.
type split struct {
	Residue, Modulus int64
	Seq, Key         int64
}

func (s *source) Bounded() bool { return true }

func (s *source) CreateEnumerator(ctx stream.SplitEnumeratorContext[split]) (stream.SplitEnumerator[split], error) {
	p := int64(ctx.Parallelism())
	var splits []split
	for r := range p {
		splits = append(splits, split{Residue: r, Modulus: p, Key: r})
	}
	return &enumerator{ctx: ctx, unassigned: splits}, nil
}

func (s *source) RestoreEnumerator(ctx stream.SplitEnumeratorContext[split], unassigned []split) (stream.SplitEnumerator[split], error) {
	return &enumerator{ctx: ctx, unassigned: unassigned}, nil
}

func (s *source) CreateSplitReader(_ context.Context, _ *stream.RuntimeContext, _ stream.SplitReaderContext) (stream.SplitReader[Event, split], error) {
	r := &reader{events: s.events, keys: s.keys}
	if s.rate > 0 {
		r.pacer = pace.New(s.rate)
	}
	return r, nil
}

// enumerator gives each reader, when it registers, the splits whose residue
// is its subtask index modulo the parallelism: on a fresh start that is
// exactly one; after a restore there are none left to give (the readers
// hold them in their state).
type enumerator struct {
	ctx        stream.SplitEnumeratorContext[split]
	unassigned []split
}

func (e *enumerator) Start() error { return nil }

func (e *enumerator) AddReader(subtask int) error {
	p := int64(e.ctx.Parallelism())
	var mine, rest []split
	for _, s := range e.unassigned {
		if s.Residue%p == int64(subtask) {
			mine = append(mine, s)
		} else {
			rest = append(rest, s)
		}
	}
	e.unassigned = rest
	if len(mine) > 0 {
		if err := e.ctx.AssignSplits(subtask, mine); err != nil {
			return err
		}
	}
	return e.ctx.SignalNoMoreSplits(subtask)
}

func (e *enumerator) HandleSplitRequest(int) error { return nil }

func (e *enumerator) SnapshotState(int64) ([]split, error) { return e.unassigned, nil }

func (e *enumerator) Close() error { return nil }

// reader reads its splits one after the other.
type reader struct {
	events, keys int64
	splits       []split
	noMore       bool
	pacer        *pace.Pacer
}

func (r *reader) AddSplits(splits []split) { r.splits = append(r.splits, splits...) }
func (r *reader) NotifyNoMoreSplits()      { r.noMore = true }

func (r *reader) SnapshotState(int64) ([]split, error) { return r.splits, nil }

// batch is how many events a poll emits at most.
const batch = 256

func (r *reader) PollNext(out stream.ReaderOutput[Event]) (stream.InputStatus, error) {
	n := int64(batch)
	if r.pacer != nil {
		if n = r.pacer.Allow(n); n == 0 {
			return stream.NothingAvailable, nil
		}
	}
	emitted := int64(0)
	for emitted < n && len(r.splits) > 0 {
		s := &r.splits[0]
		if s.Key >= r.keys {
			s.Seq++
			s.Key = s.Residue
		}
		if i := s.Seq*r.keys + s.Key; s.Residue >= r.keys || i >= r.events {
			r.splits = r.splits[1:] // finished
			continue
		}
		out.Collect(Event{Key: s.Key, Seq: s.Seq})
		s.Key += s.Modulus
		emitted++
	}
	if r.pacer != nil {
		r.pacer.Emitted(emitted)
	}
	switch {
	case len(r.splits) > 0:
		return stream.MoreAvailable, nil
	case r.noMore:
		return stream.EndOfInput, nil
	default:
		return stream.NothingAvailable, nil
	}
}

func (r *reader) Available() <-chan struct{} {
	if r.pacer != nil && len(r.splits) > 0 {
		return r.pacer.Ready()
	}
	return always
}

var always = func() chan struct{} { c := make(chan struct{}); close(c); return c }()

func (r *reader) Close() error {
	if r.pacer != nil {
		r.pacer.Stop()
	}
	return nil
}
