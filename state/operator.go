package state

import (
	"fmt"
	"iter"
	"reflect"

	"github.com/runnel-io/runnel/codec"
)

// Distribution says how an operator state is redistributed when a job is
// restored, possibly with another parallelism. The backend records it with
// each state, and snapshots it, so that RedistributeOperatorState can
// redistribute correctly.
type Distribution uint8

const (
	// DistributeSplit (list state): the elements of all subtasks are pooled
	// and split evenly among the new subtasks, each element going to one.
	DistributeSplit Distribution = iota + 1
	// DistributeUnion (union list state): every new subtask gets the
	// elements of all subtasks.
	DistributeUnion
	// DistributeBroadcast (broadcast state): every subtask holds the same
	// map, so every new subtask gets one copy of it.
	DistributeBroadcast
)

// String returns the name of the distribution.
func (d Distribution) String() string {
	switch d {
	case DistributeSplit:
		return "split"
	case DistributeUnion:
		return "union"
	case DistributeBroadcast:
		return "broadcast"
	}
	return fmt.Sprintf("Distribution(%d)", uint8(d))
}

// OperatorBackend holds the operator (non-keyed) state of one subtask, in
// memory: list and union list states (typically a source's offsets or a
// sink's pending transactions) and broadcast states. These states have no
// key and no namespace, and no TTL.
//
// Snapshot copies the states for a checkpoint; Restore, called before any
// state is registered, loads them from a snapshot, typically one that
// RedistributeOperatorState computed.
//
// An OperatorBackend and its states are not safe for concurrent use: they
// belong to the goroutine that runs the operator.
type OperatorBackend struct {
	states map[string]operatorState
	order  []operatorState

	// restored holds the states restored from a snapshot that have not been
	// registered since, undecoded (snapshot_operator.go), and restoredOrder
	// their names in the snapshot's order.
	restored      map[string]*OperatorStateData
	restoredOrder []string
	restoreDone   bool
}

type operatorState interface {
	meta() *operatorMeta
	// snapshot returns the encodings of the state's elements (entries, for
	// broadcast state), in a slice the caller owns.
	snapshot() [][]byte
	// restore decodes elements into the state, which must be empty.
	restore(elements [][]byte) error
}

type operatorMeta struct {
	name string
	kind string // for error messages
	dist Distribution
}

// NewOperatorBackend returns an empty operator state backend.
func NewOperatorBackend() *OperatorBackend {
	return &OperatorBackend{states: make(map[string]operatorState)}
}

// Distribution returns how the state called name is redistributed on
// restore, and false if there is no such state.
func (b *OperatorBackend) Distribution(name string) (Distribution, bool) {
	s, ok := b.states[name]
	if !ok {
		return 0, false
	}
	return s.meta().dist, true
}

// Names returns the names of the registered states in registration order.
// The slice is the caller's.
func (b *OperatorBackend) Names() []string {
	names := make([]string, len(b.order))
	for i, s := range b.order {
		names[i] = s.meta().name
	}
	return names
}

// getOrRegisterOp is getOrRegister for operator state: it also restores a
// new state from the restored snapshot.
func getOrRegisterOp[S operatorState](b *OperatorBackend, core descriptorCore, kind string, create func(m operatorMeta) (S, error)) (S, error) {
	var zero S
	if err := core.check(); err != nil {
		return zero, err
	}
	if core.hasTTL {
		return zero, fmt.Errorf("%w: state %q: operator state has no TTL", ErrInvalidDescriptor, core.name)
	}
	if old, ok := b.states[core.name]; ok {
		s, ok := old.(S)
		if !ok || s.meta().kind != kind {
			return zero, fmt.Errorf("%w: state %q is a %s, asked for as a %s", ErrIncompatibleState, core.name, old.meta().kind, kind)
		}
		return s, nil
	}
	s, err := create(operatorMeta{name: core.name, kind: kind})
	if err != nil {
		return zero, err
	}
	if raw, ok := b.restored[core.name]; ok {
		if dist := s.meta().dist; raw.Distribution != dist {
			return zero, fmt.Errorf("%w: state %q was snapshotted with distribution %v, asked for as a %s (distribution %v)",
				ErrIncompatibleState, core.name, raw.Distribution, kind, dist)
		}
		if err := s.restore(raw.Elements); err != nil {
			return zero, err
		}
		delete(b.restored, core.name)
	}
	b.states[core.name] = s
	b.order = append(b.order, s)
	return s, nil
}

type opListState[V any] struct {
	m     operatorMeta
	vs    []V
	codec codec.Codec[V]
}

func (s *opListState[V]) meta() *operatorMeta { return &s.m }

// GetOperatorListState returns the backend's list state declared by d,
// registering it on first use; on restore its elements are split evenly
// among the subtasks (DistributeSplit). Asking again with the same name
// returns the same state. It returns an error wrapping ErrIncompatibleState
// if the name is registered as another kind of state (a union list state
// included) or with another element type, and one wrapping
// ErrInvalidDescriptor if d is invalid or has TTL. If the backend was
// restored, the state gets its restored elements here, with errors as
// OperatorBackend.Restore describes.
func GetOperatorListState[V any](b *OperatorBackend, d ListDescriptor[V]) (ListState[V], error) {
	return getOpList(b, d, DistributeSplit, "ListState")
}

