package jobmaster

import (
	"errors"
	"fmt"
)

// ErrNonRecoverable marks a failure that no restart can mend (Flink's
// SuppressRestartsException): a restore from a corrupt or incompatible
// snapshot, a program that builds another job graph than the one
// submitted, invalid configuration, or slots the cluster cannot give. The
// core fails the job at once on such a failure, whatever the restart
// strategy.
var ErrNonRecoverable = errors.New("jobmaster: non-recoverable failure")

// NonRecoverable marks err as a failure no restart can mend; its message
// is err's. It returns nil for nil.
func NonRecoverable(err error) error {
	if err == nil {
		return nil
	}
	return nonRecoverable{err}
}

type nonRecoverable struct{ error }

func (n nonRecoverable) Unwrap() []error { return []error{n.error, ErrNonRecoverable} }

// IsNonRecoverable reports whether err, or an error it wraps, was marked
// with NonRecoverable.
func IsNonRecoverable(err error) bool { return errors.Is(err, ErrNonRecoverable) }

// TaskManagerLostError is the failure of an attempt whose TaskManager
// went away (its heartbeats stopped, it could not be reached, or its
// slots were taken back).
type TaskManagerLostError struct {
	TaskManager string
	Reason      error
}

func (e *TaskManagerLostError) Error() string {
	if e.Reason == nil {
		return fmt.Sprintf("TaskManager %s is lost", e.TaskManager)
	}
	return fmt.Sprintf("TaskManager %s is lost: %v", e.TaskManager, e.Reason)
}

func (e *TaskManagerLostError) Unwrap() error { return e.Reason }

// ErrNotEnoughSlots is wrapped by the failure of a job whose slot request
// the ResourceManager could not serve (Flink's
// NoResourceAvailableException). It is non-recoverable: slots the
// cluster did not have for slot.request.timeout are not expected on a
// restart either, and a retry would wait again without end.
var ErrNotEnoughSlots = errors.New("jobmaster: not enough slots")

// ExceptionName is the name the REST API and the CLI give a failure, in
// the manner of the Java exception names Flink shows.
func ExceptionName(err error) string {
	var lost *TaskManagerLostError
	switch {
	case errors.As(err, &lost):
		return "TaskManagerLost"
	case errors.Is(err, ErrNotEnoughSlots):
		return "NoResourceAvailable"
	case IsNonRecoverable(err):
		return "NonRecoverableFailure"
	}
	return "JobFailure"
}

// FailureLine is the line an attached client prints for a failure of the
// job called name: attempt is the attempt that failed (from 1), or ""
// for a failure of the job outside its attempts (its JobMaster lost),
// restart the delay before the next attempt, or "none" if the job does
// not restart.
func FailureLine(name, attempt, cause, restart string) string {
	what := "attempt " + attempt
	if attempt == "" {
		what = "the job" // a failure outside any attempt: its JobMaster was lost
	}
	if restart == "" || restart == "none" {
		return fmt.Sprintf("job %q: %s failed: %s; the job does not restart", name, what, cause)
	}
	return fmt.Sprintf("job %q: %s failed: %s; restarting in %s", name, what, cause, restart)
}

// Line is FailureLine for f, of the job called name.
func (f Failure) Line(name string) string {
	restart := "none"
	if f.Restart {
		restart = f.Delay.String()
	}
	return FailureLine(name, fmt.Sprint(f.Attempt+1), f.Cause.Error(), restart)
}
