package jobmaster

import (
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/runnel-io/runnel/runtime/restart"
)

// CoreConfig configures a Core.
type CoreConfig struct {
	// Vertices are the job's tasks in vertex ID order.
	Vertices []CoreVertex
	// Restart decides whether and when a failed attempt restarts; nil
	// never restarts.
	Restart restart.Strategy
	// RestoreFrom is the checkpoint or savepoint the first attempt starts
	// from ("" for none). Later attempts start from the latest completed
	// checkpoint, which CheckpointsEnded reports.
	RestoreFrom string
	// WorkerStartTimeout bounds the time from StartWorker to
	// WorkerStarted; 0 waits without end.
	WorkerStartTimeout time.Duration
	// CancelTimeout bounds how long the workers of a cancelled attempt may
	// take to end it; those that have not by then are stopped
	// (StopWorker). 0 waits without end: the mini-cluster's choice, since
	// it cannot stop the goroutines of a subtask that ignores its
	// cancellation, and two live attempts of one subtask must never be.
	CancelTimeout time.Duration
}

// CoreVertex is one task of the job as the core sees it.
type CoreVertex struct {
	Name        string
	Parallelism int
}

// stage is where the current attempt is.
type stage int

const (
	stageNone       stage = iota // no attempt (before Start, between attempts, after the end)
	stageScheduling              // waiting for slots and workers
	stageDeploying               // Deploy sent, waiting for every Deployed
	stageRunning                 // RunAttempt sent
	stageEnding                  // cancelled or finished: waiting for the workers and checkpoints to end it
)

// cpStage is where an attempt's checkpoints are.
type cpStage int

const (
	cpNone    cpStage = iota // not started
	cpRunning                // StartCheckpoints sent
	cpEnding                 // EndCheckpoints sent, CheckpointsEnded not yet in
	cpEnded
)

// worker is the job's worker on one TaskManager.
type worker struct {
	slot       Slot
	registered bool
	deadline   int64 // of its start, while not registered (0: none)
}

// attempt is one attempt of the job.
type attempt struct {
	n         int
	stage     stage
	placement Placement
	deployed  map[string]bool // TaskManager → answered Deployed
	ended     map[string]bool // TaskManager → ended the attempt or gone
	sent      map[string]bool // TaskManager → Deploy sent
	cp        cpStage
	deadline  int64 // of the end of a cancelled attempt (0: none)
}

// Core is the JobMaster of one job as a deterministic state machine
// (etcd raft's way, as runtime/checkpoint.Coordinator and
// resourcemanager.SlotManager): its driver feeds it events, each with the
// time in milliseconds since the epoch, and carries out the actions Ready
// returns. It holds the job's state (JobState), its attempts and the
// execution state of every subtask, the slots and workers the job holds,
// and the restart decisions. It reads no clock, starts no goroutine and
// does no I/O; NextDeadline tells the driver when to Tick.
//
// A Core is not safe for concurrent use: one goroutine drives it.
type Core struct {
	cfg  CoreConfig
	need int // slots: the largest parallelism

	now   int64
	state JobState
	// target is where the attempt being ended leads: Restarting,
	// Finished, Failed, Canceled or Suspended.
	target    JobState
	cause     error // the failure that ends the job or the attempt
	restartAt int64 // in RESTARTING: when the next attempt may start

	slots     []Slot
	pending   int  // slots requested and not yet offered
	requested bool // slots were ever requested
	workers   map[string]*worker
	restore   string
	cur       *attempt // nil before Start
	exec      [][]ExecutionState

	actions []Action
	ignored int
}

// NewCore returns the core of a job that has not started.
func NewCore(cfg CoreConfig) (*Core, error) {
	if len(cfg.Vertices) == 0 {
		return nil, errors.New("jobmaster: a job needs at least one task")
	}
	c := &Core{cfg: cfg, workers: map[string]*worker{}, restore: cfg.RestoreFrom}
	for _, v := range cfg.Vertices {
		if v.Parallelism < 1 {
			return nil, fmt.Errorf("jobmaster: task %q has parallelism %d", v.Name, v.Parallelism)
		}
		c.need = max(c.need, v.Parallelism)
		c.exec = append(c.exec, slices.Repeat([]ExecutionState{ExecCreated}, v.Parallelism))
	}
	return c, nil
}

// Ready returns the actions decided since the last call, in order.
func (c *Core) Ready() []Action {
	a := c.actions
	c.actions = nil
	return a
}

// State returns the job's state ("" before Start).
func (c *Core) State() JobState { return c.state }

