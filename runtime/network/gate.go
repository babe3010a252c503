package network

import (
	"context"
	"fmt"
	"sync"
)

// Sender delivers buffers to one consumer channel, in order.
//
// Send blocks while the channel has no room (back-pressure) and returns ctx's
// error if ctx is done first; the buffer is then not delivered and still
// belongs to the caller. After a successful Send the buffer belongs to the
// consumer. A Sender is used by one producer goroutine at a time.
type Sender interface {
	Send(ctx context.Context, b Buffer) error
}

// DefaultChannelCapacity is how many buffers a channel queues before its
// producer blocks: Flink's taskmanager.network.memory.buffers-per-channel.
const DefaultChannelCapacity = 2

// InputGate unites the input channels of one consuming subtask. Producers
// Send into its channels from any goroutine; one consumer goroutine Polls.
//
// Lock order: the gate's mutex is the only lock; Pool and channels take none
// while holding it.
type InputGate struct {
	mu       sync.Mutex
	channels []*LocalChannel
	ready    ring // indices of channels with queued buffers, each at most once
	signal   chan struct{}
}

// NewInputGate returns a gate with n channels, each queueing up to capacity
// buffers.
func NewInputGate(n, capacity int) *InputGate {
	if n <= 0 || capacity <= 0 {
		panic(fmt.Sprintf("network: gate of %d channels with capacity %d", n, capacity))
	}
	g := &InputGate{
		channels: make([]*LocalChannel, n),
		ready:    newRing(n),
		signal:   make(chan struct{}, 1),
	}
	for i := range g.channels {
		g.channels[i] = &LocalChannel{gate: g, index: i, queue: newBufRing(capacity), space: make(chan struct{}, 1)}
	}
	return g
}

// NumChannels is the number of channels of the gate.
func (g *InputGate) NumChannels() int { return len(g.channels) }

// Channel returns channel i, the Sender its producer writes to.
func (g *InputGate) Channel(i int) *LocalChannel { return g.channels[i] }

// Poll returns the next buffer and the index of the channel it came from, or
// ok == false if no channel has a buffer queued. Only the gate's consumer may
// call it.
func (g *InputGate) Poll() (b Buffer, channel int, ok bool) {
	g.mu.Lock()
	idx, ok := g.ready.pop()
	if !ok {
		g.mu.Unlock()
		return Buffer{}, 0, false
	}
	c := g.channels[idx]
	for c.blocked {
		// Aligning: leave the channel's buffers queued, and its producer
		// blocked once the queue is full, until Unblock.
		c.queued = false
		if idx, ok = g.ready.pop(); !ok {
			g.mu.Unlock()
			return Buffer{}, 0, false
		}
		c = g.channels[idx]
	}
	wasFull := c.queue.full()
	b = c.queue.pop()
	if c.queue.len() > 0 {
		g.ready.push(idx) // to the back: round-robin between busy channels
	} else {
		c.queued = false
	}
	onPoll := c.onPoll
	g.mu.Unlock()
	if wasFull {
		select {
		case c.space <- struct{}{}:
		default:
		}
	}
	if onPoll != nil {
		onPoll()
	}
	return b, idx, true
}

// SetOnPoll makes Poll (and so Drain) call fn each time it takes a buffer
// of channel ch out of the channel's queue, after the buffer left the queue
// and before Poll returns; nil removes the hook. fn runs on the consumer's
// goroutine without the gate's lock held; it must not block and must not
// call the gate. A remote channel uses it to return a credit to its
// producer (see package tcp). Set it before the channel's producer sends;
// a channel without a hook costs Poll one nil check.
func (g *InputGate) SetOnPoll(ch int, fn func()) {
	g.mu.Lock()
	g.channels[ch].onPoll = fn
	g.mu.Unlock()
}

// Block stops Poll from returning buffers of channel ch until Unblock: the
// consumer received a checkpoint barrier on it and waits for the barriers
// of its other channels (alignment). The buffers behind the barrier stay
// queued in order; once the queue is full, the producer blocks. Only the
// gate's consumer may call it.
func (g *InputGate) Block(ch int) {
	g.mu.Lock()
	g.channels[ch].blocked = true
	g.mu.Unlock()
}

