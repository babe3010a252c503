package checkpoint

import (
	"fmt"
	"math"
	"slices"
	"time"
)

// Coordinator decides when a job checkpoints and when a checkpoint is
// complete: Flink's CheckpointCoordinator as a state machine. Events come
// in as method calls carrying the time (milliseconds since the Unix
// epoch); what the driver must do comes out of Ready. It never reads a
// clock, starts a goroutine or does I/O.
//
// A Coordinator is not safe for concurrent use: it is owned by the job
// master's goroutine, which calls every method, drains Ready after each
// event, and arms one timer for NextDeadline.
//
// Bad input (an unknown checkpoint or task, a duplicate acknowledgement,
// an event after Stop) is ignored and counted in Stats.Ignored.
type Coordinator struct {
	cfg      Config
	jobID    string
	x        *index
	period   int64 // ms between periodic triggers; 0: disabled
	timeout  int64 // ms
	minPause int64 // ms

	nextID  int64
	pending []*pending // by increasing ID
	actions []Action

	nextPeriodic int64
	lastEnd      int64 // when the last checkpoint or savepoint ended
	anyEnded     bool

	finished    []bool // by position in Job.Tasks
	numFinished int
	finalAt     int64 // when a final checkpoint is due, once every task finished
	finalBusy   bool  // a final checkpoint is pending
	finalDone   bool  // a final checkpoint completed

	stopping bool // a Terminate savepoint is pending or complete
	failing  bool // FailJob was emitted; waiting for Restart or Stop
	ended    bool // Stop was called
	restored bool

	consecutive int
	latest      *CompletedCheckpoint
	retained    []CompletedCheckpoint
	stats       Stats
}

// CompletedCheckpoint is a completed checkpoint or savepoint, as a value;
// its Metadata is shared with the coordinator and must not be modified.
type CompletedCheckpoint struct {
	ID       int64
	Options  Options
	Metadata *Metadata
	Location string
	// Completed is when it completed, in milliseconds since the Unix
	// epoch; 0 if it was restored from (RestoreFrom).
	Completed int64
}

// Stats are the coordinator's counters, for monitoring: a copy, taken by
// Coordinator.Stats.
type Stats struct {
	Triggered int64
	Completed int64
	// Failed counts aborts, whatever the reason.
	Failed     int64
	InProgress int
	// ConsecutiveFailures is the count held against
	// Config.TolerableFailures.
	ConsecutiveFailures int
	// Ignored counts events that referred to nothing pending or known
	// (an unknown, completed or aborted checkpoint, an unknown task, a
	// duplicate) or came after Stop.
	Ignored               int64
	LastCompletedID       int64
	LastCompletedLocation string
	// LastCompletedDuration is from trigger to completion.
	LastCompletedDuration time.Duration
	// RestoredID and RestoredLocation name what RestoreFrom was given.
	RestoredID       int64
	RestoredLocation string
}

// New returns a coordinator for job, started at now: the first periodic
// checkpoint is due at now+Interval (or MinPause, if longer). cfg gets its
// defaults (EnsureDefaults) and must then be valid.
func New(cfg Config, job Job, now int64) (*Coordinator, error) {
	cfg.EnsureDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	x, err := newIndex(job)
	if err != nil {
		return nil, err
	}
	c := &Coordinator{
		cfg:      cfg,
		jobID:    job.ID,
		x:        x,
		period:   cfg.period(),
		timeout:  cfg.Timeout.Milliseconds(),
		minPause: cfg.MinPause.Milliseconds(),
		nextID:   1,
		finished: make([]bool, len(job.Tasks)),
	}
	c.nextPeriodic = addMillis(now, c.period)
	return c, nil
}

// Ready returns the actions decided since the last call, in order, and
// forgets them. The slice is the caller's.
func (c *Coordinator) Ready() []Action {
	a := c.actions
	c.actions = nil
	return a
}

