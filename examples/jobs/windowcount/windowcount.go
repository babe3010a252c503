// Package windowcount counts events per key and event-time window: the
// event-time side of Flink's DataStream API (watermarks for out-of-order
// input, tumbling, sliding and session windows, allowed lateness, a side
// output of late events) in one small job.
//
//	go run ./examples/windowcount --input PATH --output PATH [--late-output PATH]
//		--window tumbling|sliding|session --size D [--slide D] [--gap D]
//		--out-of-orderness D [--allowed-lateness D] [--parallelism N]
//
// # Input
//
// --input is one file of events, one per line, "timestamp_millis,key": the
// timestamp a decimal integer of milliseconds (negative ones too), the key
// a non-empty string without commas and without leading or trailing white
// space. Lines may end in "\n" or "\r\n"; empty lines are skipped. Any other
// line fails the job with an error wrapping ErrMalformedLine that names the
// file, the line number and the line.
//
// One reader reads the file in order: the source (and the watermark
// generator in it) runs at parallelism 1, so that which events are late does
// not depend on --parallelism.
//
// # Flags
//
// Durations use Go's syntax (10s, 500ms, 1m30s) and must be whole numbers
// of milliseconds, the unit of the timestamps.
//
//   - --input, --output: required. --late-output: optional; without it,
//     late events are dropped. The three must be different files.
//   - --window: required; tumbling, sliding or session.
//   - --size: the length of the windows: required, positive, for tumbling
//     and sliding windows; not allowed for session windows, which last as
//     long as their events are less than --gap apart.
//   - --slide: how often a sliding window starts: required, positive, for
//     sliding windows; not allowed for the others. A slide larger than the
//     size is allowed, as in Flink: the windows then leave gaps (see 6
//     below).
//   - --gap: the time without events that ends a session: required,
//     positive, for session windows; not allowed for the others.
//   - --out-of-orderness: required, zero (in-order input) or positive.
//   - --allowed-lateness: zero (the default) or positive.
//   - --parallelism: of the window operator, at least 1 (default: the
//     number of CPUs).
//
// # Semantics
//
// They are Flink's, with watermarks emitted on every event instead of every
// 200 ms, so that the output depends on the input alone:
//
//  1. After each event the watermark is the largest timestamp read so far
//     minus --out-of-orderness minus 1 ms (Flink's
//     BoundedOutOfOrdernessWatermarks). It is emitted before the event
//     itself goes on, as Flink's generator does. At the end of the input it
//     becomes +∞, which fires every window still open.
//  2. Windows are [start, end) in milliseconds. Tumbling windows start at
//     the multiples of --size (floored for negative timestamps: -1 is in
//     [-size, 0)). Sliding windows start at the multiples of --slide, and
//     an event is in every one that contains it (size/slide of them when
//     the slide divides the size). A session window starts as [ts, ts+gap)
//     and merges with every window it overlaps or touches: events at 0 and
//     10 with a gap of 10ms are one session [0, 20).
//  3. A window fires when the watermark reaches end-1, writing the count of
//     its events.
//  4. A window is kept --allowed-lateness longer, until the watermark
//     reaches end-1+lateness. An event that arrives after the window fired
//     but before then is added, and the window fires again at once: one
//     more output line, with the updated count.
//  5. An event is late when the watermark has reached end-1+lateness for
//     every window it belongs to; for session windows, that is the session
//     it makes by merging with the open sessions it overlaps or touches.
//     It is counted nowhere and written to --late-output. An event behind
//     the watermark is not always late: it counts in those of its windows
//     that are still kept, and with session windows it opens a new session
//     if ts+gap-1+lateness is still ahead of the watermark, even where a
//     session that fired and was dropped covered it.
//  6. An event in a gap between sliding windows (slide > size) is in no
//     window: it goes to --late-output if ts+lateness has been reached by
//     the watermark, and is dropped silently otherwise, as in Flink.
//
// The files in testdata/ are worked examples of these rules, each checked
// by the tests at parallelism 1 to 4.
//
// # Output
//
// --output gets one line per firing, "window_start_millis,window_end_millis,
// key,count"; --late-output gets every late event as its input line,
// exactly as read (without the line ending). Both files are replaced if
// they exist and are written whole, by one sink each, but in no particular
// order: the windows of different keys fire in different subtasks, and
// late events are found there too.
package windowcount

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"path/filepath"
	"runtime"
	"strconv"
	"time"

	"github.com/runnel-io/runnel/examples/jobs"
	"github.com/runnel-io/runnel/stream"
	"github.com/runnel-io/runnel/stream/window"
)

