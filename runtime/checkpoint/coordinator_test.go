package checkpoint_test

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/runnel-io/runnel/internal/script"
	"github.com/runnel-io/runnel/runtime/checkpoint"
)

func TestConfigDefaultsAndValidate(t *testing.T) {
	var cfg checkpoint.Config
	cfg.EnsureDefaults()
	want := checkpoint.Config{Timeout: 10 * time.Minute, MaxConcurrent: 1, NumRetained: 1}
	if cfg != want {
		t.Fatalf("EnsureDefaults: got %+v, want %+v", cfg, want)
	}
	if err := cfg.Validate(); err != nil {
		t.Fatalf("defaults do not validate: %v", err)
	}
	for _, tc := range []struct {
		edit func(*checkpoint.Config)
		want string
	}{
		{func(c *checkpoint.Config) { c.MaxConcurrent = 0 },
			"checkpoint: execution.checkpointing.max-concurrent-checkpoints must be at least 1, got 0"},
		{func(c *checkpoint.Config) { c.Interval = 5 * time.Millisecond },
			"checkpoint: execution.checkpointing.interval must be 0 (disabled) or at least 10ms, got 5ms"},
		{func(c *checkpoint.Config) { c.Interval = -time.Second },
			"checkpoint: execution.checkpointing.interval must be 0 (disabled) or at least 10ms, got -1s"},
		{func(c *checkpoint.Config) { c.Timeout = 0 },
			"checkpoint: execution.checkpointing.timeout must be at least 10ms, got 0s"},
		{func(c *checkpoint.Config) { c.MinPause = -1 },
			"checkpoint: execution.checkpointing.min-pause must not be negative, got -1ns"},
		{func(c *checkpoint.Config) { c.TolerableFailures = -2 },
			"checkpoint: execution.checkpointing.tolerable-failed-checkpoints must not be negative, got -2"},
		{func(c *checkpoint.Config) { c.NumRetained = 0 },
			"checkpoint: state.checkpoints.num-retained must be at least 1, got 0"},
	} {
		c := want
		tc.edit(&c)
		err := c.Validate()
		if err == nil || err.Error() != tc.want {
			t.Errorf("Validate(%+v) = %v, want %q", c, err, tc.want)
		}
	}
	// New fills the defaults in before validating.
	if _, err := checkpoint.New(checkpoint.Config{Interval: time.Second}, defaultSpec().job(), 0); err != nil {
		t.Fatalf("New with zero optional fields: %v", err)
	}
	if _, err := checkpoint.New(checkpoint.Config{MaxConcurrent: -1}, defaultSpec().job(), 0); err == nil ||
		!strings.Contains(err.Error(), checkpoint.KeyMaxConcurrent) {
		t.Fatalf("New with a bad config: %v, want an error naming %s", err, checkpoint.KeyMaxConcurrent)
	}
}

func TestNewRejectsInvalidJob(t *testing.T) {
	op := func(id string) checkpoint.OperatorInfo {
		return checkpoint.OperatorInfo{ID: id, Name: id, Parallelism: 1, MaxParallelism: 128}
	}
	t0 := checkpoint.TaskID{}
	for _, tc := range []struct {
		job  checkpoint.Job
		want string
	}{
		{checkpoint.Job{}, "checkpoint: invalid job: no tasks"},
		{checkpoint.Job{Tasks: []checkpoint.TaskID{t0, t0}, Sources: []checkpoint.TaskID{t0}},
			"checkpoint: invalid job: vertex 0 subtask 0 listed twice"},
		{checkpoint.Job{Tasks: []checkpoint.TaskID{{Vertex: -1}}}, "checkpoint: invalid job: vertex -1 subtask 0 has a negative index"},
		{checkpoint.Job{Tasks: []checkpoint.TaskID{t0}}, "checkpoint: invalid job: no sources"},
		{checkpoint.Job{Tasks: []checkpoint.TaskID{t0}, Sources: []checkpoint.TaskID{{Vertex: 1}}},
			"checkpoint: invalid job: source vertex 1 subtask 0 is not a task"},
		{checkpoint.Job{Tasks: []checkpoint.TaskID{t0}, Sources: []checkpoint.TaskID{t0}, Operators: []checkpoint.OperatorInfo{op("a"), op("a")}},
			`checkpoint: invalid job: operator "a" listed twice`},
		{checkpoint.Job{Tasks: []checkpoint.TaskID{t0}, Sources: []checkpoint.TaskID{t0}, Operators: []checkpoint.OperatorInfo{{ID: "a", Parallelism: 4, MaxParallelism: 2}}},
			`checkpoint: invalid job: operator "a": keygroup: parallelism 4 is outside [1, max parallelism 2]`},
		{checkpoint.Job{Tasks: []checkpoint.TaskID{t0}, Sources: []checkpoint.TaskID{t0}, Operators: []checkpoint.OperatorInfo{op("a")}, Coordinators: []string{"b"}},
			`checkpoint: invalid job: coordinator "b" is not an operator`},
		{checkpoint.Job{Tasks: []checkpoint.TaskID{t0}, Sources: []checkpoint.TaskID{t0}, Operators: []checkpoint.OperatorInfo{op("a")}, Coordinators: []string{"a", "a"}},
			`checkpoint: invalid job: the coordinator of operator "a" listed twice`},
	} {
		_, err := checkpoint.New(checkpoint.Config{}, tc.job, 0)
		if err == nil || err.Error() != tc.want || !errors.Is(err, checkpoint.ErrInvalidJob) {
			t.Errorf("New(%+v) = %v, want %q wrapping ErrInvalidJob", tc.job, err, tc.want)
		}
	}
}