// Attempt returns the number of the current (or last) attempt, -1 before
// Start.
func (c *Core) Attempt() int {
	if c.cur == nil {
		return -1
	}
	return c.cur.n
}

// Cause returns the failure that failed the job or the last attempt, nil
// if there was none.
func (c *Core) Cause() error { return c.cause }

// Executions returns the execution state of every subtask of the current
// attempt, by vertex and subtask; the caller may keep it.
func (c *Core) Executions() [][]ExecutionState {
	out := make([][]ExecutionState, len(c.exec))
	for i, row := range c.exec {
		out[i] = slices.Clone(row)
	}
	return out
}

// Ignored counts the events that made no sense in the core's state (a
// report of an attempt that is over, a worker never asked for): they
// change nothing.
func (c *Core) Ignored() int { return c.ignored }

// NextDeadline returns when the core next wants a Tick, if ever.
func (c *Core) NextDeadline() (int64, bool) {
	var at int64
	ok := false
	set := func(t int64) {
		if t > 0 && (!ok || t < at) {
			at, ok = t, true
		}
	}
	if c.state.Terminal() {
		return 0, false
	}
	for _, w := range c.workers {
		if !w.registered {
			set(w.deadline)
		}
	}
	if c.cur != nil && c.cur.stage == stageEnding {
		set(c.cur.deadline)
	}
	if c.state == Restarting && c.cur != nil && c.cur.stage == stageNone {
		set(max(c.restartAt, 1))
	}
	return at, ok
}

func (c *Core) emit(a Action) { c.actions = append(c.actions, a) }

func (c *Core) advance(now int64) bool {
	c.now = max(c.now, now)
	if c.state.Terminal() {
		c.ignored++
		return false
	}
	return true
}

func (c *Core) setState(to JobState) {
	if c.state == to || to == Created && c.state != "" {
		return
	}
	from := c.state
	if !slices.Contains(transitions[from], to) {
		panic(fmt.Sprintf("jobmaster: broken invariant: the job moved from %q to %q, which the state diagram has no edge for", from, to))
	}
	c.state = to
	var cause error
	switch to {
	case Restarting, Failing, Failed:
		cause = c.cause
	}
	c.emit(StateChanged{From: from, To: to, Attempt: c.Attempt(), Cause: cause})
}

// Start schedules the job's first attempt.
func (c *Core) Start(now int64) {
	if c.state != "" {
		c.ignored++
		return
	}
	c.now = now
	c.begin(0)
}

// begin starts attempt n: its subtasks wait for slots and workers.
func (c *Core) begin(n int) {
	c.cur = &attempt{n: n, stage: stageScheduling, deployed: map[string]bool{}, ended: map[string]bool{}, sent: map[string]bool{}}
	c.setState(Created) // the first attempt; later ones are RESTARTING's
	c.setExec(ExecScheduled)
	c.schedule()
}

func (c *Core) setExec(s ExecutionState) {
	for _, row := range c.exec {
		for i := range row {
			row[i] = s
		}
	}
}

// setExecOn sets the execution state of the subtasks placed on tm.
func (c *Core) setExecOn(tm string, s ExecutionState) {
	for v, row := range c.cur.placement.Subtasks {
		for i, at := range row {
			if at == tm {
				c.exec[v][i] = s
			}
		}
	}
}

// schedule moves a scheduling attempt on: it requests the slots it
// misses, starts the workers its slots need, and deploys once every
// worker is there.
func (c *Core) schedule() {
	a := c.cur
	if a == nil || a.stage != stageScheduling {
		return
	}
	if len(c.slots) < c.need {
		if missing := c.need - len(c.slots) - c.pending; missing > 0 {
			c.pending += missing
			c.requested = true
			c.emit(RequestSlots{N: missing})
		}
		return
	}
	ready := true
	for _, tm := range c.used() {
		w := c.workers[tm]
		if w == nil {
			w = &worker{slot: c.slotOf(tm)}
			if c.cfg.WorkerStartTimeout > 0 {
				w.deadline = c.now + c.cfg.WorkerStartTimeout.Milliseconds()
			}
			c.workers[tm] = w
			c.emit(StartWorker{Slot: w.slot})
		}
		ready = ready && w.registered
	}
	if !ready {
		return
	}
	a.placement = c.place()
	a.stage = stageDeploying
	for _, tm := range a.placement.Workers {
		a.sent[tm] = true
		c.emit(Deploy{TaskManager: tm, Attempt: a.n, Placement: a.placement, Restore: c.restore})
	}
	c.setExec(ExecDeploying)
}