// The kinds of window, the values of --window.
const (
	Tumbling = "tumbling"
	Sliding  = "sliding"
	Session  = "session"
)

// Options configure the job; each field is the flag of the same name.
// Validate says which combinations are valid.
type Options struct {
	Input      string // file of events; required
	Output     string // file of window counts; required
	LateOutput string // file of late events; empty: late events are dropped

	Window string        // Tumbling, Sliding or Session
	Size   time.Duration // tumbling and sliding: positive; session: 0
	Slide  time.Duration // sliding: positive; otherwise 0
	Gap    time.Duration // session: positive; otherwise 0

	OutOfOrderness  time.Duration // >= 0
	AllowedLateness time.Duration // >= 0
	Parallelism     int           // of the window operator; >= 1
}

// Run parses the job's flags from args and runs it. Mistakes in the flags
// are jobs.UsageErrors naming the flag.
func Run(ctx context.Context, args []string, stdout io.Writer, opts ...stream.Option) error {
	o, err := parseArgs(args)
	if err != nil {
		return err
	}
	env := stream.NewEnvironment(opts...).SetStdout(stdout)
	if err := Build(env, o); err != nil {
		return err
	}
	return env.Execute(ctx, "WindowCount")
}

// parseArgs parses and checks the job's flags.
func parseArgs(args []string) (Options, error) {
	fs := flag.NewFlagSet("windowcount", flag.ContinueOnError)
	var o Options
	fs.StringVar(&o.Input, "input", "", "`file` of events, one timestamp_millis,key per line (required)")
	fs.StringVar(&o.Output, "output", "", "`file` to write the window counts to (required)")
	fs.StringVar(&o.LateOutput, "late-output", "", "`file` to write the late events to (default: drop them)")
	fs.StringVar(&o.Window, "window", "", "kind of window: tumbling, sliding or session (required)")
	fs.DurationVar(&o.Size, "size", 0, "length of the windows (required for tumbling and sliding windows)")
	fs.DurationVar(&o.Slide, "slide", 0, "how often a sliding window starts (required for sliding windows, only for them)")
	fs.DurationVar(&o.Gap, "gap", 0, "time without events that ends a session (required for session windows, only for them)")
	fs.DurationVar(&o.OutOfOrderness, "out-of-orderness", 0, "how far an event may be behind the latest one and still be on time (required; 0s for in-order input)")
	fs.DurationVar(&o.AllowedLateness, "allowed-lateness", 0, "how long a window is kept after it fired, to count late events and fire again")
	fs.IntVar(&o.Parallelism, "parallelism", runtime.NumCPU(), "parallelism of the window operator")
	if err := jobs.Parse(fs, args); err != nil {
		return o, err
	}
	given := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { given[f.Name] = true })
	err := o.validate(func(name string) bool { return given[name] })
	if err == nil && !given["out-of-orderness"] {
		err = errors.New("windowcount: --out-of-orderness is required: how far behind the latest event an event may be and still be on time (0s for in-order input)")
	}
	if err != nil {
		return o, jobs.UsageError{Err: err}
	}
	return o, nil
}

