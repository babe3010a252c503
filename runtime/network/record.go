package network

import (
	"context"
	"encoding/binary"
	"fmt"
	"math"

	"github.com/runnel-io/runnel/codec"
)

// NoTimestamp marks a record without a timestamp.
const NoTimestamp = math.MinInt64

// Broadcast is returned by a Selector to send a record to every channel.
const Broadcast = -1

// Output receives records with their timestamps. An operator's input, the
// next operator in a chain and a RecordWriter are all Outputs.
type Output[T any] interface {
	// Collect passes on one record. An error means the job fails; the caller
	// returns it without emitting more.
	Collect(v T, ts int64) error
}

// Selector picks the consumer channel of a record: Flink's channel selector.
// A Selector belongs to one RecordWriter and is called from its goroutine
// only, so it may keep state (a round-robin position, a scratch buffer).
type Selector[T any] interface {
	// Select returns a channel index in [0, channels) or Broadcast.
	Select(v T) int
}

// RecordWriter serializes the records of one output edge of one producer
// subtask and sends them to the edge's consumer channels. It is used by one
// goroutine; its blocking calls use the context it was made with.
type RecordWriter[T any] struct {
	ctx     context.Context
	codec   codec.Codec[T]
	sel     Selector[T]
	targets []Sender
	pool    *Pool
	open    []*Segment
	scratch []byte
}

// NewRecordWriter returns a writer sending to targets, channel i being
// targets[i].
func NewRecordWriter[T any](ctx context.Context, c codec.Codec[T], sel Selector[T], targets []Sender, pool *Pool) *RecordWriter[T] {
	return &RecordWriter[T]{ctx: ctx, codec: c, sel: sel, targets: targets, pool: pool, open: make([]*Segment, len(targets))}
}

// Collect implements Output.
func (w *RecordWriter[T]) Collect(v T, ts int64) error {
	w.scratch = w.codec.Append(w.scratch[:0], v)
	ch := w.sel.Select(v)
	if ch != Broadcast {
		return w.write(ch, ts)
	}
	for i := range w.targets {
		if err := w.write(i, ts); err != nil {
			return err
		}
	}
	return nil
}

func (w *RecordWriter[T]) write(ch int, ts int64) error {
	n := len(w.scratch)
	hdr := uint64(n) << 1
	need := uvarintLen(hdr) + n
	if ts != NoTimestamp {
		hdr |= 1
		need += binary.MaxVarintLen64
	}
	s := w.open[ch]
	if s != nil && cap(s.B)-len(s.B) < need {
		if err := w.targets[ch].Send(w.ctx, Buffer{Kind: Data, Segment: s}); err != nil {
			return fmt.Errorf("network: send to channel %d: %w", ch, err)
		}
		s = nil
	}
	if s == nil {
		var err error
		if need > w.pool.SegmentSize() {
			s, err = w.pool.GetOversized(w.ctx, need)
		} else {
			s, err = w.pool.Get(w.ctx)
		}
		if err != nil {
			w.open[ch] = nil
			return fmt.Errorf("network: buffer for channel %d: %w", ch, err)
		}
	}
	s.B = binary.AppendUvarint(s.B, hdr)
	if ts != NoTimestamp {
		s.B = binary.AppendVarint(s.B, ts)
	}
	s.B = append(s.B, w.scratch...)
	w.open[ch] = s
	return nil
}

// Flush sends every partly filled segment.
func (w *RecordWriter[T]) Flush() error {
	for ch, s := range w.open {
		if s == nil || len(s.B) == 0 {
			continue
		}
		if err := w.targets[ch].Send(w.ctx, Buffer{Kind: Data, Segment: s}); err != nil {
			return fmt.Errorf("network: flush channel %d: %w", ch, err)
		}
		w.open[ch] = nil
	}
	return nil
}

// SendEvent flushes the records written so far and then sends b to every
// channel, so that the event follows them.
func (w *RecordWriter[T]) SendEvent(b Buffer) error {
	if err := w.Flush(); err != nil {
		return err
	}
	for ch, t := range w.targets {
		if err := t.Send(w.ctx, b); err != nil {
			return fmt.Errorf("network: send %v to channel %d: %w", b.Kind, ch, err)
		}
	}
	return nil
}

// Release recycles the segments the writer still holds. Call it once, when
// the task ends, after a final Flush or on failure.
func (w *RecordWriter[T]) Release() {
	for ch, s := range w.open {
		if s != nil {
			s.Recycle()
			w.open[ch] = nil
		}
	}
}

func uvarintLen(v uint64) int {
	n := 1
	for v >= 0x80 {
		v >>= 7
		n++
	}
	return n
}

// RecordReader deserializes the data segments of one input channel and
// passes each record to an Output.
type RecordReader[T any] struct {
	codec codec.Codec[T]
	out   Output[T]
}

// NewRecordReader returns a reader that decodes with c and delivers to out.
func NewRecordReader[T any](c codec.Codec[T], out Output[T]) *RecordReader[T] {
	return &RecordReader[T]{codec: c, out: out}
}

// Read decodes every record of seg, in order, and collects it. It stops at
// the first error: a malformed segment or an error of the output.
func (r *RecordReader[T]) Read(seg []byte) error {
	for i := 0; len(seg) > 0; i++ {
		hdr, n := binary.Uvarint(seg)
		if n <= 0 {
			return fmt.Errorf("network: record %d: bad header: %w", i, codec.ErrCorrupt)
		}
		seg = seg[n:]
		ts := int64(NoTimestamp)
		if hdr&1 != 0 {
			var m int
			ts, m = binary.Varint(seg)
			if m <= 0 {
				return fmt.Errorf("network: record %d: bad timestamp: %w", i, codec.ErrCorrupt)
			}
			seg = seg[m:]
		}
		size := hdr >> 1
		if size > uint64(len(seg)) {
			return fmt.Errorf("network: record %d: length %d exceeds the %d bytes left: %w", i, size, len(seg), codec.ErrCorrupt)
		}
		v, err := r.codec.Decode(seg[:size])
		if err != nil {
			return fmt.Errorf("network: record %d: %w", i, err)
		}
		seg = seg[size:]
		if err := r.out.Collect(v, ts); err != nil {
			return err
		}
	}
	return nil
}
