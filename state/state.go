package state

import (
	"errors"
	"iter"
)

// Sentinel errors. Errors returned by this package wrap one of them (check
// with errors.Is) and name the state concerned.
var (
	// ErrNoCurrentKey is returned by a keyed state accessed before the
	// backend's first SetCurrentKey: outside a keyed context.
	ErrNoCurrentKey = errors.New("state: no current key")
	// ErrIncompatibleState is returned by a getter asked for a state whose
	// name is already registered with a different kind, different types or a
	// different TTL configuration, or whose restored entries were
	// snapshotted as another kind, with or without TTL unlike the
	// descriptor, or do not decode with its codecs.
	ErrIncompatibleState = errors.New("state: incompatible state registration")
	// ErrInvalidDescriptor is returned by a getter given a descriptor that
	// cannot be used: an empty name, a missing function, an invalid TTL
	// configuration, TTL on operator state, or a type without a codec.
	ErrInvalidDescriptor = errors.New("state: invalid state descriptor")
	// ErrCorruptSnapshot is returned when a snapshot, or its file, is not
	// in the format that Snapshot and MarshalBinary write.
	ErrCorruptSnapshot = errors.New("state: corrupt snapshot")
)

// VoidNamespace is the namespace of user state, which has only one
// namespace per key. Operators that keep state per window use the window as
// the namespace instead.
type VoidNamespace struct{}

// ValueState holds one value per key and namespace.
type ValueState[V any] interface {
	// Value returns the value and true, or the zero V and false if there is
	// none (never set, cleared, or expired).
	Value() (V, bool, error)
	// Update sets the value. The state keeps v itself: if V holds pointers,
	// the caller must not modify what they point to afterwards.
	Update(v V) error
	// Clear removes the value.
	Clear() error
}

// ListState holds a list of values per key and namespace. With TTL, each
// element expires on its own.
type ListState[V any] interface {
	// Get returns the elements in the order they were added, or nil if there
	// are none. The returned slice may alias the state's storage: it is valid
	// until the next call on this state, and the caller must not modify it
	// (copy it to keep it). Appending to it never writes into the storage.
	Get() ([]V, error)
	// Add appends v.
	Add(v V) error
	// AddAll appends the elements of vs; the state copies vs (not what its
	// elements point to). Adding no elements changes nothing.
	AddAll(vs []V) error
	// Update replaces the elements with those of vs, which the state copies;
	// an empty vs clears the list.
	Update(vs []V) error
	// Clear removes all elements.
	Clear() error
}

// MapState holds a map from user keys to user values per key and namespace.
// With TTL, each entry of the map expires on its own.
type MapState[UK comparable, UV any] interface {
	// Get returns the value of uk and true, or the zero UV and false.
	Get(uk UK) (UV, bool, error)
	// Put sets the value of uk.
	Put(uk UK, uv UV) error
	// PutAll sets every entry of m; the state copies m.
	PutAll(m map[UK]UV) error
	// Remove deletes uk; removing an absent key is not an error.
	Remove(uk UK) error
	// Contains reports whether uk has a value. With TTL it is a read of uk.
	Contains(uk UK) (bool, error)
	// All returns an iterator over the entries of the key and namespace that
	// are current when All is called, in unspecified order. While iterating,
	// the caller must not call Put, PutAll, Remove or Clear on this state.
	// The iterator yields nothing if no key was current when All was
	// called.
	All() iter.Seq2[UK, UV]
	// Len returns the number of entries.
	Len() (int, error)
	// IsEmpty reports whether there are no entries.
	IsEmpty() (bool, error)
	// Clear removes all entries.
	Clear() error
}

// ReducingState folds the values added to it into one, with the reduce
// function of its descriptor.
type ReducingState[V any] interface {
	// Get returns the reduced value and true, or the zero V and false if
	// nothing was added since the last Clear (or the value expired).
	Get() (V, bool, error)
	// Add reduces v into the value: the first value added is kept as is;
	// later ones become reduce(current, v). An error of the reduce function
	// is returned wrapped and leaves the state unchanged.
	Add(v V) error
	// Clear removes the value.
	Clear() error
}

// AggregatingState folds the values added to it into an accumulator, with
// the AggregateFunction of its descriptor, and reads through its Result.
type AggregatingState[IN, OUT any] interface {
	// Get returns Result of the accumulator and true, or the zero OUT and
	// false if nothing was added since the last Clear (or it expired).
	Get() (OUT, bool, error)
	// Add folds v into the accumulator, creating it first if there is none.
	Add(v IN) error
	// Clear removes the accumulator.
	Clear() error
}

// AggregateFunction is the incremental aggregation of an AggregatingState:
// values of IN are added into an accumulator of ACC, which yields a result
// of OUT. Methods may modify and return the accumulator they are given.
// They must not access state.
type AggregateFunction[IN, ACC, OUT any] interface {
	// CreateAccumulator returns a new, empty accumulator.
	CreateAccumulator() ACC
	// Add adds v to acc and returns the updated accumulator.
	Add(v IN, acc ACC) ACC
	// Result returns the result of acc. It must not modify acc.
	Result(acc ACC) OUT
	// Merge merges two accumulators into one, used when windows merge. It
	// may reuse a or b and return it.
	Merge(a, b ACC) ACC
}

// Namespaced is implemented by every keyed state: the namespace selects,
// within the current key, which entry the state's other methods see.
type Namespaced[N comparable] interface {
	// SetNamespace makes n the state's current namespace (a state starts in
	// the zero N). It never fails and costs nothing but the assignment.
	SetNamespace(n N)
}

// Merging is implemented by the keyed states whose values can merge (list,
// reducing and aggregating): merging windows (session windows) use it to
// combine the state of the windows they merge. It is for operators, not for
// user functions.
type Merging[N comparable] interface {
	// MergeNamespaces merges the entries of the current key in the source
	// namespaces into the entry in target, then removes the sources. A
	// source equal to target, or repeated, is merged once. Absent sources
	// are skipped; if target and all sources are absent, target stays
	// absent. The current namespace is unchanged.
	//
	// Lists are concatenated: target's elements, then each source's, in
	// order; elements keep their TTL timestamps. Reducing and aggregating
	// states fold left from target: reduce(reduce(target, s1), s2)... (or
	// Merge of the accumulators), and the result counts as a write for TTL.
	// Values expired under NeverReturnExpired take no part. If the reduce
	// function fails, MergeNamespaces returns its error and changes nothing.
	MergeNamespaces(target N, sources []N) error
}

// NamespacedValueState is a ValueState whose namespace can be set.
type NamespacedValueState[N comparable, V any] interface {
	ValueState[V]
	Namespaced[N]
}

// NamespacedListState is a ListState whose namespace can be set and whose
// namespaces can be merged.
type NamespacedListState[N comparable, V any] interface {
	ListState[V]
	Namespaced[N]
	Merging[N]
}

// NamespacedMapState is a MapState whose namespace can be set.
type NamespacedMapState[N comparable, UK comparable, UV any] interface {
	MapState[UK, UV]
	Namespaced[N]
}

// NamespacedReducingState is a ReducingState whose namespace can be set and
// whose namespaces can be merged.
type NamespacedReducingState[N comparable, V any] interface {
	ReducingState[V]
	Namespaced[N]
	Merging[N]
}

// NamespacedAggregatingState is an AggregatingState whose namespace can be
// set and whose namespaces can be merged.
type NamespacedAggregatingState[N comparable, IN, OUT any] interface {
	AggregatingState[IN, OUT]
	Namespaced[N]
	Merging[N]
}