// RestoreFrom tells a new coordinator that the job starts from md, stored
// at location: md becomes Latest, a checkpoint (not a savepoint) joins the
// retained ones, and IDs continue after md.CheckpointID. Call it before
// anything is triggered; later calls are ignored. md is the coordinator's
// afterwards.
func (c *Coordinator) RestoreFrom(md *Metadata, location string) {
	if md == nil || c.ended || c.restored || c.stats.Triggered > 0 ||
		md.CheckpointID < 0 || md.CheckpointID == math.MaxInt64 {
		c.stats.Ignored++
		return
	}
	c.restored = true
	cp := CompletedCheckpoint{
		ID:       md.CheckpointID,
		Options:  Options{Kind: md.Kind},
		Metadata: md,
		Location: location,
	}
	c.latest = &cp
	if md.Kind != KindSavepoint {
		c.retained = append(c.retained, cp)
	}
	c.nextID = max(c.nextID, md.CheckpointID+1)
	c.stats.RestoredID, c.stats.RestoredLocation = md.CheckpointID, location
}

// Tick aborts the checkpoints whose timeout has passed and triggers the
// periodic or final checkpoint if it is due.
func (c *Coordinator) Tick(now int64) {
	if c.ended {
		return
	}
	var expired []*pending
	for _, p := range c.pending {
		if p.phase == collecting && now >= p.deadline {
			expired = append(expired, p)
		}
	}
	for _, p := range expired {
		c.abort(now, p, p.expiry(c.timeout), true)
	}
	c.completeReady(now)
	c.maybeTriggerFinal(now)
	c.maybeTriggerPeriodic(now)
}

// NextDeadline returns the earliest time at which Tick would do something:
// the next periodic or final trigger or the earliest timeout. Ticking
// earlier does nothing; ok is false if only other events can lead to
// something.
func (c *Coordinator) NextDeadline() (deadline int64, ok bool) {
	if c.ended {
		return 0, false
	}
	consider := func(t int64) {
		if !ok || t < deadline {
			deadline, ok = t, true
		}
	}
	for _, p := range c.pending {
		if p.phase == collecting {
			consider(p.deadline)
		}
	}
	if c.periodicActive() {
		consider(c.nextPeriodic)
	}
	if c.finalWanted() {
		consider(c.finalAt)
	}
	return deadline, ok
}

// TriggerCheckpoint triggers a checkpoint on request (the CLI's runnel
// checkpoint) and returns its ID. Like Flink's, it is not held back by
// Interval or MinPause and does not move the periodic schedule; unlike
// Flink, which queues it, it fails with ErrTooManyConcurrent if
// Config.MaxConcurrent checkpoints are pending. It works with periodic
// checkpoints disabled. Errors: ErrEnded, ErrStopping, ErrFailing,
// ErrTooManyConcurrent.
func (c *Coordinator) TriggerCheckpoint(now int64) (int64, error) {
	if err := c.canTrigger(); err != nil {
		return 0, err
	}
	if len(c.pending) >= c.cfg.MaxConcurrent {
		return 0, fmt.Errorf("%w: %d pending, %s is %d",
			ErrTooManyConcurrent, len(c.pending), KeyMaxConcurrent, c.cfg.MaxConcurrent)
	}
	return c.trigger(now, Options{Kind: KindCheckpoint}), nil
}

// TriggerSavepoint triggers a savepoint and returns its ID; opts.Kind must
// be KindSavepoint, Final must be unset, and Drain needs Terminate. A
// savepoint is not held back by Interval, MinPause or MaxConcurrent. With
// opts.Terminate (stop with savepoint) nothing else is triggered until it
// is aborted, or ever once it completes. Errors: ErrInvalidOptions,
// ErrEnded, ErrStopping, ErrFailing.
func (c *Coordinator) TriggerSavepoint(now int64, opts Options) (int64, error) {
	switch {
	case opts.Kind != KindSavepoint:
		return 0, fmt.Errorf("%w: a savepoint needs kind savepoint, got %v", ErrInvalidOptions, opts.Kind)
	case opts.Final:
		return 0, fmt.Errorf("%w: a savepoint cannot be final", ErrInvalidOptions)
	case opts.Drain && !opts.Terminate:
		return 0, fmt.Errorf("%w: drain needs terminate", ErrInvalidOptions)
	}
	if err := c.canTrigger(); err != nil {
		return 0, err
	}
	if opts.Terminate {
		c.stopping = true
	}
	return c.trigger(now, opts), nil
}

