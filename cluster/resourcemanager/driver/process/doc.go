// Package process is the resource manager's driver for local TaskManager
// processes: each worker is a child process started from a configured
// command line (the runnel binary with "taskmanager" and its -D flags),
// to which the driver appends
//
//	-Dtaskmanager.resource-id=<worker ID> -Dtaskmanager.numberOfTaskSlots=<slots>
//
// and in whose environment it sets RUNNEL_WORKER_ID, so that the
// TaskManager registers under the worker's ID. Its standard output and
// error go to <LogDir>/<worker ID>.log, appended to.
//
// Each worker runs in a process group of its own (Setpgid), so that
// whatever it starts is stopped with it. ReleaseWorker and Close send
// SIGTERM to the group, and SIGKILL to the TaskManager after
// Config.GracePeriod; once the TaskManager has exited, what is left of
// its group is killed (on Linux before the TaskManager is reaped, so
// that its group ID cannot have been reused). A process that leaves its
// group (setsid) is beyond the driver's reach.
//
// Close stops every worker and returns once all have ended and been
// reported: the workers do not outlive the driver.
//
// Goroutines: one per running worker, owned by the Driver, which waits
// for it in Close; it reports WorkerStarted, waits for the process to
// end, reaps it and reports WorkerFailed. os/exec adds one per worker,
// which ends when the process is reaped.
package process
