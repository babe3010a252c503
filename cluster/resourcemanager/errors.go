package resourcemanager

import (
	"errors"
	"fmt"
)

// Errors returned by SlotManager.RegisterTaskManager and
// SlotManager.Heartbeat, the two events a TaskManager waits on.
var (
	// ErrInvalidRegistration: a registration without an ID or without
	// slots.
	ErrInvalidRegistration = errors.New("resourcemanager: invalid registration")
	// ErrUnknownWorker: a driver that starts workers knows nothing of the
	// worker that registers (it was never requested, or was released or
	// lost since); the TaskManager should shut down. Drivers return it
	// too, wrapped, from ReleaseWorker of a worker they do not know.
	ErrUnknownWorker = errors.New("resourcemanager: unknown worker")
	// ErrUnknownTaskManager: a heartbeat from a TaskManager that is not
	// registered (it was lost, for example after missing heartbeats); the
	// TaskManager should register again, which is a new registration.
	ErrUnknownTaskManager = errors.New("resourcemanager: unknown TaskManager")
)

// Errors wrapped by the Reason of an action; test with errors.Is. A
// Reason's message says which job, TaskManager or worker, and why.
var (
	// ErrRequestTimeout: a slot request was not fulfilled within
	// Config.SlotRequestTimeout. The Reason is the failure a user reads
	// for the job, so it carries no package prefix and says what was
	// missing first: "not enough slots: needs 5, the cluster has 4 (1
	// free) after waiting slot.request.timeout = 5m0s", where 5 is the
	// slots the request asked for and 4 every slot of the registered
	// TaskManagers, allocated or free (if it is less than 5 the cluster
	// is too small for the request, else too busy).
	ErrRequestTimeout = errors.New("resourcemanager: slot request timed out")
	// ErrInvalidRequest: a slot request without a job or for fewer than
	// one slot, or for more than Config.MaxSlots.
	ErrInvalidRequest = errors.New("resourcemanager: invalid slot request")
	// ErrHeartbeatTimeout: a TaskManager sent no heartbeat within
	// Config.HeartbeatTimeout.
	ErrHeartbeatTimeout = errors.New("resourcemanager: heartbeat timed out")
	// ErrTaskManagerLost: TaskManagerLost was reported.
	ErrTaskManagerLost = errors.New("resourcemanager: TaskManager lost")
	// ErrReregistered: a registered TaskManager registered again; its old
	// registration, and the slots allocated on it, are gone.
	ErrReregistered = errors.New("resourcemanager: TaskManager registered again")
	// ErrWorkerFailed: the driver reported a worker failed or terminated.
	// The Reason also wraps the driver's error.
	ErrWorkerFailed = errors.New("resourcemanager: worker failed")
	// ErrRegistrationTimeout: a requested worker did not register within
	// Config.RegistrationTimeout.
	ErrRegistrationTimeout = errors.New("resourcemanager: worker registration timed out")
	// ErrIdle: a TaskManager had every slot free for
	// Config.TaskManagerTimeout.
	ErrIdle = errors.New("resourcemanager: TaskManager idle")
	// ErrNotEnoughSlots: a slot request waits and nothing will bring the
	// slots it misses (no driver that starts workers, or
	// Config.MaxSlots reached); wrapped by a Warn.
	ErrNotEnoughSlots = errors.New("resourcemanager: not enough slots")
)

// Errors of drivers.
var (
	// ErrCannotStartWorkers: RequestWorker or ReleaseWorker on a driver
	// whose CanStartWorkers is false.
	ErrCannotStartWorkers = errors.New("resourcemanager: driver cannot start workers")
	// ErrDriverClosed: a driver method after Close.
	ErrDriverClosed = errors.New("resourcemanager: driver closed")
	// ErrDriverNotStarted: RequestWorker or ReleaseWorker before Start.
	ErrDriverNotStarted = errors.New("resourcemanager: driver not started")
	// ErrDuplicateWorker: RequestWorker with the ID of a worker the
	// driver already runs.
	ErrDuplicateWorker = errors.New("resourcemanager: duplicate worker")
)

// reasonError is a message that wraps sentinels and causes without
// repeating their text.
type reasonError struct {
	msg  string
	errs []error
}

func (e *reasonError) Error() string   { return e.msg }
func (e *reasonError) Unwrap() []error { return e.errs }

// reason builds "resourcemanager: <format>[: <cause>]" wrapping sentinel
// and, if not nil, cause.
func reason(sentinel, cause error, format string, args ...any) error {
	msg := "resourcemanager: " + fmt.Sprintf(format, args...)
	errs := []error{sentinel}
	if cause != nil {
		msg += ": " + cause.Error()
		errs = append(errs, cause)
	}
	return &reasonError{msg: msg, errs: errs}
}

// userReason builds "<format>" wrapping sentinel, without the package
// prefix: for the one Reason that reaches a user as the job's failure
// (ErrRequestTimeout).
func userReason(sentinel error, format string, args ...any) error {
	return &reasonError{msg: fmt.Sprintf(format, args...), errs: []error{sentinel}}
}
