package task

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"slices"
	"sync"
	"time"

	"github.com/runnel-io/runnel/runtime/clock"
	"github.com/runnel-io/runnel/runtime/graph"
	"github.com/runnel-io/runnel/runtime/network"
	"github.com/runnel-io/runnel/runtime/operator"
	"github.com/runnel-io/runnel/state"
)

// OutputChannels are the consumer channels of one output edge of a subtask.
type OutputChannels struct {
	Edge *graph.Edge
	// Targets[i] is the channel to the i-th consumer reached by this
	// subtask (all consumers, or one for a pointwise edge).
	Targets []network.Sender
	Pool    *network.Pool
}

// Deployment is everything one subtask needs to run.
type Deployment struct {
	JobName string
	Job     *graph.JobGraph
	Vertex  *graph.Vertex
	Subtask int
	Attempt int
	Logger  *slog.Logger
	// Clock is the task's processing time (clock.System if nil).
	Clock clock.Clock
	// AutoWatermarkInterval is how often periodic watermark generators
	// emit; 0 disables periodic emission.
	AutoWatermarkInterval time.Duration
	// BufferTimeout is how long a record may wait in a partly filled
	// output segment before the task sends it, in the task's processing
	// time (Flink's execution.buffer-timeout): a positive value flushes
	// the writers at that period, rounded up to whole milliseconds; 0
	// flushes after every record, watermark and status; a negative value
	// (Flink's -1 ms) only when a segment is full. Whatever the timeout,
	// segments also leave when the task's input runs dry, at the end of
	// input and before every event. nil means DefaultBufferTimeout.
	BufferTimeout *time.Duration

	// Gate is the subtask's input, nil for a source task. ChannelEdges[i] is
	// the stream edge whose records arrive on gate channel i.
	Gate         *network.InputGate
	ChannelEdges []*graph.Edge
	// Outputs has one entry per edge of Vertex.Out, in that order.
	Outputs []OutputChannels

	// Checkpoints connects the subtask to the job's checkpoints; nil when
	// the job does not checkpoint.
	Checkpoints *Checkpointing
	// Restored is true when the job starts from a checkpoint or savepoint;
	// Restore then holds the state of the chain's operators by operator ID
	// (an operator without an entry starts empty).
	Restored bool
	Restore  map[string]*OperatorRestore
	// Gateways holds, by stream node ID, the channels to the coordinators
	// of the chain's operators that have one.
	Gateways map[int]operator.CoordinatorGateway
}

// Task is a deployed subtask.
type Task struct {
	d       Deployment
	ctx     context.Context
	name    string
	ops     []operator.Operator // Vertex.Nodes order
	ctxs    []*operator.Context // Vertex.Nodes order
	flush   []operator.IdleFlusher
	writers []operator.Writer
	readers []operator.Reader // per gate channel
	source  operator.SourceOperator
	opened  int // ops[len-opened:] were opened (or tried to) and are due a Close
	timers  *timers
	// flushEvery is the period of the writers' flush in milliseconds, 0 for
	// none (a buffer timeout of 0 or below); flushAlways: a timeout of 0.
	flushEvery  int64
	flushAlways bool
	// valves[i] combines the watermarks of logical input i of the head;
	// inputOf[ch] and localOf[ch] place gate channel ch in its valve.
	valves           []*valve
	inputOf, localOf []int

	mail    *mailbox
	mailBuf []mail
	align   aligner
	uploads sync.WaitGroup // the goroutines that upload snapshots
	// closed[ch]: channel ch delivered EndOfPartition; dataEnded[ch]: it
	// delivered EndOfData (or EndOfPartition without it).
	closed, dataEnded []bool
	// inputEnded: the chain has finished (end of input); ending: the task
	// sent EndOfPartition and ends once its inputs have too.
	inputEnded, ending bool
	// stopped: an input channel ended without EndOfData (its producer
	// stopped with a savepoint), so the chain's input never ends.
	stopped bool
	// suspended is the ID of the stop with a savepoint whose barrier the
	// task has passed, 0 if none: until it completes or fails, a source
	// polls no records and no task fires processing-time callbacks.
	suspended int64
}

