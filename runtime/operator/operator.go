package operator

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"runtime/debug"
	"time"

	"github.com/runnel-io/runnel/runtime/clock"
	"github.com/runnel-io/runnel/runtime/network"
	"github.com/runnel-io/runnel/state"
)

// NoTimestamp marks a record without a timestamp.
const NoTimestamp = network.NoTimestamp

const (
	// MinWatermark is the watermark of a stream that has not sent one.
	MinWatermark = math.MinInt64
	// MaxWatermark ends event time: a bounded source sends it after its last
	// record, so that every event-time timer and window fires.
	MaxWatermark = math.MaxInt64
)

// Output receives records: see network.Output.
type Output[T any] = network.Output[T]

// Operator is the type-erased lifecycle of one operator instance. All
// methods are called from the task's goroutine; see the package doc for the
// order.
type Operator interface {
	Open(ctx context.Context) error
	Finish() error
	Close() error
}

// IdleFlusher is implemented by operators that buffer output of their own
// (a print or file sink). The task calls Flush whenever its input runs dry,
// so that a slow stream is not held back in a buffer.
type IdleFlusher interface {
	Flush() error
}

// InputStatus is what a source reports after a poll.
type InputStatus int

const (
	// MoreAvailable: poll again at once.
	MoreAvailable InputStatus = iota
	// NothingAvailable: wait for Available before polling again.
	NothingAvailable
	// EndOfInput: the source is exhausted; do not poll again.
	EndOfInput
)

// SourceOperator is the head of a source task's chain. The task polls it
// instead of reading an input gate.
type SourceOperator interface {
	Operator
	// PollNext emits the records available now (a bounded batch) and reports
	// whether more are available. It must not block for long: the task
	// reacts to cancellation, mail and checkpoint triggers between polls.
	PollNext() (InputStatus, error)
	// Available returns a channel that becomes ready when PollNext may make
	// progress after it returned NothingAvailable. Spurious wake-ups are
	// allowed.
	Available() <-chan struct{}
}

// ProcessingTimeService runs callbacks on the task's goroutine at points of
// processing time: Flink's processing-time service. Times are milliseconds
// since the Unix epoch, read from the task's clock.
type ProcessingTimeService interface {
	// Now returns the current processing time.
	Now() int64
	// Register calls fn with the current time on the task's goroutine once
	// processing time has reached t, unless cancelled first. An error from
	// fn fails the task.
	Register(t int64, fn func(now int64) error) Cancel
}

// Cancel cancels a registered callback; it reports whether the callback was
// still pending. It must be called from the task's goroutine.
type Cancel func() bool

// Context describes the subtask an operator instance runs in.
type Context struct {
	JobName        string
	TaskName       string
	OperatorName   string
	OperatorID     string
	Subtask        int // 0-based index of the subtask
	Parallelism    int
	MaxParallelism int
	Attempt        int
	Logger         *slog.Logger
	// ProcessingTime schedules callbacks on the task's goroutine.
	ProcessingTime ProcessingTimeService
	// Clock is the task's processing time, for state TTL.
	Clock clock.Clock
	// AutoWatermarkInterval is how often periodic watermark generators emit
	// (0: never).
	AutoWatermarkInterval time.Duration
	// SideOutputs maps each side-output tag of the operator that has
	// consumers to its Output (an Output[T] of the tag's type).
	SideOutputs map[string]any
	// OperatorState is the operator instance's non-keyed state, already
	// restored when the subtask starts from a checkpoint.
	OperatorState *state.OperatorBackend

	// Checkpointing is true when the job takes periodic checkpoints. Without
	// it, a two-phase-commit sink commits at the end of its input.
	Checkpointing bool
	// Restored is true when the subtask starts from a checkpoint or a
	// savepoint (Flink's isRestored), even if it holds no state of its own.
	Restored bool
	// RestoredKeyedState holds the keyed state to restore: snapshots that
	// together cover the subtask's key groups (and may hold others, which
	// the backend ignores). A keyed operator passes them to its backend's
	// Restore. Nil on a fresh start.
	RestoredKeyedState []*state.KeyedSnapshot
	// KeyedState is set by a keyed operator, when it is created, to its
	// keyed state backend, which the task then snapshots at every
	// checkpoint.
	KeyedState KeyedSnapshotter
	// Coordinator sends events to the operator's coordinator; nil if the
	// operator has none.
	Coordinator CoordinatorGateway
}

// SubtaskName names one subtask the way Flink does: the operator's (or the
// task's) name, then the subtask's index from 1 and the parallelism, as in
// "count (2/4)". subtask is the 0-based index.
func SubtaskName(name string, subtask, parallelism int) string {
	return fmt.Sprintf("%s (%d/%d)", name, subtask+1, parallelism)
}

// Error is the failure of one operator in one subtask. Its message is the
// subtask's name and the cause: "count (2/4): division by zero".
type Error struct {
	Operator    string
	Subtask     int // 0-based
	Parallelism int
	Err         error
	// Stack is the goroutine's stack when the operator panicked, else nil.
	Stack []byte
}

func (e *Error) Error() string {
	return SubtaskName(e.Operator, e.Subtask, e.Parallelism) + ": " + errText(e.Err)
}

func (e *Error) Unwrap() error { return e.Err }

// errText is err's message, or a placeholder that says there was none.
func errText(err error) string {
	if err == nil {
		return "failed without an error"
	}
	return err.Error()
}

// Fail attributes err to the operator of c, unless it already names an
// operator (it came from further down the chain).
func (c *Context) Fail(err error) error {
	if err == nil {
		return nil
	}
	var oe *Error
	if errors.As(err, &oe) {
		return err
	}
	return &Error{Operator: c.OperatorName, Subtask: c.Subtask, Parallelism: c.Parallelism, Err: err}
}

// Guard turns a panic into an *Error of the operator of c; a panic with an
// error value stays reachable with errors.Is and errors.As. Call it deferred,
// with a pointer to the function's named error result:
//
//	func (o *mapOp[T, U]) Collect(v T, ts int64) (err error) {
//		defer operator.Guard(o.ctx, &err)
//		...
func Guard(c *Context, err *error) {
	if r := recover(); r != nil {
		cause := fmt.Errorf("panic: %v", r)
		if e, ok := r.(error); ok {
			cause = fmt.Errorf("panic: %w", e)
		}
		*err = &Error{
			Operator:    c.OperatorName,
			Subtask:     c.Subtask,
			Parallelism: c.Parallelism,
			Err:         cause,
			Stack:       debug.Stack(),
		}
	}
}

// Factory builds one subtask's instance of an operator.
type Factory interface {
	// Create returns the instance for the subtask described by c. out holds
	// an Output[Out] for the operator's output type (for a sink, a discarding
	// output that it may ignore). inputs[i] holds an Output[In_i] that receives
	// the records of logical input i (none for a source).
	Create(c *Context, out any) (op Operator, inputs []any, err error)
}

// FactoryFunc adapts a function to Factory.
type FactoryFunc func(c *Context, out any) (Operator, []any, error)

// Create implements Factory.
func (f FactoryFunc) Create(c *Context, out any) (Operator, []any, error) { return f(c, out) }

// OutputAs asserts a type-erased output to Output[T], with an error naming
// the operator if the graph wired mismatched types (a bug in the graph
// builder, not in the user's job).
func OutputAs[T any](c *Context, out any) (Output[T], error) {
	o, ok := out.(Output[T])
	if !ok {
		return nil, fmt.Errorf("operator %q: internal: output %T is not an Output[%s]", c.OperatorName, out, typeName[T]())
	}
	return o, nil
}
