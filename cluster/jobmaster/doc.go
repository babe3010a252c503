// Package jobmaster runs one job's checkpoints and failovers, whatever runs
// its tasks: the embedded mini-cluster now, TaskManagers over the network
// later. It drives the checkpoint coordinator (runtime/checkpoint), which
// decides; this package executes the decisions: it snapshots operator
// coordinators, injects barriers through a TaskGateway, writes metadata to
// the checkpoint storage, and notifies tasks.
//
// It also turns a completed checkpoint or savepoint into the state every
// subtask of a (possibly rescaled) job starts from (Restore).
//
// Invariants:
//  1. Only the driver goroutine (Checkpointer.Run) touches the coordinator
//     and the operator coordinators; everything else reaches them through
//     its queue.
//  2. A task is told that a checkpoint is complete only after the
//     coordinator completed it, which it does only after the metadata was
//     written (runtime/checkpoint's invariant).
//  3. An operator coordinator's events to a subtask and the checkpoint
//     triggers for that subtask go through the same ordered mailbox, and
//     the coordinator is snapshotted before the triggers are sent: an event
//     sent before the snapshot reaches the subtask before its barrier.
//  4. A failover restores from the coordinator's latest completed
//     checkpoint; a checkpoint whose metadata was never written is never
//     used (storage's invariant).
package jobmaster
