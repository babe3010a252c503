package stream

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/runnel-io/runnel/runtime/graph"
	"github.com/runnel-io/runnel/runtime/operator"
	"github.com/runnel-io/runnel/state"
)

// splitJob is an in-test runtime for one split source: it runs the
// source's coordinator (or none) and the operators of its subtasks, polls
// them when told, routes the events between them synchronously, and takes
// checkpoints, all on the test's goroutine.
type splitJob[T any] struct {
	t       *testing.T
	node    *graph.Node
	p       int
	coord   operator.Coordinator // nil: the runtime runs no coordinator
	toCoord []routedEvent
	toSub   [][][]byte
	subs    []*splitSubtask[T]
	// assigned counts the add-splits events delivered to each subtask.
	assigned []int
}

type routedEvent struct {
	subtask int
	ev      []byte
}

type splitSubtask[T any] struct {
	c     *operator.Context
	op    operator.SourceOperator
	out   *recordingOutput[T]
	ended bool
	log   *bytes.Buffer
}

// splitCheckpoint is what a checkpoint holds of a split source.
type splitCheckpoint struct {
	coord []byte
	ops   []*state.OperatorSnapshot
}

// recordingOutput keeps the records of one subtask.
type recordingOutput[T any] struct{ records []T }

func (o *recordingOutput[T]) Collect(v T, _ int64) error {
	o.records = append(o.records, v)
	return nil
}
func (o *recordingOutput[T]) EmitWatermark(int64) error      { return nil }
func (o *recordingOutput[T]) EmitWatermarkStatus(bool) error { return nil }

// jobEvents is the harness's CoordinatorContext.
type jobEvents[T any] struct{ j *splitJob[T] }

func (e jobEvents[T]) SendEvent(subtask int, ev []byte) error {
	if subtask < 0 || subtask >= e.j.p {
		return fmt.Errorf("harness: event for subtask %d of %d", subtask, e.j.p)
	}
	e.j.toSub[subtask] = append(e.j.toSub[subtask], ev)
	return nil
}

func (e jobEvents[T]) Parallelism() int { return e.j.p }

// subtaskGateway is the harness's CoordinatorGateway of one subtask.
type subtaskGateway[T any] struct {
	j       *splitJob[T]
	subtask int
}

func (g subtaskGateway[T]) SendEvent(ev []byte) error {
	g.j.toCoord = append(g.j.toCoord, routedEvent{g.subtask, slices.Clone(ev)})
	return nil
}

// sourceNode returns the graph node of the source of s.
func sourceNode[T any](s DataStream[T]) *graph.Node { return s.ports[0].node }

// startSplitJob starts the source of node at parallelism p, from cp if not
// nil (whose operator state must already be redistributed to p), with a
// coordinator unless noCoordinator.
func startSplitJob[T any](t *testing.T, node *graph.Node, p int, cp *splitCheckpoint, noCoordinator bool) *splitJob[T] {
	t.Helper()
	j := &splitJob[T]{t: t, node: node, p: p, toSub: make([][][]byte, p), assigned: make([]int, p)}
	t.Cleanup(j.close)
	if !noCoordinator {
		var restored []byte
		if cp != nil {
			restored = cp.coord
		}
		coord, err := node.Coordinator(jobEvents[T]{j}, restored)
		if err != nil {
			t.Fatalf("coordinator: %v", err)
		}
		j.coord = coord
		if err := coord.Start(); err != nil {
			t.Fatalf("coordinator start: %v", err)
		}
	}
	for s := range p {
		backend := state.NewOperatorBackend()
		if cp != nil {
			if err := backend.Restore(cp.ops[s]); err != nil {
				t.Fatalf("subtask %d: restore: %v", s, err)
			}
		}
		log := &bytes.Buffer{}
		c := &operator.Context{
			JobName:        t.Name(),
			OperatorName:   node.Name,
			Subtask:        s,
			Parallelism:    p,
			MaxParallelism: 128,
			Logger:         slog.New(slog.NewTextHandler(log, nil)),
			OperatorState:  backend,
			Checkpointing:  true,
			Restored:       cp != nil,
		}
		if !noCoordinator {
			c.Coordinator = subtaskGateway[T]{j, s}
		}
		out := &recordingOutput[T]{}
		op, _, err := node.Factory.Create(c, operator.Output[T](out))
		if err != nil {
			t.Fatalf("subtask %d: create: %v", s, err)
		}
		j.subs = append(j.subs, &splitSubtask[T]{c: c, op: op.(operator.SourceOperator), out: out, log: log})
	}
	for s, sub := range j.subs {
		if err := sub.op.Open(context.Background()); err != nil {
			t.Fatalf("subtask %d: open: %v", s, err)
		}
	}
	j.route()
	return j
}

