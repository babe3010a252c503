// Package task runs one subtask: the chain of operators of a job vertex,
// fed by a source or by an input gate, writing to record writers.
//
// A task is a loop in one goroutine, Flink's mailbox thread:
//
//	source task:   poll the source; when it has nothing, flush and wait
//	other tasks:   poll the gate; decode a buffer into the chain's head;
//	               when the gate is empty, flush and wait
//
// Output segments leave when they are full, before every event (a barrier,
// the end of data or of the partition), whenever the input runs dry, and at
// the buffer timeout (Flink's execution.buffer-timeout, 100 ms by default;
// Deployment.BufferTimeout): a processing-time callback that flushes the
// writers once per timeout. It runs on the task's goroutine between two
// polls, as every callback does, so no other goroutine shares the writers
// and a record costs nothing more. Under load, segments leave full; when a
// stream slows down, what is buffered leaves at once; and a sparse channel
// of a task whose input never runs dry (a source that always has data)
// still leaves within the timeout. A timeout of 0 sends every record at
// once instead, through the writers' FlushingOutput (no timer); -1 ms
// leaves segments to fill.
//
// Invariants:
//
//  1. Every operator of the chain is closed exactly once, whether the task
//     ends, fails or is cancelled; every segment it holds is recycled
//     (minicluster.TestTaskClosesEverything).
//
//  2. A task ends normally only after every input channel delivered
//     EndOfPartition (or its source ended), every operator finished (but
//     after a stop with a savepoint without drain, when none does), its
//     writers flushed and EndOfData and EndOfPartition went to every output
//     channel. So a consumer sees end of input only after every record.
//
//  3. A task's error names its chain and subtask; an operator's error names
//     the operator (operator.Error) and is passed on unchanged.
//
//  4. The watermark a task passes to an input of its head is the minimum
//     over the input's aligned, active channels and never decreases; idle
//     and ended channels do not hold it back (valve.go,
//     TestValveNeverGoesBackwards).
//
//  5. Processing-time callbacks run on the task's goroutine, in time order,
//     once the task's clock has reached their time (timers.go).
//
//  6. A record that arrived before a checkpoint's barrier on its channel is
//     processed before the chain's snapshot for that checkpoint, and one
//     that arrived after, after it: a channel that delivered the barrier is
//     blocked until every channel has delivered it or ended (aligner,
//     TestAlignmentBlocksTheChannelsThatDeliveredTheBarrier,
//     TestAlignmentEndedChannelCountsAsAligned).
//
//  7. A snapshot failure declines the checkpoint and does not fail the task;
//     consumers get a cancel barrier so that none waits for the barrier
//     (TestAlignmentNewerBarrierAbandonsTheOlder).
//
//  8. With periodic checkpoints, a task whose input ended sends
//     EndOfPartition only after a final checkpoint (or a stop with a
//     savepoint) is complete (TestFinishedTaskWaitsForTheFinalCheckpoint).
//
//  9. Triggers, notifications and coordinator events are handled on the
//     task's goroutine in the order they were sent (mailbox.go).
//
//  10. With a positive buffer timeout, a record written to an output is
//     sent at the latest by the flusher, whose callback is due at most the
//     timeout (of the task's clock) after the record was written and runs
//     at the task's next poll of its source or gate; with 0, before the call
//     that wrote it returns; with -1 ms, when its segment is full, the input
//     runs dry, an event follows it or the input ends.
//     The flusher is a processing-time callback: it stops with the others
//     when the chain has finished, and does not run after the barrier of a
//     stop with a savepoint, after which the task writes nothing (the
//     barrier was sent after a flush of what was written before it)
//     (TestBufferTimeout; across tasks, a sparse channel behind a busy
//     source, stream.TestBufferTimeoutFlushesASparseChannel).
//
// Checkpoints: a source task takes a trigger from its mailbox between two
// polls; other tasks react to barriers in their gate. At the barrier the
// chain's operators run their snapshot hooks, their backends are copied,
// the barrier goes to every output, and the copy is uploaded by a goroutine
// the task owns (and waits for before it ends).
//
// Event time: watermarks and watermark statuses arrive inside the data
// segments of each channel (see package network); a valve per logical input
// of the head combines them, as Flink's StatusWatermarkValve, and hands the
// result to the head's input, from where each operator passes it on (after
// firing its event-time timers). A source emits the final watermark after
// its last record, so bounded jobs fire every event-time timer.
package task
