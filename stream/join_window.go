package stream

import (
	"context"
	"slices"
	"time"

	"github.com/runnel-io/runnel/stream/window"
)

// TaggedUnion is a record of either input of a window join or coGroup, as
// the window operator of WindowJoin sees it: Flink's TaggedUnion. A record
// of the left input has IsRight false and its value in Left; one of the
// right input has IsRight true and its value in Right. The other field is
// the zero value.
//
// The assigner, trigger and evictor of a window join are instantiated with
// it, since they see the records of both inputs (a dynamic session gap can
// depend on the side):
//
//	type either = stream.TaggedUnion[Order, Payment]
//	assigner := window.TumblingEventTimeWindows[either](time.Minute, 0)
//
// Both fields are encoded when the record crosses tasks or is kept in the
// window's state, so A and B must have codecs (codec.For).
type TaggedUnion[A, B any] struct {
	Left    A
	Right   B
	IsRight bool
}

// JoinFunction is called for every pair of a window join: a left and a
// right record of the same key in the same window. It is Flink's
// FlatJoinFunction (a JoinFunction is one that emits one record). The
// records it emits get the window's timestamp, MaxTimestamp.
//
// It may also implement Opener and Closer. Every subtask calls the same
// value, each from its own goroutine, one call at a time per subtask. An
// error returned or a panic raised fails the job with an error naming the
// operator and the subtask. The records it is given belong to the window's
// state: it must not modify them.
type JoinFunction[A, B, Out any] interface {
	Join(left A, right B, out Collector[Out]) error
}

// JoinFunc adapts a function to JoinFunction.
type JoinFunc[A, B, Out any] func(left A, right B, out Collector[Out]) error

// Join implements JoinFunction.
func (f JoinFunc[A, B, Out]) Join(left A, right B, out Collector[Out]) error {
	return f(left, right, out)
}

// CoGroupFunction is called once per key and window of a window coGroup,
// with the key's records of each input in the window, in the order the
// window received them: Flink's CoGroupFunction. One of the two lists may be
// empty (a key seen on one side only), never both. The records it emits get
// the window's timestamp, MaxTimestamp.
//
// It may also implement Opener and Closer, and is called as a JoinFunction
// is. The slices are the function's own: it may keep them, but must not
// modify the records in them.
type CoGroupFunction[A, B, Out any] interface {
	CoGroup(left []A, right []B, out Collector[Out]) error
}

// CoGroupFunc adapts a function to CoGroupFunction.
type CoGroupFunc[A, B, Out any] func(left []A, right []B, out Collector[Out]) error

// CoGroup implements CoGroupFunction.
func (f CoGroupFunc[A, B, Out]) CoGroup(left []A, right []B, out Collector[Out]) error {
	return f(left, right, out)
}

// WindowJoined is a window join or coGroup of two streams, being
// configured: Flink's JoinedStreams.WithWindow and
// CoGroupedStreams.WithWindow, which differ only in the function that
// JoinApply or CoGroupApply adds. Its methods return a modified copy.
type WindowJoined[K comparable, A, B any, W window.Window] struct {
	left     DataStream[A]
	right    DataStream[B]
	keyA     func(A) K
	keyB     func(B) K
	assigner window.Assigner[TaggedUnion[A, B], W]
	// options are applied in order to the windowed stream of the union.
	options []func(WindowedStream[K, TaggedUnion[A, B], W]) WindowedStream[K, TaggedUnion[A, B], W]
}

// WindowJoin joins, or coGroups, the records of a (left) and b (right) whose
// keys are equal and that fall into the same window of assigner: Flink's
// a.join(b).where(keyA).equalTo(keyB).window(assigner), or coGroup in place
// of join. Add the function with JoinApply (every pair of the window) or
// CoGroupApply (the two lists of the window).
//
// It is built as Flink builds it: each input is mapped to a TaggedUnion, the
// two are united and keyed by keyA or keyB, the union is cut into windows by
// assigner (with the trigger, evictor and allowed lateness set below), and
// the window function splits each window's records into the two lists. So
// every window semantics of Window holds: an event-time window fires when
// the event time, the minimum of the two inputs' watermarks, passes its end;
// records too late for every window are dropped; the results carry the
// window's MaxTimestamp.
//
// The two taggers run at the environment's parallelism; the window operator
// is the stream JoinApply or CoGroupApply returns, to configure as any
// other. An input of another parallelism than the taggers' is rebalanced to
// them, so a key's records may then reach the window in another order than
// the input's: that matters only to count triggers and evictors. K must
// have a codec (see KeyBy), and so must A and B.
func WindowJoin[K comparable, A, B any, W window.Window](a DataStream[A], b DataStream[B], keyA func(A) K, keyB func(B) K, assigner window.Assigner[TaggedUnion[A, B], W]) WindowJoined[K, A, B, W] {
	if a.env != b.env {
		a.env.errorf("stream: WindowJoin of streams from different environments")
	}
	if keyA == nil || keyB == nil {
		a.env.errorf("stream: WindowJoin: nil key function")
	}
	return WindowJoined[K, A, B, W]{left: a, right: b, keyA: keyA, keyB: keyB, assigner: assigner}
}

func (j WindowJoined[K, A, B, W]) with(opt func(WindowedStream[K, TaggedUnion[A, B], W]) WindowedStream[K, TaggedUnion[A, B], W]) WindowJoined[K, A, B, W] {
	j.options = append(slices.Clip(j.options), opt)
	return j
}

