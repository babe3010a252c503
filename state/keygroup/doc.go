// Package keygroup assigns keys to key groups and key groups to subtasks.
//
// A key group is the unit in which keyed state is stored, snapshotted and
// moved when a job is rescaled. A job has maxParallelism key groups,
// numbered 0..maxParallelism-1. A key belongs to the group
//
//	Hash(encoding of the key) mod maxParallelism
//
// and subtask i of an operator with parallelism p owns the contiguous range
// of groups returned by RangeFor(maxParallelism, p, i). The arithmetic is
// Flink's (KeyGroupRangeAssignment), so the ranges of a rescaled job move
// exactly as a Flink user expects.
//
// Invariants (each proven by a test in this package):
//
//  1. Stability: Hash depends only on the key's bytes. The same key maps to
//     the same key group in every run, process and machine
//     (TestGoldenKeyGroups pins the assignment of fixed keys).
//  2. Partition: for any p ≤ maxParallelism the ranges of subtasks 0..p-1 are
//     disjoint, contiguous, non-empty, and cover 0..maxParallelism-1
//     (TestRangesPartition).
//  3. Agreement: OperatorIndex(maxP, p, g) = i exactly when g is in
//     RangeFor(maxP, p, i) (TestOperatorIndexAgreesWithRange). The exchange
//     routes by OperatorIndex and the state backend restores by RangeFor, so
//     a record always reaches the subtask that holds its key's state.
package keygroup
