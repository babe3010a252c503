// Package jobmanager is the JobManager process's core: the RPC endpoint
// TaskManagers register and heartbeat with, the ResourceManager (package
// resourcemanager, with its driver), the REST API (package rest) and the
// BlobServer (package blob), started and stopped together.
//
// Invariants:
//  1. Run stops every server and the resource manager's driver (and with
//     it every TaskManager process the process driver started) before it
//     returns (TestJobManagerLifecycle).
//  2. A TaskManager that misses heartbeats for heartbeat.timeout is
//     removed (resourcemanager's invariants); one that registers again is
//     listed again.
//  3. The RPC endpoint and the BlobServer listen on jobmanager.bind-host,
//     else jobmanager.rpc.address (localhost by default), the REST API on
//     rest.bind-address (localhost by default): loopback only unless
//     configured, which the log says (TestListensOnLoopbackByDefault).
//     Others are told advertised addresses (jobmanager.rpc.address and
//     the bound port, the REST API's reachable URL), never 0.0.0.0.
//  4. A builtin submission runs one of Options.Builtins as
//     "run JOB [-- ARGS]", and an uploaded program must be an executable
//     of this platform; anything else is refused with 400 before anything
//     is stored or started (TestSubmitBuiltinNamesABuiltin,
//     TestSubmitRefusesScripts).
//  5. ResourceManager.CheckWorker confirms a worker only for a running
//     job whose registered JobMaster is the caller's and which holds slots
//     on the asking TaskManager, and answers with what the job was
//     submitted with (TestCheckWorker); TaskManagers start nothing else.
//     The slot table holds an allocation before the JobMaster hears of
//     it, so a legitimate start is never refused.
package jobmanager
