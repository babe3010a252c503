package nexmark

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"iter"
	"os"
	"runtime"
	"runtime/pprof"
	"slices"
	"syscall"
	"text/tabwriter"
	"time"

	"github.com/runnel-io/runnel/runtime/checkpoint"
	"github.com/runnel-io/runnel/stream"
)

// SuiteEventRate is the event-time rate of the nexmark/nexmark Flink suite
// (nexmark.workload.suite.*.tps): consecutive events are 0.1 µs apart.
const SuiteEventRate = 10_000_000

// RunOptions configure one run of the harness.
type RunOptions struct {
	Query  string // "q5", or "all"
	Events int64  // events to generate (ignored with Input)
	// Parallelism of the job (0: the number of CPUs).
	Parallelism int
	// EventRate is the event-time rate of the generated stream
	// (SuiteEventRate if 0).
	EventRate float64
	// Rate paces the source in events per second of wall-clock time over
	// all subtasks (0: as fast as it goes).
	Rate float64
	// Input, if set, is a file of JSON lines (see WriteJSON) to read instead
	// of generating.
	Input string
	// Output, if set, receives the results as JSON lines.
	Output string
	// CheckpointInterval, if positive, makes the job checkpoint at that
	// interval (0: no checkpoints). The generated source is replayable
	// (see Source); the --input source is not, and starts over after a
	// failure.
	CheckpointInterval time.Duration
	// CheckpointDir is where the checkpoints go (with CheckpointInterval
	// only); a temporary directory, removed after each run, if empty.
	CheckpointDir string
	// JobManager is accepted for the day the engine has a cluster; setting
	// it is an error until then.
	JobManager string
	CPUProfile string
	MemProfile string

	hooks *runHooks // nil but in tests
}

// runHooks let tests change the job of a run: inject a failure after the
// source, take the results through a sink of their own.
type runHooks struct {
	// events, if set, is applied to the events before the query.
	events func(stream.DataStream[Event]) stream.DataStream[Event]
	// results, if set, receives the query's results as JSON lines instead
	// of the run's Sink (see Sink.lines).
	results func(stream.DataStream[string])
}

// Result is the outcome of one query run, printed as one JSON line.
type Result struct {
	Query               string  `json:"query"`
	Events              int64   `json:"events"`
	Parallelism         int     `json:"parallelism"`
	Seconds             float64 `json:"seconds"`
	CPUSeconds          float64 `json:"cpu_seconds"`
	EventsPerSecond     float64 `json:"events_per_second"`
	EventsPerCoreSecond float64 `json:"events_per_core_second"`
	Results             int64   `json:"results"`
	// Checkpoints is the number of checkpoints completed and
	// CheckpointSeconds the duration of the last one, from its trigger to
	// its completion; both are set only when the run checkpoints. The last
	// is the final checkpoint, which the job takes once every subtask's
	// input ended, of what state the operators still hold then.
	Checkpoints       *int64   `json:"checkpoints,omitempty"`
	CheckpointSeconds *float64 `json:"checkpoint_seconds,omitempty"`
}

// Validate checks the options, naming the flag of any mistake.
func (o *RunOptions) Validate() error {
	switch {
	case o.Query == "":
		return errors.New("nexmark: --query is required (q0 ... q22, or all)")
	case o.Query != "all":
		if _, ok := Lookup(o.Query); !ok {
			return fmt.Errorf("nexmark: --query %q: no such query; the queries are %s", o.Query, queryNames())
		}
	}
	switch {
	case o.Input == "" && o.Events <= 0:
		return fmt.Errorf("nexmark: --events %d: want a positive number of events (or --input)", o.Events)
	case o.Parallelism < 0:
		return fmt.Errorf("nexmark: --parallelism %d: must be positive", o.Parallelism)
	case o.Rate < 0:
		return fmt.Errorf("nexmark: --rate %v: must not be negative", o.Rate)
	case o.EventRate < 0:
		return fmt.Errorf("nexmark: --event-rate %v: must not be negative", o.EventRate)
	case o.CheckpointInterval < 0 || o.CheckpointInterval > 0 && o.CheckpointInterval < checkpoint.MinInterval:
		return fmt.Errorf("nexmark: --checkpoint-interval %v: must be 0 (no checkpoints) or at least %v", o.CheckpointInterval, checkpoint.MinInterval)
	case o.CheckpointDir != "" && o.CheckpointInterval == 0:
		return errors.New("nexmark: --checkpoint-dir needs --checkpoint-interval")
	case o.JobManager != "":
		return errors.New("nexmark: --jobmanager: this engine runs on the embedded mini-cluster only, for now")
	case o.Query == "all" && o.Output != "":
		return errors.New("nexmark: --output needs a single --query")
	}
	return nil
}

