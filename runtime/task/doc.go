// Package task runs one subtask: the chain of operators of a job vertex,
// fed by a source or by an input gate, writing to record writers.
//
// A task is a loop in one goroutine, Flink's mailbox thread:
//
//	source task:   poll the source; when it has nothing, flush and wait
//	other tasks:   poll the gate; decode a buffer into the chain's head;
//	               when the gate is empty, flush and wait
//
// Flushing when the input runs dry is the buffer timeout of this runtime:
// under load, segments leave full; when a stream slows down, what is
// buffered leaves at once, and no timer thread shares the writers.
//
// Invariants:
//
//  1. Every operator of the chain is closed exactly once, whether the task
//     ends, fails or is cancelled; every segment it holds is recycled
//     (minicluster.TestTaskClosesEverything).
//  2. A task ends normally only after every input channel delivered
//     EndOfPartition (or its source ended), every operator finished, its
//     writers flushed and EndOfPartition went to every output channel. So a
//     consumer sees end of input only after every record.
//  3. A task's error names its chain and subtask; an operator's error names
//     the operator (operator.Error) and is passed on unchanged.
//  4. The watermark a task passes to an input of its head is the minimum
//     over the input's aligned, active channels and never decreases; idle
//     and ended channels do not hold it back (valve.go,
//     TestValveNeverGoesBackwards).
//  5. Processing-time callbacks run on the task's goroutine, in time order,
//     once the task's clock has reached their time (timers.go).
//
// Event time: watermarks and watermark statuses arrive inside the data
// segments of each channel (see package network); a valve per logical input
// of the head combines them, as Flink's StatusWatermarkValve, and hands the
// result to the head's input, from where each operator passes it on (after
// firing its event-time timers). A source emits the final watermark after
// its last record, so bounded jobs fire every event-time timer.
package task