// Error is a task's failure that no operator is to blame for. Its message
// is the subtask's name (operator.SubtaskName of the chain's name) and the
// cause: "Source: numbers -> parse (1/2): ...".
type Error struct {
	Task        string
	Subtask     int
	Parallelism int
	Err         error
}

func (e *Error) Error() string {
	cause := "failed without an error"
	if e.Err != nil {
		cause = e.Err.Error()
	}
	return operator.SubtaskName(e.Task, e.Subtask, e.Parallelism) + ": " + cause
}

func (e *Error) Unwrap() error { return e.Err }

func (t *Task) fail(err error) error {
	var oe *operator.Error
	if err == nil || errors.As(err, &oe) || errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return err
	}
	return &Error{Task: t.name, Subtask: t.d.Subtask, Parallelism: t.d.Vertex.Parallelism, Err: err}
}

// New builds the subtask's chain. ctx bounds every blocking call of the
// task's writers: cancel it to stop the task.
func New(ctx context.Context, d Deployment) (_ *Task, err error) {
	v := d.Vertex
	if d.Clock == nil {
		d.Clock = clock.System{}
	}
	t := &Task{d: d, ctx: ctx, name: v.Name(), timers: newTimers(d.Clock), mail: newMailbox()}
	t.flushEvery, t.flushAlways = flushPeriod(d.BufferTimeout)
	defer func() {
		if err != nil {
			t.releaseWriters()
		}
	}()
	if len(d.Outputs) != len(v.Out) {
		return nil, t.fail(fmt.Errorf("task: %d output channel sets for %d output edges", len(d.Outputs), len(v.Out)))
	}
	logger := d.Logger
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	outEdge := make(map[*graph.Edge]OutputChannels, len(d.Outputs))
	for _, oc := range d.Outputs {
		outEdge[oc.Edge] = oc
	}
	g := d.Job.Stream
	inputs := make(map[*graph.Node][]any, len(v.Nodes))
	t.ops = make([]operator.Operator, len(v.Nodes))
	t.ctxs = make([]*operator.Context, len(v.Nodes))
	for i := len(v.Nodes) - 1; i >= 0; i-- {
		n := v.Nodes[i]
		outs := map[string][]any{}
		for _, e := range n.Outputs {
			if v.Contains(e.Target) {
				in := inputs[e.Target]
				if e.Input >= len(in) {
					return nil, t.fail(fmt.Errorf("task: operator %s has no input %d", e.Target, e.Input))
				}
				outs[e.Tag] = append(outs[e.Tag], in[e.Input])
				continue
			}
			oc, ok := outEdge[e]
			if !ok {
				return nil, t.fail(fmt.Errorf("task: no channels for edge %v", e))
			}
			sel := e.Partitioner.Selector(d.Subtask, v.Parallelism, len(oc.Targets), g.MaxParallelismOf(e.Target))
			out, w, err := e.Type().NewWriter(ctx, sel, oc.Targets, oc.Pool, t.flushAlways)
			if err != nil {
				return nil, t.fail(err)
			}
			t.writers = append(t.writers, w)
			outs[e.Tag] = append(outs[e.Tag], out)
		}
		out := n.OutType.Discard()
		sides := map[string]any{}
		for tag, list := range outs {
			typ := n.OutType
			if tag != "" {
				typ = n.SideOutputs[tag].Type
			}
			o, err := typ.FanOut(list)
			if err != nil {
				return nil, t.fail(err)
			}
			if tag == "" {
				out = o
			} else {
				sides[tag] = o
			}
		}
		if len(sides) > 0 {
			// The operator emits watermarks and statuses to its main output;
			// the consumers of its side outputs need them too (as in Flink,
			// where they go to every output).
			list := []any{out}
			for _, tag := range slices.Sorted(maps.Keys(sides)) {
				w, ok := sides[tag].(operator.WatermarkOutput)
				if !ok {
					return nil, t.fail(fmt.Errorf("task: side output %q of %s takes no watermarks", tag, n))
				}
				list = append(list, n.OutType.WatermarksTo(w))
			}
			o, err := n.OutType.FanOut(list)
			if err != nil {
				return nil, t.fail(err)
			}
			out = o
		}
		opID := d.Job.OperatorIDs[n.ID]
		opState := state.NewOperatorBackend()
		restore := d.Restore[opID]
		if restore != nil && restore.Operator != nil {
			if err := opState.Restore(restore.Operator); err != nil {
				return nil, t.fail(fmt.Errorf("task: operator %s: %w", n, err))
			}
		}
		c := &operator.Context{
			JobName:        d.JobName,
			TaskName:       t.name,
			OperatorName:   n.Name,
			OperatorID:     opID,
			Subtask:        d.Subtask,
			Parallelism:    v.Parallelism,
			MaxParallelism: g.MaxParallelismOf(n),
			Attempt:        d.Attempt,
			Logger:         logger.With("task", operator.SubtaskName(t.name, d.Subtask, v.Parallelism), "operator", n.Name),

			ProcessingTime:        t.timers,
			Clock:                 d.Clock,
			AutoWatermarkInterval: d.AutoWatermarkInterval,
			SideOutputs:           sides,
			OperatorState:         opState,
			Checkpointing:         d.Checkpoints != nil && d.Checkpoints.Periodic,
			Restored:              d.Restored,
			Coordinator:           d.Gateways[n.ID],
		}
		if restore != nil {
			c.RestoredKeyedState = restore.Keyed
		}
		t.ctxs[i] = c
		op, in, err := n.Factory.Create(c, out)
		if err != nil {
			return nil, c.Fail(err)
		}
		t.ops[i] = op
		inputs[n] = in
		if f, ok := op.(operator.IdleFlusher); ok {
			t.flush = append(t.flush, f)
		}
	}
	head := v.Head()
	if head.Source {
		src, ok := t.ops[0].(operator.SourceOperator)
		if !ok {
			return nil, t.fail(fmt.Errorf("task: source %s built a %T, not a source operator", head, t.ops[0]))
		}
		t.source = src
		return t, nil
	}
	if d.Gate == nil || len(d.ChannelEdges) != d.Gate.NumChannels() {
		return nil, t.fail(errors.New("task: input gate does not match its channel edges"))
	}
	headIn := inputs[head]
	t.valves = make([]*valve, len(headIn))
	t.inputOf = make([]int, len(d.ChannelEdges))
	t.localOf = make([]int, len(d.ChannelEdges))
	perInput := make([]int, len(headIn))
	for ch, e := range d.ChannelEdges {
		if e.Input >= len(headIn) {
			return nil, t.fail(fmt.Errorf("task: operator %s has no input %d", head, e.Input))
		}
		t.inputOf[ch], t.localOf[ch] = e.Input, perInput[e.Input]
		perInput[e.Input]++
	}
	for i, in := range headIn {
		w, ok := in.(watermarker)
		if !ok {
			return nil, t.fail(fmt.Errorf("task: input %d of %s takes no watermarks", i, head))
		}
		t.valves[i] = newValve(w, perInput[i])
	}
	n := len(d.ChannelEdges)
	t.closed, t.dataEnded, t.align.seen = make([]bool, n), make([]bool, n), make([]bool, n)
	t.readers = make([]operator.Reader, len(d.ChannelEdges))
	for ch, e := range d.ChannelEdges {
		r, err := e.Type().NewReader(headIn[e.Input], ch, t)
		if err != nil {
			return nil, t.fail(err)
		}
		t.readers[ch] = r
	}
	return t, nil
}