// used lists the TaskManagers of the slots the job uses, in slot order.
func (c *Core) used() []string {
	var list []string
	for _, s := range c.slots[:min(c.need, len(c.slots))] {
		if !slices.Contains(list, s.TaskManager) {
			list = append(list, s.TaskManager)
		}
	}
	return list
}

func (c *Core) slotOf(tm string) Slot {
	for _, s := range c.slots {
		if s.TaskManager == tm {
			return s
		}
	}
	return Slot{TaskManager: tm}
}

// place puts subtask s of every vertex into slot s.
func (c *Core) place() Placement {
	p := Placement{Workers: c.used()}
	for _, v := range c.cfg.Vertices {
		row := make([]string, v.Parallelism)
		for s := range row {
			row[s] = c.slots[s].TaskManager
		}
		p.Subtasks = append(p.Subtasks, row)
	}
	return p
}

// inAttempt reports whether the current attempt has or wants a worker on
// tm.
func (c *Core) inAttempt(tm string) bool {
	a := c.cur
	if a == nil {
		return false
	}
	switch a.stage {
	case stageScheduling:
		return c.workers[tm] != nil && slices.Contains(c.used(), tm)
	case stageDeploying, stageRunning, stageEnding:
		return a.sent[tm]
	}
	return false
}

// SlotsOffered gives the job slots it asked for.
func (c *Core) SlotsOffered(now int64, slots []Slot) {
	if !c.advance(now) {
		return
	}
	c.slots = append(c.slots, slots...)
	c.pending = max(0, c.pending-len(slots))
	c.schedule()
}

// SlotRequestFailed says that a RequestSlots of n slots cannot be
// served: the job fails, as not even a restart would get the slots.
func (c *Core) SlotRequestFailed(now int64, n int, reason error) {
	if !c.advance(now) {
		return
	}
	c.pending = max(0, c.pending-n)
	if c.cur == nil || c.cur.stage != stageScheduling {
		c.ignored++
		return
	}
	if reason == nil {
		reason = fmt.Errorf("jobmaster: a request for %d slots cannot be served", n)
	}
	c.fail(NonRecoverable(notEnoughSlots{reason}))
}

type notEnoughSlots struct{ error }

func (n notEnoughSlots) Unwrap() []error { return []error{n.error, ErrNotEnoughSlots} }

// SlotsLost says that the job's slots on TaskManager tm are gone, and
// with them the worker there. An attempt that runs there fails; one that
// is still being scheduled asks for other slots.
func (c *Core) SlotsLost(now int64, tm string, reason error) {
	if !c.advance(now) {
		return
	}
	had := slices.ContainsFunc(c.slots, func(s Slot) bool { return s.TaskManager == tm })
	if !had && c.workers[tm] == nil {
		c.ignored++
		return
	}
	inAttempt := c.inAttempt(tm)
	c.slots = slices.DeleteFunc(c.slots, func(s Slot) bool { return s.TaskManager == tm })
	c.loseIn(tm, inAttempt, &TaskManagerLostError{TaskManager: tm, Reason: reason})
	c.schedule()
}

// WorkerStarted says that the worker on tm has registered.
func (c *Core) WorkerStarted(now int64, tm string) {
	if !c.advance(now) {
		return
	}
	w := c.workers[tm]
	if w == nil || w.registered {
		c.ignored++
		return
	}
	w.registered, w.deadline = true, 0
	c.schedule()
}

// WorkerLost says that the worker on tm is gone: it could not start, its
// process ended, or it cannot be reached. An attempt with subtasks there
// fails with err.
func (c *Core) WorkerLost(now int64, tm string, err error) {
	if !c.advance(now) {
		return
	}
	if c.workers[tm] == nil {
		c.ignored++
		return
	}
	c.lose(tm, err)
}

// lose forgets the worker on tm, failing the attempt that uses it.
func (c *Core) lose(tm string, err error) { c.loseIn(tm, c.inAttempt(tm), err) }

// loseIn is lose, told whether the current attempt uses tm.
func (c *Core) loseIn(tm string, inAttempt bool, err error) {
	if c.workers[tm] != nil {
		delete(c.workers, tm)
		c.emit(StopWorker{TaskManager: tm})
	}
	if !inAttempt {
		return
	}
	a := c.cur
	switch a.stage {
	case stageScheduling:
		// Nothing runs yet: schedule again, with other slots if need be.
		return
	case stageDeploying, stageRunning:
		a.ended[tm] = true
		c.setExecOn(tm, ExecFailed)
		c.fail(err)
	case stageEnding:
		a.ended[tm] = true
		c.setExecOn(tm, ExecCanceled)
		c.maybeOver()
	}
}