// AckCoordinator records the state of operatorID's coordinator for
// checkpoint id. state is the coordinator's afterwards.
func (c *Coordinator) AckCoordinator(now, id int64, operatorID string, state []byte) {
	p := c.collecting(id)
	if p == nil {
		return
	}
	i, ok := c.x.coords[operatorID]
	if !ok || p.coordAcked[i] {
		c.stats.Ignored++
		return
	}
	p.coordAcked[i] = true
	p.numCoords++
	p.coordState[i] = state
	c.maybeWrite(p)
}

// Acknowledge records that task snapshotted checkpoint id: states holds
// the state of the operators of its chain by operator ID (an operator
// without state may be left out). The coordinator copies what it needs
// from states. State it cannot place (an unknown operator, a subtask out of
// range or already reported) aborts the checkpoint with ErrInvalidAck.
func (c *Coordinator) Acknowledge(now, id int64, task TaskID, states map[string]SubtaskState) {
	p := c.collecting(id)
	if p == nil {
		return
	}
	i, ok := c.x.tasks[task]
	if !ok || p.acked[i] {
		c.stats.Ignored++
		return
	}
	if err := p.checkStates(c.x, task, states); err != nil {
		c.abort(now, p, newReason(ErrInvalidAck, nil, "%s: %v", p.name(), err), true)
		c.completeReady(now)
		return
	}
	p.ack(c.x, task, states)
	c.maybeWrite(p)
}

// Decline aborts checkpoint id because task could not take it.
func (c *Coordinator) Decline(now, id int64, task TaskID, reason error) {
	p := c.collecting(id)
	if p == nil {
		return
	}
	if _, ok := c.x.tasks[task]; !ok {
		c.stats.Ignored++
		return
	}
	if reason == nil {
		reason = errNoReason
	}
	c.abort(now, p, newReason(ErrDeclined, reason, "%s declined by %s", p.name(), c.x.taskName(task)), true)
	c.completeReady(now)
}

// Fail aborts checkpoint id because the driver could not carry it out: it
// could not begin its storage location, or an operator coordinator could
// not snapshot its state. Like a decline, which the driver makes on no
// task's behalf, it counts against Config.TolerableFailures.
func (c *Coordinator) Fail(now, id int64, reason error) {
	p := c.collecting(id)
	if p == nil {
		return
	}
	if reason == nil {
		reason = errNoReason
	}
	c.abort(now, p, newReason(ErrDeclined, reason, "%s failed", p.name()), true)
	c.completeReady(now)
}

// MetadataWritten reports the outcome of a WriteMetadata: on success the
// checkpoint is durable at location and completes as soon as every older
// pending one has ended, subsuming older pending checkpoints; on failure
// it is aborted.
func (c *Coordinator) MetadataWritten(now, id int64, location string, err error) {
	p := c.find(id)
	if c.ended || p == nil || p.phase != writing {
		c.stats.Ignored++
		return
	}
	if err != nil {
		c.abort(now, p, newReason(ErrMetadataNotWritten, err, "%s: writing metadata", p.name()), true)
		c.completeReady(now)
		return
	}
	p.phase, p.location = durable, location
	for _, q := range slices.Clone(c.pending) {
		if q.id < p.id && q.phase != durable && q.subsumable() {
			c.abort(now, q, newReason(ErrSubsumed, nil, "%s subsumed by %s", q.name(), p.name()), false)
		}
	}
	c.completeReady(now)
}

// TaskFinished records that task reached the end of its input. Once every
// task has, a checkpoint with Options.Final is triggered at once (and
// again on a later Tick if it fails) and periodic checkpoints stop; not if
// periodic checkpoints are disabled.
func (c *Coordinator) TaskFinished(now int64, task TaskID) {
	i, ok := c.x.tasks[task]
	if c.ended || !ok || c.finished[i] {
		c.stats.Ignored++
		return
	}
	c.finished[i] = true
	c.numFinished++
	if c.allFinished() {
		c.finalAt = now
		c.maybeTriggerFinal(now)
	}
}

