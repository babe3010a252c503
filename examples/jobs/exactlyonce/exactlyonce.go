// Package exactlyonce is the test program of runnel's exactly-once
// guarantee: a deterministic stream of events, a keyed running count in
// value state, and the exactly-once file sink, with failures injected on
// demand.
//
//	go run ./examples/exactlyonce --events N --keys K --output DIR
//		[--parallelism P] [--checkpoint-interval D] [--checkpoint-dir DIR]
//		[--restart-attempts N] [--fail-every M] [--rate R]
//		[--from-savepoint PATH]
//
// Event i (0 ≤ i < N) has key i mod K and per-key sequence number i div K.
// The source emits the events of each key in sequence order, so the count
// of a key's events seen so far is always seq+1. Each event becomes one
// line "key,seq,count" in a part file under --output. When the job has
// finished, the finished part files hold every line exactly once, however
// many failures and restarts happened on the way: that is what the tests
// check, line by line.
//
// # Flags
//
//   - --events N, --keys K: the stream (N ≥ 0, K ≥ 1).
//   - --output DIR: where the part files go (required). Hidden files
//     (".part-...") are in progress or pending; only finished ones count.
//   - --parallelism P: of every operator (default: the environment's,
//     parallelism.default — `runnel run --parallelism` — or else the
//     number of CPUs).
//   - --checkpoint-interval D: Go duration; 0 disables checkpoints (then
//     the sink commits at the end, and a failure fails the job).
//   - --checkpoint-dir DIR: where checkpoints go (default: a temporary
//     directory removed at the end).
//   - --restart-attempts N: fixed-delay restarts allowed, with no delay
//     between them. By default, a job with --fail-every restarts at once
//     without limit, and any other job has the default restart strategy
//     (exponential-delay with checkpoints, none without).
//   - --fail-every M: each subtask of the "fail" map operator returns an
//     error after every M records it has passed on (counted over restarts:
//     the count is in its checkpointed state), each failure point once per
//     run of the program. 0 (the default) never fails.
//   - --rate R: events per second per source subtask; 0 is unlimited.
//   - --from-savepoint PATH: start from a savepoint or retained checkpoint.
package exactlyonce

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"strconv"
	"sync"
	"time"

	"github.com/runnel-io/runnel/connectors/filesink"
	"github.com/runnel-io/runnel/examples/jobs"
	"github.com/runnel-io/runnel/runtime/restart"
	"github.com/runnel-io/runnel/state"
	"github.com/runnel-io/runnel/stream"
)

// Options configure the job; each field is the flag of the same name.
type Options struct {
	Events             int64
	Keys               int64
	Output             string
	Parallelism        int
	CheckpointInterval time.Duration
	CheckpointDir      string
	RestartAttempts    int // -1: the default
	FailEvery          int64
	Rate               float64
	FromSavepoint      string
}

// ErrInjected is the failure --fail-every injects.
var ErrInjected = errors.New("exactlyonce: injected failure")

// Run parses the job's flags from args and runs it; opts configure its
// environment (stream.NewEnvironment).
func Run(ctx context.Context, args []string, stdout io.Writer, opts ...stream.Option) error {
	o, err := ParseArgs(args)
	if err != nil {
		return err
	}
	env := stream.NewEnvironment(opts...).SetStdout(stdout)
	if err := Build(env, o); err != nil {
		return err
	}
	return env.Execute(ctx, "ExactlyOnce")
}

// ParseArgs parses and checks the job's flags.
func ParseArgs(args []string) (Options, error) {
	fs := flag.NewFlagSet("exactlyonce", flag.ContinueOnError)
	o := Options{RestartAttempts: -1}
	fs.Int64Var(&o.Events, "events", 0, "number of events")
	fs.Int64Var(&o.Keys, "keys", 1, "number of keys")
	fs.StringVar(&o.Output, "output", "", "`directory` of the part files (required)")
	fs.IntVar(&o.Parallelism, "parallelism", 0, "parallelism of every operator (default: parallelism.default, else the number of CPUs)")
	fs.DurationVar(&o.CheckpointInterval, "checkpoint-interval", 0, "time between checkpoints (0: none)")
	fs.StringVar(&o.CheckpointDir, "checkpoint-dir", "", "`directory` of the checkpoints (default: a temporary one)")
	fs.IntVar(&o.RestartAttempts, "restart-attempts", -1, "restarts allowed after failures, each at once (default: unlimited at once with --fail-every, else the default restart strategy: exponential-delay with checkpoints, none without)")
	fs.Int64Var(&o.FailEvery, "fail-every", 0, "fail each subtask of the fail operator after every `M` records (0: never)")
	fs.Float64Var(&o.Rate, "rate", 0, "events per second per source subtask (0: unlimited)")
	fs.StringVar(&o.FromSavepoint, "from-savepoint", "", "savepoint or retained checkpoint to start from")
	if err := jobs.Parse(fs, args); err != nil {
		return o, err
	}
	if err := o.Validate(); err != nil {
		return o, jobs.UsageError{Err: err}
	}
	return o, nil
}