func queryNames() string {
	var s string
	for i, q := range Queries() {
		if i > 0 {
			s += ", "
		}
		s += q.Name
	}
	return s
}

// Run runs one query (or all, one after the other) and returns their
// results. Profiles, if asked for, cover every run.
func Run(ctx context.Context, o RunOptions) ([]Result, error) {
	if err := o.Validate(); err != nil {
		return nil, err
	}
	if o.Parallelism == 0 {
		o.Parallelism = runtime.NumCPU()
	}
	if o.EventRate == 0 {
		o.EventRate = SuiteEventRate
	}
	if o.CPUProfile != "" {
		f, err := os.Create(o.CPUProfile)
		if err != nil {
			return nil, fmt.Errorf("nexmark: --cpuprofile: %w", err)
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			return nil, fmt.Errorf("nexmark: --cpuprofile: %w", err)
		}
		defer pprof.StopCPUProfile()
	}
	queries := Queries()
	if o.Query != "all" {
		q, _ := Lookup(o.Query)
		queries = []Query{q}
	}
	var results []Result
	for _, q := range queries {
		r, err := runOne(ctx, q, o)
		if err != nil {
			return results, err
		}
		results = append(results, r)
	}
	if o.MemProfile != "" {
		f, err := os.Create(o.MemProfile)
		if err != nil {
			return results, fmt.Errorf("nexmark: --memprofile: %w", err)
		}
		defer f.Close()
		runtime.GC()
		if err := pprof.Lookup("allocs").WriteTo(f, 0); err != nil {
			return results, fmt.Errorf("nexmark: --memprofile: %w", err)
		}
	}
	return results, nil
}

func runOne(ctx context.Context, q Query, o RunOptions) (Result, error) {
	env := stream.NewEnvironment().SetParallelism(o.Parallelism)
	if o.CheckpointInterval > 0 {
		env.EnableCheckpointing(o.CheckpointInterval)
		env.CheckpointConfig().Dir = o.CheckpointDir
	}
	sink := &Sink{}
	if o.hooks != nil {
		sink.lines = o.hooks.results
	}
	var out *bufio.Writer
	if o.Output != "" {
		f, err := os.Create(o.Output)
		if err != nil {
			return Result{}, fmt.Errorf("nexmark: --output: %w", err)
		}
		defer f.Close()
		out = bufio.NewWriterSize(f, 1<<20)
		sink.JSON = out
	}
	var events stream.DataStream[Event]
	var count int64
	if o.Input != "" {
		n, err := countLines(o.Input)
		if err != nil {
			return Result{}, err
		}
		count = n
		ws := stream.ForBoundedOutOfOrderness[Event](WatermarkDelay)
		events = stream.FromSource(env, jsonFileSource{path: o.Input}, ws, "Nexmark JSON Source").WithCodec(EventCodec()).SetParallelism(1)
	} else {
		cfg := DefaultConfig()
		cfg.Events, cfg.EventsPerSecond = o.Events, o.EventRate
		if err := cfg.Validate(); err != nil {
			return Result{}, err
		}
		count = o.Events
		events = Events(env, Source{Config: cfg, Rate: o.Rate})
	}
	if o.hooks != nil && o.hooks.events != nil {
		events = o.hooks.events(events)
	}
	q.Build(events, sink)

	cpu0 := cpuTime()
	start := time.Now()
	job, err := env.ExecuteAsync(ctx, "Nexmark "+q.Name)
	if err == nil {
		err = job.Wait()
	}
	elapsed := time.Since(start).Seconds()
	cpu := (cpuTime() - cpu0).Seconds()
	if err != nil {
		return Result{}, err
	}
	if out != nil {
		if err := out.Flush(); err != nil {
			return Result{}, fmt.Errorf("nexmark: --output: %w", err)
		}
	}
	r := Result{
		Query: q.Name, Events: count, Parallelism: o.Parallelism,
		Seconds: round3(elapsed), CPUSeconds: round3(cpu), Results: sink.Results(),
	}
	if o.CheckpointInterval > 0 {
		st, err := job.CheckpointStats(ctx)
		if err != nil {
			return Result{}, fmt.Errorf("nexmark: --checkpoint-interval: %w", err)
		}
		secs := round3(st.LastCompletedDuration.Seconds())
		r.Checkpoints, r.CheckpointSeconds = &st.Completed, &secs
	}
	if elapsed > 0 {
		r.EventsPerSecond = float64(int64(float64(count) / elapsed))
	}
	if cpu > 0 {
		r.EventsPerCoreSecond = float64(int64(float64(count) / cpu))
	}
	return r, nil
}