// Unblock lets Poll return the buffers of channel ch again.
func (g *InputGate) Unblock(ch int) {
	g.mu.Lock()
	c := g.channels[ch]
	c.blocked = false
	ready := c.queue.len() > 0 && !c.queued
	if ready {
		c.queued = true
		g.ready.push(ch)
	}
	g.mu.Unlock()
	if ready {
		select {
		case g.signal <- struct{}{}:
		default:
		}
	}
}

// Drain recycles every buffer queued in the gate. A consumer that stops
// early calls it; so does whoever runs the tasks, once none runs any more,
// to catch buffers sent after the consumer stopped.
func (g *InputGate) Drain() {
	for ch := range g.channels {
		g.Unblock(ch)
	}
	for {
		b, _, ok := g.Poll()
		if !ok {
			return
		}
		if b.Segment != nil {
			b.Segment.Recycle()
		}
	}
}

// Available returns a channel that receives a value after a buffer arrives.
// A consumer that found Poll empty waits on it; a wake-up may be spurious.
func (g *InputGate) Available() <-chan struct{} { return g.signal }

// QueuedBuffers is the number of buffers queued in all channels, for metrics
// and tests.
func (g *InputGate) QueuedBuffers() int {
	g.mu.Lock()
	defer g.mu.Unlock()
	n := 0
	for _, c := range g.channels {
		n += c.queue.len()
	}
	return n
}

// LocalChannel is the in-process channel from one producer subtask to a
// consumer's gate. It implements Sender.
type LocalChannel struct {
	gate   *InputGate
	index  int
	queue  bufRing
	queued bool // index is in gate.ready; guarded by gate.mu
	// blocked: Poll skips the channel (alignment); guarded by gate.mu. A
	// blocked channel leaves gate.ready when Poll meets it there and comes
	// back at Unblock.
	blocked bool
	space   chan struct{} // signalled when a full queue loses a buffer
	onPoll  func()        // see SetOnPoll; guarded by gate.mu
}

// Capacity is the number of buffers the channel queues before its producer
// blocks.
func (c *LocalChannel) Capacity() int { return len(c.queue.buf) }

// Send implements Sender.
func (c *LocalChannel) Send(ctx context.Context, b Buffer) error {
	g := c.gate
	for {
		g.mu.Lock()
		if !c.queue.full() {
			c.queue.push(b)
			if !c.queued {
				c.queued = true
				g.ready.push(c.index)
			}
			g.mu.Unlock()
			select {
			case g.signal <- struct{}{}:
			default:
			}
			return nil
		}
		g.mu.Unlock()
		select {
		case <-c.space:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// ring is a fixed-capacity FIFO of ints.
type ring struct {
	buf        []int
	head, size int
}

func newRing(n int) ring { return ring{buf: make([]int, n)} }

func (r *ring) push(v int) {
	r.buf[(r.head+r.size)%len(r.buf)] = v
	r.size++
}

func (r *ring) pop() (int, bool) {
	if r.size == 0 {
		return 0, false
	}
	v := r.buf[r.head]
	r.head = (r.head + 1) % len(r.buf)
	r.size--
	return v, true
}

// bufRing is a fixed-capacity FIFO of buffers.
type bufRing struct {
	buf        []Buffer
	head, size int
}

func newBufRing(n int) bufRing { return bufRing{buf: make([]Buffer, n)} }

func (r *bufRing) len() int   { return r.size }
func (r *bufRing) full() bool { return r.size == len(r.buf) }

func (r *bufRing) push(b Buffer) {
	r.buf[(r.head+r.size)%len(r.buf)] = b
	r.size++
}

func (r *bufRing) pop() Buffer {
	b := r.buf[r.head]
	r.buf[r.head] = Buffer{}
	r.head = (r.head + 1) % len(r.buf)
	r.size--
	return b
}