// Trigger replaces the assigner's default trigger (WindowedStream.Trigger).
func (j WindowJoined[K, A, B, W]) Trigger(t window.Trigger[TaggedUnion[A, B], W]) WindowJoined[K, A, B, W] {
	return j.with(func(ws WindowedStream[K, TaggedUnion[A, B], W]) WindowedStream[K, TaggedUnion[A, B], W] {
		return ws.Trigger(t)
	})
}

// Evictor sets an evictor (WindowedStream.Evictor), which sees the records
// of both inputs in the order the window received them.
func (j WindowJoined[K, A, B, W]) Evictor(e window.Evictor[TaggedUnion[A, B], W]) WindowJoined[K, A, B, W] {
	return j.with(func(ws WindowedStream[K, TaggedUnion[A, B], W]) WindowedStream[K, TaggedUnion[A, B], W] {
		return ws.Evictor(e)
	})
}

// AllowedLateness keeps event-time windows for d after their end, so that
// late records of either input fire them again with everything they hold
// (WindowedStream.AllowedLateness): a late firing of a join emits every
// pair of the window again, not only the new ones, as in Flink.
func (j WindowJoined[K, A, B, W]) AllowedLateness(d time.Duration) WindowJoined[K, A, B, W] {
	return j.with(func(ws WindowedStream[K, TaggedUnion[A, B], W]) WindowedStream[K, TaggedUnion[A, B], W] {
		return ws.AllowedLateness(d)
	})
}

// windowed builds the keyed, windowed union of the two inputs.
func (j WindowJoined[K, A, B, W]) windowed(kind string) WindowedStream[K, TaggedUnion[A, B], W] {
	left := Map(j.left, func(v A) (TaggedUnion[A, B], error) {
		return TaggedUnion[A, B]{Left: v}, nil
	}).Name(kind + "/Left")
	right := Map(j.right, func(v B) (TaggedUnion[A, B], error) {
		return TaggedUnion[A, B]{Right: v, IsRight: true}, nil
	}).Name(kind + "/Right")
	keyA, keyB := j.keyA, j.keyB
	ks := KeyBy(Union(left, right), func(u TaggedUnion[A, B]) K {
		if u.IsRight {
			return keyB(u.Right)
		}
		return keyA(u.Left)
	})
	ws := Window(ks, j.assigner)
	for _, opt := range j.options {
		ws = opt(ws)
	}
	return ws
}

// JoinApply adds the window join j with fn, called for every pair of a left
// and a right record of a key in a window, each time the window fires: an
// inner join (a key with records on one side only emits nothing). Within a
// firing the pairs come left record by left record, each with the right
// records in arrival order. It is the coGroup of the window with a nested
// loop, as in Flink.
func JoinApply[K comparable, A, B, Out any, W window.Window](j WindowJoined[K, A, B, W], fn JoinFunction[A, B, Out]) DataStream[Out] {
	if fn == nil {
		j.left.env.errorf("stream: JoinApply: nil join function")
	}
	return windowCoGroup(j, "WindowJoin", fn, func(left []A, right []B, out Collector[Out]) error {
		for _, l := range left {
			for _, r := range right {
				if err := fn.Join(l, r, out); err != nil {
					return err
				}
			}
		}
		return nil
	})
}

// CoGroupApply adds the window coGroup j with fn, called once per key and
// window each time the window fires, with the key's left and right records
// in the window.
func CoGroupApply[K comparable, A, B, Out any, W window.Window](j WindowJoined[K, A, B, W], fn CoGroupFunction[A, B, Out]) DataStream[Out] {
	if fn == nil {
		j.left.env.errorf("stream: CoGroupApply: nil coGroup function")
	}
	return windowCoGroup(j, "WindowCoGroup", fn, func(left []A, right []B, out Collector[Out]) error {
		return fn.CoGroup(left, right, out)
	})
}

func windowCoGroup[K comparable, A, B, Out any, W window.Window](j WindowJoined[K, A, B, W], kind string, user any, coGroup func([]A, []B, Collector[Out]) error) DataStream[Out] {
	pwf := coGroupWindow[K, A, B, Out, W]{coGroup: coGroup, user: user}
	return WindowProcess(j.windowed(kind), ProcessWindowFunction[K, TaggedUnion[A, B], Out, W](pwf)).Name(kind)
}

// coGroupWindow is the window function of a window join or coGroup (Flink's
// CoGroupWindowFunction): it splits a window's records by input.
type coGroupWindow[K comparable, A, B, Out any, W window.Window] struct {
	coGroup func(left []A, right []B, out Collector[Out]) error
	user    any // the user's function, for Opener and Closer
}

func (f coGroupWindow[K, A, B, Out, W]) Process(_ *WindowContext[K, W], elems []TaggedUnion[A, B], out Collector[Out]) error {
	nr := 0
	for i := range elems {
		if elems[i].IsRight {
			nr++
		}
	}
	left, right := make([]A, 0, len(elems)-nr), make([]B, 0, nr)
	for i := range elems {
		if elems[i].IsRight {
			right = append(right, elems[i].Right)
		} else {
			left = append(left, elems[i].Left)
		}
	}
	return f.coGroup(left, right, out)
}

// Open implements Opener for the user's function.
func (f coGroupWindow[K, A, B, Out, W]) Open(ctx context.Context, rc *RuntimeContext) error {
	if o, ok := f.user.(Opener); ok {
		return o.Open(ctx, rc)
	}
	return nil
}

// Close implements Closer for the user's function.
func (f coGroupWindow[K, A, B, Out, W]) Close() error {
	if c, ok := f.user.(Closer); ok {
		return c.Close()
	}
	return nil
}