// Validate reports the first mistake in o, naming its flag. A zero Size,
// Slide or Gap counts as not given.
func (o Options) Validate() error {
	return o.validate(func(name string) bool {
		switch name {
		case "size":
			return o.Size != 0
		case "slide":
			return o.Slide != 0
		case "gap":
			return o.Gap != 0
		}
		return true
	})
}

// validate is Validate with given reporting whether the flag name was
// given, which for Run is not the same as having a value other than zero.
func (o Options) validate(given func(name string) bool) error {
	switch o.Window {
	case Tumbling, Sliding, Session:
	case "":
		return errors.New("windowcount: --window is required: tumbling, sliding or session")
	default:
		return fmt.Errorf("windowcount: --window %q: want tumbling, sliding or session", o.Window)
	}
	for _, f := range []struct {
		name   string
		d      time.Duration
		wanted bool   // required, else not allowed
		unused string // why it is not allowed
	}{
		{"size", o.Size, o.Window != Session, "session windows last as long as their events are less than --gap apart"},
		{"slide", o.Slide, o.Window == Sliding, "it is only for --window sliding"},
		{"gap", o.Gap, o.Window == Session, "it is only for --window session"},
	} {
		switch {
		case f.wanted && !given(f.name):
			return fmt.Errorf("windowcount: --%s is required with --window %s", f.name, o.Window)
		case !f.wanted && given(f.name):
			return fmt.Errorf("windowcount: --%s is not used with --window %s: %s", f.name, o.Window, f.unused)
		case f.wanted:
			if err := checkMillis(f.name, f.d, false); err != nil {
				return err
			}
		}
	}
	if err := checkMillis("out-of-orderness", o.OutOfOrderness, true); err != nil {
		return err
	}
	if err := checkMillis("allowed-lateness", o.AllowedLateness, true); err != nil {
		return err
	}
	if o.Parallelism < 1 {
		return fmt.Errorf("windowcount: --parallelism %d: must be at least 1", o.Parallelism)
	}
	if o.Input == "" {
		return errors.New("windowcount: --input is required: the file of events to count")
	}
	if o.Output == "" {
		return errors.New("windowcount: --output is required: the file to write the window counts to")
	}
	switch {
	case samePath(o.Input, o.Output):
		return fmt.Errorf("windowcount: --output %s is the --input file", o.Output)
	case o.LateOutput != "" && samePath(o.Input, o.LateOutput):
		return fmt.Errorf("windowcount: --late-output %s is the --input file", o.LateOutput)
	case o.LateOutput != "" && samePath(o.Output, o.LateOutput):
		return fmt.Errorf("windowcount: --late-output %s is the --output file", o.LateOutput)
	}
	return nil
}

// checkMillis checks the value of a duration flag: positive (or, if
// zeroOK, not negative) and a whole number of milliseconds.
func checkMillis(name string, d time.Duration, zeroOK bool) error {
	switch {
	case d < 0 || d == 0 && !zeroOK:
		want := "positive"
		if zeroOK {
			want = "zero or positive"
		}
		return fmt.Errorf("windowcount: --%s %v: must be %s", name, d, want)
	case d%time.Millisecond != 0:
		return fmt.Errorf("windowcount: --%s %v: must be a whole number of milliseconds", name, d)
	}
	return nil
}

func samePath(a, b string) bool {
	a1, err1 := filepath.Abs(a)
	b1, err2 := filepath.Abs(b)
	if err1 != nil || err2 != nil {
		return filepath.Clean(a) == filepath.Clean(b)
	}
	return a1 == b1
}

