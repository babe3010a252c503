// Package jobmaster is a job's JobMaster, whatever runs its tasks: the
// embedded mini-cluster or TaskManagers over the network.
//
// Core is the job's lifecycle as a deterministic state machine (events
// in, actions out, as runtime/checkpoint.Coordinator and
// resourcemanager.SlotManager): the job's state (Flink's JobStatus, the
// diagram in state.go), its attempts and every subtask's execution
// state, the slots and workers it holds, and the restart decisions.
// Master drives a Core on one goroutine and carries out its actions
// through a Runtime (the only part that knows how subtasks reach a
// process) and a Checkpointer: the mini-cluster and the cluster's
// JobMaster process each implement Runtime, and share the one failover
// loop.
//
// Checkpointer drives the checkpoint coordinator (runtime/checkpoint),
// which decides; it executes the decisions: it snapshots operator
// coordinators, injects barriers through a TaskGateway, writes metadata
// to the checkpoint storage, and notifies tasks. Restore turns a
// completed checkpoint or savepoint into the state every subtask of a
// (possibly rescaled) job starts from.
//
// Invariants:
//  1. The Core reads no clock, starts no goroutine and does no I/O
//     (TestCoreIsDeterministic); the same events give the same actions
//     (TestSameEventsSameActions).
//  2. No two attempts of a subtask live at once: an attempt is deployed
//     only once every worker of the one before ended it, is gone, or was
//     stopped (TestRandomized, restart.txt, cancel.txt).
//  3. Every restart restores the latest completed checkpoint: the next
//     attempt is deployed only after the Checkpointer ended the last
//     one's checkpoints and named the latest (TestRandomized,
//     restart.txt).
//  4. A cancelled job never restarts and ends CANCELED (or FAILED if it
//     was failing for good already); a non-recoverable failure fails the
//     job at once, whatever the restart strategy (cancel.txt,
//     failures.txt, slots.txt).
//  5. The job's state moves only along the diagram's edges; after a
//     terminal state the core does nothing, every worker it started was
//     stopped and its slots released (TestRandomized).
//  6. Only the driver goroutine (Checkpointer.Run) touches the checkpoint
//     coordinator and the operator coordinators; everything else reaches
//     them through its queue.
//  7. A task is told that a checkpoint is complete only after the
//     coordinator completed it, which it does only after the metadata was
//     written (runtime/checkpoint's invariant).
//  8. An operator coordinator's events to a subtask and the checkpoint
//     triggers for that subtask go through the same ordered mailbox, and
//     the coordinator is snapshotted before the triggers are sent: an event
//     sent before the snapshot reaches the subtask before its barrier;
//     the checkpoints and coordinators of an attempt start before any of
//     its subtasks runs (StartCheckpoints comes before RunAttempt).
//  9. A checkpoint whose metadata was never written is never restored
//     (storage's invariant).
package jobmaster
