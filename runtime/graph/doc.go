// Package graph holds a job's dataflow: the stream graph the user API builds
// (one Node per operator) and the job graph the runtime deploys (one Vertex
// per chain of operators, a task).
//
// Translation (JobGraph) fuses a node into its upstream's chain when
//
//   - the node has exactly one input edge,
//   - that edge is FORWARD (same parallelism, pointwise),
//   - chaining is enabled for the job, and
//   - neither node forbids it (DisableChaining on either, or StartNewChain
//     on the downstream node).
//
// A chain is a tree: one head, and every other node fed by exactly one node
// of the same chain. Its nodes are kept in topological order, head first.
//
// Invariants (tests in this package):
//
//  1. Every node belongs to exactly one vertex; every stream edge is either
//     inside one vertex (chained) or between two (a job edge)
//     (TestEveryNodeInOneVertex).
//  2. A FORWARD edge joins nodes of equal parallelism; Validate rejects
//     anything else, naming both operators (TestForwardNeedsEqualParallelism).
//  3. Operator IDs are stable: the same program builds the same IDs in every
//     run; an explicit UID fixes an operator's ID whatever the topology
//     around it (TestStableOperatorIDs).
package graph