func TestReasonsWrapSentinels(t *testing.T) {
	c, err := checkpoint.New(checkpoint.Config{TolerableFailures: 5}, defaultSpec().job(), 0)
	if err != nil {
		t.Fatal(err)
	}
	cause := errors.New("disk full")
	id, _ := c.TriggerCheckpoint(0)
	c.Decline(1, id, checkpoint.TaskID{Vertex: 1, Subtask: 0}, cause)
	id, _ = c.TriggerCheckpoint(2)
	c.Acknowledge(3, id, checkpoint.TaskID{Vertex: 1, Subtask: 1}, nil)
	c.Tick(2 + (10 * time.Minute).Milliseconds())
	var aborts []checkpoint.Abort
	for _, a := range c.Ready() {
		if a, ok := a.(checkpoint.Abort); ok {
			aborts = append(aborts, a)
		}
	}
	if len(aborts) != 2 {
		t.Fatalf("got %d aborts, want 2", len(aborts))
	}
	if r := aborts[0].Reason; r.Error() != "checkpoint: checkpoint 1 declined by SINK (1/2): disk full" ||
		!errors.Is(r, checkpoint.ErrDeclined) || !errors.Is(r, cause) {
		t.Errorf("decline reason %q does not wrap ErrDeclined and the cause", r)
	}
	if r := aborts[1].Reason; r.Error() != "checkpoint: checkpoint 2 expired after 10m0s before all tasks acknowledged (1 of 3)" ||
		!errors.Is(r, checkpoint.ErrExpired) {
		t.Errorf("expiry reason %q does not wrap ErrExpired", r)
	}
}

