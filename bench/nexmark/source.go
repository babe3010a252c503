package nexmark

import (
	"context"
	"fmt"
	"time"

	"github.com/runnel-io/runnel/internal/pace"
	"github.com/runnel-io/runnel/stream"
)

// sourceBatch is how many events a reader emits per poll.
const sourceBatch = 256

// Source is the Nexmark generator as a parallel stream source: subtask i of
// p runs share i of Split(cfg, p), so the job's events are the same at any
// parallelism. Events carry their Nexmark timestamps; cfg.EventsPerSecond
// is only the rate of event time, not a pacing of the source (see Rate).
type Source struct {
	Config GeneratorConfig
	// Rate, if positive, paces the source: at most Rate events per second
	// of processing time over all subtasks together.
	Rate float64
}

// Bounded implements stream.Source.
func (s Source) Bounded() bool { return true }

// CreateReader implements stream.Source.
func (s Source) CreateReader(_ context.Context, rc *stream.RuntimeContext) (stream.SourceReader[Event], error) {
	g, err := NewGenerator(s.Config, rc.Subtask, rc.Parallelism)
	if err != nil {
		return nil, fmt.Errorf("nexmark: source: %w", err)
	}
	r := &reader{g: g, always: make(chan struct{})}
	close(r.always)
	if s.Rate > 0 {
		r.pacer = pace.New(s.Rate / float64(rc.Parallelism))
	}
	return r, nil
}

type reader struct {
	g      *Generator
	always chan struct{}
	pacer  *pace.Pacer // nil: unlimited
}

func (r *reader) PollNext(out stream.ReaderOutput[Event]) (stream.InputStatus, error) {
	n := int64(sourceBatch)
	if r.pacer != nil {
		if n = r.pacer.Allow(n); n == 0 {
			return stream.NothingAvailable, nil
		}
		r.pacer.Emitted(n)
	}
	for ; n > 0; n-- {
		e, ok := r.g.Next()
		if !ok {
			return stream.EndOfInput, nil
		}
		out.CollectWithTimestamp(e, EventTimestamp(e))
	}
	if r.g.Remaining() == 0 {
		return stream.EndOfInput, nil
	}
	return stream.MoreAvailable, nil
}

func (r *reader) Available() <-chan struct{} {
	if r.pacer != nil {
		return r.pacer.Ready()
	}
	return r.always
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

// Events adds the generator as the job's source, with Nexmark's watermark
// strategy (bounded out-of-orderness of WatermarkDelay).
func Events(env *stream.Environment, src Source) stream.DataStream[Event] {
	ws := stream.ForBoundedOutOfOrderness[Event](WatermarkDelay)
	return stream.FromSource(env, src, ws, "Nexmark Source").WithCodec(EventCodec())
}