// Deployed says that the worker on tm has deployed its subtasks of
// attempt n.
func (c *Core) Deployed(now int64, tm string, n int) {
	if !c.advance(now) {
		return
	}
	a := c.cur
	if a == nil || a.n != n || a.stage != stageDeploying || !a.sent[tm] || a.deployed[tm] {
		c.ignored++
		return
	}
	a.deployed[tm] = true
	for _, w := range a.placement.Workers {
		if !a.deployed[w] {
			return
		}
	}
	a.stage = stageRunning
	a.cp = cpRunning
	c.emit(StartCheckpoints{Attempt: n, Placement: a.placement})
	for _, w := range a.placement.Workers {
		c.emit(RunAttempt{TaskManager: w, Attempt: n})
	}
	c.setExec(ExecRunning)
	c.setState(Running)
}

// TaskFinished says that subtask s of vertex v finished in attempt n.
func (c *Core) TaskFinished(now int64, n, v, s int) {
	if !c.advance(now) {
		return
	}
	a := c.cur
	if a == nil || a.n != n || a.stage != stageRunning || v < 0 || v >= len(c.exec) || s < 0 || s >= len(c.exec[v]) {
		c.ignored++
		return
	}
	c.exec[v][s] = ExecFinished
}

// TasksEnded says that every subtask of attempt n on tm has returned: all
// finished if err is nil, else err is the first failure.
func (c *Core) TasksEnded(now int64, tm string, n int, err error) {
	if !c.advance(now) {
		return
	}
	a := c.cur
	if a == nil || a.n != n || !a.sent[tm] || a.ended[tm] {
		c.ignored++
		return
	}
	a.ended[tm] = true
	switch a.stage {
	case stageDeploying, stageRunning:
		if err == nil && a.stage == stageDeploying {
			err = fmt.Errorf("jobmaster: the worker on TaskManager %s ended attempt %d before it ran", tm, n)
		}
		if err != nil {
			c.setExecOn(tm, ExecFailed)
			c.fail(err)
			return
		}
		c.setExecOn(tm, ExecFinished)
		if a.stage == stageRunning && c.allEnded() {
			c.target = Finished
			c.end(false)
		}
	case stageEnding:
		if c.target == Finished {
			c.setExecOn(tm, ExecFinished)
		} else {
			c.setExecOn(tm, ExecCanceled)
		}
		c.maybeOver()
	}
}

func (c *Core) allEnded() bool {
	for _, tm := range c.cur.placement.Workers {
		if !c.cur.ended[tm] {
			return false
		}
	}
	return true
}

// AttemptFailed says that running attempt n failed outside its tasks:
// too many checkpoints failed in a row
// (execution.checkpointing.tolerable-failed-checkpoints), or an operator
// coordinator failed.
func (c *Core) AttemptFailed(now int64, n int, err error) {
	if !c.advance(now) {
		return
	}
	if c.cur == nil || c.cur.n != n || c.cur.stage != stageRunning {
		c.ignored++
		return
	}
	c.fail(err)
}

// CheckpointsEnded answers EndCheckpoints for attempt n: latest is the
// latest completed checkpoint or savepoint ("" if there is none), which
// the next attempt restores.
func (c *Core) CheckpointsEnded(now int64, n int, latest string) {
	if !c.advance(now) {
		return
	}
	a := c.cur
	if a == nil || a.n != n || a.cp != cpEnding {
		c.ignored++
		return
	}
	a.cp = cpEnded
	if latest != "" {
		c.restore = latest
	}
	c.maybeOver()
}

// Cancel cancels the job: its attempt is cancelled and it ends CANCELED.
// A job that is failing for good ends FAILED all the same.
func (c *Core) Cancel(now int64) { c.stop(now, Canceled) }

// Suspend ends this JobMaster's part of the job without ending the job:
// its attempt is cancelled and it ends SUSPENDED, for another JobMaster to
// take over (a lost leadership).
func (c *Core) Suspend(now int64) { c.stop(now, Suspended) }

func (c *Core) stop(now int64, target JobState) {
	if !c.advance(now) {
		return
	}
	if c.state == "" {
		c.setState(Created)
		c.cur = &attempt{stage: stageNone}
	}
	if c.state == Failing || c.state == Cancelling {
		c.ignored++
		return
	}
	c.target = target
	if target == Canceled {
		c.setState(Cancelling)
	}
	if c.cur.stage == stageEnding {
		c.maybeOver()
		return
	}
	c.end(false)
}

