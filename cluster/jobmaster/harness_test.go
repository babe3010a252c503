package jobmaster_test

import (
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/runnel-io/runnel/cluster/jobmaster"
)

// harness feeds one Core and checks its invariants after every event,
// keeping a model of the world the actions act on:
//
//  1. No two live attempts of one subtask: a Deploy of attempt n comes
//     only when every earlier deployment ended, its worker is gone, or it
//     was stopped.
//  2. Every restart restores the latest completed checkpoint (the one
//     the world completed last), the first attempt what it was told to.
//  3. A cancelled job never restarts: no attempt is deployed after
//     Cancel, and the job ends CANCELED unless it was failing already.
//  4. The job's state moves only along the edges of the state diagram,
//     and after a terminal state the core does nothing.
//  5. At the end every worker started was stopped and, if slots were
//     requested, they were released.
//  6. Subtasks run only once every worker deployed them and the
//     attempt's checkpoints started; each attempt's checkpoints start
//     and end at most once, ending only after they started.
type harness struct {
	t       *testing.T
	c       *jobmaster.Core
	initial string // the restore of the first attempt

	state     jobmaster.JobState
	live      map[string]int  // TaskManager → attempt deployed there and not ended
	started   map[string]bool // workers started and not stopped
	requested bool
	released  bool
	deployed  map[string]int // TaskManager → the attempt it answered Deployed for
	cpStarted map[int]bool
	cpEnded   map[int]bool
	cpRunning int // the attempt whose checkpoints run, -1 none
	endAsked  []int
	latest    string // the world's latest completed checkpoint
	cancelled bool
	failing   bool // FAILING when cancelled
	cancelAt  int  // the attempt when cancelled
	terminal  bool
	ended     bool // the last event's actions included the terminal state
}