// route delivers the pending events, both ways, until there are none.
func (j *splitJob[T]) route() {
	j.t.Helper()
	for len(j.toCoord) > 0 || slices.ContainsFunc(j.toSub, func(q [][]byte) bool { return len(q) > 0 }) {
		for len(j.toCoord) > 0 {
			e := j.toCoord[0]
			j.toCoord = j.toCoord[1:]
			if err := j.coord.HandleEventFromOperator(e.subtask, e.ev); err != nil {
				j.t.Fatalf("coordinator: event from subtask %d: %v", e.subtask, err)
			}
		}
		for s, q := range j.toSub {
			j.toSub[s] = nil
			for _, ev := range q {
				if ev[0] == eventAddSplits {
					j.assigned[s]++
				}
				if err := j.subs[s].op.(operator.EventReceiver).HandleOperatorEvent(ev); err != nil {
					j.t.Fatalf("subtask %d: event: %v", s, err)
				}
			}
		}
	}
}

// poll polls subtask s once, unless it ended, and routes the events. It
// reports whether the subtask made progress or may make some.
func (j *splitJob[T]) poll(s int) operator.InputStatus {
	j.t.Helper()
	sub := j.subs[s]
	if sub.ended {
		return operator.EndOfInput
	}
	st, err := sub.op.PollNext()
	if err != nil {
		j.t.Fatalf("subtask %d: poll: %v", s, err)
	}
	sub.ended = st == operator.EndOfInput
	j.route()
	if st == operator.NothingAvailable {
		select {
		case <-sub.op.Available():
			return operator.MoreAvailable
		default:
		}
	}
	return st
}

// pollRounds polls every subtask in turn, times[s] times each round.
func (j *splitJob[T]) pollRounds(rounds int, times ...int) {
	j.t.Helper()
	for range rounds {
		for s := range j.subs {
			n := 1
			if s < len(times) {
				n = times[s]
			}
			for range n {
				j.poll(s)
			}
		}
	}
}

// runToEnd polls the subtasks round-robin until all have ended; a round in
// which none may make progress fails the test.
func (j *splitJob[T]) runToEnd() {
	j.t.Helper()
	for {
		ended, stuck := true, true
		for s := range j.subs {
			st := j.poll(s)
			if st != operator.EndOfInput {
				ended = false
			}
			if st == operator.MoreAvailable {
				stuck = false
			}
		}
		if ended {
			return
		}
		if stuck {
			j.t.Fatal("no subtask can make progress, and not all have ended")
		}
	}
}

// checkpoint takes checkpoint id: the coordinator first, then every
// subtask (a runtime delivers the events sent before the coordinator's
// snapshot first).
func (j *splitJob[T]) checkpoint(id int64) *splitCheckpoint {
	j.t.Helper()
	j.route()
	cp := &splitCheckpoint{}
	if j.coord != nil {
		b, err := j.coord.SnapshotState(id)
		if err != nil {
			j.t.Fatalf("coordinator snapshot: %v", err)
		}
		cp.coord = b
	}
	for s, sub := range j.subs {
		if err := sub.op.(operator.Snapshotter).SnapshotState(operator.Checkpoint{ID: id}); err != nil {
			j.t.Fatalf("subtask %d: snapshot: %v", s, err)
		}
		snap, err := sub.c.OperatorState.Snapshot()
		if err != nil {
			j.t.Fatalf("subtask %d: operator state: %v", s, err)
		}
		cp.ops = append(cp.ops, snap)
	}
	return cp
}

