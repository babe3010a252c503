package stream

import (
	"context"
	"log/slog"
	"time"

	"github.com/runnel-io/runnel/runtime/clock"
	"github.com/runnel-io/runnel/runtime/operator"
	"github.com/runnel-io/runnel/state"
)

// Collector receives the records a function emits.
type Collector[T any] interface {
	// Collect emits v with the timestamp of the record being processed.
	Collect(v T)
}

// RuntimeContext describes the subtask a function runs in.
type RuntimeContext struct {
	JobName        string
	TaskName       string
	OperatorName   string
	Subtask        int // 0-based index of this parallel instance
	Parallelism    int
	MaxParallelism int
	Attempt        int
	// Logger logs with the subtask's task, named as Flink names it
	// ("Source: numbers -> count (2/4)"), and the operator's name.
	Logger *slog.Logger

	operatorState *state.OperatorBackend
	clock         clock.Clock
}

// ProcessingTime returns the subtask's processing time, in milliseconds
// since the Unix epoch, read from the task's clock (which tests may move by
// hand).
func (rc *RuntimeContext) ProcessingTime() int64 {
	if rc.clock == nil {
		return time.Now().UnixMilli()
	}
	return clock.Millis(rc.clock.Now())
}

// GetOperatorListState returns the subtask's list state d: non-keyed state
// that a rescaled job splits evenly over the new subtasks (Flink's operator
// list state). Sources and sinks keep their positions and pending work in it.
func GetOperatorListState[V any](rc *RuntimeContext, d state.ListDescriptor[V]) (state.ListState[V], error) {
	return state.GetOperatorListState(rc.operatorState, d)
}

// GetUnionListState returns the subtask's union list state d: on restore,
// every subtask gets the union of all subtasks' lists.
func GetUnionListState[V any](rc *RuntimeContext, d state.ListDescriptor[V]) (state.ListState[V], error) {
	return state.GetUnionListState(rc.operatorState, d)
}

func runtimeContext(c *operator.Context) *RuntimeContext {
	return &RuntimeContext{
		JobName:        c.JobName,
		TaskName:       c.TaskName,
		OperatorName:   c.OperatorName,
		Subtask:        c.Subtask,
		Parallelism:    c.Parallelism,
		MaxParallelism: c.MaxParallelism,
		Attempt:        c.Attempt,
		Logger:         c.Logger,
		operatorState:  c.OperatorState,
		clock:          c.Clock,
	}
}

// Opener is implemented by functions that need set-up per subtask: Open is
// called once before the first record.
type Opener interface {
	Open(ctx context.Context, rc *RuntimeContext) error
}

// Closer is implemented by functions that hold resources: Close is called
// once when the subtask ends, whether it succeeded or not.
type Closer interface {
	Close() error
}

// Finisher is implemented by functions that emit at the end of bounded
// input: Finish is called once after the last record, before Close.
type Finisher[Out any] interface {
	Finish(out Collector[Out]) error
}

// Context is passed to a ProcessFunction with each record. It is reused:
// a function must not keep it beyond the call.
type Context struct {
	rc        *RuntimeContext
	ts        int64
	watermark int64
	sides     map[string]any
	err       error // the first error of a side output
}

func newContext(c *operator.Context) Context {
	return Context{rc: runtimeContext(c), ts: operator.NoTimestamp, watermark: operator.MinWatermark, sides: c.SideOutputs}
}

// Timestamp returns the record's timestamp and whether it has one.
func (c *Context) Timestamp() (int64, bool) { return c.ts, c.ts != operator.NoTimestamp }

// CurrentWatermark returns the operator's event time: the last watermark it
// received (math.MinInt64 before the first).
func (c *Context) CurrentWatermark() int64 { return c.watermark }

// Runtime describes the subtask.
func (c *Context) Runtime() *RuntimeContext { return c.rc }

// result is what an operator returns after calling a user function with
// this context and col: the function's own error, attributed to the
// operator, else the first error downstream of the main or a side output.
func (c *Context) result(oc *operator.Context, col errTaker, fnErr error) error {
	side := c.err
	c.err = nil
	if err := col.result(oc, fnErr); err != nil {
		return err
	}
	return side
}

// OutputTag names a side output of records of type T. Tags are compared by
// id: two tags with the same id are the same side output, and must have the
// same type.
type OutputTag[T any] struct{ id string }

// NewOutputTag returns the tag of the side output id.
func NewOutputTag[T any](id string) OutputTag[T] { return OutputTag[T]{id: id} }

// ID returns the tag's id.
func (t OutputTag[T]) ID() string { return t.id }

// Emit sends v to the side output t, with the timestamp of the record being
// processed. A side output without consumers drops it.
func (t OutputTag[T]) Emit(ctx *Context, v T) {
	out, ok := ctx.sides[t.id].(operator.Output[T])
	if !ok || ctx.err != nil {
		return
	}
	ctx.err = out.Collect(v, ctx.ts)
}

// ProcessFunction is the most general one-input function: it sees every
// record with its context and may emit any number of records. It may also
// implement Opener, Closer and Finisher[Out].
type ProcessFunction[In, Out any] interface {
	ProcessElement(ctx *Context, v In, out Collector[Out]) error
}

// ProcessFunc adapts a function to ProcessFunction.
type ProcessFunc[In, Out any] func(ctx *Context, v In, out Collector[Out]) error

// ProcessElement implements ProcessFunction.
func (f ProcessFunc[In, Out]) ProcessElement(ctx *Context, v In, out Collector[Out]) error {
	return f(ctx, v, out)
}

// CoProcessFunction processes the two inputs of connected streams.
type CoProcessFunction[A, B, Out any] interface {
	ProcessElement1(ctx *Context, v A, out Collector[Out]) error
	ProcessElement2(ctx *Context, v B, out Collector[Out]) error
}

// collector is the Collector handed to user functions. It stamps records
// with the current input's timestamp and keeps the first error of the
// downstream, which the operator returns once the function returns.
type collector[T any] struct {
	out operator.Output[T]
	ts  int64
	err error
}

func (c *collector[T]) Collect(v T) {
	if c.err == nil {
		c.err = c.out.Collect(v, c.ts)
	}
}

type errTaker interface {
	result(oc *operator.Context, fnErr error) error
}

// result is what an operator returns after calling a user function with
// this collector: the function's own error, attributed to the operator,
// else the first error of the downstream. It clears the collector.
func (c *collector[T]) result(oc *operator.Context, fnErr error) error {
	downstream := c.err
	c.err = nil
	if fnErr != nil {
		return oc.Fail(fnErr)
	}
	return downstream
}

// finish calls fn's Finish, if it has one, with col.
func finish[Out any](oc *operator.Context, fn any, col *collector[Out], ctx *Context) (err error) {
	defer operator.Guard(oc, &err)
	f, ok := fn.(Finisher[Out])
	if !ok {
		return nil
	}
	col.ts, ctx.ts = operator.NoTimestamp, operator.NoTimestamp
	return ctx.result(oc, col, f.Finish(col))
}