// fail takes a failure of the current attempt: it restarts as the restart
// strategy allows, unless the failure is non-recoverable.
func (c *Core) fail(err error) {
	a := c.cur
	if err == nil {
		err = errors.New("jobmaster: unknown failure")
	}
	c.cause = err
	restartOK := false
	var delay time.Duration
	if c.cfg.Restart != nil && !IsNonRecoverable(err) {
		delay, restartOK = c.cfg.Restart.OnFailure(time.UnixMilli(c.now), err)
	}
	c.emit(Failure{Attempt: a.n, Cause: err, Restart: restartOK, Delay: delay})
	if restartOK {
		c.target = Restarting
		c.restartAt = c.now + max(delay.Milliseconds(), 0)
		c.setState(Restarting)
	} else {
		c.target = Failed
		c.setState(Failing)
	}
	c.end(restartOK)
}

// end ends the current attempt: its workers are told to cancel (unless
// they have ended it) and its checkpoints are ended; maybeOver moves on
// once all of them have.
func (c *Core) end(restart bool) {
	a := c.cur
	prev := a.stage
	a.stage = stageEnding
	if c.cfg.CancelTimeout > 0 {
		a.deadline = c.now + c.cfg.CancelTimeout.Milliseconds()
	}
	if prev == stageDeploying || prev == stageRunning {
		for _, tm := range a.placement.Workers {
			if !a.ended[tm] {
				c.emit(CancelAttempt{TaskManager: tm, Attempt: a.n})
				c.setExecOn(tm, ExecCanceling)
			}
		}
	}
	if prev == stageScheduling || prev == stageNone {
		c.setExec(ExecCanceled)
	}
	if a.cp == cpRunning {
		a.cp = cpEnding
		cause := c.cause
		if c.target == Finished || c.target == Canceled || c.target == Suspended {
			cause = nil
		}
		c.emit(EndCheckpoints{Attempt: a.n, Restart: restart, Cause: cause})
	}
	c.maybeOver()
}

// maybeOver moves on once the ending attempt is over: every worker that
// got its subtasks ended them or is gone, and its checkpoints are ended.
func (c *Core) maybeOver() {
	a := c.cur
	if a.stage == stageEnding {
		if a.cp == cpEnding {
			return
		}
		for _, tm := range a.placement.Workers {
			if !a.ended[tm] && c.workers[tm] != nil {
				return
			}
		}
		a.stage = stageNone
	}
	if a.stage != stageNone {
		return
	}
	if c.target == Restarting {
		if c.now >= c.restartAt {
			c.begin(a.n + 1)
		}
		return
	}
	c.finish()
}

// finish ends the job in c.target: every worker stops, every slot goes
// back.
func (c *Core) finish() {
	for _, tm := range c.sortedWorkers() {
		c.emit(StopWorker{TaskManager: tm})
	}
	clear(c.workers)
	if c.requested {
		c.emit(ReleaseSlots{})
	}
	c.slots, c.pending = nil, 0
	c.setState(c.target)
}

func (c *Core) sortedWorkers() []string {
	list := make([]string, 0, len(c.workers))
	for tm := range c.workers {
		list = append(list, tm)
	}
	slices.Sort(list)
	return list
}

// Tick tells the core the time: workers that did not register within
// WorkerStartTimeout fail their attempt, workers that did not end a
// cancelled attempt within CancelTimeout are stopped, and a restart whose
// delay has passed begins.
func (c *Core) Tick(now int64) {
	if !c.advance(now) {
		return
	}
	for _, tm := range c.sortedWorkers() {
		w := c.workers[tm]
		if c.state.Terminal() {
			return
		}
		if w != nil && !w.registered && w.deadline > 0 && c.now >= w.deadline {
			waiting := c.inAttempt(tm) && c.cur.stage == stageScheduling
			err := fmt.Errorf("jobmaster: the worker on TaskManager %s did not register within %v", tm, c.cfg.WorkerStartTimeout)
			c.lose(tm, err)
			if waiting {
				// Rather than start the same worker again at once, the
				// attempt fails: the restart strategy paces the next try.
				c.fail(err)
			}
		}
	}
	if a := c.cur; a != nil && a.stage == stageEnding && a.deadline > 0 && c.now >= a.deadline {
		for _, tm := range a.placement.Workers {
			if !a.ended[tm] && c.workers[tm] != nil {
				delete(c.workers, tm)
				a.ended[tm] = true
				c.setExecOn(tm, ExecCanceled)
				c.emit(StopWorker{TaskManager: tm})
			}
		}
		c.maybeOver()
	}
	if c.state == Restarting && c.cur != nil && c.cur.stage == stageNone && c.now >= c.restartAt {
		c.begin(c.cur.n + 1)
	}
}
