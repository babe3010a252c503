package stream

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"runtime"
	"sync"
	"time"

	"github.com/runnel-io/runnel/executor"
	"github.com/runnel-io/runnel/runtime/clock"
	"github.com/runnel-io/runnel/runtime/graph"
	"github.com/runnel-io/runnel/runtime/job"
	"github.com/runnel-io/runnel/runtime/restart"
	"github.com/runnel-io/runnel/state/keygroup"
)

// RuntimeMode selects streaming or batch semantics for bounded jobs.
type RuntimeMode int

const (
	// Streaming: every operator emits as records arrive (the default).
	Streaming RuntimeMode = iota
	// Batch: every source must be bounded; keyed rolling aggregations emit
	// only their final value per key, at the end of input.
	Batch
)

func (m RuntimeMode) String() string {
	if m == Batch {
		return "BATCH"
	}
	return "STREAMING"
}

// Environment is where a job's dataflow is built and executed.
// An Environment is not safe for concurrent use while the dataflow is being
// built.
type Environment struct {
	graph  graph.StreamGraph
	mode   RuntimeMode
	logger *slog.Logger
	stdout io.Writer
	stderr io.Writer
	conf   job.Config // what every job of the environment runs with
	exec   Executor
	errs   []error

	checkpoints      CheckpointConfig
	restart          *restart.Config
	restorePath      string
	allowNonRestored bool
}

// Executor runs the jobs an Environment builds: it takes a job graph
// with its configuration (a job.Job) and returns a handle to the running
// job. The embedded mini-cluster is one (executor.Local); the part a
// cluster gives a process of the job's program is another. See
// job.Executor for the contract.
type Executor = job.Executor

// Option configures a new Environment.
type Option func(*Environment)

// WithExecutor makes the environment run its jobs with x instead of the
// executor of the process's part (executor.FromProcess).
func WithExecutor(x Executor) Option { return func(e *Environment) { e.exec = x } }

// WithConfiguration configures the environment by Flink's keys (see
// Configure) before the program does: what a command line asked for, as
// Flink's CLI hands its options to the program it runs. A mistake is
// reported by Execute.
func WithConfiguration(conf map[string]string) Option {
	return func(e *Environment) {
		if err := e.Configure(conf); err != nil {
			e.errs = append(e.errs, err)
		}
	}
}

// NewEnvironment returns an environment with parallelism
// runtime.NumCPU() and chaining enabled that runs its jobs where the
// process's part says (executor.FromProcess): on the embedded
// mini-cluster for a program run by itself, or on the cluster that
// started the program, configured as the cluster and the command line
// asked. The options are applied after that, in order.
func NewEnvironment(opts ...Option) *Environment {
	e := &Environment{
		graph:  graph.StreamGraph{Parallelism: runtime.NumCPU(), Chaining: true},
		logger: slog.New(slog.DiscardHandler),
		stdout: &lockedWriter{w: os.Stdout},
		stderr: &lockedWriter{w: os.Stderr},
		conf:   job.Config{AutoWatermarkInterval: 200 * time.Millisecond, Clock: clock.System{}},
	}
	x, conf, err := executor.FromProcess()
	if err != nil {
		e.errs = append(e.errs, fmt.Errorf("stream: %w", err))
		x = executor.Local()
	}
	e.exec = x
	if len(conf) > 0 {
		WithConfiguration(conf)(e)
	}
	for _, o := range opts {
		o(e)
	}
	return e
}

// SetParallelism sets the default parallelism of the job's operators.
func (e *Environment) SetParallelism(n int) *Environment {
	if n < 1 {
		e.errorf("stream: SetParallelism(%d): parallelism must be at least 1", n)
		return e
	}
	e.graph.Parallelism = n
	return e
}

// Parallelism returns the default parallelism.
func (e *Environment) Parallelism() int { return e.graph.Parallelism }

// SetMaxParallelism sets the number of key groups of the job's keyed
// operators: the most subtasks a keyed operator can ever be rescaled to.
func (e *Environment) SetMaxParallelism(n int) *Environment {
	if n < 1 || n > keygroup.UpperBound {
		e.errorf("stream: SetMaxParallelism(%d): must be in [1, %d]", n, keygroup.UpperBound)
		return e
	}
	e.graph.MaxParallelism = n
	return e
}

// DisableOperatorChaining runs every operator in its own task.
func (e *Environment) DisableOperatorChaining() *Environment {
	e.graph.Chaining = false
	return e
}

// SetRuntimeMode selects Streaming (default) or Batch semantics.
func (e *Environment) SetRuntimeMode(m RuntimeMode) *Environment {
	e.mode = m
	return e
}

// SetLogger sets the logger of the runtime and of the job's operators.
func (e *Environment) SetLogger(l *slog.Logger) *Environment {
	if l != nil {
		e.logger = l
	}
	return e
}

// SetStdout redirects the output of Print sinks (os.Stdout by default).
// Writes are made whole lines at a time, from one goroutine at a time.
func (e *Environment) SetStdout(w io.Writer) *Environment {
	e.stdout = &lockedWriter{w: w}
	return e
}

