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

// Output receives records with their timestamps, and the watermarks and
// watermark statuses between them. An operator's input, the next operator
// in a chain and a RecordWriter are all Outputs.
//
// Every method may return an error; it means the job fails, and the caller
// returns it without emitting more.
type Output[T any] interface {
	// Collect passes on one record.
	Collect(v T, ts int64) error
	// EmitWatermark passes on a watermark: no record with a timestamp at or
	// below wm follows.
	EmitWatermark(wm int64) error
	// EmitWatermarkStatus says that the stream becomes idle (it will send no
	// records or watermarks for a while, so consumers must not wait for its
	// watermark) or active again.
	EmitWatermarkStatus(idle bool) error
}

// EventHandler receives the watermarks and statuses a RecordReader finds in
// the segments of its channel, identified by the channel's index in its
// gate. It is called from the goroutine that calls Read, between the
// records around the event; an error stops Read and is returned by it.
type EventHandler interface {
	ChannelWatermark(channel int, wm int64) error
	ChannelStatus(channel int, idle bool) error
}

// Entry tags, the low two bits of an entry's header.
const (
	tagRecord     = 0
	tagRecordTS   = 1
	tagWatermark  = 2
	tagStatus     = 3
	statusIdle    = 1 << 2
	maxEntryExtra = binary.MaxVarintLen64 // beyond the header: a timestamp or watermark
)

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
//
// Watermarks and statuses are written into every channel's segment between
// the records, so they neither flush nor split a segment.
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
		return w.writeRecord(ch, ts)
	}
	for i := range w.targets {
		if err := w.writeRecord(i, ts); err != nil {
			return err
		}
	}
	return nil
}

// EmitWatermark implements Output: the watermark goes to every channel.
func (w *RecordWriter[T]) EmitWatermark(wm int64) error {
	for ch := range w.targets {
		s, err := w.reserve(ch, 1+maxEntryExtra)
		if err != nil {
			return err
		}
		s.B = append(s.B, tagWatermark)
		s.B = binary.AppendVarint(s.B, wm)
	}
	return nil
}

// EmitWatermarkStatus implements Output: the status goes to every channel.
func (w *RecordWriter[T]) EmitWatermarkStatus(idle bool) error {
	hdr := byte(tagStatus)
	if idle {
		hdr |= statusIdle
	}
	for ch := range w.targets {
		s, err := w.reserve(ch, 1)
		if err != nil {
			return err
		}
		s.B = append(s.B, hdr)
	}
	return nil
}

func (w *RecordWriter[T]) writeRecord(ch int, ts int64) error {
	n := len(w.scratch)
	hdr := uint64(n)<<2 | tagRecord
	need := uvarintLen(hdr) + n
	if ts != NoTimestamp {
		hdr |= tagRecordTS
		need += maxEntryExtra
	}
	s, err := w.reserve(ch, need)
	if err != nil {
		return err
	}
	s.B = binary.AppendUvarint(s.B, hdr)
	if ts != NoTimestamp {
		s.B = binary.AppendVarint(s.B, ts)
	}
	s.B = append(s.B, w.scratch...)
	return nil
}

// reserve returns channel ch's open segment with room for need more bytes,
// sending the full one first.
func (w *RecordWriter[T]) reserve(ch int, need int) (*Segment, error) {
	s := w.open[ch]
	if s != nil && cap(s.B)-len(s.B) >= need {
		return s, nil
	}
	if s != nil {
		w.open[ch] = nil
		if err := w.targets[ch].Send(w.ctx, Buffer{Kind: Data, Segment: s}); err != nil {
			s.Recycle()
			return nil, fmt.Errorf("network: send to channel %d: %w", ch, err)
		}
	}
	var err error
	if need > w.pool.SegmentSize() {
		s, err = w.pool.GetOversized(w.ctx, need)
	} else {
		s, err = w.pool.Get(w.ctx)
	}
	if err != nil {
		return nil, fmt.Errorf("network: buffer for channel %d: %w", ch, err)
	}
	w.open[ch] = s
	return s, nil
}

// Flush sends every partly filled segment.
func (w *RecordWriter[T]) Flush() error {
	for ch := range w.open {
		if err := w.flush(ch); err != nil {
			return err
		}
	}
	return nil
}

