package state

import (
	"fmt"
	"iter"
	"reflect"

	"github.com/runnel-io/runnel/codec"
	"github.com/runnel-io/runnel/runtime/clock"
	"github.com/runnel-io/runnel/state/keygroup"
)

// KeyedBackend is the heap state backend of one keyed operator subtask: it
// holds the keyed states of the key groups the subtask owns, in memory,
// organized by key group.
//
// The operator sets the key of each record (or timer) with SetCurrentKey;
// every state then reads and writes the entries of that key. States are
// obtained once, typically when the operator opens, with the getters
// GetValueState, GetListState, GetMapState, GetReducingState and
// GetAggregatingState.
//
// Snapshot copies the state for a checkpoint; Restore, called before any
// state is registered, loads it from the snapshots of a previous run.
//
// A KeyedBackend and its states are not safe for concurrent use: they belong
// to the goroutine that runs the operator.
type KeyedBackend[K comparable] struct {
	keyCodec       codec.Codec[K]
	maxParallelism int
	groups         keygroup.Range
	clk            clock.Clock

	scratch []byte // the current key's encoding, reused
	key     K      // the current key
	kg      int    // the current key's group, -1 before the first key
	kgi     int    // kg - groups.Start, -1 before the first key

	states map[string]keyedState[K]
	order  []keyedState[K] // states in registration order
	timers map[string]timerSource[K]

	// restored holds the states restored from snapshots that have not been
	// registered since, undecoded (snapshot_keyed.go).
	restored    map[string]*rawState
	restoreDone bool
}

// keyedState is what the backend sees of a state, whatever its types.
type keyedState[K comparable] interface {
	meta() *stateMeta
	numEntries() int
	// appendKeys appends the distinct keys of group g (an index into the
	// backend's range) that have an entry in some namespace, using and
	// clearing seen if the state has several namespaces.
	appendKeys(dst []K, g int, seen map[K]struct{}) []K
	// encodeGroup adds every entry of group g to w, in the snapshot format.
	encodeGroup(w *entryWriter, g int)
	// restoreGroup decodes the body of a snapshot section into group g,
	// which must be empty.
	restoreGroup(g int, body []byte) error
}

// stateMeta is what every registered state records about itself.
type stateMeta struct {
	name   string
	kind   string    // for error messages: "ValueState[int64] in namespace state.VoidNamespace"
	tag    stateKind // for snapshots
	ttl    TTLConfig
	hasTTL bool
}

// NewKeyedBackend returns an empty backend for the key groups in r, out of
// maxParallelism. keyCodec encodes keys to find their key group and to
// snapshot them; clk is the processing time of TTL.
//
// It panics if keyCodec or clk is nil, if maxParallelism is outside [1,
// keygroup.UpperBound], or if r is empty or not within [0, maxParallelism):
// the runtime computes these, so a bad one is a bug, not a user error.
func NewKeyedBackend[K comparable](keyCodec codec.Codec[K], maxParallelism int, r keygroup.Range, clk clock.Clock) *KeyedBackend[K] {
	switch {
	case keyCodec == nil:
		panic("state: NewKeyedBackend: nil key codec")
	case clk == nil:
		panic("state: NewKeyedBackend: nil clock")
	case maxParallelism < 1 || maxParallelism > keygroup.UpperBound:
		panic(fmt.Sprintf("state: NewKeyedBackend: max parallelism %d is outside [1, %d]", maxParallelism, keygroup.UpperBound))
	case r.Start < 0 || r.End >= maxParallelism || r.Len() < 1:
		panic(fmt.Sprintf("state: NewKeyedBackend: %v is not a non-empty range within [0, %d)", r, maxParallelism))
	}
	return &KeyedBackend[K]{
		keyCodec:       keyCodec,
		maxParallelism: maxParallelism,
		groups:         r,
		clk:            clk,
		kg:             -1,
		kgi:            -1,
		states:         make(map[string]keyedState[K]),
		timers:         make(map[string]timerSource[K]),
	}
}

// SetCurrentKey makes k the key that every state of the backend reads and
// writes until the next call. It encodes k with the key codec (into a
// reused buffer, without allocating) and computes its key group once.
//
// It panics if k's key group is outside the backend's range: the record or
// timer was routed to the wrong subtask, which breaks the invariant that
// routing (keygroup.OperatorIndex) and state (keygroup.RangeFor) agree.
func (b *KeyedBackend[K]) SetCurrentKey(k K) {
	b.scratch = b.keyCodec.Append(b.scratch[:0], k)
	kg := keygroup.Of(b.scratch, b.maxParallelism)
	if !b.groups.Contains(kg) {
		b.misrouted(k, kg)
	}
	b.key, b.kg, b.kgi = k, kg, kg-b.groups.Start
}

//go:noinline
func (b *KeyedBackend[K]) misrouted(k K, kg int) {
	panic(fmt.Sprintf("state: key %v is in key group %d (of %d), outside this backend's %v: "+
		"a record or timer reached the wrong subtask (routing and key group ranges disagree)",
		k, kg, b.maxParallelism, b.groups))
}