// rescaled returns cp with its operator state redistributed to p subtasks.
func rescaled(t *testing.T, cp *splitCheckpoint, p int) *splitCheckpoint {
	t.Helper()
	ops, err := state.RedistributeOperatorState(cp.ops, p)
	if err != nil {
		t.Fatal(err)
	}
	return &splitCheckpoint{coord: cp.coord, ops: ops}
}

// counts returns how many records each subtask has emitted.
func (j *splitJob[T]) counts() []int {
	n := make([]int, len(j.subs))
	for s, sub := range j.subs {
		n[s] = len(sub.out.records)
	}
	return n
}

// records returns the records of every subtask, in subtask order, from
// from[s] on (from may be nil).
func (j *splitJob[T]) records(from []int) []T {
	var all []T
	for s, sub := range j.subs {
		start := 0
		if from != nil {
			start = from[s]
		}
		all = append(all, sub.out.records[start:]...)
	}
	return all
}

func (j *splitJob[T]) close() {
	for s, sub := range j.subs {
		if err := sub.op.Close(); err != nil {
			j.t.Errorf("subtask %d: close: %v", s, err)
		}
	}
	j.subs = nil
	if j.coord != nil {
		if err := j.coord.Close(); err != nil {
			j.t.Errorf("coordinator: close: %v", err)
		}
		j.coord = nil
	}
}

// wantExactlyOnce fails the test unless got holds every element of want
// once, in any order.
func wantExactlyOnce[T interface{ ~int64 | ~string }](t *testing.T, got, want []T) {
	t.Helper()
	g, w := slices.Clone(got), slices.Clone(want)
	slices.Sort(g)
	slices.Sort(w)
	for i := 1; i < len(g); i++ {
		if g[i] == g[i-1] {
			t.Fatalf("%v emitted twice", g[i])
		}
	}
	if !slices.Equal(g, w) {
		missing, extra := 0, 0
		for _, v := range w {
			if _, ok := slices.BinarySearch(g, v); !ok {
				missing++
			}
		}
		for _, v := range g {
			if _, ok := slices.BinarySearch(w, v); !ok {
				extra++
			}
		}
		t.Fatalf("got %d records, want %d: %d missing, %d unexpected", len(g), len(w), missing, extra)
	}
}

func identity(i int64) (int64, error) { return i, nil }

func upTo(n int64) []int64 {
	s := make([]int64, n)
	for i := range s {
		s[i] = int64(i)
	}
	return s
}

// A generator restored from a checkpoint taken mid-stream emits exactly
// what the original emitted after the checkpoint, subtask by subtask.
func TestGenerateReplaysTheRemainderOfACheckpoint(t *testing.T) {
	const count = 5000
	for _, p := range []int{1, 3} {
		for _, rounds := range []int{0, 1, 4} {
			t.Run(fmt.Sprintf("p=%d/rounds=%d", p, rounds), func(t *testing.T) {
				env := NewEnvironment().SetParallelism(p)
				node := sourceNode(Generate(env, count, identity))
				a := startSplitJob[int64](t, node, p, nil, false)
				a.pollRounds(rounds, 1, 2, 3) // the subtasks at different positions
				mark := a.counts()
				cp := a.checkpoint(1)
				a.runToEnd()
				wantExactlyOnce(t, a.records(nil), upTo(count))

				b := startSplitJob[int64](t, node, p, cp, false)
				b.runToEnd()
				for s := range p {
					if got, want := b.subs[s].out.records, a.subs[s].out.records[mark[s]:]; !slices.Equal(got, want) {
						t.Fatalf("subtask %d replayed %d records %v..., want the %d after the checkpoint %v...",
							s, len(got), firstFew(got), len(want), firstFew(want))
					}
				}
			})
		}
	}
}