// The coordinator's reasons name a task the way Flink names a subtask,
// by name, or by vertex where the job gave none, and never print a
// TaskID's fields; a failure of the driver names no task.
func TestReasonsNameTasks(t *testing.T) {
	job := defaultSpec().job()
	job.TaskNames = []string{"SRC"} // none for the sink's vertex
	c, err := checkpoint.New(checkpoint.Config{TolerableFailures: 5}, job, 0)
	if err != nil {
		t.Fatal(err)
	}
	id, _ := c.TriggerCheckpoint(0)
	c.Decline(1, id, checkpoint.TaskID{Vertex: 1, Subtask: 1}, nil)
	id, _ = c.TriggerCheckpoint(2)
	c.Acknowledge(3, id, checkpoint.TaskID{Vertex: 1, Subtask: 1}, map[string]checkpoint.SubtaskState{"src": {}})
	id, _ = c.TriggerCheckpoint(4)
	cause := errors.New("no space left")
	c.Fail(5, id, cause)
	var got []string
	for _, a := range c.Ready() {
		if a, ok := a.(checkpoint.Abort); ok {
			got = append(got, a.Reason.Error())
			if a.ID == id && (!errors.Is(a.Reason, checkpoint.ErrDeclined) || !errors.Is(a.Reason, cause)) {
				t.Errorf("Fail's reason %q does not wrap ErrDeclined and the cause", a.Reason)
			}
		}
	}
	want := []string{
		"checkpoint: checkpoint 1 declined by task 1 (2/2): no reason given",
		`checkpoint: checkpoint 2: task 1 (2/2) acknowledged state of operator "SRC", which has parallelism 1`,
		"checkpoint: checkpoint 3 failed: no space left",
	}
	if !slices.Equal(got, want) {
		t.Errorf("abort reasons:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	if s := (checkpoint.TaskID{Vertex: 2, Subtask: 3}).String(); s != "vertex 2 subtask 3" {
		t.Errorf("TaskID.String() = %q", s)
	}
}

func TestTriggerSavepointRejectsBadOptions(t *testing.T) {
	c, err := checkpoint.New(checkpoint.Config{}, defaultSpec().job(), 0)
	if err != nil {
		t.Fatal(err)
	}
	for _, opts := range []checkpoint.Options{
		{},
		{Kind: checkpoint.KindCheckpoint},
		{Kind: checkpoint.KindSavepoint, Final: true},
		{Kind: checkpoint.KindSavepoint, Drain: true},
	} {
		if _, err := c.TriggerSavepoint(0, opts); !errors.Is(err, checkpoint.ErrInvalidOptions) {
			t.Errorf("TriggerSavepoint(%+v) = %v, want ErrInvalidOptions", opts, err)
		}
	}
	if a := c.Ready(); len(a) != 0 {
		t.Errorf("rejected savepoints produced actions: %v", a)
	}
}

// TestRandomized drives coordinators with seeded random event sequences,
// correct and incorrect, and lets the harness check every invariant after
// every event.
func TestRandomized(t *testing.T) {
	sequences := 1000
	if testing.Short() {
		sequences = 100
	}
	seen := map[string]int{}
	for seed := range uint64(sequences) {
		runRandom(t, seed, 300, seen)
		if t.Failed() {
			t.Fatalf("seed %d failed", seed)
		}
	}
	// The generator must reach every outcome, or the invariants above
	// were checked on too little.
	for _, what := range []string{
		"Trigger", "Trigger periodic", "Trigger final", "Trigger savepoint", "Trigger terminate", "Trigger manual",
		"WriteMetadata", "Complete", "Complete savepoint", "Complete final", "Complete held back", "Discard", "FailJob",
		"Abort expired", "Abort declined", "Abort invalid", "Abort metadata", "Abort subsumed", "Abort restarting", "Abort ended",
		"restored",
	} {
		if seen[what] == 0 {
			t.Errorf("no sequence produced %q", what)
		}
	}
	t.Logf("outcomes: %v", seen)
}

func runRandom(t *testing.T, seed uint64, steps int, seen map[string]int) {
	rng := rand.New(rand.NewPCG(seed, 0x5eed))
	cfg := checkpoint.Config{
		Interval:          []time.Duration{0, 10, 30, 100}[rng.IntN(4)] * time.Millisecond,
		Timeout:           time.Duration(20+rng.IntN(300)) * time.Millisecond,
		MinPause:          []time.Duration{0, 0, 15, 60}[rng.IntN(4)] * time.Millisecond,
		MaxConcurrent:     1 + rng.IntN(3),
		TolerableFailures: rng.IntN(4),
		NumRetained:       1 + rng.IntN(3),
	}
	spec := jobSpec{}
	for v := range 1 + rng.IntN(3) {
		var ops []string
		for o := range 1 + rng.IntN(2) {
			ops = append(ops, fmt.Sprintf("op%d%c", v, 'a'+o))
		}
		spec.chains = append(spec.chains, ops)
		spec.par = append(spec.par, 1+rng.IntN(3))
	}
	for _, op := range spec.chains[0] {
		if rng.IntN(2) == 0 {
			spec.coords = append(spec.coords, op)
		}
	}
	now := int64(1_000_000)
	h := newHarness(t, fmt.Sprintf("seed %d", seed), cfg, spec, now)
	if h == nil {
		return
	}
	h.seen = seen
	if rng.IntN(4) == 0 {
		kind := []checkpoint.Kind{checkpoint.KindCheckpoint, checkpoint.KindSavepoint}[rng.IntN(2)]
		h.restore(&checkpoint.Metadata{JobID: "old", CheckpointID: int64(rng.IntN(50)), Kind: kind}, "/restored")
	}
	tasks := spec.job().Tasks
	pickID := func() int64 {
		if p := h.c.Pending(); len(p) > 0 && rng.IntN(10) > 0 {
			return p[rng.IntN(len(p))]
		}
		return int64(rng.IntN(int(h.lastID) + 3))
	}
	pickTask := func() checkpoint.TaskID {
		if rng.IntN(30) == 0 {
			return checkpoint.TaskID{Vertex: 9, Subtask: rng.IntN(2)}
		}
		return tasks[rng.IntN(len(tasks))]
	}
	for range steps {
		if t.Failed() {
			return
		}
		now += int64(rng.IntN(15))
		switch r := rng.IntN(1000); {
		case r < 300:
			if d, ok := h.c.NextDeadline(); ok && d > now && rng.IntN(2) == 0 {
				if rng.IntN(4) == 0 {
					now = d - 1 // just before: nothing may happen
				} else {
					now = d
				}
			}
			h.tick(now)
		case r < 380:
			// Everything still missing for one checkpoint, in a burst.
			id := pickID()
			if s := h.ids[id]; s != nil && !s.ended && s.md == nil {
				for _, task := range tasks {
					if !s.acked[task] && rng.IntN(8) > 0 {
						h.ack(now, id, task, nil)
					}
				}
				for _, op := range spec.coords {
					if !s.coords[op] {
						h.ackCoord(now, id, op)
					}
				}
			}
		case r < 560:
			id := pickID()
			task := pickTask()
			// Prefer tasks that have not acknowledged yet.
			if s := h.ids[id]; s != nil {
				for range 3 {
					if !s.acked[task] {
						break
					}
					task = pickTask()
				}
			}
			var ops []string
			if rng.IntN(40) == 0 {
				ops = []string{"nope"}
			}
			h.ack(now, id, task, ops)
		case r < 660:
			if len(spec.coords) > 0 {
				op := spec.coords[rng.IntN(len(spec.coords))]
				if rng.IntN(30) == 0 {
					op = "nope"
				}
				h.ackCoord(now, pickID(), op)
			}
		case r < 680:
			h.decline(now, pickID(), pickTask(), errors.New("snapshot failed"))
		case r < 690:
			h.fail(now, pickID(), errors.New("storage failed"))
		case r < 820:
			var writing []int64
			for id, s := range h.ids {
				if s.md != nil && !s.written && !s.ended {
					writing = append(writing, id)
				}
			}
			slices.Sort(writing)
			id := pickID()
			if len(writing) > 0 && rng.IntN(10) > 0 {
				id = writing[rng.IntN(len(writing))]
			}
			var err error
			if rng.IntN(7) == 0 {
				err = errors.New("write failed")
			}
			h.written(now, id, fmt.Sprintf("/cp/%d", id), err)
		case r < 845:
			opts := checkpoint.Options{Kind: checkpoint.KindSavepoint}
			if rng.IntN(4) == 0 {
				opts.Terminate = true
				opts.Drain = rng.IntN(2) == 0
			}
			h.savepoint(now, opts)
		case r < 870:
			h.manual(now)
		case r < 960:
			h.finish(now, pickTask())
		case r < 985:
			h.restart(now, errors.New("task failed"))
		case r < 988:
			h.stop(now)
		default:
			// Garbage: a duplicate of an earlier acknowledgement, or an
			// unknown checkpoint.
			h.ack(now, pickID(), pickTask(), nil)
			h.ack(now, -rng.Int64N(5), pickTask(), nil)
		}
	}
}

// TestCoreIsDeterministic checks mechanically that the coordinator is a
// pure state machine: no goroutines, no clock, no I/O, no dependency
// beyond the standard library's pure packages and state/keygroup.
func TestCoreIsDeterministic(t *testing.T) {
	script.CheckCore(t, "cmp", "errors", "fmt", "maps", "math", "slices", "time", "github.com/runnel-io/runnel/state/keygroup")
}

// jobSpec describes a test job: vertex v runs the operators chains[v] at
// parallelism par[v]; vertex 0 holds the sources; coords have operator
// coordinators.
type jobSpec struct {
	chains [][]string
	par    []int
	coords []string
}

// defaultSpec: src (parallelism 1, with a coordinator) feeding sink
// (parallelism 2), tasks {0 0}, {1 0}, {1 1}.
func defaultSpec() jobSpec {
	return jobSpec{chains: [][]string{{"src"}, {"sink"}}, par: []int{1, 2}, coords: []string{"src"}}
}

func (s jobSpec) job() checkpoint.Job {
	job := checkpoint.Job{ID: "job", Coordinators: s.coords}
	for v, ops := range s.chains {
		for i := range s.par[v] {
			task := checkpoint.TaskID{Vertex: v, Subtask: i}
			job.Tasks = append(job.Tasks, task)
			if v == 0 {
				job.Sources = append(job.Sources, task)
			}
		}
		names := make([]string, len(ops))
		for i, op := range ops {
			names[i] = strings.ToUpper(op)
			job.Operators = append(job.Operators, checkpoint.OperatorInfo{
				ID: op, Name: names[i], Parallelism: s.par[v], MaxParallelism: 128,
			})
		}
		job.TaskNames = append(job.TaskNames, strings.Join(names, " -> "))
	}
	return job
}

// subtaskState is the state a test task acknowledges for operator op.
func subtaskState(id int64, op string, subtask int) checkpoint.SubtaskState {
	return checkpoint.SubtaskState{Operator: checkpoint.StateHandle{Path: fmt.Sprintf("%d/%s/%d", id, op, subtask), Size: 1}}
}

// coordinatorState is the state a test coordinator acknowledges.
func coordinatorState(id int64, op string) []byte {
	return fmt.Appendf(nil, "%d/%s", id, op)
}

// harness wraps a Coordinator: every event goes through it, and after
// every event it checks the actions and queries against what the
// coordinator promises. The model is deliberately coarse: it follows what
// the actions say rather than re-deciding them.
type harness struct {
	t    testing.TB
	name string
	c    *checkpoint.Coordinator
	cfg  checkpoint.Config
	spec jobSpec
	job  checkpoint.Job
	now  int64

	lastID       int64
	ids          map[int64]*idState
	lastComplete int64
	latest       int64 // -1: none
	discarded    map[int64]bool
	failing      bool
	consecutive  int
	terminating  bool // a Terminate savepoint is pending or complete
	finalDone    bool
	finished     map[checkpoint.TaskID]bool
	ended        bool
	lastEnd      int64
	anyEnded     bool
	seen         map[string]int // outcomes, for TestRandomized's coverage check
}

func (h *harness) saw(what string) {
	if h.seen != nil {
		h.seen[what]++
	}
}

type idState struct {
	opts      checkpoint.Options
	ts        int64
	periodic  bool
	acked     map[checkpoint.TaskID]bool
	custom    bool // some acknowledgement did not carry subtaskState
	coords    map[string]bool
	md        *checkpoint.Metadata
	written   bool
	location  string
	completed bool
	ended     bool
}

func newHarness(t testing.TB, name string, cfg checkpoint.Config, spec jobSpec, now int64) *harness {
	t.Helper()
	c, err := checkpoint.New(cfg, spec.job(), now)
	if err != nil {
		t.Errorf("%s: New: %v", name, err)
		return nil
	}
	cfg.EnsureDefaults()
	return &harness{
		t: t, name: name, c: c, cfg: cfg, spec: spec, job: spec.job(), now: now,
		ids: map[int64]*idState{}, latest: -1, discarded: map[int64]bool{},
		finished: map[checkpoint.TaskID]bool{},
	}
}

func (h *harness) errorf(format string, args ...any) {
	h.t.Helper()
	h.t.Errorf("%s at %d: %s", h.name, h.now, fmt.Sprintf(format, args...))
}

func (h *harness) tick(now int64) []checkpoint.Action {
	before, ok := h.c.NextDeadline()
	acts := h.step("tick", now, func() { h.c.Tick(now) })
	if (!ok || now < before) && len(acts) > 0 {
		h.errorf("Tick before NextDeadline (%d, %v) produced %v", before, ok, acts)
	}
	for id, s := range h.ids {
		if !s.ended && s.md == nil && now >= s.ts+h.cfg.Timeout.Milliseconds() {
			h.errorf("checkpoint %d triggered at %d is still collecting after its timeout", id, s.ts)
		}
	}
	return acts
}

// ack acknowledges id from task, with the state of ops (nil: the
// operators of its chain).
func (h *harness) ack(now, id int64, task checkpoint.TaskID, ops []string) []checkpoint.Action {
	custom := ops != nil
	if ops == nil && task.Vertex >= 0 && task.Vertex < len(h.spec.chains) {
		ops = h.spec.chains[task.Vertex]
	}
	states := map[string]checkpoint.SubtaskState{}
	for _, op := range ops {
		states[op] = subtaskState(id, op, task.Subtask)
	}
	if s := h.ids[id]; s != nil && !s.ended && s.md == nil {
		s.acked[task] = true
		s.custom = s.custom || custom
	}
	return h.step("ack", now, func() { h.c.Acknowledge(now, id, task, states) })
}

func (h *harness) ackCoord(now, id int64, op string) []checkpoint.Action {
	if s := h.ids[id]; s != nil && !s.ended && s.md == nil {
		s.coords[op] = true
	}
	return h.step("ack-coord", now, func() { h.c.AckCoordinator(now, id, op, coordinatorState(id, op)) })
}

func (h *harness) decline(now, id int64, task checkpoint.TaskID, reason error) []checkpoint.Action {
	return h.step("decline", now, func() { h.c.Decline(now, id, task, reason) })
}

func (h *harness) fail(now, id int64, reason error) []checkpoint.Action {
	return h.step("fail", now, func() { h.c.Fail(now, id, reason) })
}

func (h *harness) written(now, id int64, location string, err error) []checkpoint.Action {
	if s := h.ids[id]; s != nil && !s.ended && s.md != nil && !s.written && err == nil {
		s.written, s.location = true, location
	}
	return h.step("written", now, func() { h.c.MetadataWritten(now, id, location, err) })
}

func (h *harness) savepoint(now int64, opts checkpoint.Options) (id int64, acts []checkpoint.Action, err error) {
	acts = h.step("savepoint", now, func() { id, err = h.c.TriggerSavepoint(now, opts) })
	h.checkTriggerResult(id, err, acts)
	return id, acts, err
}

func (h *harness) manual(now int64) (id int64, acts []checkpoint.Action, err error) {
	acts = h.step("checkpoint", now, func() { id, err = h.c.TriggerCheckpoint(now) })
	h.checkTriggerResult(id, err, acts)
	return id, acts, err
}

func (h *harness) checkTriggerResult(id int64, err error, acts []checkpoint.Action) {
	h.t.Helper()
	if err != nil {
		if len(acts) > 0 || !strings.HasPrefix(err.Error(), "checkpoint: ") {
			h.errorf("failed trigger: %v, actions %v", err, acts)
		}
		return
	}
	if len(acts) != 1 {
		h.errorf("trigger returned %d with actions %v", id, acts)
		return
	}
	if tr, ok := acts[0].(checkpoint.Trigger); !ok || tr.ID != id {
		h.errorf("trigger returned %d with actions %v", id, acts)
	}
}

func (h *harness) finish(now int64, task checkpoint.TaskID) []checkpoint.Action {
	before, finalBefore := len(h.finished), h.anyFinalPending()
	if task.Vertex >= 0 && task.Vertex < len(h.spec.chains) && task.Subtask >= 0 && task.Subtask < h.spec.par[task.Vertex] {
		h.finished[task] = true
	}
	acts := h.step("finish", now, func() { h.c.TaskFinished(now, task) })
	wantFinal := !h.ended && h.cfg.Interval > 0 && before < len(h.finished) && len(h.finished) == len(h.job.Tasks) &&
		!h.terminating && !h.failing && !h.finalDone && !finalBefore
	if wantFinal && !slices.ContainsFunc(acts, func(a checkpoint.Action) bool {
		tr, ok := a.(checkpoint.Trigger)
		return ok && tr.Options.Final
	}) {
		h.errorf("every task finished but no final checkpoint was triggered: %v", acts)
	}
	return acts
}

func (h *harness) anyFinalPending() bool {
	for _, s := range h.ids {
		if s.opts.Final && !s.ended {
			return true
		}
	}
	return false
}

func (h *harness) restart(now int64, reason error) []checkpoint.Action {
	acts := h.step("restart", now, func() { h.c.Restart(now, reason) })
	if !h.ended {
		h.failing, h.terminating, h.finalDone = false, false, false
		clear(h.finished)
	}
	return acts
}

func (h *harness) stop(now int64) []checkpoint.Action {
	acts := h.step("stop", now, func() { h.c.Stop(now) })
	h.ended = true
	return acts
}

func (h *harness) restore(md *checkpoint.Metadata, location string) []checkpoint.Action {
	if h.lastID == 0 && h.latest == -1 && !h.ended && md != nil && md.CheckpointID >= 0 {
		h.lastID = max(h.lastID, md.CheckpointID)
		h.lastComplete = md.CheckpointID
		h.latest = md.CheckpointID
		h.ids[md.CheckpointID] = &idState{opts: checkpoint.Options{Kind: md.Kind}, md: md, written: true,
			location: location, completed: true, ended: true}
		h.saw("restored")
	}
	return h.step("restore", h.now, func() { h.c.RestoreFrom(md, location) })
}

// step runs one event and checks what it produced.
func (h *harness) step(event string, now int64, run func()) []checkpoint.Action {
	h.t.Helper()
	h.now = now
	run()
	acts := h.c.Ready()
	if h.ended && len(acts) > 0 {
		h.errorf("%s after Stop produced %v", event, acts)
	}
	for i, a := range acts {
		switch a := a.(type) {
		case checkpoint.Trigger:
			h.checkTrigger(event, a)
		case checkpoint.WriteMetadata:
			h.checkWriteMetadata(a)
		case checkpoint.Complete:
			h.checkComplete(a)
		case checkpoint.Abort:
			h.checkAbort(a, acts[i+1:])
		case checkpoint.Discard:
			s := h.ids[a.ID]
			switch {
			case s == nil || !s.completed:
				h.errorf("Discard of %d, which did not complete", a.ID)
			case s.opts.Kind != checkpoint.KindCheckpoint:
				h.errorf("Discard of savepoint %d", a.ID)
			case h.discarded[a.ID]:
				h.errorf("Discard of %d twice", a.ID)
			case a.ID >= h.lastComplete || a.ID == h.latest:
				h.errorf("Discard of %d, the latest", a.ID)
			case a.Location != s.location:
				h.errorf("Discard of %d at %q, completed at %q", a.ID, a.Location, s.location)
			}
			h.discarded[a.ID] = true
			h.saw("Discard")
		case checkpoint.FailJob:
			if _, afterAbort := acts[max(i-1, 0)].(checkpoint.Abort); i == 0 || !afterAbort || !errors.Is(a.Reason, checkpoint.ErrTooManyFailures) {
				h.errorf("unexpected FailJob: %v", a.Reason)
			}
			h.saw("FailJob")
		default:
			h.errorf("unknown action %T", a)
		}
	}
	h.checkQueries()
	return acts
}

func (h *harness) checkTrigger(event string, a checkpoint.Trigger) {
	if a.ID != h.lastID+1 {
		h.errorf("Trigger %d after %d", a.ID, h.lastID)
	}
	h.lastID = a.ID
	if a.Timestamp != h.now {
		h.errorf("Trigger %d at %d, not now", a.ID, a.Timestamp)
	}
	if h.ended || h.terminating || h.failing {
		h.errorf("Trigger %d while ended %v, stopping %v, failing %v", a.ID, h.ended, h.terminating, h.failing)
	}
	pending := 0
	for _, s := range h.ids {
		if !s.ended {
			pending++
		}
	}
	periodic := false
	switch {
	case event == "savepoint":
		if a.Options.Kind != checkpoint.KindSavepoint {
			h.errorf("savepoint request triggered %+v", a.Options)
		}
		h.terminating = a.Options.Terminate
	case event == "checkpoint":
		if a.Options != (checkpoint.Options{Kind: checkpoint.KindCheckpoint}) || pending >= h.cfg.MaxConcurrent {
			h.errorf("manual checkpoint %d: %+v with %d pending", a.ID, a.Options, pending)
		}
	case a.Options.Final:
		if h.cfg.Interval == 0 || len(h.finished) < len(h.job.Tasks) || h.anyFinalPending() || h.finalDone {
			h.errorf("final checkpoint %d triggered out of place", a.ID)
		}
	case event == "tick":
		periodic = true
		limit := h.cfg.MaxConcurrent
		if h.cfg.MinPause > 0 {
			limit = 1
		}
		if h.cfg.Interval == 0 || pending >= limit || a.Options != (checkpoint.Options{Kind: checkpoint.KindCheckpoint}) {
			h.errorf("periodic checkpoint %d: %+v with %d pending, limit %d", a.ID, a.Options, pending, limit)
		}
		if h.cfg.MinPause > 0 && h.anyEnded && h.now < h.lastEnd+h.cfg.MinPause.Milliseconds() {
			h.errorf("periodic checkpoint %d only %dms after the last ended", a.ID, h.now-h.lastEnd)
		}
		if len(h.finished) == len(h.job.Tasks) {
			h.errorf("periodic checkpoint %d after every task finished", a.ID)
		}
	default:
		h.errorf("%s triggered %d: %+v", event, a.ID, a.Options)
	}
	h.saw("Trigger")
	switch {
	case periodic:
		h.saw("Trigger periodic")
	case a.Options.Final:
		h.saw("Trigger final")
	case a.Options.Terminate:
		h.saw("Trigger terminate")
	case a.Options.Kind == checkpoint.KindSavepoint:
		h.saw("Trigger savepoint")
	default:
		h.saw("Trigger manual")
	}
	h.ids[a.ID] = &idState{opts: a.Options, ts: a.Timestamp, periodic: periodic,
		acked: map[checkpoint.TaskID]bool{}, coords: map[string]bool{}}
}

func (h *harness) checkWriteMetadata(a checkpoint.WriteMetadata) {
	md := a.Metadata
	if md == nil {
		h.errorf("WriteMetadata without metadata")
		return
	}
	s := h.ids[md.CheckpointID]
	if s == nil || s.ended || s.md != nil {
		h.errorf("WriteMetadata for %d, which is not collecting", md.CheckpointID)
		return
	}
	s.md = md
	h.saw("WriteMetadata")
	for _, task := range h.job.Tasks {
		if !s.acked[task] {
			h.errorf("WriteMetadata for %d before task %v acknowledged", md.CheckpointID, task)
		}
	}
	for _, op := range h.spec.coords {
		if !s.coords[op] {
			h.errorf("WriteMetadata for %d before coordinator %s acknowledged", md.CheckpointID, op)
		}
	}
	if md.JobID != "job" || md.Kind != s.opts.Kind || md.Timestamp != s.ts || a.Options != s.opts {
		h.errorf("WriteMetadata for %d: %+v, options %+v", md.CheckpointID, md, a.Options)
	}
	if len(md.Operators) != len(h.job.Operators) || !slices.IsSortedFunc(md.Operators, func(a, b checkpoint.OperatorState) int {
		return strings.Compare(a.ID, b.ID)
	}) {
		h.errorf("WriteMetadata for %d: operators not all there or not sorted", md.CheckpointID)
		return
	}
	for _, op := range md.Operators {
		if len(op.Subtasks) != op.Parallelism || op.MaxParallelism != 128 || op.Name != strings.ToUpper(op.ID) {
			h.errorf("WriteMetadata for %d: operator %+v", md.CheckpointID, op)
		}
		if slices.Contains(h.spec.coords, op.ID) != (op.Coordinator != nil) ||
			(op.Coordinator != nil && string(op.Coordinator) != string(coordinatorState(md.CheckpointID, op.ID))) {
			h.errorf("WriteMetadata for %d: operator %s has coordinator state %q", md.CheckpointID, op.ID, op.Coordinator)
		}
		for i, st := range op.Subtasks {
			if !s.custom && st != subtaskState(md.CheckpointID, op.ID, i) {
				h.errorf("WriteMetadata for %d: operator %s subtask %d has %+v", md.CheckpointID, op.ID, i, st)
			}
		}
	}
}

func (h *harness) checkComplete(a checkpoint.Complete) {
	s := h.ids[a.ID]
	switch {
	case s == nil || s.ended:
		h.errorf("Complete of %d, which is not pending", a.ID)
		return
	case s.md == nil || !s.written:
		h.errorf("Complete of %d before its metadata was written", a.ID)
	case a.Metadata != s.md || a.Location != s.location || a.Options != s.opts:
		h.errorf("Complete of %d: %+v", a.ID, a)
	case a.ID <= h.lastComplete:
		h.errorf("Complete of %d after %d", a.ID, h.lastComplete)
	}
	s.ended, s.completed = true, true
	h.saw("Complete")
	if a.Options.Kind == checkpoint.KindSavepoint {
		h.saw("Complete savepoint")
	}
	if a.Options.Final {
		h.saw("Complete final")
	}
	for id, o := range h.ids {
		if id < a.ID && o.written && !o.ended {
			h.errorf("Complete of %d before %d, whose metadata is written", a.ID, id)
		}
		if id > a.ID && o.written && !o.ended {
			h.saw("Complete held back")
		}
	}
	h.lastComplete, h.latest = a.ID, a.ID
	h.lastEnd, h.anyEnded = h.now, true
	if a.Options.Final {
		h.finalDone = true
	}
	if a.Options.Kind == checkpoint.KindCheckpoint {
		h.consecutive = 0
	}
}

func (h *harness) checkAbort(a checkpoint.Abort, rest []checkpoint.Action) {
	s := h.ids[a.ID]
	if s == nil || s.ended {
		h.errorf("Abort of %d, which is not pending", a.ID)
		return
	}
	s.ended = true
	h.lastEnd, h.anyEnded = h.now, true
	if a.Options.Terminate {
		h.terminating = false
	}
	if a.Reason == nil || !strings.HasPrefix(a.Reason.Error(), "checkpoint: ") {
		h.errorf("Abort of %d with reason %v", a.ID, a.Reason)
		return
	}
	for what, err := range map[string]error{
		"expired": checkpoint.ErrExpired, "declined": checkpoint.ErrDeclined, "invalid": checkpoint.ErrInvalidAck,
		"metadata": checkpoint.ErrMetadataNotWritten, "subsumed": checkpoint.ErrSubsumed,
		"restarting": checkpoint.ErrRestarting, "ended": checkpoint.ErrEnded,
	} {
		if errors.Is(a.Reason, err) {
			h.saw("Abort " + what)
		}
	}
	counts := false
	for _, err := range []error{checkpoint.ErrExpired, checkpoint.ErrDeclined, checkpoint.ErrInvalidAck, checkpoint.ErrMetadataNotWritten} {
		counts = counts || errors.Is(a.Reason, err)
	}
	if !counts && !errors.Is(a.Reason, checkpoint.ErrSubsumed) && !errors.Is(a.Reason, checkpoint.ErrRestarting) &&
		!errors.Is(a.Reason, checkpoint.ErrEnded) {
		h.errorf("Abort of %d with reason %v, which wraps no sentinel", a.ID, a.Reason)
	}
	if errors.Is(a.Reason, checkpoint.ErrSubsumed) && (s.opts.Final || s.opts.Kind != checkpoint.KindCheckpoint) {
		h.errorf("savepoint %d subsumed", a.ID)
	}
	if !counts || s.opts.Kind != checkpoint.KindCheckpoint || h.failing {
		return
	}
	h.consecutive++
	fail := len(rest) > 0
	if fail {
		_, fail = rest[0].(checkpoint.FailJob)
	}
	if want := h.consecutive > h.cfg.TolerableFailures; fail != want {
		h.errorf("%d consecutive failures with %d tolerable: FailJob %v", h.consecutive, h.cfg.TolerableFailures, fail)
	}
	if fail {
		h.consecutive, h.failing = 0, true
	}
}

func (h *harness) checkQueries() {
	var want []int64
	for id, s := range h.ids {
		if !s.ended {
			want = append(want, id)
		}
	}
	slices.Sort(want)
	if got := h.c.Pending(); !slices.Equal(got, want) {
		h.errorf("Pending() = %v, want %v", got, want)
	}
	st := h.c.Stats()
	if st.InProgress != len(want) || st.ConsecutiveFailures != h.consecutive {
		h.errorf("Stats() = %+v, want %d in progress, %d consecutive failures", st, len(want), h.consecutive)
	}
	md, loc, ok := h.c.Latest()
	if ok != (h.latest >= 0) || (ok && (md.CheckpointID != h.latest || loc != h.ids[h.latest].location)) {
		h.errorf("Latest() = %v %q %v, want %d", md, loc, ok, h.latest)
	}
	ret := h.c.Retained()
	if len(ret) > h.cfg.NumRetained {
		h.errorf("%d retained, more than %d", len(ret), h.cfg.NumRetained)
	}
	for i, cp := range ret {
		if s := h.ids[cp.ID]; s == nil || !s.completed || h.discarded[cp.ID] || cp.Options.Kind != checkpoint.KindCheckpoint ||
			(i > 0 && cp.ID <= ret[i-1].ID) {
			h.errorf("Retained() = %+v", ret)
		}
	}
	if d, ok := h.c.NextDeadline(); ok {
		for id, s := range h.ids {
			if !s.ended && s.md == nil && s.ts+h.cfg.Timeout.Milliseconds() < d {
				h.errorf("NextDeadline() = %d, after the timeout of %d", d, id)
			}
		}
	} else {
		for id, s := range h.ids {
			if !s.ended && s.md == nil {
				h.errorf("NextDeadline() = none, with %d collecting", id)
			}
		}
	}
}