// CurrentKey returns the current key: the zero K before the first
// SetCurrentKey.
func (b *KeyedBackend[K]) CurrentKey() K { return b.key }

// CurrentKeyGroup returns the current key's group, or -1 before the first
// SetCurrentKey.
func (b *KeyedBackend[K]) CurrentKeyGroup() int { return b.kg }

// KeyGroupRange returns the key groups the backend holds.
func (b *KeyedBackend[K]) KeyGroupRange() keygroup.Range { return b.groups }

// MaxParallelism returns the number of key groups of the job.
func (b *KeyedBackend[K]) MaxParallelism() int { return b.maxParallelism }

// NumEntries returns the number of entries of all states in all key groups,
// an entry being one key and namespace of one state (a list or a map counts
// once however many elements it has). Expired entries count until they are
// removed. It is meant for tests that assert that state stays bounded.
func (b *KeyedBackend[K]) NumEntries() int {
	n := 0
	for _, s := range b.order {
		n += s.numEntries()
	}
	return n
}

// Keys returns an iterator over the keys that have an entry in the state
// called stateName, in any namespace, each once, in key group order (the
// order within a key group is unspecified). It yields nothing for an
// unknown name. Keys does not change the current key.
//
// Keys collects the keys of one key group before yielding them, so the loop
// body may read and write state, even remove entries: it sees every key
// that had an entry when its key group was reached and may see keys of
// that group added since.
func (b *KeyedBackend[K]) Keys(stateName string) iter.Seq[K] {
	return func(yield func(K) bool) {
		s, ok := b.states[stateName]
		if !ok {
			return
		}
		var buf []K
		seen := make(map[K]struct{})
		for g := range b.groups.Len() {
			buf = s.appendKeys(buf[:0], g, seen)
			for _, k := range buf {
				if !yield(k) {
					return
				}
			}
		}
	}
}

// ForEachKey calls fn with each key Keys(stateName) yields, with that key
// current, so that fn can read and write its state (and remove it). It stops
// at, and returns, the first error of fn. Afterwards the previous current key
// is current again (or none, if none was).
func (b *KeyedBackend[K]) ForEachKey(stateName string, fn func(k K) error) error {
	key, kg, kgi := b.key, b.kg, b.kgi
	defer func() { b.key, b.kg, b.kgi = key, kg, kgi }()
	for k := range b.Keys(stateName) {
		b.SetCurrentKey(k)
		if err := fn(k); err != nil {
			return err
		}
	}
	return nil
}

// getOrRegister returns the state registered under core.name if it is an S
// with the same TTL, an error if it is anything else, or else registers
// and returns a new one made by create, holding the entries restored under
// its name, if any. kind describes S for errors; tag is its snapshot kind.
func getOrRegister[K comparable, S keyedState[K]](b *KeyedBackend[K], core descriptorCore, tag stateKind, kind string, create func(meta stateMeta) (S, error)) (S, error) {
	var zero S
	if err := core.check(); err != nil {
		return zero, err
	}
	if old, ok := b.states[core.name]; ok {
		m := old.meta()
		s, ok := old.(S)
		if !ok {
			return zero, fmt.Errorf("%w: state %q is a %s, asked for as a %s", ErrIncompatibleState, core.name, m.kind, kind)
		}
		if m.hasTTL != core.hasTTL || m.ttl != core.ttl {
			return zero, fmt.Errorf("%w: state %q has TTL %s, asked for with TTL %s",
				ErrIncompatibleState, core.name, describeTTL(m.ttl, m.hasTTL), describeTTL(core.ttl, core.hasTTL))
		}
		return s, nil
	}
	if _, ok := b.timers[core.name]; ok {
		return zero, fmt.Errorf("%w: %q is a timer queue, asked for as a %s", ErrIncompatibleState, core.name, kind)
	}
	s, err := create(stateMeta{name: core.name, kind: kind, tag: tag, ttl: core.ttl, hasTTL: core.hasTTL})
	if err != nil {
		return zero, err
	}
	if raw, ok := b.restored[core.name]; ok {
		if err := restoreState(s, raw); err != nil {
			return zero, err
		}
		delete(b.restored, core.name)
	}
	b.states[core.name] = s
	b.order = append(b.order, s)
	return s, nil
}

func describeTTL(c TTLConfig, ok bool) string {
	if !ok {
		return "none"
	}
	cleanup := "no incremental cleanup"
	if c.CleanupIncrementally > 0 {
		cleanup = fmt.Sprintf("incremental cleanup of %d entries per access", c.CleanupIncrementally)
	}
	return fmt.Sprintf("%v (%v, %v, %s)", c.TTL, c.Update, c.Visibility, cleanup)
}

// kindName describes a state kind with its type arguments for error
// messages, e.g. "ValueState[int64] in namespace state.VoidNamespace".
func kindName[N any](kind string, types ...reflect.Type) string {
	s := kind + "["
	for i, t := range types {
		if i > 0 {
			s += ", "
		}
		s += t.String()
	}
	return s + "] in namespace " + reflect.TypeFor[N]().String()
}