// ChannelWatermark implements network.EventHandler.
func (t *Task) ChannelWatermark(ch int, wm int64) error {
	return t.valves[t.inputOf[ch]].watermark(t.localOf[ch], wm)
}

// ChannelStatus implements network.EventHandler.
func (t *Task) ChannelStatus(ch int, idle bool) error {
	return t.valves[t.inputOf[ch]].status(t.localOf[ch], idle)
}

// Name is the chain's name.
func (t *Task) Name() string { return t.name }

// Run runs the subtask until its input ends, it fails, or ctx is done. It
// closes every operator before it returns.
//
// With checkpoints, a subtask whose input ended stays alive, taking part in
// checkpoints, until a final checkpoint (or a stop with a savepoint) is
// complete; only then does it send EndOfPartition, so that two-phase-commit
// sinks commit the last of their output.
func (t *Task) Run(ctx context.Context) (err error) {
	defer func() {
		t.uploads.Wait()
		err = t.fail(errors.Join(err, t.close()))
	}()
	for i := len(t.ops) - 1; i >= 0; i-- {
		// An operator whose Open fails is closed too: it may have acquired
		// resources before failing, and Close is due once for every Open.
		t.opened++
		if err := t.ops[i].Open(ctx); err != nil {
			return err
		}
	}
	if t.flushEvery > 0 && len(t.writers) > 0 {
		t.timers.every(t.flushEvery, t.flushWriters)
	}
	if t.source != nil {
		return t.runSource(ctx)
	}
	return t.runGate(ctx)
}

