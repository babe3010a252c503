package partition

import (
	"fmt"
	"math/rand/v2"

	"github.com/runnel-io/runnel/codec"
	"github.com/runnel-io/runnel/runtime/network"
	"github.com/runnel-io/runnel/state/keygroup"
)

// Kind names a partitioning strategy.
type Kind int

const (
	Forward Kind = iota
	Rebalance
	Rescale
	Shuffle
	Broadcast
	Global
	Hash
	Custom
)

var kindNames = [...]string{"FORWARD", "REBALANCE", "RESCALE", "SHUFFLE", "BROADCAST", "GLOBAL", "HASH", "CUSTOM"}

func (k Kind) String() string {
	if k >= 0 && int(k) < len(kindNames) {
		return kindNames[k]
	}
	return fmt.Sprintf("Kind(%d)", int(k))
}

// Partitioner describes how an edge routes records. Implementations are
// immutable and safe for concurrent use.
type Partitioner interface {
	Kind() Kind
	// Pointwise reports whether producer i only sends to a subset of the
	// consumers (forward: consumer i only) rather than to all of them.
	Pointwise() bool
	// Selector returns a network.Selector[T] (T being the edge's record type)
	// for producer subtask index (of producers), writing to the given number
	// of consumer channels of an operator with maxParallelism key groups.
	Selector(index, producers, channels, maxParallelism int) any
}

// Of returns the partitioner of kind k for records of type T. Hash and Custom
// need a key: use ByKey and ByKeyCustom.
func Of[T any](k Kind) Partitioner {
	if k == Hash || k == Custom || k < 0 || int(k) >= len(kindNames) {
		panic(fmt.Sprintf("partition: Of(%v): not a key-less strategy", k))
	}
	return simple[T]{kind: k}
}

type simple[T any] struct{ kind Kind }

func (p simple[T]) Kind() Kind      { return p.kind }
func (p simple[T]) Pointwise() bool { return p.kind == Forward }

func (p simple[T]) Selector(index, producers, channels, _ int) any {
	switch p.kind {
	case Forward, Global:
		return network.Selector[T](constant[T](0))
	case Broadcast:
		return network.Selector[T](constant[T](network.Broadcast))
	case Rebalance:
		return network.Selector[T](&roundRobin[T]{next: index % channels, start: 0, n: channels})
	case Rescale:
		// Producer i sends round-robin to its share of the consumers, as
		// Flink's rescale does over a pointwise connection.
		lo, hi := rescaleRange(index, producers, channels)
		return network.Selector[T](&roundRobin[T]{next: lo, start: lo, n: hi - lo})
	case Shuffle:
		return network.Selector[T](&shuffle[T]{rng: rand.New(rand.NewPCG(uint64(index), 0x72756e6e656c)), n: channels})
	}
	panic(fmt.Sprintf("partition: no selector for %v", p.kind))
}

// rescaleRange returns the consumers [lo, hi) of producer index.
func rescaleRange(index, producers, channels int) (lo, hi int) {
	if producers >= channels {
		// Several producers share one consumer.
		c := index * channels / producers
		return c, c + 1
	}
	lo = index * channels / producers
	hi = (index + 1) * channels / producers
	return lo, hi
}

type constant[T any] int

func (c constant[T]) Select(T) int { return int(c) }

type roundRobin[T any] struct{ next, start, n int }

func (r *roundRobin[T]) Select(T) int {
	c := r.next
	r.next++
	if r.next == r.start+r.n {
		r.next = r.start
	}
	return c
}

type shuffle[T any] struct {
	rng *rand.Rand
	n   int
}

func (s *shuffle[T]) Select(T) int { return s.rng.IntN(s.n) }

// ByKey returns the hash partitioner of a keyed stream: each record goes to
// the subtask owning the key group of key(record).
func ByKey[T any, K any](key func(T) K, kc codec.Codec[K]) Partitioner {
	return keyed[T, K]{key: key, codec: kc}
}

type keyed[T any, K any] struct {
	key   func(T) K
	codec codec.Codec[K]
}

func (p keyed[T, K]) Kind() Kind      { return Hash }
func (p keyed[T, K]) Pointwise() bool { return false }

func (p keyed[T, K]) Selector(_, _, channels, maxParallelism int) any {
	return network.Selector[T](&keySelector[T, K]{key: p.key, codec: p.codec, channels: channels, maxP: maxParallelism})
}

type keySelector[T any, K any] struct {
	key      func(T) K
	codec    codec.Codec[K]
	channels int
	maxP     int
	scratch  []byte
}

func (s *keySelector[T, K]) Select(v T) int {
	s.scratch = s.codec.Append(s.scratch[:0], s.key(v))
	return keygroup.OperatorIndex(s.maxP, s.channels, keygroup.Of(s.scratch, s.maxP))
}

// ByKeyCustom returns a partitioner that routes each record by a user
// function of its key, as Flink's partitionCustom. The function must return
// a channel in [0, n); a value outside is reported by the task as an error.
func ByKeyCustom[T any, K any](key func(T) K, fn func(key K, n int) int) Partitioner {
	return custom[T, K]{key: key, fn: fn}
}

type custom[T any, K any] struct {
	key func(T) K
	fn  func(K, int) int
}

func (p custom[T, K]) Kind() Kind      { return Custom }
func (p custom[T, K]) Pointwise() bool { return false }

func (p custom[T, K]) Selector(_, _, channels, _ int) any {
	return network.Selector[T](customSelector[T, K]{p: p, n: channels})
}

type customSelector[T any, K any] struct {
	p custom[T, K]
	n int
}

func (s customSelector[T, K]) Select(v T) int {
	c := s.p.fn(s.p.key(v), s.n)
	if c < 0 || c >= s.n {
		panic(fmt.Sprintf("partition: custom partitioner returned channel %d, want [0, %d)", c, s.n))
	}
	return c
}
