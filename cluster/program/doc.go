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
// The JobMaster runs the job's jobmaster.Master, the one scheduling and
// failover loop the mini-cluster runs too; this package is its Runtime
// on a cluster:
//
//  1. slots: the core's RequestSlots go to the ResourceManager through
//     the Dispatcher, which relays its answers (SlotsAllocated,
//     SlotsLost, SlotRequestFailed); the job keeps its slots over
//     attempts;
//  2. workers: StartWorker has the TaskManager holding a slot start the
//     job's worker (rpc.StartWorker); the worker registers, with the
//     fingerprint of the graph it built;
//  3. Deploy, RunAttempt and CancelAttempt go to each worker through its
//     ordered outbox: the placement (subtask i of every task in slot i,
//     Flink's slot sharing) and the snapshot to restore, then the order
//     to run; the core starts the checkpoints and coordinators between
//     the two, so that no operator event is lost;
//  4. the workers' reports (deployed, ended, with a failure marked
//     non-recoverable or not) go back to the core, which restarts or
//     ends the job; a worker process ending, a TaskManager lost or
//     unreachable, or a worker that does not register within two
//     minutes fails the attempt.
//
// Every state change and failure goes to the Dispatcher in order: the
// REST API's job state and exception history, one entry per failure
// with the attempt and the restart delay as failure labels.
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
//  5. With internal TLS, a JobMaster and a worker take the settings their
//     parent hands them (security.EnvInternal; a settings entry that does
//     not load fails the process before it listens), and every connection
//     they serve or open is mutual TLS 1.3: their RPC endpoints, the
//     worker's data port (a TLS listener: tcp's invariant 10) and its data
//     client (tcp.DialTLS). A job then runs exactly once across
//     TaskManagers as without TLS (examples/jobs/exactlyonce
//     TestExactlyOnceWithInternalTLS).
package program