// Build adds the job to env, whose default parallelism it sets to
// o.Parallelism: it reads o.Input, counts, and writes o.Output and
// o.LateOutput. It returns Validate's error, if any, and adds nothing then.
func Build(env *stream.Environment, o Options) error {
	if err := o.Validate(); err != nil {
		return err
	}
	env.SetParallelism(o.Parallelism)
	events := stream.FromSource(env, EventSource(o.Input), Watermarks(o.OutOfOrderness), "Events ("+o.Input+")").
		SetParallelism(1)
	lateTag := stream.NewOutputTag[Event]("late-events")
	windowed := stream.Window(stream.KeyBy(events, Event.key), Assigner(o)).
		AllowedLateness(o.AllowedLateness).
		SideOutputLateData(lateTag)
	counts := stream.WindowAggregateProcess(windowed, countEvents{}, stream.ProcessWindowFunc[string, int64, WindowCount, window.TimeWindow](toWindowCount)).
		Name("Window Count")
	counts.WriteAsText(o.Output, stream.Overwrite).Name("Window Counts (" + o.Output + ")").SetParallelism(1)
	if o.LateOutput != "" {
		late := stream.Map(stream.SideOutput(counts, lateTag), func(e Event) (string, error) { return e.Line, nil }).
			Name("Late Lines")
		late.WriteAsText(o.LateOutput, stream.Overwrite).Name("Late Events (" + o.LateOutput + ")").SetParallelism(1)
	}
	return nil
}

// Assigner returns the window assigner of o, which must be valid.
func Assigner(o Options) window.Assigner[Event, window.TimeWindow] {
	switch o.Window {
	case Tumbling:
		return window.TumblingEventTimeWindows[Event](o.Size, 0)
	case Sliding:
		return window.SlidingEventTimeWindows[Event](o.Size, o.Slide, 0)
	case Session:
		return window.EventTimeSessionWindows[Event](o.Gap)
	}
	panic(fmt.Sprintf("windowcount: Assigner: invalid window kind %q", o.Window))
}

// Watermarks is the strategy of the events: after every event, the largest
// timestamp so far minus outOfOrderness minus 1 ms.
func Watermarks(outOfOrderness time.Duration) stream.WatermarkStrategy[Event] {
	delay := outOfOrderness.Milliseconds()
	return stream.ForGenerator[Event](func() stream.WatermarkGenerator {
		return perEventWatermarks{stream.NewBoundedOutOfOrderness(delay)}
	})
}

// perEventWatermarks is Flink's BoundedOutOfOrdernessWatermarks emitting on
// every event instead of periodically, so that when windows fire depends on
// the input alone, not on how fast it is read.
type perEventWatermarks struct{ b *stream.BoundedOutOfOrderness }

func (g perEventWatermarks) OnEvent(ts int64, out stream.WatermarkOutput) {
	g.b.OnEvent(ts, out)
	g.b.OnPeriodicEmit(out) // a watermark not above the last one is ignored
}

func (perEventWatermarks) OnPeriodicEmit(stream.WatermarkOutput) {}

// WindowCount is the number of events of a key in a window at one firing.
type WindowCount struct {
	Start, End int64 // the window [Start, End), in milliseconds
	Key        string
	Count      int64
}

// String returns the output line of c: "start,end,key,count".
func (c WindowCount) String() string {
	b := make([]byte, 0, 48+len(c.Key))
	b = strconv.AppendInt(b, c.Start, 10)
	b = append(b, ',')
	b = strconv.AppendInt(b, c.End, 10)
	b = append(b, ',')
	b = append(b, c.Key...)
	b = append(b, ',')
	b = strconv.AppendInt(b, c.Count, 10)
	return string(b)
}

func toWindowCount(ctx *stream.WindowContext[string, window.TimeWindow], counts []int64, out stream.Collector[WindowCount]) error {
	w := ctx.Window()
	out.Collect(WindowCount{Start: w.Start, End: w.End, Key: ctx.CurrentKey(), Count: counts[0]})
	return nil
}

// countEvents counts the events of a window.
type countEvents struct{}

func (countEvents) CreateAccumulator() int64   { return 0 }
func (countEvents) Add(_ Event, n int64) int64 { return n + 1 }
func (countEvents) Result(n int64) int64       { return n }
func (countEvents) Merge(a, b int64) int64     { return a + b }
