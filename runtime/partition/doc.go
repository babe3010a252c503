// Package partition decides which consumer subtask receives each record of
// an edge between two tasks: Flink's stream partitioners.
//
// A Partitioner describes the edge (and is type-erased, so that the graph can
// hold it); for each producer subtask it builds a network.Selector that
// routes that subtask's records.
//
// Invariants:
//
//  1. A keyed partitioner sends a record to the subtask whose key-group range
//     holds the record's key (keygroup.OperatorIndex of keygroup.Of of the
//     key's encoding), so every record of a key reaches the subtask that owns
//     its state, whatever the parallelism (TestKeyedRoutesToOwner).
//  2. Every selector returns a channel in [0, n) or network.Broadcast
//     (TestSelectorsStayInRange).
//  3. Round-robin selectors (rebalance, rescale) start at a position derived
//     from the producer's index, so a job's routing is the same in every run.
package partition
