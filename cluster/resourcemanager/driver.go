package resourcemanager

import "context"

// Driver is the only part of the resource manager that knows the cluster
// manager: it starts and stops workers (TaskManager processes, containers,
// Mesos tasks) and reports what becomes of them. Flink's
// ResourceManagerDriver; the slot bookkeeping (SlotManager) is written
// once, above every driver. The implementations are
// driver/standalone (TaskManagers started by an operator) and
// driver/process (local TaskManager processes).
//
// Lifetime: Start once, then any number of RequestWorker and
// ReleaseWorker, then Close once. CanStartWorkers may be called at any
// time. RequestWorker and ReleaseWorker before Start return
// ErrDriverNotStarted, after Close ErrDriverClosed (wrapped).
//
// Goroutine safety: every method may be called from any goroutine,
// concurrently with the others, except that Close must not overlap Start.
// A driver never calls WorkerEvents from inside one of its own methods nor
// while holding a lock of its own, so that the caller may handle an event
// by calling the driver.
//
// Errors are wrapped with %w; test them with errors.Is against the
// sentinels of this package (ErrCannotStartWorkers, ErrUnknownWorker,
// ErrDuplicateWorker, ErrDriverClosed, ErrDriverNotStarted) or the
// driver's own.
type Driver interface {
	// Start prepares the driver (for a cluster manager: connect,
	// register, recover the workers of an earlier run, reporting each
	// with WorkerStarted) and returns once it takes requests, or with an
	// error if it cannot. It must return when ctx is done, with an error
	// wrapping ctx.Err() if it was not ready by then; ctx bounds Start
	// only, not the driver's life, which ends with Close. events receives
	// every later report about workers, until Close has returned.
	Start(ctx context.Context, events WorkerEvents) error
	// CanStartWorkers reports whether RequestWorker does anything: false
	// for standalone, where TaskManagers come on their own. It is fixed
	// for the driver's life and decides the SlotManager's Mode.
	CanStartWorkers() bool
	// RequestWorker starts worker id, whose TaskManager must register
	// under id and offer spec.Slots slots. It returns once the start is
	// under way; the outcome comes later through WorkerEvents
	// (WorkerStarted, then WorkerFailed when the worker ends, whatever
	// the cause). An error means that the worker was not and will not be
	// started, and no event follows for id. ctx bounds the request, not
	// the worker's life. A request for a worker the driver still runs
	// returns ErrDuplicateWorker; the SlotManager never reuses an ID.
	RequestWorker(ctx context.Context, id WorkerID, spec WorkerSpec) error
	// ReleaseWorker stops worker id, gracefully if it can, forcibly if
	// it must, and returns once the stop is under way; WorkerFailed
	// reports when the worker has ended. Events for id may still arrive
	// after it returns. A worker the driver does not know (never
	// requested, or already ended and reported) is ErrUnknownWorker.
	ReleaseWorker(ctx context.Context, id WorkerID) error
	// Close ends the driver and waits for every goroutine it started; no
	// event is reported after it returns. Whether workers outlive it is
	// the driver's to document: the process driver stops them all (they
	// are its children), a cluster manager's driver with high
	// availability leaves them running for the next leader's Start to
	// recover. Close is idempotent.
	Close() error
}

// WorkerEvents receives a driver's reports about its workers: Flink's
// ResourceEventHandler. The resource manager implements it by queueing
// each event for its own goroutine, which feeds the SlotManager.
//
// Its methods may be called from any goroutine, concurrently for
// different workers; for one worker, WorkerStarted comes before
// WorkerFailed and each comes at most once. They must return promptly,
// also after the resource manager stopped listening (drop the event
// then): the driver's Close waits for them.
type WorkerEvents interface {
	// WorkerStarted: worker id runs; its TaskManager will register.
	WorkerStarted(id WorkerID)
	// WorkerFailed: worker id failed to start or ended, released or not;
	// err says how and is never nil.
	WorkerFailed(id WorkerID, err error)
}