// Restart tells the coordinator that the job restarts (a full failover)
// because of reason: every pending checkpoint whose metadata is not yet
// written is aborted, and those whose metadata is written complete.
// Completed checkpoints and the ID counter are kept; finished tasks are
// forgotten, a failed stop with savepoint ends, and the periodic schedule
// starts again at now+Interval.
func (c *Coordinator) Restart(now int64, reason error) {
	if c.ended {
		c.stats.Ignored++
		return
	}
	if reason == nil {
		reason = errNoReason
	}
	c.abortAll(now, func(p *pending) error {
		return newReason(ErrRestarting, reason, "%s aborted: job restarting", p.name())
	})
	clear(c.finished)
	c.numFinished = 0
	c.finalBusy, c.finalDone = false, false
	c.stopping, c.failing = false, false
	c.nextPeriodic = addMillis(now, c.period)
}

// Stop tells the coordinator that the job ended or was cancelled: pending
// checkpoints end as in Restart, and nothing is triggered any more.
func (c *Coordinator) Stop(now int64) {
	if c.ended {
		c.stats.Ignored++
		return
	}
	c.abortAll(now, func(p *pending) error {
		return newReason(ErrEnded, nil, "%s aborted: job ended", p.name())
	})
	c.ended = true
}

// Latest returns the latest completed checkpoint or savepoint (or what
// the job was restored from) and its location: what a failover restores.
// The Metadata must not be modified.
func (c *Coordinator) Latest() (*Metadata, string, bool) {
	if c.latest == nil {
		return nil, "", false
	}
	return c.latest.Metadata, c.latest.Location, true
}

// Retained returns the retained completed checkpoints, oldest first. The
// slice is the caller's; the Metadata must not be modified.
func (c *Coordinator) Retained() []CompletedCheckpoint {
	return slices.Clone(c.retained)
}

// Stats returns the counters.
func (c *Coordinator) Stats() Stats {
	s := c.stats
	s.InProgress = len(c.pending)
	s.ConsecutiveFailures = c.consecutive
	return s
}

// Pending returns the IDs of the pending checkpoints and savepoints in
// increasing order.
func (c *Coordinator) Pending() []int64 {
	ids := make([]int64, len(c.pending))
	for i, p := range c.pending {
		ids[i] = p.id
	}
	return ids
}

// canTrigger reports why nothing may be triggered, or nil.
func (c *Coordinator) canTrigger() error {
	switch {
	case c.ended:
		return ErrEnded
	case c.stopping:
		return ErrStopping
	case c.failing:
		return ErrFailing
	}
	return nil
}

func (c *Coordinator) allFinished() bool { return c.numFinished == len(c.finished) }

func (c *Coordinator) periodicActive() bool {
	return c.period > 0 && c.canTrigger() == nil && !c.allFinished()
}

func (c *Coordinator) finalWanted() bool {
	return c.period > 0 && c.canTrigger() == nil && c.allFinished() && !c.finalBusy && !c.finalDone
}

func (c *Coordinator) maybeTriggerPeriodic(now int64) {
	if !c.periodicActive() || now < c.nextPeriodic {
		return
	}
	if len(c.pending) >= c.cfg.periodicLimit() {
		c.nextPeriodic = c.after(c.nextPeriodic, now)
		return
	}
	if c.minPause > 0 && c.anyEnded && now < addMillis(c.lastEnd, c.minPause) {
		c.nextPeriodic = addMillis(c.lastEnd, c.minPause)
		return
	}
	c.trigger(now, Options{Kind: KindCheckpoint})
	c.nextPeriodic = c.after(c.nextPeriodic, now)
}

// after is the first time of the periodic schedule through t that is
// later than now: missed periods are skipped, not made up.
func (c *Coordinator) after(t, now int64) int64 {
	k := int64(1)
	if now >= t {
		k = (now-t)/c.period + 1
	}
	if k > (math.MaxInt64-t)/c.period {
		return math.MaxInt64
	}
	return t + k*c.period
}

func (c *Coordinator) maybeTriggerFinal(now int64) {
	if !c.finalWanted() || now < c.finalAt {
		return
	}
	c.finalBusy = true
	c.trigger(now, Options{Kind: KindCheckpoint, Final: true})
}

func (c *Coordinator) trigger(now int64, opts Options) int64 {
	id := c.nextID
	c.nextID++
	c.pending = append(c.pending, newPending(c.x, id, now, c.timeout, opts))
	c.stats.Triggered++
	c.emit(Trigger{ID: id, Timestamp: now, Options: opts})
	return id
}