// An unbounded generator resumes where its checkpoint was.
func TestGenerateUnboundedReplaysTheRemainderOfACheckpoint(t *testing.T) {
	env := NewEnvironment().SetParallelism(2)
	node := sourceNode(Generate(env, Unbounded, identity))
	a := startSplitJob[int64](t, node, 2, nil, false)
	a.pollRounds(3, 1, 2)
	mark := a.counts()
	cp := a.checkpoint(7)
	a.pollRounds(5)
	b := startSplitJob[int64](t, node, 2, cp, false)
	b.pollRounds(5)
	for s := range 2 {
		got, want := b.subs[s].out.records, a.subs[s].out.records[mark[s]:]
		if len(want) == 0 || !slices.Equal(got, want) {
			t.Fatalf("subtask %d replayed %v..., want %v...", s, firstFew(got), firstFew(want))
		}
	}
}

func TestFromSliceReplaysTheRemainderOfACheckpoint(t *testing.T) {
	values := make([]string, 1000)
	for i := range values {
		values[i] = "v" + strconv.Itoa(i)
	}
	env := NewEnvironment().SetParallelism(3)
	node := sourceNode(FromSlice(env, values))
	for _, polls := range []int{0, 1, 3, 4} {
		t.Run(fmt.Sprint("polls=", polls), func(t *testing.T) {
			a := startSplitJob[string](t, node, 1, nil, false)
			a.pollRounds(polls)
			mark := a.counts()[0]
			cp := a.checkpoint(1)
			a.runToEnd()
			if !slices.Equal(a.records(nil), values) {
				t.Fatalf("emitted %d values %v..., want the slice", len(a.records(nil)), firstFew(a.records(nil)))
			}
			b := startSplitJob[string](t, node, 1, cp, false)
			b.runToEnd()
			if got := b.records(nil); !slices.Equal(got, values[mark:]) {
				t.Fatalf("replayed %d values %v..., want the %d from %d", len(got), firstFew(got), len(values)-mark, mark)
			}
		})
	}
}