// flush sends channel ch's segment if it holds anything.
func (w *RecordWriter[T]) flush(ch int) error {
	s := w.open[ch]
	if s == nil || len(s.B) == 0 {
		return nil
	}
	w.open[ch] = nil
	if err := w.targets[ch].Send(w.ctx, Buffer{Kind: Data, Segment: s}); err != nil {
		s.Recycle()
		return fmt.Errorf("network: flush channel %d: %w", ch, err)
	}
	return nil
}

// FlushingOutput returns an Output that writes through w and sends what it
// wrote at once: every record, watermark and status leaves in a segment of
// its own (Flink's buffer timeout of 0). It is a separate Output so that
// Collect of w itself, whose segments leave when full or flushed, pays
// nothing for it.
func (w *RecordWriter[T]) FlushingOutput() Output[T] { return flushing[T]{w} }

type flushing[T any] struct{ w *RecordWriter[T] }

// Collect implements Output: it sends the record's segment, or every
// channel's for a broadcast record.
func (f flushing[T]) Collect(v T, ts int64) error {
	w := f.w
	w.scratch = w.codec.Append(w.scratch[:0], v)
	ch := w.sel.Select(v)
	if ch == Broadcast {
		for i := range w.targets {
			if err := w.writeRecord(i, ts); err != nil {
				return err
			}
		}
		return w.Flush()
	}
	if err := w.writeRecord(ch, ts); err != nil {
		return err
	}
	return w.flush(ch)
}

// EmitWatermark implements Output.
func (f flushing[T]) EmitWatermark(wm int64) error {
	if err := f.w.EmitWatermark(wm); err != nil {
		return err
	}
	return f.w.Flush()
}

// EmitWatermarkStatus implements Output.
func (f flushing[T]) EmitWatermarkStatus(idle bool) error {
	if err := f.w.EmitWatermarkStatus(idle); err != nil {
		return err
	}
	return f.w.Flush()
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

// RecordReader deserializes the data segments of one input channel: it
// passes each record to an Output and each watermark and status to an
// EventHandler, in the order they were written.
type RecordReader[T any] struct {
	codec   codec.Codec[T]
	out     Output[T]
	channel int
	events  EventHandler
}

// NewRecordReader returns a reader of channel that decodes with c and
// delivers records to out and events to events.
func NewRecordReader[T any](c codec.Codec[T], out Output[T], channel int, events EventHandler) *RecordReader[T] {
	return &RecordReader[T]{codec: c, out: out, channel: channel, events: events}
}

// Read decodes every entry of seg, in order. It stops at the first error: a
// malformed segment or an error of the output or the handler.
func (r *RecordReader[T]) Read(seg []byte) error {
	for i := 0; len(seg) > 0; i++ {
		hdr, n := binary.Uvarint(seg)
		if n <= 0 {
			return fmt.Errorf("network: entry %d: bad header: %w", i, codec.ErrCorrupt)
		}
		seg = seg[n:]
		switch hdr & 3 {
		case tagWatermark:
			wm, m := binary.Varint(seg)
			if m <= 0 || hdr != tagWatermark {
				return fmt.Errorf("network: entry %d: bad watermark: %w", i, codec.ErrCorrupt)
			}
			seg = seg[m:]
			if err := r.events.ChannelWatermark(r.channel, wm); err != nil {
				return err
			}
			continue
		case tagStatus:
			if hdr>>2 > 1 {
				return fmt.Errorf("network: entry %d: bad status: %w", i, codec.ErrCorrupt)
			}
			if err := r.events.ChannelStatus(r.channel, hdr&statusIdle != 0); err != nil {
				return err
			}
			continue
		}
		ts := int64(NoTimestamp)
		if hdr&tagRecordTS != 0 {
			var m int
			ts, m = binary.Varint(seg)
			if m <= 0 {
				return fmt.Errorf("network: entry %d: bad timestamp: %w", i, codec.ErrCorrupt)
			}
			seg = seg[m:]
		}
		size := hdr >> 2
		if size > uint64(len(seg)) {
			return fmt.Errorf("network: entry %d: length %d exceeds the %d bytes left: %w", i, size, len(seg), codec.ErrCorrupt)
		}
		v, err := r.codec.Decode(seg[:size])
		if err != nil {
			return fmt.Errorf("network: entry %d: %w", i, err)
		}
		seg = seg[size:]
		if err := r.out.Collect(v, ts); err != nil {
			return err
		}
	}
	return nil
}