// GetUnionListState returns the backend's union list state declared by d,
// registering it on first use; on restore every subtask gets the elements
// of all subtasks (DistributeUnion). Errors are as for GetOperatorListState.
func GetUnionListState[V any](b *OperatorBackend, d ListDescriptor[V]) (ListState[V], error) {
	return getOpList(b, d, DistributeUnion, "UnionListState")
}

func getOpList[V any](b *OperatorBackend, d ListDescriptor[V], dist Distribution, kind string) (ListState[V], error) {
	kind = fmt.Sprintf("%s[%v]", kind, reflect.TypeFor[V]())
	return getOrRegisterOp(b, d.core, kind, func(m operatorMeta) (*opListState[V], error) {
		c, err := resolveCodec(d.codec, m.name, "element")
		if err != nil {
			return nil, err
		}
		m.dist = dist
		return &opListState[V]{m: m, codec: c}, nil
	})
}

// Get implements ListState.
func (s *opListState[V]) Get() ([]V, error) {
	if len(s.vs) == 0 {
		return nil, nil
	}
	return s.vs[:len(s.vs):len(s.vs)], nil
}

// Add implements ListState.
func (s *opListState[V]) Add(v V) error {
	s.vs = append(s.vs, v)
	return nil
}

// AddAll implements ListState.
func (s *opListState[V]) AddAll(vs []V) error {
	s.vs = append(s.vs, vs...)
	return nil
}

// Update implements ListState.
func (s *opListState[V]) Update(vs []V) error {
	old := len(s.vs)
	s.vs = append(s.vs[:0], vs...)
	if old > len(vs) {
		clear(s.vs[len(vs):old])
	}
	return nil
}

// Clear implements ListState.
func (s *opListState[V]) Clear() error {
	clear(s.vs)
	s.vs = s.vs[:0]
	return nil
}

type broadcastState[UK comparable, UV any] struct {
	m          operatorMeta
	entries    map[UK]UV
	keyCodec   codec.Codec[UK]
	valueCodec codec.Codec[UV]
}

func (s *broadcastState[UK, UV]) meta() *operatorMeta { return &s.m }

// GetBroadcastState returns the backend's broadcast state declared by d,
// registering it on first use: a map that the operator keeps identical on
// every subtask (by applying the same broadcast elements to it), so that on
// restore every subtask gets one copy (DistributeBroadcast). Errors are as
// for GetOperatorListState.
func GetBroadcastState[UK comparable, UV any](b *OperatorBackend, d MapDescriptor[UK, UV]) (MapState[UK, UV], error) {
	kind := fmt.Sprintf("BroadcastState[%v, %v]", reflect.TypeFor[UK](), reflect.TypeFor[UV]())
	return getOrRegisterOp(b, d.core, kind, func(m operatorMeta) (*broadcastState[UK, UV], error) {
		kc, err := resolveCodec(d.keyCodec, m.name, "map key")
		if err != nil {
			return nil, err
		}
		vc, err := resolveCodec(d.valueCodec, m.name, "map value")
		if err != nil {
			return nil, err
		}
		m.dist = DistributeBroadcast
		return &broadcastState[UK, UV]{m: m, entries: make(map[UK]UV), keyCodec: kc, valueCodec: vc}, nil
	})
}

// Get implements MapState.
func (s *broadcastState[UK, UV]) Get(uk UK) (UV, bool, error) {
	v, ok := s.entries[uk]
	return v, ok, nil
}

// Put implements MapState.
func (s *broadcastState[UK, UV]) Put(uk UK, uv UV) error {
	s.entries[uk] = uv
	return nil
}

// PutAll implements MapState.
func (s *broadcastState[UK, UV]) PutAll(m map[UK]UV) error {
	for uk, uv := range m {
		s.entries[uk] = uv
	}
	return nil
}

// Remove implements MapState.
func (s *broadcastState[UK, UV]) Remove(uk UK) error {
	delete(s.entries, uk)
	return nil
}

// Contains implements MapState.
func (s *broadcastState[UK, UV]) Contains(uk UK) (bool, error) {
	_, ok := s.entries[uk]
	return ok, nil
}

// All implements MapState. Broadcast state has no current key: it iterates
// the whole map.
func (s *broadcastState[UK, UV]) All() iter.Seq2[UK, UV] {
	return func(yield func(UK, UV) bool) {
		for uk, uv := range s.entries {
			if !yield(uk, uv) {
				return
			}
		}
	}
}

// Len implements MapState.
func (s *broadcastState[UK, UV]) Len() (int, error) { return len(s.entries), nil }

// IsEmpty implements MapState.
func (s *broadcastState[UK, UV]) IsEmpty() (bool, error) { return len(s.entries) == 0, nil }

// Clear implements MapState.
func (s *broadcastState[UK, UV]) Clear() error {
	clear(s.entries)
	return nil
}
