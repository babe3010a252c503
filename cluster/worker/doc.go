// Package worker runs the subtasks of a job that are placed on one
// process, and exchanges their records with the job's other processes over
// TCP.
//
// A job is a Go program. Every process that runs some of its subtasks
// rebuilds the same job graph by running the program, gets the attempt's
// Assignment (where each subtask runs, and each worker's data address) and
// runs the subtasks placed on it: Worker.Run. The mini-cluster is one
// worker with every subtask. The wiring:
//
//   - a consumer subtask has one input gate, its channels in the order of
//     graph.JobGraph.GateLayout; a channel from a local producer is the
//     gate's network.LocalChannel itself, one from a producer on another
//     worker is registered with this worker's tcp.Server (Server.Register),
//     which delivers into the same gate channel and returns a credit each
//     time the task polls a buffer out of it;
//   - a producer subtask has, per output edge, targets in the order of
//     graph.JobGraph.Consumers: the gate channel of a local consumer, or a
//     tcp.Sender from this worker's tcp.Client to the consumer's worker,
//     and a pool of PoolLimit(targets, capacity) segments.
//
// So a record costs the same on both paths: the RecordWriter serializes it
// into a pooled segment, and a full segment goes whole to the gate channel
// or, as one frame, to the connection (the Sender recycles it once it is
// written).
//
// # Channel IDs
//
// A remote channel is named tcp.ChannelID{Job: "<job ID>/<attempt>",
// Edge, Producer, Consumer}, where Edge is the index of the edge in the
// stream graph's Edges (graph.StreamGraph.Edges): the program adds edges
// in the same order in every process, and an edge index, unlike a pair of
// vertices, tells apart two edges between the same tasks (a side output
// and the main output, or both inputs of a two-input operator). Producer
// and Consumer are subtask indexes. The attempt in Job means that a
// producer left over from a failed attempt can never feed a channel of the
// next one.
//
// # Failure
//
// A failed remote input channel (tcp.Receiver.Failed: its connection
// broke, or this worker's server stopped) fails the attempt on this worker
// with the channel's error, which names the remote address; a failed
// remote output fails the producing task's Send the same way. A worker
// tells its peers nothing else: a producer on another worker whose
// consumer stopped for another reason waits for credit until its own Run
// is cancelled. Cancelling the attempt on every worker is the job master's
// part (as Flink's JobMaster cancels every task of a failed attempt).
//
// # Invariants
//
//  1. Producers and consumers agree on every channel: both ends lay out
//     gates with GateLayout, writers with Consumers, and name remote
//     channels by ChannelID as above, so a job split over workers computes
//     what it computes in the mini-cluster
//     (TestKeyedJobAcrossWorkersEqualsMiniCluster).
//  2. Records, watermarks and events keep their per-channel order across
//     workers; end of data and end of partition end the job on every
//     worker, and event-time windows fire on a worker other than their
//     sources' (TestEventsCrossWorkers).
//  3. Memory is bounded and back-pressure is per channel: a producer's pool
//     hands out at most PoolLimit segments, a remote channel has as many
//     credits as its gate channel has room, and a consumer that stops
//     consuming stops its producer on the other worker once those are
//     spent, while other channels on the same connection flow on
//     (TestBackPressureAcrossWorkers).
//  4. A broken connection fails Run on both sides, without waiting for the
//     context, with errors naming the remote address and the failed input
//     channel (TestConsumerServerClosedFailsProducer).
//  5. Checkpoint barriers align over local and remote channels alike: a
//     job master reaching the tasks of every worker (Worker.Tasks, a
//     jobmaster.TaskGateway) completes checkpoints and stops with a
//     savepoint, and a job restored from it on several workers (Options.
//     Restore) counts every record exactly once
//     (TestCheckpointAcrossWorkers).
//  6. Run returns only after every local task returned, every remote input
//     channel was unregistered (none stays registered with the server) and
//     every gate was drained; after a normal end no segment of the
//     worker's pools is in use (TestKeyedJobAcrossWorkersEqualsMiniCluster).
//  7. Run owns every goroutine it starts (a task per local subtask, a
//     watcher per remote input channel); none outlives it (every test's
//     clean-up checks it).
//
// BenchmarkWorkersKeyedExchange compares the TCP path with the
// mini-cluster's.
package worker
