package checkpoint

import (
	"errors"
	"fmt"
)

// Errors returned by the trigger methods.
var (
	// ErrEnded: Stop was called; nothing is triggered any more.
	ErrEnded = errors.New("checkpoint: job has ended")
	// ErrStopping: a savepoint with Options.Terminate is pending or
	// complete; the job is stopping.
	ErrStopping = errors.New("checkpoint: job is stopping with a savepoint")
	// ErrFailing: the coordinator emitted FailJob and waits for Restart or
	// Stop.
	ErrFailing = errors.New("checkpoint: job is failing")
	// ErrTooManyConcurrent: a manual checkpoint was requested while
	// Config.MaxConcurrent checkpoints are pending.
	ErrTooManyConcurrent = errors.New("checkpoint: too many concurrent checkpoints")
	// ErrInvalidOptions: the Options do not fit the trigger method.
	ErrInvalidOptions = errors.New("checkpoint: invalid options")
	// ErrInvalidJob: New was given an inconsistent Job.
	ErrInvalidJob = errors.New("checkpoint: invalid job")
)

// Errors wrapped by the Reason of an Abort or a FailJob; test with
// errors.Is. A Reason's message says which checkpoint and why.
var (
	// ErrExpired: the checkpoint was not acknowledged within
	// Config.Timeout.
	ErrExpired = errors.New("checkpoint: expired")
	// ErrDeclined: a task declined the checkpoint, or the driver could
	// not carry it out (Coordinator.Fail). The Reason also wraps the
	// task's or the driver's error.
	ErrDeclined = errors.New("checkpoint: declined")
	// ErrInvalidAck: a task acknowledged state the coordinator cannot place
	// (an unknown operator, a subtask out of range, a subtask reported
	// twice).
	ErrInvalidAck = errors.New("checkpoint: invalid acknowledgement")
	// ErrMetadataNotWritten: the driver failed to write the metadata. The
	// Reason also wraps the driver's error.
	ErrMetadataNotWritten = errors.New("checkpoint: metadata not written")
	// ErrSubsumed: a later checkpoint or savepoint completed first.
	ErrSubsumed = errors.New("checkpoint: subsumed")
	// ErrRestarting: the job is restarting. The Reason also wraps the
	// reason given to Restart.
	ErrRestarting = errors.New("checkpoint: job restarting")
	// ErrTooManyFailures is wrapped by FailJob.Reason, with the last
	// failure's reason.
	ErrTooManyFailures = errors.New("checkpoint: too many consecutive checkpoint failures")
)

// errNoReason stands in for a nil reason given to Decline or Restart.
var errNoReason = errors.New("no reason given")

// reasonError is a message that wraps sentinels and causes without
// repeating their text.
type reasonError struct {
	msg  string
	errs []error
}

func (e *reasonError) Error() string   { return e.msg }
func (e *reasonError) Unwrap() []error { return e.errs }

// newReason builds "checkpoint: <format>[: <cause>]" wrapping sentinel and
// cause (which may be nil).
func newReason(sentinel, cause error, format string, args ...any) error {
	msg := "checkpoint: " + fmt.Sprintf(format, args...)
	errs := []error{sentinel}
	if cause != nil {
		msg += ": " + cause.Error()
		errs = append(errs, cause)
	}
	return &reasonError{msg: msg, errs: errs}
}
