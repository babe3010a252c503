// Package taskmanager is a TaskManager: it registers its slots with the
// JobManager's ResourceManager and keeps the registration alive with
// heartbeats. When the JobManager stops answering for heartbeat.timeout
// (or no longer knows it), the TaskManager registers again, so that a
// restarted JobManager, or one that timed the TaskManager out, gets it
// back.
//
// # Worker processes
//
// A job's subtasks run in a worker process: one per job on each
// TaskManager that holds slots of the job. The TaskManager serves an RPC
// endpoint (taskmanager.rpc.port, on taskmanager.host) whose address it
// registers with the ResourceManager; the job's JobMaster asks it there
// to start and stop the job's worker (rpc.StartWorker, rpc.StopWorker).
// The worker, once up, registers with the JobMaster itself: the
// TaskManager only starts, watches and stops the process.
//
// Before it starts anything the TaskManager asks the JobManager it
// registered with (rpc.CheckWorker) whether the job holds slots on it and
// has its JobMaster where the request says; it is refused otherwise
// (rpc.CodeForbidden). The program, arguments and working directory are
// the job's as submitted, from the JobManager's answer: a request that
// differs is refused, and StartWorker.Env must be the program.EnvVar of
// this job's worker on this TaskManager, to which the TaskManager sets
// its own hosts. Whoever reaches the RPC endpoint thus runs nothing the
// ResourceManager did not place here. The RPC endpoint and the workers
// listen on taskmanager.bind-host, else the advertised host (loopback
// for a JobManager on loopback).
//
// The program is the TaskManager's own executable for a builtin job
// (Config.Self), or else the job's binary, fetched from the BlobServer
// once into <work dir>/blobs/<key> and shared by every worker with that
// program. Its arguments are StartWorker.Args (what follows the program
// on its command line), its environment the TaskManager's plus
// StartWorker.Env (which may only set RUNNEL_PROCESS, the worker's role)
// and the TaskManager's internal TLS settings (security.EnvInternal),
// its working directory StartWorker.WorkingDir if
// that exists (else the TaskManager's), and its output is appended to
// <work dir>/<job ID>.log. The work directory is
// process.taskmanager.working-dir, or a temporary one that lives as long
// as Run.
//
// StopWorker sends the worker SIGTERM, SIGKILL after Config.StopGracePeriod,
// and returns once it is gone. A worker that ends without having been
// asked to is reported to its JobMaster (rpc.WorkerExited, with its exit
// status and the last lines of its output); a JobMaster that cannot be
// reached is logged, not retried.
//
// Invariants:
//  1. A TaskManager is registered with at most one JobManager at a time
//     and re-registers after it lost the JobManager
//     (TestTaskManagerReregisters).
//  2. A TaskManager runs at most one worker process per job; a
//     StartWorker for a job whose worker runs starts nothing
//     (TestStartWorker). Once a worker ended, the job has none and the
//     next StartWorker starts one (TestWorkerExitIsReported).
//  3. A worker that ends without a StopWorker while Run runs is reported
//     to its JobMaster, once; a stopped one is not reported
//     (TestWorkerExitIsReported, TestStartWorker,
//     TestRunStopsEveryWorker).
//  4. A fetched program is complete and verified against its key before
//     it is run: it is renamed into place by blob.Client.Fetch, and
//     concurrent fetches of one key are serialised
//     (TestStartWorkerFromBlob).
//  5. A worker process lives in a process group of its own; when it ends,
//     what is left of the group is killed. StopWorker returns only once
//     the worker is gone, SIGKILL following SIGTERM after the grace
//     period (TestStopWorkerKillsStubbornWorker).
//  6. No worker outlives its TaskManager: Run stops every worker before
//     it returns (TestRunStopsEveryWorker), and on Linux the kernel kills
//     the workers of a TaskManager that died without stopping them
//     (Pdeathsig; TestWorkerDiesWithTaskManager).
//  7. Run stops every goroutine it started, closes its RPC endpoint and
//     waits for the calls in progress before it returns (TestMain checks
//     that no goroutine outlives the tests).
//  8. With internal TLS (Config.Internal), the RPC endpoint refuses a
//     caller without a certificate of the cluster before it reads a call,
//     so no worker is started for it; a StartWorker may set no environment
//     entry but RUNNEL_PROCESS, and a worker's internal TLS settings are
//     always the TaskManager's own (TestStartWorkerRefusesCallersWithoutCertificate).
//     A TaskManager without a certificate of the cluster cannot register
//     with a JobManager that has internal TLS
//     (jobmanager TestJobManagerRefusesForeignTaskManager).
//  9. With Config.Leaders (high availability), the TaskManager registers
//     with, heartbeats to and asks CheckWorker of the latest leader only,
//     under its session as fencing token; when the leader changes it
//     registers with the new one without restarting, and calls the old
//     no more (TestTaskManagerFollowsTheLeader).
//
// Lock order: TaskManager.mu is taken alone; it is never held while
// waiting for a program's fetch semaphore, a process or a call.
package taskmanager