func round3(f float64) float64 { return float64(int64(f*1000+0.5)) / 1000 }

// cpuTime is the process's user plus system CPU time.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

func countLines(path string) (int64, error) {
	f, err := os.Open(path)
	if err != nil {
		return 0, fmt.Errorf("nexmark: --input: %w", err)
	}
	defer f.Close()
	var n int64
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 64<<20)
	for sc.Scan() {
		if len(sc.Bytes()) > 0 {
			n++
		}
	}
	return n, sc.Err()
}

// PrintTable writes results as an aligned table, the output of --query all.
func PrintTable(w io.Writer, results []Result) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	checkpoints := slices.ContainsFunc(results, func(r Result) bool { return r.Checkpoints != nil })
	head := "query\tevents\tparallelism\tseconds\tcpu_seconds\tevents/s\tevents/core-s\tresults\t"
	if checkpoints {
		head += "checkpoints\tcheckpoint_seconds\t"
	}
	fmt.Fprintln(tw, head)
	for _, r := range results {
		fmt.Fprintf(tw, "%s\t%d\t%d\t%.3f\t%.3f\t%.0f\t%.0f\t%d\t",
			r.Query, r.Events, r.Parallelism, r.Seconds, r.CPUSeconds, r.EventsPerSecond, r.EventsPerCoreSecond, r.Results)
		if r.Checkpoints != nil {
			fmt.Fprintf(tw, "%d\t%.3f\t", *r.Checkpoints, *r.CheckpointSeconds)
		}
		fmt.Fprintln(tw)
	}
	return tw.Flush()
}

// Generate writes n generated events to w as JSON lines.
func Generate(w io.Writer, n int64, eventRate float64) error {
	cfg := DefaultConfig()
	cfg.Events = n
	if eventRate > 0 {
		cfg.EventsPerSecond = eventRate
	} else {
		cfg.EventsPerSecond = SuiteEventRate
	}
	g, err := NewGenerator(cfg, 0, 1)
	if err != nil {
		return err
	}
	bw := bufio.NewWriterSize(w, 1<<20)
	var buf []byte
	for {
		e, ok := g.Next()
		if !ok {
			break
		}
		buf = append(AppendJSON(buf[:0], e), '\n')
		if _, err := bw.Write(buf); err != nil {
			return fmt.Errorf("nexmark: generate: %w", err)
		}
	}
	return bw.Flush()
}

// jsonFileSource reads events from a file of JSON lines, in one subtask.
type jsonFileSource struct{ path string }

func (s jsonFileSource) Bounded() bool { return true }

func (s jsonFileSource) CreateReader(context.Context, *stream.RuntimeContext) (stream.SourceReader[Event], error) {
	f, err := os.Open(s.path)
	if err != nil {
		return nil, fmt.Errorf("nexmark: --input: %w", err)
	}
	next, stop := iter.Pull2(ReadJSON(bufio.NewReaderSize(f, 1<<20)))
	r := &jsonReader{f: f, next: next, stop: stop, always: make(chan struct{})}
	close(r.always)
	return r, nil
}

type jsonReader struct {
	f      *os.File
	next   func() (Event, error, bool)
	stop   func()
	always chan struct{}
	line   int64
}

func (r *jsonReader) PollNext(out stream.ReaderOutput[Event]) (stream.InputStatus, error) {
	for range sourceBatch {
		e, err, ok := r.next()
		if !ok {
			return stream.EndOfInput, nil
		}
		r.line++
		if err != nil {
			return stream.EndOfInput, fmt.Errorf("nexmark: --input line %d: %w", r.line, err)
		}
		out.CollectWithTimestamp(e, EventTimestamp(e))
	}
	return stream.MoreAvailable, nil
}

func (r *jsonReader) Available() <-chan struct{} { return r.always }

func (r *jsonReader) Close() error {
	r.stop()
	return r.f.Close()
}
