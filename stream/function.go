package stream

import (
	"context"
	"log/slog"

	"github.com/runnel-io/runnel/runtime/operator"
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
	Logger         *slog.Logger
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

// Context is passed to a ProcessFunction with each record.
type Context struct {
	rc *RuntimeContext
	ts int64
}

// Timestamp returns the record's timestamp and whether it has one.
func (c *Context) Timestamp() (int64, bool) { return c.ts, c.ts != operator.NoTimestamp }

// Runtime describes the subtask.
func (c *Context) Runtime() *RuntimeContext { return c.rc }

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
func finish[Out any](oc *operator.Context, fn any, col *collector[Out]) (err error) {
	defer operator.Guard(oc, &err)
	f, ok := fn.(Finisher[Out])
	if !ok {
		return nil
	}
	col.ts = operator.NoTimestamp
	return col.result(oc, f.Finish(col))
}
