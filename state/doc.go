// Package state is runnel's state: Flink's keyed state and operator state,
// held by a heap (in-memory) backend and organized by key group, so that
// snapshots can write, restore and redistribute it one key group at a time
// when a job is rescaled.
//
// # Keyed state
//
// A keyed operator subtask owns a KeyedBackend for its range of key groups
// (keygroup.RangeFor). States are declared by typed descriptors (Value,
// List, Map, Reducing, Aggregating), optionally with a TTLConfig, and
// obtained once from the backend with the getters GetValueState,
// GetListState, GetMapState, GetReducingState and GetAggregatingState. Before
// handling a record or timer the operator calls SetCurrentKey; every state
// then reads and writes the entry of that key.
//
// Each keyed state is also namespaced: within a key, SetNamespace selects the
// entry its methods see. User state uses VoidNamespace, which has a single
// value; window operators use the window. List, reducing and aggregating
// states can merge namespaces (MergeNamespaces), which merging (session)
// windows need.
//
// # Descriptors
//
// Descriptors are immutable values: the With methods return a modified
// copy, so a descriptor can be a package-level variable shared by every
// subtask:
//
//	var counts = state.Value[int64]("count").WithTTL(state.TTLConfig{TTL: time.Hour})
//
// A descriptor is checked when a getter first registers its state, not when
// it is built: an empty name, a nil function, an invalid TTLConfig or a type
// without a codec is then an error wrapping ErrInvalidDescriptor that names
// the state. The codecs, which snapshots use, are resolved then too: the
// descriptor's own if it was given one, codec.For otherwise. Namespaces
// always use codec.For. So a type that cannot be snapshotted fails when the
// operator opens, not at its first checkpoint.
//
// # Storage
//
// A state keeps one Go map per key group of the backend's range, keyed by
// (key, namespace) and pointing into a dense slice of entries (table.go
// explains why). A snapshot can therefore walk one key group of one state
// without looking at the others, and a restore can fill one. Per access a
// state costs one map lookup after SetCurrentKey has encoded and hashed the
// key once; value, reducing and aggregating states allocate nothing for an
// existing entry (see the benchmarks in bench_test.go).
//
// # TTL
//
// With TTLConfig a keyed state's values expire a fixed processing time after
// their last access, as Flink's StateTtlConfig defines it; see TTLConfig for
// the rules and for how incremental cleanup walks the state.
//
// # Operator state
//
// An OperatorBackend holds a subtask's non-keyed state: list state
// (GetOperatorListState), union list state (GetUnionListState) and
// broadcast state (GetBroadcastState). Each records its Distribution, the
// way a restore with another parallelism redistributes it.
//
// # Snapshots
//
// KeyedBackend.Snapshot copies a subtask's keyed state into a
// KeyedSnapshot: per key group, the entries of every state and the timers
// of every timer queue attached with RegisterTimers, encoded with the
// states' codecs in a canonical format (snapshot.go documents it byte by
// byte) that depends on the state's content only, not on how the heap
// backend stores it or on the history that led to it. KeyedBackend.Restore
// takes the snapshots of a previous run at any parallelism with the same
// max parallelism and keeps the key groups of its own range: that is how
// key groups move when a job is rescaled. Restore only sorts the data by
// state and key group; each state is decoded when a getter registers it,
// with its descriptor's codecs, and a state that is not registered again
// is written unchanged into later snapshots.
//
// OperatorBackend.Snapshot and Restore do the same for operator state, one
// element at a time, and RedistributeOperatorState computes the snapshots
// of the new subtasks from those of the old ones by each state's
// Distribution. MarshalBinary and UnmarshalBinary frame snapshots for
// files, with a format version and a checksum.
//
// A snapshot is taken synchronously, on the goroutine that owns the
// backend, between records. The returned snapshot shares no memory with
// the backend; it is the caller's and immutable, so another goroutine can
// write it out while the operator goes on.
//
// # Concurrency, ownership and errors
//
// Backends and states are not safe for concurrent use: an operator's state
// belongs to the one goroutine that runs the operator. Functions a state
// calls (a reduce function, an AggregateFunction) must not access state.
//
// Values given to a state are kept as given: a state copies slices and maps
// it is given, not what their elements point to, so the caller must not
// modify that afterwards. Slices a state returns are described on each
// method.
//
// Every state method returns an error because a future on-disk backend can
// fail. The heap backend returns only ErrNoCurrentKey (a keyed state
// accessed before the first SetCurrentKey) and the errors of user
// functions; getters return errors wrapping ErrIncompatibleState or
// ErrInvalidDescriptor, or ErrCorruptSnapshot for restored data that is
// malformed. All name the state.
//
// # Invariants
//
// Each is proven by the test named with it.
//
//  1. Placement: every entry of a keyed state is stored in the map of its
//     key's group, and that group is in the backend's range; setting a key
//     of any other group panics, because the record or timer was routed to
//     the wrong subtask (TestEntriesLiveInTheirKeyGroup,
//     TestSetCurrentKeyOutsideRangePanics).
//  2. Expiry: under NeverReturnExpired no read of any kind of state returns
//     an expired value, and no write builds on one (a reducing or
//     aggregating Add starts afresh); the access that finds an expired value
//     removes it (TestTTLNeverReturnExpired; the update types and the other
//     visibility in TestTTLOnCreateAndWrite, TestTTLOnReadAndWrite,
//     TestTTLReturnExpiredIfNotCleanedUp).
//  3. Isolation: an access sees and changes only the entry of the current
//     key and the state's current namespace (TestKeysIsolate,
//     TestNamespacesIsolate).
//  4. Registration: a getter called again with the same descriptor returns
//     the same state; the same name with another kind, other types or
//     another TTL is an ErrIncompatibleState naming the state and both
//     registrations (TestGetterIdempotent, TestGetterMismatch,
//     TestOperatorStateDistribution).
//  5. Cleanup progress: every entry stored when the incremental cleanup
//     cursor starts a lap is checked during that lap unless removed first,
//     and a lap takes one step per key group plus one per entry it checks.
//     So with a finite set of live keys the state stays bounded however many
//     keys pass through (TestCleanupLapVisitsEveryEntry,
//     TestIncrementalCleanupBoundsState).
//  6. Consistency: in every key group the map indexes exactly the stored
//     entries, at their positions, and NumEntries is their total, under any
//     sequence of inserts, removals and cleanup steps
//     (TestCleanupLapVisitsEveryEntry).
//  7. Round trip: a backend restored from a snapshot holds the same
//     entries, TTL timestamps and timers, and snapshots to the same bytes;
//     the same content written through another history snapshots to the
//     same bytes too (TestKeyedSnapshotRoundTrip,
//     TestKeyedSnapshotIsCanonical, TestOperatorSnapshotRoundTrip;
//     TestKeyedSnapshotFormat pins the bytes).
//  8. Rescaling: restoring the snapshots of all subtasks into the backends
//     of any parallelism (and the same max parallelism) puts the state and
//     the timers of every key in the subtask that owns its key group,
//     exactly once, and rescaling back gives the original snapshots
//     (TestKeyedSnapshotRescale). Redistributing operator state gives each
//     element of split state to exactly one subtask, all of union state to
//     every subtask and a copy of broadcast state to each
//     (TestRedistributeOperatorState).
//  9. Nothing lost: a state restored and not registered is written
//     unchanged into every later snapshot (TestRestoredStatesPassThrough),
//     and a snapshot is a copy, unchanged by later writes to the state
//     (TestSnapshotIsACopy).
package state