// lineFile writes n lines of varied lengths, each with the file's name
// and its number (some with "\r\n"), and returns them.
func lineFile(t *testing.T, path string, n int) []string {
	t.Helper()
	var b strings.Builder
	lines := make([]string, n)
	for i := range lines {
		lines[i] = fmt.Sprintf("%s:%d:%s", filepath.Base(path), i, strings.Repeat("x", (i*7)%41))
		b.WriteString(lines[i])
		if i%5 == 0 {
			b.WriteString("\r")
		}
		b.WriteString("\n")
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	return lines
}

// A file source restored from a checkpoint taken mid-stream, at many
// points, emits exactly the lines the original had not emitted: the
// blocks are smaller than most lines, so lines cross block boundaries, and
// the checkpoints fall inside blocks.
func TestReadTextFileReplaysTheRemainderOfACheckpoint(t *testing.T) {
	dir := t.TempDir()
	lines := append(lineFile(t, filepath.Join(dir, "a.txt"), 1500), lineFile(t, filepath.Join(dir, "sub", "b.txt"), 700)...)
	env := NewEnvironment()
	node := sourceNode(ReadTextFile(env, dir, FileSplitSize(23)))
	for _, p := range []int{1, 3} {
		for rounds := 0; rounds < 12; rounds++ {
			t.Run(fmt.Sprintf("p=%d/rounds=%d", p, rounds), func(t *testing.T) {
				a := startSplitJob[string](t, node, p, nil, false)
				a.pollRounds(rounds, 1, 2, 1)
				mark := a.counts()
				cp := a.checkpoint(1)
				a.runToEnd()
				wantExactlyOnce(t, a.records(nil), lines)

				b := startSplitJob[string](t, node, p, cp, false)
				b.runToEnd()
				if p == 1 {
					if got, want := b.records(nil), a.records(mark); !slices.Equal(got, want) {
						t.Fatalf("replayed %d lines %q..., want the %d after the checkpoint %q...", len(got), firstFew(got), len(want), firstFew(want))
					}
					return
				}
				wantExactlyOnce(t, b.records(nil), a.records(mark))
			})
		}
	}
}

// Split state survives rescaling 4 → 2 → 3: every record is emitted
// exactly once over the three runs, and each subtask of a generator still
// emits its indices in increasing order.
func TestSplitStateRescales(t *testing.T) {
	dir := t.TempDir()
	lines := lineFile(t, filepath.Join(dir, "in.txt"), 3000)
	for _, tc := range []struct {
		name string
		node func(env *Environment) *graph.Node
		want []string
	}{
		{"Generate", func(env *Environment) *graph.Node {
			return sourceNode(Generate(env, 20000, func(i int64) (string, error) { return fmt.Sprintf("%06d", i), nil }))
		}, func() []string {
			s := make([]string, 20000)
			for i := range s {
				s[i] = fmt.Sprintf("%06d", i)
			}
			return s
		}()},
		{"ReadTextFile", func(env *Environment) *graph.Node {
			return sourceNode(ReadTextFile(env, dir, FileSplitSize(97)))
		}, lines},
	} {
		t.Run(tc.name, func(t *testing.T) {
			node := tc.node(NewEnvironment())
			a := startSplitJob[string](t, node, 4, nil, false)
			a.pollRounds(3, 1, 2, 3, 1)
			cp1 := a.checkpoint(1)
			got := a.records(nil)

			b := startSplitJob[string](t, node, 2, rescaled(t, cp1, 2), false)
			b.pollRounds(4, 2, 1)
			cp2 := b.checkpoint(2)
			got = append(got, b.records(nil)...)

			c := startSplitJob[string](t, node, 3, rescaled(t, cp2, 3), false)
			c.runToEnd()
			got = append(got, c.records(nil)...)
			wantExactlyOnce(t, got, tc.want)

			if tc.name == "Generate" {
				for _, j := range []*splitJob[string]{b, c} {
					for s, sub := range j.subs {
						if !slices.IsSorted(sub.out.records) {
							t.Errorf("parallelism %d, subtask %d: indices out of order: %v...", j.p, s, firstFew(sub.out.records))
						}
					}
				}
			}
		})
	}
}

// fileEnumeratorEvents records what a file enumerator sends.
type fileEnumeratorEvents struct {
	p      int
	got    map[int][]FileSplit
	noMore map[int]int
}

func (e *fileEnumeratorEvents) Parallelism() int { return e.p }

func (e *fileEnumeratorEvents) AssignSplits(subtask int, splits []FileSplit) error {
	e.got[subtask] = append(e.got[subtask], splits...)
	return nil
}

func (e *fileEnumeratorEvents) SignalNoMoreSplits(subtask int) error {
	e.noMore[subtask]++
	return nil
}

// The file enumerator answers each request with one block, in file order,
// whoever asks, and with the end of the blocks once there are none left;
// a checkpoint holds the blocks not handed out yet.
func TestFileEnumeratorHandsOutOneBlockPerRequest(t *testing.T) {
	dir := t.TempDir()
	writeTestFile(t, filepath.Join(dir, "a.txt"), strings.Repeat("a", 100))
	writeTestFile(t, filepath.Join(dir, "b.txt"), strings.Repeat("b", 50))
	ctx := &fileEnumeratorEvents{p: 3, got: map[int][]FileSplit{}, noMore: map[int]int{}}
	enum, err := TextFileSource(dir, FileSplitSize(20)).CreateEnumerator(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for s := range 3 {
		if err := enum.AddReader(s); err != nil {
			t.Fatal(err)
		}
	}
	if len(ctx.got) != 0 {
		t.Fatalf("blocks assigned before any request: %v", ctx.got)
	}
	var order []FileSplit
	request := func(s int) {
		t.Helper()
		before := len(ctx.got[s])
		if err := enum.HandleSplitRequest(s); err != nil {
			t.Fatal(err)
		}
		if n := len(ctx.got[s]) - before; n > 1 {
			t.Fatalf("a request of subtask %d got %d blocks, want one", s, n)
		} else if n == 1 {
			order = append(order, ctx.got[s][before])
		}
	}
	// Subtask 0 is fast, 1 slow, 2 in between.
	for _, s := range []int{0, 1, 2, 0, 0, 2, 0} {
		request(s)
	}
	left, err := enum.SnapshotState(1)
	if err != nil {
		t.Fatal(err)
	}
	if len(left) != 1 || left[0].Path != filepath.Join(dir, "b.txt") || left[0].Start != 40 {
		t.Fatalf("unassigned at the checkpoint: %+v, want b.txt's last block", left)
	}
	request(1)
	request(2)
	request(0)
	if got := []int{len(ctx.got[0]), len(ctx.got[1]), len(ctx.got[2])}; !slices.Equal(got, []int{4, 2, 2}) {
		t.Errorf("blocks per subtask %v, want [4 2 2]: one per request", got)
	}
	if ctx.noMore[1] != 0 || ctx.noMore[2] != 1 || ctx.noMore[0] != 1 {
		t.Errorf("no more splits signalled %v, want to subtasks 0 and 2, which asked after the last block", ctx.noMore)
	}
	var want []FileSplit
	for _, f := range []struct {
		name string
		size int64
	}{{"a.txt", 100}, {"b.txt", 50}} {
		for off := int64(0); off < f.size; off += 20 {
			want = append(want, FileSplit{Path: filepath.Join(dir, f.name), Start: off, End: min(off+20, f.size), Offset: off})
		}
	}
	if !slices.Equal(order, want) {
		t.Errorf("blocks handed out in the order %+v, want %+v", order, want)
	}
}

// A subtask that reads faster asks for more blocks, and gets them.
func TestReadTextFileBalancesBlocksOverReaders(t *testing.T) {
	dir := t.TempDir()
	lines := lineFile(t, filepath.Join(dir, "in.txt"), 4000)
	node := sourceNode(ReadTextFile(NewEnvironment(), dir, FileSplitSize(2048)))
	j := startSplitJob[string](t, node, 2, nil, false)
	for !j.subs[0].ended || !j.subs[1].ended {
		for range 4 {
			j.poll(0)
		}
		j.poll(1)
	}
	wantExactlyOnce(t, j.records(nil), lines)
	if j.assigned[0] < 2*j.assigned[1] {
		t.Errorf("blocks per subtask %v: the subtask polled four times as often should read more", j.assigned)
	}
}

// Events that do not decode are errors, never panics, on both sides.
func TestSplitSourceRejectsMalformedEvents(t *testing.T) {
	env := NewEnvironment()
	node := sourceNode(Generate(env, 100, identity).Name("numbers"))
	noPanic := func(t *testing.T, what string, err error) {
		t.Helper()
		if err == nil {
			t.Errorf("%s: no error", what)
			return
		}
		if strings.Contains(err.Error(), "panic") || !strings.Contains(err.Error(), `stream: split source "numbers"`) {
			t.Errorf("%s: %v, want an error of the split source, not a panic", what, err)
		}
	}

	t.Run("coordinator", func(t *testing.T) {
		j := startSplitJob[int64](t, node, 2, nil, false)
		for _, ev := range [][]byte{nil, {}, {0}, {99}, {eventReaderRegistered, 0}, {eventSplitRequest, 1, 2}, {eventAddSplits}, {eventNoMoreSplits}} {
			noPanic(t, fmt.Sprintf("event %v", ev), j.coord.HandleEventFromOperator(0, ev))
		}
		for _, s := range []int{-1, 2} {
			noPanic(t, fmt.Sprintf("event from subtask %d", s), j.coord.HandleEventFromOperator(s, []byte{eventSplitRequest}))
		}
	})
	t.Run("restored coordinator state", func(t *testing.T) {
		for _, b := range [][]byte{{0}, {2, 0}, {enumeratorStateVersion, 0xff, 0xff, 0xff}, {enumeratorStateVersion, 2}, {enumeratorStateVersion, 1, 0}} {
			_, err := node.Coordinator(jobEvents[int64]{&splitJob[int64]{p: 1}}, b)
			noPanic(t, fmt.Sprintf("state %v", b), err)
		}
	})
	t.Run("operator", func(t *testing.T) {
		j := startSplitJob[int64](t, node, 2, nil, false)
		op := j.subs[0].op.(operator.EventReceiver)
		for _, ev := range [][]byte{nil, {}, {0}, {eventReaderRegistered}, {eventSplitRequest}, {eventNoMoreSplits, 0}, {eventAddSplits, 0xff, 0xff}, {eventAddSplits, 2}, {eventAddSplits, 1, 0}} {
			noPanic(t, fmt.Sprintf("event %v", ev), op.HandleOperatorEvent(ev))
		}
	})
	t.Run("random bytes", func(t *testing.T) {
		j := startSplitJob[int64](t, node, 1, nil, false)
		op := j.subs[0].op.(operator.EventReceiver)
		r := rand.New(rand.NewPCG(1, 2))
		for range 2000 {
			ev := make([]byte, r.IntN(12))
			for i := range ev {
				ev[i] = byte(r.IntN(256))
			}
			for _, err := range []error{op.HandleOperatorEvent(ev), j.coord.HandleEventFromOperator(0, ev)} {
				if err != nil && strings.Contains(err.Error(), "panic") {
					t.Fatalf("event %v: %v", ev, err)
				}
			}
			if _, err := node.Coordinator(jobEvents[int64]{j}, append([]byte{enumeratorStateVersion}, ev...)); err != nil && strings.Contains(err.Error(), "panic") {
				t.Fatalf("state %v: %v", ev, err)
			}
		}
	})
}

// Without a coordinator, each subtask runs its built-in enumerator scoped
// to itself: the static assignment, still replayable.
func TestSplitSourceWithoutCoordinator(t *testing.T) {
	env := NewEnvironment()
	dir := t.TempDir()
	lines := lineFile(t, filepath.Join(dir, "in.txt"), 2000)
	for _, tc := range []struct {
		name string
		node *graph.Node
		want []string
	}{
		{"Generate", sourceNode(Generate(env, 3000, func(i int64) (string, error) { return strconv.FormatInt(i, 10), nil })), func() []string {
			s := make([]string, 3000)
			for i := range s {
				s[i] = strconv.Itoa(i)
			}
			return s
		}()},
		{"ReadTextFile", sourceNode(ReadTextFile(env, dir, FileSplitSize(101))), lines},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a := startSplitJob[string](t, tc.node, 3, nil, true)
			a.pollRounds(2, 1, 2, 1)
			mark := a.counts()
			cp := a.checkpoint(1)
			a.runToEnd()
			wantExactlyOnce(t, a.records(nil), tc.want)
			// Restored without a coordinator, and with one (whose state the
			// checkpoint lacks: the job master restores it empty).
			b := startSplitJob[string](t, tc.node, 3, cp, true)
			b.runToEnd()
			c := startSplitJob[string](t, tc.node, 3, &splitCheckpoint{coord: []byte{}, ops: cp.ops}, false)
			c.runToEnd()
			for s := range 3 {
				want := a.subs[s].out.records[mark[s]:]
				if got := b.subs[s].out.records; !slices.Equal(got, want) {
					t.Fatalf("subtask %d replayed %d records, want the %d after the checkpoint", s, len(got), len(want))
				}
				if got := c.subs[s].out.records; !slices.Equal(got, want) {
					t.Fatalf("with a coordinator, subtask %d replayed %d records, want the %d after the checkpoint", s, len(got), len(want))
				}
			}
		})
	}
}

