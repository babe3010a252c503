// Package zookeeper is the high-availability services in ZooKeeper
// (Flink's ZooKeeper HA services with Curator's recipes),
// high-availability.type ZOOKEEPER. Importing it registers it with ha.New;
// New opens it from a typed Config, ConfigFrom reads one from the
// configuration.
//
// # Nodes
//
// Every node of a cluster is under <root>/<cluster-id>
// (high-availability.zookeeper.path.root, default /flink, and
// high-availability.cluster-id, default /default), so that clusters share
// a quorum:
//
//	leader/<component>/_c_<guid>-latch-<seq>  ephemeral sequential: a contender
//	leader/<component>/info                   ephemeral: the leader's address and session, JSON
//	jobgraphs/<jobID>                         a pointer to the submission's file
//	job-results/<jobID>                       a pointer to the result's file
//	checkpoints/<jobID>/<19-digit ID>         a checkpoint's location
//	checkpoint-counter/<jobID>                the next checkpoint ID, decimal
//	<mesos-workers>                           reserved for the Mesos driver
//
// The files are under high-availability.storageDir/<cluster-id>, behind
// the Storage interface (FileStorage: a path or file:// URI).
//
// # Connection states
//
// The client's states are Curator's: CONNECTED, SUSPENDED (the
// connection is lost; the session may live), LOST (the session expired,
// or the session timeout passed in SUSPENDED, Curator's rule since the
// client learns of an expiry only when it reconnects), and RECONNECTED
// (CONNECTED again). A leadership ends on SUSPENDED, Flink's default, or
// only on LOST with high-availability.zookeeper.client.tolerate-suspended-connections.
// A contender whose leadership ended is no contender any more: its nodes
// are removed once the connection is back (or with its session), and it
// runs again only if its caller calls Elect again.
//
// # Invariants
//
//  1. The lowest latch node leads, and announces itself only in one
//     transaction with the check that its latch node exists: at most one
//     leader of a component at a time across processes, each with a
//     session of its own (TestManyContenders, TestPredecessorDeletion).
//  2. A contender watches only its predecessor: a resignation wakes only
//     the successor (TestPredecessorDeletion counts the wakeups).
//  3. Without tolerance, Lost closes as soon as the connection is
//     suspended, and the former leader's nodes are removed after the
//     reconnection, so that another leads
//     (TestSuspendedConnectionEndsLeadership); with tolerance a leadership
//     survives an outage shorter than the session timeout and ends once
//     the timeout passes (TestToleratedSuspension); an expired session
//     ends it in any case, and a new Elect leads with a new session
//     (TestSessionExpiry).
//  4. WatchLeader follows the info node with watches, set again after
//     reconnections, and delivers the zero LeaderInfo while the leader is
//     unknown (TestLeaderRetrievalFollowsChanges, TestToleratedSuspension).
//  5. A node never points to a missing or partial file: a file is written
//     (synced and renamed) before a node points to it and deleted only
//     after no node does; the stores are read back by a new client of the
//     cluster (TestStoresSurviveANewClient, TestFileStoragePointers).
//  6. The checkpoint ID counter changes only by compare-and-set of its
//     node's version: no ID is handed out twice, even by concurrent
//     processes (TestCounterConcurrentIncrements); a retry after a lost
//     connection may skip one.
//  7. Clusters of different IDs are independent (TestNamespaces); with
//     the creator ACL only clients with the digest credentials read the
//     nodes (TestCreatorACL).
//  8. Start-up fails naming the key at fault: an unreachable quorum within
//     the connection timeout, a missing quorum or storage directory,
//     creator without credentials (TestBadInput).
//  9. Close ends every leadership, Elect and watch, closes the session
//     (removing its ephemeral nodes at once) and returns once the
//     goroutines of the services have (TestCloseEndsEverything).
//
// Operations that fail for the connection are tried again after
// high-availability.zookeeper.client.retry-wait (sooner once the
// connection is back), up to max-retry-attempts times; Elect waits for
// the connection as long as its context allows.
package zookeeper
