// Package program runs a job's program in the part a cluster gives it.
//
// A job is a Go program that builds its job graph with the stream API and
// calls Execute. On a cluster, the same program runs in several
// processes, each told its part by the environment variable EnvVar (a
// Process as JSON), and each rebuilds the same job graph by running the
// program, which the plan's fingerprint checks:
//
//	client     runnel run --jobmanager HOST:PORT starts the program with
//	           RoleClient: Execute submits the job (its binary, arguments,
//	           configuration and fingerprint) to the JobManager's REST
//	           API and waits for its end, unless detached.
//	jobmaster  the Dispatcher starts the program with RoleJobMaster on the
//	           JobManager's host: the job's JobMaster (master).
//	worker     a TaskManager holding slots of the job starts the program
//	           with RoleWorker: the job's subtasks placed on it (host).
//	local      runnel run PROGRAM without --jobmanager: the embedded
//	           mini-cluster, configured by the command line.
//
// A job's JobMaster and workers run the job's own binary because Go cannot
// load code into a running process: the job's graph and its operator
// coordinators (a split source's enumerator) exist only in its program.
// For jobs that ship with runnel the program is the runnel binary itself,
// and nothing is shipped.
//
// # The JobMaster
//
// One goroutine runs the job's attempts; RPC handlers hand it events.
// An attempt:
//
//  1. gets slots: it asks the ResourceManager (through the Dispatcher)
//     for as many slots as the job's largest parallelism, and keeps those
//     it holds over attempts;
//  2. has each TaskManager holding some start the job's worker
//     (rpc.StartWorker), unless it runs, and waits until each has
//     registered;
//  3. places subtask i of every task into slot i (Flink's slot sharing)
//     and sends each worker the placement and the snapshot to restore;
//  4. once every worker has deployed its subtasks, starts the attempt's
//     checkpoints and operator coordinators, and only then lets the
//     subtasks run, so that no operator event is lost;
//  5. ends when every worker's subtasks have ended; a failure — a worker's
//     subtasks failing, a worker process ending, a TaskManager lost or
//     unreachable, too many failed checkpoints — cancels the attempt on
//     every worker and, as the restart strategy allows, starts the next
//     from the latest completed checkpoint.
//
// Checkpoint traffic does not pass through that goroutine: a worker's
// acknowledgements go straight to the jobmaster.Checkpointer, whose
// triggers and notifications go to each worker's outbox. Subtasks write
// their state straight into the checkpoint's location
// (storage.Storage.Writer), which the JobMaster began; they ask for its
// path once per checkpoint.
//
// # Workers
//
// A worker runs one attempt at a time with a cluster/worker.Worker, over
// its own data server and client (one connection per pair of workers of
// the job), and sends its reports (deployed, ended, acknowledgements,
// operator events) through one ordered outbox. Its heartbeat carries its
// network metrics. It ends when it is stopped (its JobMaster has its
// TaskManager send SIGTERM) or when its JobMaster has not answered for
// heartbeat.timeout.
//
// # Invariants
//
//  1. Every process of a job runs the graph the client submitted: the
//     JobMaster and each worker compare their plan's fingerprint with the
//     submitted one, and a mismatch fails the job for good.
//  2. Reports of an attempt that is over are dropped, so a subtask of an
//     earlier attempt never counts as finished or acknowledged in a later
//     one.
//  3. Output stays exactly once across processes: a TaskManager killed
//     with SIGKILL fails the attempt, and the next one starts from the
//     latest completed checkpoint on the remaining and new slots
//     (examples/jobs/exactlyonce TestExactlyOnceAcrossTaskManagers).
//  4. No process outlives its part: a worker dies with its TaskManager
//     (Pdeathsig) and ends without its JobMaster; the JobMaster stops its
//     workers and releases its slots when the job ends.
package program