func (c *Coordinator) find(id int64) *pending {
	i, ok := slices.BinarySearchFunc(c.pending, id, func(p *pending, id int64) int {
		switch {
		case p.id < id:
			return -1
		case p.id > id:
			return 1
		}
		return 0
	})
	if !ok {
		return nil
	}
	return c.pending[i]
}

// collecting returns checkpoint id if it waits for acknowledgements, or
// counts the event as ignored.
func (c *Coordinator) collecting(id int64) *pending {
	p := c.find(id)
	if c.ended || p == nil || p.phase != collecting {
		c.stats.Ignored++
		return nil
	}
	return p
}

func (c *Coordinator) maybeWrite(p *pending) {
	if !p.acknowledged() {
		return
	}
	p.phase = writing
	p.metadata = p.buildMetadata(c.x, c.jobID)
	c.emit(WriteMetadata{Metadata: p.metadata, Options: p.opts})
}

// completeReady completes the durable checkpoints at the front of pending,
// so that completions go in ID order.
func (c *Coordinator) completeReady(now int64) {
	for len(c.pending) > 0 && c.pending[0].phase == durable {
		p := c.pending[0]
		c.pending = slices.Delete(c.pending, 0, 1)
		c.complete(now, p)
	}
}

func (c *Coordinator) complete(now int64, p *pending) {
	c.emit(Complete{ID: p.id, Options: p.opts, Metadata: p.metadata, Location: p.location})
	cp := CompletedCheckpoint{ID: p.id, Options: p.opts, Metadata: p.metadata, Location: p.location, Completed: now}
	c.latest = &cp
	c.lastEnd, c.anyEnded = now, true
	c.stats.Completed++
	c.stats.LastCompletedID = p.id
	c.stats.LastCompletedLocation = p.location
	c.stats.LastCompletedDuration = millis(now - p.timestamp)
	if p.opts.Final {
		c.finalBusy, c.finalDone = false, true
	}
	if p.opts.Kind != KindCheckpoint {
		return
	}
	c.consecutive = 0
	c.retained = append(c.retained, cp)
	for len(c.retained) > c.cfg.NumRetained {
		old := c.retained[0]
		c.retained = slices.Delete(c.retained, 0, 1)
		c.emit(Discard{ID: old.ID, Location: old.Location})
	}
}

// abort ends p with reason; counts says whether the failure counts against
// Config.TolerableFailures (if p is a checkpoint).
func (c *Coordinator) abort(now int64, p *pending, reason error, counts bool) {
	i := slices.Index(c.pending, p)
	c.pending = slices.Delete(c.pending, i, i+1)
	c.emit(Abort{ID: p.id, Options: p.opts, Reason: reason})
	c.stats.Failed++
	c.lastEnd, c.anyEnded = now, true
	if p.opts.Final {
		c.finalBusy = false
		c.finalAt = addMillis(now, c.minPause)
	}
	if p.opts.Terminate {
		// The stop failed; the job goes on.
		c.stopping = false
		c.nextPeriodic = addMillis(now, c.period)
	}
	if !counts || p.opts.Kind != KindCheckpoint || c.failing {
		return
	}
	c.consecutive++
	if c.consecutive > c.cfg.TolerableFailures {
		c.emit(FailJob{Reason: newReason(ErrTooManyFailures, reason,
			"%d consecutive checkpoints failed, %s is %d; last",
			c.consecutive, KeyTolerableFailures, c.cfg.TolerableFailures)})
		c.consecutive = 0
		c.failing = true
	}
}

// abortAll ends every pending checkpoint in ID order: the durable ones
// complete, the others abort with reason(p), not counting as failures.
func (c *Coordinator) abortAll(now int64, reason func(*pending) error) {
	for _, p := range slices.Clone(c.pending) {
		if p.phase != durable {
			c.abort(now, p, reason(p), false)
		}
		c.completeReady(now)
	}
}

func (c *Coordinator) emit(a Action) { c.actions = append(c.actions, a) }

func millis(ms int64) time.Duration { return time.Duration(ms) * time.Millisecond }
