// Package checkpoint holds what a checkpoint is (Metadata, the snapshot
// every restore reads) and the Coordinator, which decides when the job
// checkpoints and when a checkpoint is complete: Flink's
// CheckpointCoordinator.
//
// The Coordinator is a deterministic state machine, like etcd's raft: the
// job master's goroutine feeds it events (Tick, acknowledgements from tasks
// and operator coordinators, the outcome of a metadata write, a finished
// task, a restart) each carrying the time, and drains Ready for the actions
// to take (trigger, write the metadata, notify completion or abort, discard
// an old checkpoint, fail the job). It reads no clock, starts no goroutine
// and does no I/O; NextDeadline tells the driver when to Tick next.
//
// The life of a checkpoint, from its Trigger:
//
//	collecting  waits for every task and coordinator; the timeout runs
//	            → writing, emitting WriteMetadata, once all acknowledged
//	            → Abort on a decline, a failure of the driver (Fail), an
//	              invalid acknowledgement, the timeout, subsumption,
//	              Restart or Stop
//	writing     → durable on a successful MetadataWritten
//	            → Abort on a failed one, subsumption, Restart or Stop
//	durable     → Complete once every older pending checkpoint has ended
//
// A checkpoint is triggered periodically (Config.Interval, held back by
// Config.MaxConcurrent and Config.MinPause), on request (TriggerCheckpoint),
// as a savepoint (TriggerSavepoint, held back by nothing), or as the final
// checkpoint once every task has finished. When a checkpoint or savepoint
// becomes durable it subsumes the older pending checkpoints (not
// savepoints, not the final checkpoint).
//
// Invariants (TestRandomized checks 1 to 10 after every event of 1000 random
// sequences of correct and incorrect events; the scripts in testdata/, run
// by TestScripts, check them too and show each case):
//
//  1. Checkpoint IDs are 1, 2, 3... (or continue after the ID RestoreFrom
//     was given), one per Trigger, never reused, across Restart too
//     (restart.txt, restore.txt).
//  2. WriteMetadata for a checkpoint comes only after every task of
//     Job.Tasks and every operator coordinator acknowledged it; the
//     metadata holds every operator, sorted by ID, with Parallelism
//     subtasks filled from the acknowledgements (periodic.txt,
//     robustness.txt).
//  3. Complete comes only after a successful MetadataWritten for that
//     checkpoint: nobody is told that a checkpoint completed before it is
//     durable (metadata.txt).
//  4. Every triggered checkpoint ends in exactly one Complete or one Abort,
//     or is still pending (Pending); Restart and Stop leave nothing pending.
//  5. Completes come in increasing ID order, a checkpoint whose metadata is
//     written waiting for older pending savepoints and final checkpoints
//     (concurrent.txt, subsume.txt); Latest is the last one completed.
//  6. A periodic checkpoint is triggered only while fewer than
//     MaxConcurrent (1 if MinPause > 0) checkpoints and savepoints are
//     pending, and not within MinPause of the end of the last one
//     (concurrent.txt, min_pause.txt). Nothing is triggered while a
//     savepoint with Options.Terminate is pending or after it completed,
//     after FailJob until Restart, or after Stop (stop_with_savepoint.txt,
//     timeout.txt).
//  7. Discard is never of a savepoint nor of the latest completed
//     checkpoint, and at most NumRetained checkpoints are retained
//     (retained.txt).
//  8. FailJob comes right after the abort that makes more than
//     TolerableFailures consecutive checkpoint failures (declined by a
//     task or failed by the driver, expired, invalid acknowledgement,
//     metadata not written), once until Restart; savepoints, subsumed
//     checkpoints and aborts by Restart or Stop do not count, a completed
//     checkpoint resets the count (timeout.txt, decline.txt,
//     metadata.txt).
//  9. A checkpoint still collecting acknowledgements at a Tick at or after
//     its trigger time plus Timeout is aborted; Tick before NextDeadline
//     does nothing (timeout.txt; TestRandomized).
//  10. Once every task has finished, a final checkpoint is triggered at
//     once, retried after MinPause if it fails, and periodic checkpoints
//     stop (final.txt).
//  11. The coordinator is deterministic: no goroutines, no clock, no I/O,
//     nothing beyond the standard library and state/keygroup
//     (TestCoreIsDeterministic), and bad input is ignored and counted,
//     never a panic (robustness.txt, TestRandomized).
package checkpoint