// poll runs what is due without blocking: mail and processing-time
// callbacks. It returns ctx's error once ctx is done.
func (t *Task) poll(ctx context.Context) error {
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.wake():
		return t.timers.fire()
	case <-t.mail.signal:
		return t.handleMail()
	default:
		return nil
	}
}

// wait flushes and blocks until ready is, mail or a callback is due, or ctx
// is done.
func (t *Task) wait(ctx context.Context, ready <-chan struct{}) error {
	if err := t.flushAll(); err != nil {
		return err
	}
	select {
	case <-ready:
		return nil
	case <-t.wake():
		return t.timers.fire()
	case <-t.mail.signal:
		return t.handleMail()
	case <-ctx.Done():
		return ctx.Err()
	}
}

// wake is where processing-time callbacks signal that they are due; nil
// (never ready) while a stop with a savepoint is under way, so that nothing
// leaves the task after the savepoint's barrier.
func (t *Task) wake() <-chan struct{} {
	if t.suspended != 0 {
		return nil
	}
	return t.timers.wake
}

// waitMail flushes and blocks until mail arrives or ctx is done.
func (t *Task) waitMail(ctx context.Context) error {
	if err := t.flushAll(); err != nil {
		return err
	}
	select {
	case <-t.mail.signal:
		return t.handleMail()
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (t *Task) runSource(ctx context.Context) error {
	for !t.ending {
		if t.suspended == 0 {
			if err := t.poll(ctx); err != nil {
				return err
			}
		}
		if t.ending {
			break
		}
		if t.suspended != 0 {
			// Stopping with a savepoint: nothing leaves the source after the
			// barrier, not even a watermark from a timer, until the savepoint
			// completes (the task ends) or fails (it goes on).
			if err := t.waitMail(ctx); err != nil {
				return err
			}
			continue
		}
		if t.inputEnded {
			if err := t.wait(ctx, nil); err != nil {
				return err
			}
			continue
		}
		st, err := t.source.PollNext()
		if err != nil {
			return err
		}
		switch st {
		case operator.MoreAvailable:
		case operator.NothingAvailable:
			if err := t.wait(ctx, t.source.Available()); err != nil {
				return err
			}
		case operator.EndOfInput:
			if err := t.endOfInput(); err != nil {
				return err
			}
		}
	}
	return nil
}

func (t *Task) runGate(ctx context.Context) error {
	gate := t.d.Gate
	open := gate.NumChannels()
	for open > 0 || !t.ending {
		b, ch, ok := gate.Poll()
		if !ok {
			if err := t.wait(ctx, gate.Available()); err != nil {
				return err
			}
			continue
		}
		var err error
		switch b.Kind {
		case network.Data:
			if !t.ending { // after a stop with a savepoint, records are dropped
				err = t.readers[ch].Read(b.Segment.B)
			}
			b.Segment.Recycle()
		case network.CheckpointBarrier:
			err = t.onBarrier(ch, b.Barrier)
		case network.CancelBarrier:
			t.onCancelBarrier(b.Value)
		case network.EndOfData:
			err = t.channelDataEnded(ch, true)
		case network.EndOfPartition:
			open--
			t.closed[ch] = true
			// Without EndOfData first, the producer stopped (a stop with a
			// savepoint): its input did not end, so this one does not either.
			if err = t.channelDataEnded(ch, false); err == nil {
				err = t.maybeAligned()
			}
		default:
			err = fmt.Errorf("task: unexpected %v on channel %d", b.Kind, ch)
		}
		if err != nil {
			return err
		}
		if err := t.poll(ctx); err != nil {
			return err
		}
	}
	return nil
}

// channelDataEnded records that channel ch sends no more records; once all
// have ended with EndOfData (ended), the chain's input has ended.
func (t *Task) channelDataEnded(ch int, ended bool) error {
	if t.dataEnded[ch] {
		return nil
	}
	t.dataEnded[ch] = true
	if !ended {
		// The producer stopped with a savepoint: its stream is suspended,
		// not ended, so its watermark keeps holding event time back (an
		// ended channel would let the others' watermarks fire windows
		// after the savepoint).
		t.stopped = true
		return nil
	}
	if err := t.valves[t.inputOf[ch]].end(t.localOf[ch]); err != nil {
		return err
	}
	for _, e := range t.dataEnded {
		if !e {
			return nil
		}
	}
	if t.stopped || t.inputEnded {
		return nil
	}
	return t.endOfInput()
}

// endOfInput ends the chain after its input ended: Finish head first,
// flush, and EndOfData to every consumer. Without checkpoints the task
// then ends its outputs; with them, it reports the end and waits for the
// final checkpoint.
func (t *Task) endOfInput() error {
	t.inputEnded = true
	for _, op := range t.ops {
		if err := op.Finish(); err != nil {
			return err
		}
	}
	if err := t.flushAll(); err != nil {
		return err
	}
	t.timers.stop()
	for _, w := range t.writers {
		if err := w.SendEvent(network.Buffer{Kind: network.EndOfData}); err != nil {
			return err
		}
	}
	if t.checkpointing() && t.d.Checkpoints.Periodic {
		t.d.Checkpoints.Reporter.Finished(t.taskID())
		return nil
	}
	return t.endOutputs()
}

// endOutputs signals the end to every consumer; the task ends once its own
// inputs have ended too.
func (t *Task) endOutputs() error {
	if t.ending {
		return nil
	}
	t.ending = true
	for _, w := range t.writers {
		if err := w.SendEvent(network.Buffer{Kind: network.EndOfPartition}); err != nil {
			return err
		}
	}
	return nil
}

// flushAll flushes the operators that buffer output of their own and then
// the writers: what the task does when its input runs dry.
func (t *Task) flushAll() error {
	for _, f := range t.flush {
		if err := f.Flush(); err != nil {
			return err
		}
	}
	return t.flushWriters(0)
}

// close closes the opened operators, head first, and recycles what the
// task holds: the writers' segments and any buffers left in its gate.
func (t *Task) close() error {
	var errs []error
	for i := len(t.ops) - t.opened; i < len(t.ops); i++ {
		if err := t.ops[i].Close(); err != nil {
			errs = append(errs, err)
		}
	}
	t.opened = 0
	t.timers.stop()
	t.releaseWriters()
	if t.d.Gate != nil {
		t.d.Gate.Drain()
	}
	return errors.Join(errs...)
}

func (t *Task) releaseWriters() {
	for _, w := range t.writers {
		w.Release()
	}
}
