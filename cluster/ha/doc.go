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
//   - ZOOKEEPER: leader election, leader retrieval and the stores'
//     pointers in ZooKeeper (high-availability.zookeeper.quorum), their
//     data under high-availability.storageDir. Not implemented yet: New
//     refuses it naming the key.
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
//     added.
//  4. Every method is safe for concurrent use; after Close, Elect and the
//     stores fail with ErrClosed.
package ha
