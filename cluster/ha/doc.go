// Package ha is a cluster's high-availability services (Flink's
// HighAvailabilityServices): who leads each component that must run once
// (the Dispatcher with its ResourceManager, each job's JobMaster), where
// the leaders are, and what must outlive a leader — the jobs submitted and
// not yet ended, and each job's latest completed checkpoint — so that the
// next leader recovers them.
//
// Services is the interface; New picks the implementation by
// high-availability.type:
//
//   - NONE (None): one JobManager, no recovery. Every component is the
//     leader as soon as it asks, leaders are found at the addresses they
//     announced in this process, and the stores keep their records in
//     memory, so that a restarted JobManager starts empty, as Flink's
//     standalone (non-HA) services do.
//   - ZOOKEEPER (package cluster/ha/zookeeper, which a program links by
//     importing it): leader election, leader retrieval and the stores'
//     pointers in ZooKeeper (high-availability.zookeeper.quorum), their
//     data under high-availability.storageDir.
//
// # Contracts
//
//  1. At most one Leadership of a component is held at a time within one
//     Services; a second Elect waits until the first is resigned or lost,
//     or until its context is done.
//  2. A Leadership's Lost channel is closed when leadership ends for any
//     reason (Resign, Close of the services, a lost session); a leader
//     must stop acting as one once it is closed.
//  3. JobStore.List returns the jobs put and not removed, oldest first;
//     CheckpointStore.Latest returns the checkpoint of the highest ID
//     added, and All every checkpoint added and not removed, by ascending
//     ID.
//  4. Every method is safe for concurrent use; after Close, Elect and the
//     stores fail with ErrClosed, and every WatchLeader channel is closed.
//  5. Every Leadership has a leader session of its own (Session), which
//     Leader and WatchLeader announce with the address until it ends: a
//     call that carries it was made by that leadership, the fencing token
//     of the RPC (rpc.WithFencingToken).
//  6. WatchLeader delivers the leader when called, then each change,
//     the zero LeaderInfo while there is none; a reader that falls behind
//     receives the latest value, never a backlog.
//  7. CheckpointIDCounter.GetAndIncrement never returns an ID twice for a
//     job, across services of the same cluster, nor one below a
//     SetAtLeast.
//  8. JobResultStore keeps a job's result from Put to Remove, so that a
//     Dispatcher that takes over neither runs an ended job again nor
//     forgets its result.
//
// None proves them in TestNoneElectsOneLeaderAtATime, TestNoneWatchLeader
// and TestNoneStores; the ZooKeeper services in their own package.
package ha
