package network

import (
	"context"
	"fmt"
	"sync/atomic"

	"github.com/runnel-io/runnel/runtime/checkpoint"
)

// DefaultSegmentSize is the capacity of a pooled segment, as Flink's
// taskmanager.memory.segment-size.
const DefaultSegmentSize = 32 << 10

// Kind says what a Buffer carries.
type Kind uint8

const (
	// Data is a segment of serialized records.
	Data Kind = iota
	// EndOfPartition says that the producer will send nothing more on this
	// channel.
	EndOfPartition
	// EndOfData says that the producer's input ended and it has sent its
	// last record; checkpoint barriers may still follow, then
	// EndOfPartition.
	EndOfData
	// CheckpointBarrier separates the records before a checkpoint from
	// those after it; Barrier describes the checkpoint.
	CheckpointBarrier
	// CancelBarrier says that the checkpoint Value was aborted upstream:
	// its barrier will not come on this channel.
	CancelBarrier
)

func (k Kind) String() string {
	switch k {
	case Data:
		return "data"
	case EndOfPartition:
		return "end-of-partition"
	case EndOfData:
		return "end-of-data"
	case CheckpointBarrier:
		return "checkpoint-barrier"
	case CancelBarrier:
		return "cancel-barrier"
	}
	return fmt.Sprintf("kind(%d)", uint8(k))
}

// Buffer is the unit a channel carries: a segment of records or one event.
// Buffers are passed by value; the segment is owned by whoever holds the
// buffer, until it is recycled.
//
// Events travel as buffers of their own, never inside a segment of
// records, so that a consumer can stop reading one channel at a barrier
// (alignment) without splitting a segment.
type Buffer struct {
	Kind Kind
	// Value is the event's payload: the checkpoint ID of a CancelBarrier.
	Value int64
	// Barrier describes the checkpoint of a CheckpointBarrier; it is shared
	// by every copy of the barrier and must not be modified.
	Barrier *Barrier
	// Segment holds the records of a Data buffer.
	Segment *Segment
}

// Barrier is a checkpoint barrier: Flink's CheckpointBarrier.
type Barrier struct {
	ID int64
	// Timestamp is when the checkpoint was triggered, in milliseconds since
	// the Unix epoch.
	Timestamp int64
	Options   checkpoint.Options
}

// Segment is a piece of memory from a Pool.
type Segment struct {
	B    []byte
	pool *Pool
}

// Recycle returns the segment to its pool. The segment must not be used
// afterwards.
func (s *Segment) Recycle() {
	if s.pool != nil {
		s.pool.put(s)
	}
}

// Pool is a bounded set of segments for one producer. Get blocks when the
// limit is reached and every segment is in use: that is how a slow consumer
// slows its producer down without any queue growing.
//
// Pool is safe for concurrent use.
type Pool struct {
	size  int
	limit int
	free  chan *Segment

	allocated atomic.Int64
	inUse     atomic.Int64
	maxInUse  atomic.Int64
}

// NewPool returns a pool of at most limit segments of size bytes each.
func NewPool(size, limit int) *Pool {
	if size <= 0 || limit <= 0 {
		panic(fmt.Sprintf("network: pool of %d segments of %d bytes", limit, size))
	}
	return &Pool{size: size, limit: limit, free: make(chan *Segment, limit)}
}

// Get returns an empty segment, blocking while all are in use. It returns
// ctx's error if ctx is done first.
func (p *Pool) Get(ctx context.Context) (*Segment, error) {
	var s *Segment
	select {
	case s = <-p.free:
	default:
		if n := p.allocated.Add(1); n <= int64(p.limit) {
			s = &Segment{B: make([]byte, 0, p.size), pool: p}
		} else {
			p.allocated.Add(-1)
			select {
			case s = <-p.free:
			case <-ctx.Done():
				return nil, ctx.Err()
			}
		}
	}
	p.noteInUse(p.inUse.Add(1))
	return s, nil
}

// GetOversized returns a segment able to hold n bytes, for a single record
// larger than the pool's segment size. It counts against the pool's limit
// like any segment, and its memory is dropped, not reused, when recycled.
func (p *Pool) GetOversized(ctx context.Context, n int) (*Segment, error) {
	s, err := p.Get(ctx)
	if err != nil {
		return nil, err
	}
	s.B = make([]byte, 0, n)
	return s, nil
}

func (p *Pool) noteInUse(n int64) {
	for {
		m := p.maxInUse.Load()
		if n <= m || p.maxInUse.CompareAndSwap(m, n) {
			return
		}
	}
}

func (p *Pool) put(s *Segment) {
	if cap(s.B) != p.size {
		s.B = make([]byte, 0, p.size)
	}
	s.B = s.B[:0]
	p.inUse.Add(-1)
	p.free <- s // never blocks: at most limit segments exist
}

// Limit is the most segments the pool hands out at once.
func (p *Pool) Limit() int { return p.limit }

// SegmentSize is the capacity of the pool's segments.
func (p *Pool) SegmentSize() int { return p.size }

// InUse is the number of segments handed out and not yet recycled.
func (p *Pool) InUse() int { return int(p.inUse.Load()) }

// MaxInUse is the largest InUse has been.
func (p *Pool) MaxInUse() int { return int(p.maxInUse.Load()) }