// SetStderr redirects the output of PrintToErr sinks.
func (e *Environment) SetStderr(w io.Writer) *Environment {
	e.stderr = &lockedWriter{w: w}
	return e
}

// SetAutoWatermarkInterval sets how often periodic watermark generators
// emit (Flink's pipeline.auto-watermark-interval, 200ms by default); 0
// disables periodic emission.
func (e *Environment) SetAutoWatermarkInterval(d time.Duration) *Environment {
	if d < 0 {
		e.errorf("stream: SetAutoWatermarkInterval(%v): must not be negative", d)
		return e
	}
	e.conf.AutoWatermarkInterval = d
	return e
}

// SetBufferTimeout sets how long a record may wait in a partly filled
// network buffer before its task sends it to the next task (Flink's
// execution.buffer-timeout, 100 ms by default): a positive d flushes the
// buffers at that period, 0 after every record (the lowest latency) and
// -1 ms only when a buffer is full (the highest throughput). Whatever the
// timeout, a task sends its buffers whenever its input runs dry, at the
// end of its input and before checkpoint barriers. The timeout is in the
// tasks' processing time: with a manual clock (SetClock), buffers time out
// only as the clock is advanced.
func (e *Environment) SetBufferTimeout(d time.Duration) *Environment {
	if d < 0 && d != -time.Millisecond {
		e.errorf("stream: SetBufferTimeout(%v): want -1ms (flush only full buffers), 0 (flush after every record) or a positive timeout", d)
		return e
	}
	e.conf.BufferTimeout = &d
	return e
}

// SetClock sets the processing time of the job's tasks (the wall clock by
// default); tests use a clock.Manual to drive processing-time windows and
// timers by hand.
func (e *Environment) SetClock(c clock.Clock) *Environment {
	if c != nil {
		e.conf.Clock = c
	}
	return e
}

// SetNetworkBuffers tunes the exchange between tasks: the number of buffers
// queued per channel (Flink's buffers-per-channel, default 2) and the size of
// a buffer in bytes (default 32 KiB). Zero keeps a default.
func (e *Environment) SetNetworkBuffers(perChannel, segmentSize int) *Environment {
	if perChannel < 0 || segmentSize < 0 || (segmentSize > 0 && segmentSize < 64) {
		e.errorf("stream: SetNetworkBuffers(%d, %d): want non-negative values and segments of at least 64 bytes", perChannel, segmentSize)
		return e
	}
	e.conf.ChannelCapacity, e.conf.SegmentSize = perChannel, segmentSize
	return e
}

func (e *Environment) errorf(format string, args ...any) {
	e.errs = append(e.errs, fmt.Errorf(format, args...))
}

// StreamGraph returns the job's dataflow as built so far, or the mistakes
// made while building it.
func (e *Environment) StreamGraph() (*graph.StreamGraph, error) {
	if len(e.errs) > 0 {
		return nil, errors.Join(e.errs...)
	}
	if e.mode == Batch {
		for _, n := range e.graph.Nodes {
			if n.Source && !n.Bounded {
				return nil, fmt.Errorf("stream: BATCH runtime mode needs bounded sources, and %s is unbounded", n)
			}
		}
	}
	return &e.graph, nil
}

// Execute runs the job and returns when it ends: when every source is
// exhausted and every record has reached the sinks, when it fails, or
// when ctx is cancelled (then with an error wrapping context.Canceled).
// Each failure and restart of the job is a line on the environment's
// stderr (SetStderr).
//
// Where it runs is the executor's choice (see NewEnvironment): in a
// program started by `runnel run --jobmanager`, Execute submits the job
// to that cluster and waits for its end (not when detached); in the
// processes the cluster starts from the program to run the job (its
// JobMaster and workers), Execute plays their part and returns when it is
// over. Execute always returns: the program's main decides its exit code.
func (e *Environment) Execute(ctx context.Context, name string) error {
	c, err := e.ExecuteAsync(ctx, name)
	if err != nil {
		return err
	}
	return c.Wait()
}

// build makes the job graph and its configuration for the executor;
// cleanup is due when the job has ended.
func (e *Environment) build(name string) (_ *job.Job, cleanup func(), err error) {
	sg, err := e.StreamGraph()
	if err != nil {
		return nil, nil, err
	}
	jg, err := sg.JobGraph()
	if err != nil {
		return nil, nil, fmt.Errorf("stream: job %q: %w", name, err)
	}
	cfg := e.conf
	cfg.Logger = e.logger
	if cleanup, err = e.checkpointOptions(&cfg, e.exec.Mode()); err != nil {
		return nil, nil, fmt.Errorf("stream: job %q: %w", name, err)
	}
	return &job.Job{Name: name, Graph: jg, Config: cfg, Stdout: e.stdout, Stderr: e.stderr}, cleanup, nil
}

// lockedWriter serializes writes from the subtasks of print sinks.
type lockedWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}
