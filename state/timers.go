package state

import (
	"container/heap"
	"iter"
)

// Timer is a timer of a keyed operator: a time, the key it fires for and a
// namespace (the window, for window operators).
type Timer[K, N comparable] struct {
	Time      int64
	Key       K
	Namespace N
}

// TimerQueue holds the timers of one time domain (event or processing time)
// of a keyed operator subtask, ordered by time: Flink's internal timer
// queue. A timer is registered at most once: registering it again does
// nothing (Flink's deduplication per key, namespace and time). Among timers
// of equal time the earlier registered fires first.
//
// A TimerQueue is not safe for concurrent use.
type TimerQueue[K, N comparable] struct {
	h     timerHeap[K, N]
	index map[Timer[K, N]]*queued[K, N]
	seq   uint64
}

type queued[K, N comparable] struct {
	t   Timer[K, N]
	seq uint64
	pos int
}

// NewTimerQueue returns an empty queue.
func NewTimerQueue[K, N comparable]() *TimerQueue[K, N] {
	return &TimerQueue[K, N]{index: map[Timer[K, N]]*queued[K, N]{}}
}

// Register adds t unless it is already queued, and reports whether it added
// it.
func (q *TimerQueue[K, N]) Register(t Timer[K, N]) bool {
	if _, ok := q.index[t]; ok {
		return false
	}
	q.seq++
	e := &queued[K, N]{t: t, seq: q.seq}
	q.index[t] = e
	heap.Push(&q.h, e)
	return true
}

// Delete removes t and reports whether it was queued.
func (q *TimerQueue[K, N]) Delete(t Timer[K, N]) bool {
	e, ok := q.index[t]
	if !ok {
		return false
	}
	delete(q.index, t)
	heap.Remove(&q.h, e.pos)
	return true
}

// Peek returns the earliest timer, if any.
func (q *TimerQueue[K, N]) Peek() (Timer[K, N], bool) {
	if len(q.h) == 0 {
		return Timer[K, N]{}, false
	}
	return q.h[0].t, true
}

// PopUntil removes and returns the earliest timer if its time is at most
// t.
func (q *TimerQueue[K, N]) PopUntil(t int64) (Timer[K, N], bool) {
	if len(q.h) == 0 || q.h[0].t.Time > t {
		return Timer[K, N]{}, false
	}
	e := heap.Pop(&q.h).(*queued[K, N])
	delete(q.index, e.t)
	return e.t, true
}

// Len is the number of queued timers.
func (q *TimerQueue[K, N]) Len() int { return len(q.h) }

// All yields the queued timers in no particular order; the queue must not
// change during the iteration.
func (q *TimerQueue[K, N]) All() iter.Seq[Timer[K, N]] {
	return func(yield func(Timer[K, N]) bool) {
		for _, e := range q.h {
			if !yield(e.t) {
				return
			}
		}
	}
}

type timerHeap[K, N comparable] []*queued[K, N]

func (h timerHeap[K, N]) Len() int { return len(h) }
func (h timerHeap[K, N]) Less(i, j int) bool {
	return h[i].t.Time < h[j].t.Time || h[i].t.Time == h[j].t.Time && h[i].seq < h[j].seq
}
func (h timerHeap[K, N]) Swap(i, j int) {
	h[i], h[j] = h[j], h[i]
	h[i].pos, h[j].pos = i, j
}
func (h *timerHeap[K, N]) Push(x any) {
	e := x.(*queued[K, N])
	e.pos = len(*h)
	*h = append(*h, e)
}
func (h *timerHeap[K, N]) Pop() any {
	old := *h
	e := old[len(old)-1]
	old[len(old)-1] = nil
	*h = old[:len(old)-1]
	return e
}