// oneSplitSource is a split source that is not built in.
type oneSplitSource struct{}

func (oneSplitSource) Bounded() bool { return true }
func (oneSplitSource) CreateEnumerator(ctx SplitEnumeratorContext[sliceSplit]) (SplitEnumerator[sliceSplit], error) {
	return newStaticEnumerator(ctx, func(s, _ int) []sliceSplit { return []sliceSplit{{}} }, -1), nil
}
func (oneSplitSource) RestoreEnumerator(ctx SplitEnumeratorContext[sliceSplit], unassigned []sliceSplit) (SplitEnumerator[sliceSplit], error) {
	return restoreStaticEnumerator(ctx, unassigned), nil
}
func (oneSplitSource) CreateSplitReader(context.Context, *RuntimeContext, SplitReaderContext) (SplitReader[int, sliceSplit], error) {
	return &sliceReader[int]{values: []int{1, 2, 3}}, nil
}

func TestSplitSourceWithoutCoordinatorMustBeBuiltIn(t *testing.T) {
	env := NewEnvironment()
	node := sourceNode(FromSplitSource(env, oneSplitSource{}, NoWatermarks[int](), "mine"))
	c := &operator.Context{OperatorName: node.Name, Parallelism: 1, OperatorState: state.NewOperatorBackend()}
	op, _, err := node.Factory.Create(c, operator.Output[int](&recordingOutput[int]{}))
	if err != nil {
		t.Fatal(err)
	}
	err = op.Open(context.Background())
	if err == nil || !strings.Contains(err.Error(), `stream: split source "mine": the runtime runs no coordinator`) {
		t.Errorf("Open: %v, want an error saying that the runtime runs no coordinator", err)
	}
	if err := op.Close(); err != nil {
		t.Errorf("Close: %v", err)
	}
	// With a coordinator it runs.
	j := startSplitJob[int](t, node, 2, nil, false)
	j.runToEnd()
	if got := j.records(nil); !slices.Equal(got, []int{1, 2, 3, 1, 2, 3}) {
		t.Errorf("got %v", got)
	}
}

