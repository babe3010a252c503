// Package minicluster runs a job graph inside the calling process: every
// subtask is a goroutine, every exchange between tasks a set of bounded
// in-process channels (network.LocalChannel) behind the same Sender and
// InputGate interfaces the TCP exchange implements. Executor is the
// embedded executor of package stream's jobs.
//
// A Job is scheduled, failed over and ended by a jobmaster.Master, the
// JobMaster a cluster runs too; this package is its Runtime with all
// slots on one worker that is always there, so the core never waits for
// slots or workers. Cancelled attempts have no timeout: goroutines
// cannot be killed, and the next attempt starts only once every subtask
// of the last one has returned.
//
// Each attempt runs on one cluster/worker.Worker that has every subtask,
// so the mini-cluster wires and runs tasks with exactly the code a worker
// process of a cluster uses, with only local channels. The wiring: for
// each job edge from vertex A to vertex B, one channel from every subtask
// of A to every subtask of B (one channel from subtask i to subtask i for
// a pointwise FORWARD edge). Each consumer subtask has one
// input gate over all its channels; each producer subtask has one segment
// pool per output edge, bounded to channels·(capacity+2) segments: one being
// filled, capacity queued and one being read per channel. That bound is the
// most memory an edge can hold, whatever the speed of its ends.
//
// A job ends when every task ends. The first task to fail cancels the
// others; Run returns that first error and returns only after every task's
// goroutine has returned and closed its operators, and every segment is back
// in its pool (TestCancelRecyclesEverySegment, TestTaskClosesEverything).
package minicluster