func newHarness(t *testing.T, cfg jobmaster.CoreConfig) *harness {
	t.Helper()
	c, err := jobmaster.NewCore(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return &harness{t: t, c: c, initial: cfg.RestoreFrom, live: map[string]int{}, started: map[string]bool{},
		deployed: map[string]int{}, cpStarted: map[int]bool{}, cpEnded: map[int]bool{}, cpRunning: -1}
}

func (h *harness) failf(format string, args ...any) {
	h.t.Helper()
	h.t.Errorf("invariant: "+format, args...)
}

// step runs one event and checks what it did.
func (h *harness) step(event func()) []jobmaster.Action {
	h.t.Helper()
	event()
	acts := h.c.Ready()
	if testing.Verbose() && debugTrace {
		h.t.Logf("-> %v live=%v deployed=%v", format(acts), h.live, h.deployed)
	}
	if h.terminal && len(acts) > 0 {
		h.failf("actions after the terminal state: %v", format(acts))
	}
	for _, a := range acts {
		h.check(a)
	}
	if h.terminal && !h.ended {
		h.ended = true
		for tm := range h.started {
			h.failf("the job ended with the worker on %s running", tm)
		}
		if h.requested && !h.released {
			h.failf("the job ended without releasing its slots")
		}
		if h.cancelled && !h.failing && h.state != jobmaster.Canceled && h.state != jobmaster.Finished {
			h.failf("a cancelled job ended %s", h.state)
		}
	}
	if s := h.c.State(); s != h.state {
		h.failf("State() is %s, the actions said %s", s, h.state)
	}
	return acts
}

func (h *harness) check(a jobmaster.Action) {
	h.t.Helper()
	switch a := a.(type) {
	case jobmaster.RequestSlots:
		h.requested = true
		if a.N < 1 {
			h.failf("RequestSlots of %d", a.N)
		}
	case jobmaster.ReleaseSlots:
		h.released = true
	case jobmaster.StartWorker:
		if h.started[a.Slot.TaskManager] {
			h.failf("StartWorker on %s, whose worker runs", a.Slot.TaskManager)
		}
		h.started[a.Slot.TaskManager] = true
	case jobmaster.StopWorker:
		delete(h.started, a.TaskManager)
		delete(h.live, a.TaskManager)
	case jobmaster.Deploy:
		for tm, n := range h.live {
			if n < a.Attempt {
				h.failf("attempt %d deployed on %s while attempt %d lives on %s", a.Attempt, a.TaskManager, n, tm)
			}
		}
		if h.cancelled {
			h.failf("attempt %d deployed after Cancel", a.Attempt)
		}
		want := h.initial
		if h.latest != "" {
			want = h.latest
		}
		if a.Restore != want {
			h.failf("attempt %d restores %q, the latest completed checkpoint is %q", a.Attempt, a.Restore, want)
		}
		if !h.started[a.TaskManager] {
			h.failf("Deploy to %s, which has no worker", a.TaskManager)
		}
		h.live[a.TaskManager] = a.Attempt
	case jobmaster.StartCheckpoints:
		if h.cpStarted[a.Attempt] {
			h.failf("checkpoints of attempt %d started twice", a.Attempt)
		}
		for _, tm := range a.Placement.Workers {
			if n, ok := h.deployed[tm]; !ok || n != a.Attempt {
				h.failf("checkpoints of attempt %d started before %s deployed it", a.Attempt, tm)
			}
		}
		h.cpStarted[a.Attempt] = true
		h.cpRunning = a.Attempt
	case jobmaster.RunAttempt:
		if !h.cpStarted[a.Attempt] {
			h.failf("attempt %d runs on %s before its checkpoints started", a.Attempt, a.TaskManager)
		}
		if n, ok := h.deployed[a.TaskManager]; !ok || n != a.Attempt {
			h.failf("attempt %d runs on %s, which did not deploy it", a.Attempt, a.TaskManager)
		}
	case jobmaster.CancelAttempt:
	case jobmaster.EndCheckpoints:
		if !h.cpStarted[a.Attempt] || h.cpEnded[a.Attempt] {
			h.failf("checkpoints of attempt %d ended (started %v, ended %v)", a.Attempt, h.cpStarted[a.Attempt], h.cpEnded[a.Attempt])
		}
		h.cpEnded[a.Attempt] = true
		h.endAsked = append(h.endAsked, a.Attempt)
	case jobmaster.StateChanged:
		if a.From != h.state {
			h.failf("StateChanged from %s, the job was %s", a.From, h.state)
		}
		if !slices.Contains(transitionsOf(a.From), a.To) {
			h.failf("no edge %s -> %s", a.From, a.To)
		}
		h.state = a.To
		h.terminal = a.To.Terminal()
	case jobmaster.Failure:
		if h.cancelled && a.Restart {
			h.failf("a restart after Cancel")
		}
	default:
		h.failf("unknown action %T", a)
	}
}

// transitionsOf are the edges of the state diagram in state.go, written
// again so that a change there is a change here too.
func transitionsOf(s jobmaster.JobState) []jobmaster.JobState {
	switch s {
	case "":
		return []jobmaster.JobState{jobmaster.Created}
	case jobmaster.Created:
		return []jobmaster.JobState{jobmaster.Running, jobmaster.Restarting, jobmaster.Failing, jobmaster.Cancelling, jobmaster.Suspended}
	case jobmaster.Running:
		return []jobmaster.JobState{jobmaster.Finished, jobmaster.Restarting, jobmaster.Failing, jobmaster.Cancelling, jobmaster.Suspended}
	case jobmaster.Restarting:
		return []jobmaster.JobState{jobmaster.Running, jobmaster.Failing, jobmaster.Cancelling, jobmaster.Suspended}
	case jobmaster.Failing:
		return []jobmaster.JobState{jobmaster.Failed}
	case jobmaster.Cancelling:
		return []jobmaster.JobState{jobmaster.Canceled}
	}
	return nil
}

// The world's answers, through the harness so that its model follows.

func (h *harness) start(now int64) []jobmaster.Action {
	return h.step(func() { h.c.Start(now) })
}

func (h *harness) offer(now int64, slots []jobmaster.Slot) []jobmaster.Action {
	return h.step(func() { h.c.SlotsOffered(now, slots) })
}

func (h *harness) requestFailed(now int64, n int, err error) []jobmaster.Action {
	return h.step(func() { h.c.SlotRequestFailed(now, n, err) })
}

func (h *harness) slotsLost(now int64, tm string, err error) []jobmaster.Action {
	delete(h.live, tm)
	delete(h.started, tm)
	return h.step(func() { h.c.SlotsLost(now, tm, err) })
}

func (h *harness) registered(now int64, tm string) []jobmaster.Action {
	return h.step(func() { h.c.WorkerStarted(now, tm) })
}

func (h *harness) workerLost(now int64, tm string, err error) []jobmaster.Action {
	delete(h.live, tm)
	delete(h.started, tm)
	return h.step(func() { h.c.WorkerLost(now, tm, err) })
}

const debugTrace = false

func (h *harness) deploy(now int64, tm string, n int) []jobmaster.Action {
	if debugTrace {
		h.t.Logf("deployed %s %d", tm, n)
	}
	if m, ok := h.live[tm]; ok && m == n {
		h.deployed[tm] = n
	}
	return h.step(func() { h.c.Deployed(now, tm, n) })
}

func (h *harness) finished(now int64, n, v, s int) []jobmaster.Action {
	return h.step(func() { h.c.TaskFinished(now, n, v, s) })
}

func (h *harness) tasksEnded(now int64, tm string, n int, err error) []jobmaster.Action {
	if m, ok := h.live[tm]; ok && m == n {
		delete(h.live, tm)
	}
	return h.step(func() { h.c.TasksEnded(now, tm, n, err) })
}

func (h *harness) attemptFailed(now int64, err error) []jobmaster.Action {
	return h.step(func() { h.c.AttemptFailed(now, h.c.Attempt(), err) })
}

// complete has the world complete a checkpoint at loc, if the running
// attempt's checkpoints run; it reports whether it did.
func (h *harness) complete(loc string) bool {
	if h.cpRunning < 0 || h.cpEnded[h.cpRunning] {
		return false
	}
	h.latest = loc
	return true
}

// checkpointsEnded answers the oldest EndCheckpoints not answered yet
// with the world's latest checkpoint.
func (h *harness) checkpointsEnded(now int64) []jobmaster.Action {
	if len(h.endAsked) == 0 {
		return nil
	}
	n := h.endAsked[0]
	h.endAsked = h.endAsked[1:]
	if h.cpRunning == n {
		h.cpRunning = -1
	}
	return h.step(func() { h.c.CheckpointsEnded(now, n, h.latest) })
}

func (h *harness) cancel(now int64) []jobmaster.Action {
	if !h.terminal && !h.cancelled {
		h.cancelled = true
		h.failing = h.state == jobmaster.Failing
		h.cancelAt = h.c.Attempt()
	}
	return h.step(func() { h.c.Cancel(now) })
}

func (h *harness) suspend(now int64) []jobmaster.Action {
	return h.step(func() { h.c.Suspend(now) })
}

// tick ticks; a tick before the deadline must do nothing.
func (h *harness) tick(now int64) []jobmaster.Action {
	d, ok := h.c.NextDeadline()
	acts := h.step(func() { h.c.Tick(now) })
	if (!ok || now < d) && len(acts) > 0 {
		h.failf("a tick at %d before the deadline (%d, %v) acted: %v", now, d, ok, format(acts))
	}
	return acts
}

// format writes actions one per line, as the scripts show them.
func format(acts []jobmaster.Action) []string {
	var out []string
	for _, a := range acts {
		out = append(out, formatAction(a))
	}
	return out
}

func formatAction(a jobmaster.Action) string {
	switch a := a.(type) {
	case jobmaster.RequestSlots:
		return fmt.Sprintf("RequestSlots %d", a.N)
	case jobmaster.ReleaseSlots:
		return "ReleaseSlots"
	case jobmaster.StartWorker:
		return "StartWorker " + a.Slot.TaskManager
	case jobmaster.StopWorker:
		return "StopWorker " + a.TaskManager
	case jobmaster.Deploy:
		restore := a.Restore
		if restore == "" {
			restore = "-"
		}
		return fmt.Sprintf("Deploy %s attempt=%d restore=%s placement=%s", a.TaskManager, a.Attempt, restore, formatPlacement(a.Placement))
	case jobmaster.StartCheckpoints:
		return fmt.Sprintf("StartCheckpoints attempt=%d", a.Attempt)
	case jobmaster.RunAttempt:
		return fmt.Sprintf("RunAttempt %s attempt=%d", a.TaskManager, a.Attempt)
	case jobmaster.CancelAttempt:
		return fmt.Sprintf("CancelAttempt %s attempt=%d", a.TaskManager, a.Attempt)
	case jobmaster.EndCheckpoints:
		s := fmt.Sprintf("EndCheckpoints attempt=%d restart=%v", a.Attempt, a.Restart)
		if a.Cause != nil {
			s += fmt.Sprintf(" cause=%q", a.Cause.Error())
		}
		return s
	case jobmaster.StateChanged:
		from := string(a.From)
		if from == "" {
			from = "-"
		}
		s := fmt.Sprintf("State %s -> %s attempt=%d", from, a.To, a.Attempt)
		if a.Cause != nil {
			s += fmt.Sprintf(" cause=%q", a.Cause.Error())
		}
		return s
	case jobmaster.Failure:
		what := "no restart"
		if a.Restart {
			what = fmt.Sprintf("restart in %v", a.Delay)
		}
		return fmt.Sprintf("Failure attempt=%d %s: %s (%s)", a.Attempt, what, a.Cause, jobmaster.ExceptionName(a.Cause))
	}
	return fmt.Sprintf("%T", a)
}

func formatPlacement(p jobmaster.Placement) string {
	rows := make([]string, len(p.Subtasks))
	for i, r := range p.Subtasks {
		rows[i] = strings.Join(r, ",")
	}
	return "[" + strings.Join(rows, " | ") + "]"
}