// Validate reports the first mistake in o, naming its flag.
func (o Options) Validate() error {
	switch {
	case o.Events < 0:
		return fmt.Errorf("exactlyonce: --events %d: must not be negative", o.Events)
	case o.Keys < 1:
		return fmt.Errorf("exactlyonce: --keys %d: must be at least 1", o.Keys)
	case o.Output == "":
		return errors.New("exactlyonce: --output is required: the directory of the part files")
	case o.Parallelism < 0:
		return fmt.Errorf("exactlyonce: --parallelism %d: must be at least 1", o.Parallelism)
	case o.CheckpointInterval < 0:
		return fmt.Errorf("exactlyonce: --checkpoint-interval %v: must not be negative", o.CheckpointInterval)
	case o.RestartAttempts < -1:
		return fmt.Errorf("exactlyonce: --restart-attempts %d: must not be negative", o.RestartAttempts)
	case o.FailEvery < 0:
		return fmt.Errorf("exactlyonce: --fail-every %d: must not be negative", o.FailEvery)
	case o.Rate < 0:
		return fmt.Errorf("exactlyonce: --rate %v: must not be negative", o.Rate)
	}
	return nil
}

// Event is one event of the stream.
type Event struct {
	Key, Seq int64
}

// Build adds the job to env and configures its checkpoints and restarts.
func Build(env *stream.Environment, o Options) error {
	if err := o.Validate(); err != nil {
		return err
	}
	if o.Parallelism > 0 {
		env.SetParallelism(o.Parallelism)
	}
	if o.CheckpointInterval > 0 {
		env.EnableCheckpointing(o.CheckpointInterval)
	}
	switch {
	case o.RestartAttempts == 0:
		env.SetRestartStrategy(restart.Config{Type: restart.None})
	case o.RestartAttempts > 0:
		env.SetRestartStrategy(restart.Config{Type: restart.FixedDelay, FixedDelay: restart.FixedDelayConfig{Attempts: o.RestartAttempts}})
	case o.FailEvery > 0:
		// Injected failures restart at once: they show exactly-once
		// output, not the back-off of the default strategy.
		env.SetRestartStrategy(restart.Config{Type: restart.FixedDelay, FixedDelay: restart.FixedDelayConfig{Attempts: restart.Unlimited}})
	}
	cc := env.CheckpointConfig()
	cc.Dir = o.CheckpointDir
	if o.FromSavepoint != "" {
		env.SetRestoreFrom(o.FromSavepoint, false)
	}

	events := stream.FromSplitSource(env, &source{events: o.Events, keys: o.Keys, rate: o.Rate},
		stream.NoWatermarks[Event](), "Events").UID("events")
	failed := &failures{seen: map[failure]bool{}}
	passed := stream.ProcessEach(events, func() stream.ProcessFunction[Event, Event] {
		return &failer{every: o.FailEvery, failed: failed}
	}).Name("fail").UID("fail")
	counted := stream.KeyedProcessEach(stream.KeyBy(passed, func(e Event) int64 { return e.Key }),
		func() stream.KeyedProcessFunction[int64, Event, string] { return &counter{} }).Name("count").UID("count")
	stream.SinkToTwoPhase(counted, filesink.New[string](o.Output,
		filesink.WithBucketAssigner[string](filesink.BasePathBucketAssigner[string]{})), "Exactly-once file sink").UID("sink")
	return nil
}

// failure is one failure point: a subtask and its record count.
type failure struct {
	subtask int
	count   int64
}

// failures remembers the failure points that fired in this run, so that
// each fires once although the records before it are replayed.
type failures struct {
	mu   sync.Mutex
	seen map[failure]bool
}

func (f *failures) first(p failure) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.seen[p] {
		return false
	}
	f.seen[p] = true
	return true
}

// failer passes events on and fails after every --fail-every of them. Its
// count is operator state, so that after a restore it counts from where
// the checkpoint was taken.
type failer struct {
	every   int64
	failed  *failures
	subtask int
	count   int64
	state   state.ListState[int64]
}

func (f *failer) Open(_ context.Context, rc *stream.RuntimeContext) error {
	st, err := stream.GetOperatorListState(rc, state.List[int64]("count"))
	if err != nil {
		return err
	}
	counts, err := st.Get()
	if err != nil {
		return err
	}
	// After rescaling a subtask may get several counts, or none.
	for _, c := range counts {
		f.count += c
	}
	f.state, f.subtask = st, rc.Subtask
	return st.Update([]int64{f.count})
}

func (f *failer) ProcessElement(_ *stream.Context, e Event, out stream.Collector[Event]) error {
	f.count++
	if err := f.state.Update([]int64{f.count}); err != nil {
		return err
	}
	if f.every > 0 && f.count%f.every == 0 && f.failed.first(failure{f.subtask, f.count}) {
		return fmt.Errorf("%w after %d records of subtask %d", ErrInjected, f.count, f.subtask)
	}
	out.Collect(e)
	return nil
}

// counter keeps the running count of each key in value state.
type counter struct {
	count state.ValueState[int64]
	buf   []byte
}

func (c *counter) Open(_ context.Context, rc *stream.KeyedRuntimeContext[int64]) error {
	st, err := stream.GetValueState(rc, state.Value[int64]("count"))
	c.count = st
	return err
}

func (c *counter) ProcessElement(_ *stream.KeyedContext[int64], e Event, out stream.Collector[string]) error {
	n, _, err := c.count.Value()
	if err != nil {
		return err
	}
	n++
	if err := c.count.Update(n); err != nil {
		return err
	}
	c.buf = strconv.AppendInt(c.buf[:0], e.Key, 10)
	c.buf = append(c.buf, ',')
	c.buf = strconv.AppendInt(c.buf, e.Seq, 10)
	c.buf = append(c.buf, ',')
	c.buf = strconv.AppendInt(c.buf, n, 10)
	out.Collect(string(c.buf))
	return nil
}
