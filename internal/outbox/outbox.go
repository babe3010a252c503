// Package outbox sends messages to one peer in order, in batches, from a
// goroutine of its own, so that whoever adds a message never waits for the
// network.
package outbox

import (
	"context"
	"errors"
	"sync"
)

// ErrFull is the failure of an outbox whose peer fell Limit messages
// behind.
var ErrFull = errors.New("outbox: the peer fell too far behind")

// Outbox queues messages of type T for Run, which sends them in the order
// they were added, as many at once as are queued. Add never blocks: the
// queue holds at most Limit messages, and one more fails the outbox, as a
// peer that stopped taking messages has failed. Its methods are safe for
// concurrent use.
type Outbox[T any] struct {
	limit int

	mu     sync.Mutex
	queue  []T
	err    error
	wake   chan struct{}
	closed bool
}

// New returns an outbox of at most limit queued messages.
func New[T any](limit int) *Outbox[T] {
	return &Outbox[T]{limit: limit, wake: make(chan struct{}, 1)}
}

// Add queues m; it reports false if the outbox failed or was closed (m is
// dropped then).
func (o *Outbox[T]) Add(m T) bool {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.err != nil || o.closed {
		return false
	}
	if len(o.queue) >= o.limit {
		o.err = ErrFull
		o.queue = nil
		o.signal()
		return false
	}
	o.queue = append(o.queue, m)
	o.signal()
	return true
}

func (o *Outbox[T]) signal() {
	select {
	case o.wake <- struct{}{}:
	default:
	}
}

// Close makes Run return once it has sent what is queued.
func (o *Outbox[T]) Close() {
	o.mu.Lock()
	o.closed = true
	o.signal()
	o.mu.Unlock()
}

// Run sends the queued messages with send, a batch at a time, until ctx is
// done, Close was called and the queue is empty, or send or the queue
// fails; it returns the failure (nil after Close, ctx's error when it is
// done). After a failure Add drops every message.
func (o *Outbox[T]) Run(ctx context.Context, send func(ctx context.Context, batch []T) error) error {
	for {
		o.mu.Lock()
		batch, err, closed := o.queue, o.err, o.closed
		o.queue = nil
		o.mu.Unlock()
		if err != nil {
			return err
		}
		if len(batch) > 0 {
			if err := send(ctx, batch); err != nil {
				o.mu.Lock()
				o.err, o.queue = err, nil
				o.mu.Unlock()
				return err
			}
			continue
		}
		if closed {
			return nil
		}
		select {
		case <-o.wake:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}