// Sources that are not replayable say so, once per subtask, when the job
// checkpoints; replayable ones say nothing.
func TestSourcesThatCannotReplayWarn(t *testing.T) {
	env := NewEnvironment()
	for _, tc := range []struct {
		node *graph.Node
		want string // "" for no warning
	}{
		{sourceNode(FromSeq(env, slices.Values([]int{1}))), "iterator source (FromSeq) is not replayable"},
		{sourceNode(SocketTextStream(env, "127.0.0.1", 1)), "socket source is not replayable: it is at most once"},
		{sourceNode(FromSource[int64](env, plainSource{}, NoWatermarks[int64](), "custom")), "source is not replayable"},
		{sourceNode(FromSlice(env, []int{1})), ""},
		{sourceNode(Generate(env, 1, identity)), ""},
	} {
		t.Run(tc.node.Name, func(t *testing.T) {
			var log bytes.Buffer
			c := &operator.Context{
				OperatorName: tc.node.Name, Parallelism: 1, OperatorState: state.NewOperatorBackend(),
				Logger: slog.New(slog.NewTextHandler(&log, nil)), Checkpointing: true,
			}
			op, _, err := tc.node.Factory.Create(c, tc.node.OutType.Discard())
			if err != nil {
				t.Fatal(err)
			}
			_ = op.Open(context.Background()) // the socket's connection is refused
			if err := op.Close(); err != nil {
				t.Errorf("Close: %v", err)
			}
			got := log.String()
			switch {
			case tc.want == "" && got != "":
				t.Errorf("logged %q", got)
			case tc.want != "" && (strings.Count(got, "level=WARN") != 1 || !strings.Contains(got, tc.want)):
				t.Errorf("logged %q, want one warning saying %q", got, tc.want)
			}
		})
	}
}

// plainSource is a Source that emits nothing.
type plainSource struct{}

func (plainSource) Bounded() bool { return true }
func (plainSource) CreateReader(context.Context, *RuntimeContext) (SourceReader[int64], error) {
	return &sliceReader[int64]{noMore: true}, nil
}

func writeTestFile(t *testing.T, path, content string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

// firstFew shortens a slice for a failure message.
func firstFew[T any](s []T) []T {
	if len(s) > 10 {
		return s[:10]
	}
	return s
}
