package resourcemanager

import (
	"fmt"
	"slices"
	"time"
)

// Mode says whether the driver starts workers.
type Mode int

const (
	// Standalone: TaskManagers are started by an operator and register
	// under IDs of their own. No worker is ever requested or released;
	// slot requests wait for registrations.
	Standalone Mode = iota + 1
	// Active: the driver starts workers (Driver.CanStartWorkers). Workers
	// are requested when slot demand exceeds supply and released when
	// idle; only requested workers may register.
	Active
)

func (m Mode) String() string {
	switch m {
	case Standalone:
		return "standalone"
	case Active:
		return "active"
	}
	return fmt.Sprintf("Mode(%d)", int(m))
}

// SlotManager is the resource manager's bookkeeping of TaskManagers,
// slots, slot requests and workers: Flink's SlotManager with the dynamic
// resource allocation of FLIP-6, as a state machine. Events come in as
// method calls carrying the time (milliseconds since the Unix epoch);
// what the caller must do comes out of Ready. It never reads a clock,
// starts a goroutine or does I/O.
//
// A SlotManager is not safe for concurrent use: it is owned by the
// resource manager's goroutine, which calls every method, drains Ready
// after each event, and arms one timer for NextDeadline. Times that go
// backwards are taken as the latest time seen.
//
// Events about unknown TaskManagers, workers or jobs are ignored and
// counted in Stats.Ignored (RegisterTaskManager and Heartbeat also return
// an error, for the TaskManager); nothing is a panic.
type SlotManager struct {
	cfg  Config
	mode Mode

	heartbeatTimeout    int64 // ms
	idleTimeout         int64 // ms
	requestTimeout      int64 // ms
	registrationTimeout int64 // ms
	retryInterval       int64 // ms

	now        int64
	seq        int64 // registrations so far
	nextWorker int64 // workers requested so far

	tms      []*taskManager // by registration
	requests []*request     // pending, oldest first
	pending  []*worker      // requested workers not yet registered, by request
	retryAt  int64          // no worker is requested before
	actions  []Action
	stats    Stats
}

type taskManager struct {
	id            WorkerID
	address       string
	slots         []JobID // "" for a free slot
	free          int
	lastHeartbeat int64
	idleSince     int64 // when every slot became free; meaningful while free == len(slots)
	registered    int64
}

type request struct {
	job   JobID
	n     int
	since int64
}

type worker struct {
	id       WorkerID
	deadline int64 // to register by
}

// Stats are the SlotManager's counters, for monitoring: a copy, taken by
// SlotManager.Stats.
type Stats struct {
	TaskManagers int
	Slots        int
	FreeSlots    int
	// PendingWorkers are requested and not yet registered.
	PendingWorkers int
	// PendingRequests and PendingSlots are the slot requests waiting and
	// the slots they ask for.
	PendingRequests int
	PendingSlots    int

	Registrations    int64
	TaskManagersLost int64
	WorkersRequested int64
	WorkersReleased  int64
	// WorkersFailed counts workers that failed before registering or did
	// not register in time.
	WorkersFailed     int64
	SlotsAllocated    int64
	RequestsFulfilled int64
	RequestsFailed    int64
	// Ignored counts events about nothing known (an unknown TaskManager,
	// worker or job), events that do not fit the Mode, and declined
	// registrations and heartbeats.
	Ignored int64
}

// TaskManagerInfo describes a registered TaskManager, as a copy.
type TaskManagerInfo struct {
	ID      WorkerID
	Address string
	// Slots holds, by slot index, the job a slot is allocated to, or ""
	// if it is free.
	Slots         []JobID
	Registered    int64
	LastHeartbeat int64
}

// New returns a SlotManager in mode, knowing no TaskManager. cfg gets its
// defaults (EnsureDefaults) and must then be valid.
func New(cfg Config, mode Mode) (*SlotManager, error) {
	cfg.EnsureDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if mode != Standalone && mode != Active {
		return nil, fmt.Errorf("resourcemanager: invalid mode %v", mode)
	}
	return &SlotManager{
		cfg:                 cfg,
		mode:                mode,
		heartbeatTimeout:    cfg.HeartbeatTimeout.Milliseconds(),
		idleTimeout:         cfg.TaskManagerTimeout.Milliseconds(),
		requestTimeout:      cfg.SlotRequestTimeout.Milliseconds(),
		registrationTimeout: cfg.RegistrationTimeout.Milliseconds(),
		retryInterval:       cfg.StartRetryInterval.Milliseconds(),
	}, nil
}

// Ready returns the actions decided since the last call, in order, and
// forgets them. The slice is the caller's.
func (m *SlotManager) Ready() []Action {
	a := m.actions
	m.actions = nil
	return a
}

// RegisterTaskManager registers TaskManager id, reachable at address,
// offering slots slots, all free. Registration counts as a heartbeat.
//
// In Active mode only a requested worker may register (otherwise
// ErrUnknownWorker: the TaskManager should shut down). A TaskManager that
// is registered already registers anew: its old registration is lost
// first (ErrReregistered), with a JobSlotsLost for every job that held
// slots on it. One that was lost and comes back is a new registration.
func (m *SlotManager) RegisterTaskManager(now int64, id WorkerID, address string, slots int) error {
	m.advance(now)
	if id == "" || slots < 1 {
		m.stats.Ignored++
		return fmt.Errorf("%w: TaskManager %q at %q with %d slots", ErrInvalidRegistration, id, address, slots)
	}
	if old := m.taskManager(id); old != nil {
		m.lose(old, reason(ErrReregistered, nil, "TaskManager %s registered again", id), false)
	} else if m.mode == Active {
		i := slices.IndexFunc(m.pending, func(w *worker) bool { return w.id == id })
		if i < 0 {
			m.stats.Ignored++
			return fmt.Errorf("%w: %s was not requested, or was released", ErrUnknownWorker, id)
		}
		m.pending = slices.Delete(m.pending, i, i+1)
	}
	m.seq++
	m.stats.Registrations++
	m.tms = append(m.tms, &taskManager{
		id: id, address: address, slots: make([]JobID, slots), free: slots,
		lastHeartbeat: m.now, idleSince: m.now, registered: m.seq,
	})
	m.reconcile()
	return nil
}

// Heartbeat records a heartbeat of TaskManager id. A TaskManager that is
// not registered gets ErrUnknownTaskManager and should register again.
func (m *SlotManager) Heartbeat(now int64, id WorkerID) error {
	m.advance(now)
	tm := m.taskManager(id)
	if tm == nil {
		m.stats.Ignored++
		return fmt.Errorf("%w: %s", ErrUnknownTaskManager, id)
	}
	tm.lastHeartbeat = m.now
	return nil
}

// TaskManagerLost says that TaskManager id is gone (its connection
// closed, or it deregistered): its slots are gone, with a JobSlotsLost
// for every job that held some, and in Active mode its worker is
// released.
func (m *SlotManager) TaskManagerLost(now int64, id WorkerID) {
	m.advance(now)
	tm := m.taskManager(id)
	if tm == nil {
		m.stats.Ignored++
		return
	}
	m.lose(tm, reason(ErrTaskManagerLost, nil, "TaskManager %s lost", id), m.mode == Active)
	m.reconcile()
}

// RequestSlots asks for n more slots for job. Requests are fulfilled
// whole (one AllocateSlots with n slots), first fit in the order they
// came, from any job: whenever slots are free, every pending request that
// fits in them is fulfilled, the oldest first, and one that does not fit
// waits without holding back the smaller ones behind it. Each ends in
// exactly one AllocateSlots or one RequestFailed, unless ReleaseSlots
// cancels it. In Active mode workers are requested for what free slots
// and workers already requested do not cover.
func (m *SlotManager) RequestSlots(now int64, job JobID, n int) {
	m.advance(now)
	var invalid error
	switch {
	case job == "" || n < 1:
		invalid = reason(ErrInvalidRequest, nil, "job %q cannot request %s", job, slots(n))
	case m.mode == Active && m.cfg.MaxSlots > 0 && n > m.cfg.MaxSlots:
		invalid = reason(ErrInvalidRequest, nil, "job %s cannot request %s: %s is %d", job, slots(n), KeyMaxSlots, m.cfg.MaxSlots)
	}
	if invalid != nil {
		m.stats.RequestsFailed++
		m.emit(RequestFailed{Job: job, Slots: n, Reason: invalid})
		return
	}
	r := &request{job: job, n: n, since: m.now}
	m.requests = append(m.requests, r)
	short := m.reconcile()
	if short > 0 && slices.Contains(m.requests, r) {
		why := "no driver starts workers"
		if m.mode == Active {
			why = fmt.Sprintf("%s is %d", KeyMaxSlots, m.cfg.MaxSlots)
		}
		m.emit(Warn{Reason: reason(ErrNotEnoughSlots, nil,
			"job %s waits for %s: pending requests ask for %d, %d are free, %d missing and %s",
			job, slots(n), m.demand(), m.freeSlots(), short, why)})
	}
}

// ReleaseSlots gives back every slot of job and cancels its pending
// requests: the job ended or failed over.
func (m *SlotManager) ReleaseSlots(now int64, job JobID) {
	m.advance(now)
	found := false
	for _, tm := range m.tms {
		for i, j := range tm.slots {
			if j == job && job != "" {
				tm.slots[i] = ""
				tm.free++
				found = true
				if tm.free == len(tm.slots) {
					tm.idleSince = m.now
				}
			}
		}
	}
	n := len(m.requests)
	m.requests = slices.DeleteFunc(m.requests, func(r *request) bool { return r.job == job })
	if !found && n == len(m.requests) {
		m.stats.Ignored++
		return
	}
	m.reconcile()
}

// WorkerStarted says that the driver started worker id; its registration
// timeout runs from now.
func (m *SlotManager) WorkerStarted(now int64, id WorkerID) {
	m.advance(now)
	w := m.worker(id)
	if w == nil {
		m.stats.Ignored++
		return
	}
	w.deadline = m.now + m.registrationTimeout
}

// WorkerFailed says that worker id failed or terminated (err says how).
// Before it registered, it is a failed start: no worker is requested for
// Config.StartRetryInterval. After, its TaskManager is lost, with a
// JobSlotsLost for every job that held slots on it.
func (m *SlotManager) WorkerFailed(now int64, id WorkerID, err error) {
	m.advance(now)
	if m.mode != Active {
		m.stats.Ignored++
		return
	}
	if tm := m.taskManager(id); tm != nil {
		m.lose(tm, reason(ErrWorkerFailed, err, "worker %s failed", id), false)
		m.reconcile()
		return
	}
	i := slices.IndexFunc(m.pending, func(w *worker) bool { return w.id == id })
	if i < 0 {
		m.stats.Ignored++
		return
	}
	m.pending = slices.Delete(m.pending, i, i+1)
	m.startFailed()
	m.emit(Warn{Reason: reason(ErrWorkerFailed, err, "worker %s failed before registering (no new worker before %d)", id, m.retryAt)})
	m.reconcile()
}

// Tick advances time to now and fires what is due, in this order:
// TaskManagers without a heartbeat for Config.HeartbeatTimeout are lost
// (and, in Active mode, released); requested workers not registered in
// time are released; slot requests waiting for Config.SlotRequestTimeout
// fail; workers are requested if a start retry interval ended; TaskManagers
// idle for Config.TaskManagerTimeout are released in Active mode, unless a
// pending request needs their slots (their idle time then starts again).
func (m *SlotManager) Tick(now int64) {
	m.advance(now)
	for _, tm := range slices.Clone(m.tms) {
		if m.now >= tm.lastHeartbeat+m.heartbeatTimeout {
			m.lose(tm, reason(ErrHeartbeatTimeout, nil, "TaskManager %s sent no heartbeat for %v",
				tm.id, time.Duration(m.now-tm.lastHeartbeat)*time.Millisecond), m.mode == Active)
		}
	}
	for _, w := range slices.Clone(m.pending) {
		if m.now >= w.deadline {
			m.pending = slices.DeleteFunc(m.pending, func(p *worker) bool { return p == w })
			m.startFailed()
			m.release(w.id, reason(ErrRegistrationTimeout, nil, "worker %s did not register within %v",
				w.id, m.cfg.RegistrationTimeout.Truncate(time.Millisecond)))
		}
	}
	m.requests = slices.DeleteFunc(m.requests, func(r *request) bool {
		if m.now < r.since+m.requestTimeout {
			return false
		}
		m.stats.RequestsFailed++
		m.emit(RequestFailed{Job: r.job, Slots: r.n, Reason: m.timedOut(r)})
		return true
	})
	m.reconcile()
	if m.mode != Active {
		return
	}
	for _, tm := range slices.Clone(m.tms) {
		if tm.free < len(tm.slots) || m.now < tm.idleSince+m.idleTimeout {
			continue
		}
		if m.demand() > m.supply()-len(tm.slots) {
			tm.idleSince = m.now // still needed: wait another timeout
			continue
		}
		m.remove(tm)
		m.release(tm.id, reason(ErrIdle, nil, "TaskManager %s had every slot free for %v",
			tm.id, m.cfg.TaskManagerTimeout.Truncate(time.Millisecond)))
	}
}

// NextDeadline returns when the next Tick has something to do (a
// heartbeat, registration, request or idle timeout, or the end of a start
// retry interval), and false if nothing is due ever without another
// event. Tick before it does nothing; it changes only with events.
func (m *SlotManager) NextDeadline() (int64, bool) {
	var d int64
	ok := false
	at := func(t int64) {
		if !ok || t < d {
			d, ok = t, true
		}
	}
	for _, tm := range m.tms {
		at(tm.lastHeartbeat + m.heartbeatTimeout)
		if m.mode == Active && tm.free == len(tm.slots) {
			at(tm.idleSince + m.idleTimeout)
		}
	}
	for _, w := range m.pending {
		at(w.deadline)
	}
	for _, r := range m.requests {
		at(r.since + m.requestTimeout)
	}
	if m.workersToRequest() > 0 {
		at(m.retryAt) // held back by a start retry interval
	}
	return d, ok
}

// TaskManagers returns the registered TaskManagers in the order they
// registered.
func (m *SlotManager) TaskManagers() []TaskManagerInfo {
	out := make([]TaskManagerInfo, 0, len(m.tms))
	for _, tm := range m.tms {
		out = append(out, TaskManagerInfo{
			ID: tm.id, Address: tm.address, Slots: slices.Clone(tm.slots),
			Registered: tm.registered, LastHeartbeat: tm.lastHeartbeat,
		})
	}
	return out
}

// SlotsOf returns how many slots of TaskManager id are allocated to job:
// 0 if it holds none there, or id is not registered. A TaskManager that
// an AllocateSlots named holds the job's slots from the moment the action
// is decided, so a job master that heard of them finds them here.
func (m *SlotManager) SlotsOf(id WorkerID, job JobID) int {
	tm := m.taskManager(id)
	if tm == nil || job == "" {
		return 0
	}
	n := 0
	for _, j := range tm.slots {
		if j == job {
			n++
		}
	}
	return n
}

// PendingWorkers returns the workers requested and not yet registered, in
// the order they were requested.
func (m *SlotManager) PendingWorkers() []WorkerID {
	out := make([]WorkerID, 0, len(m.pending))
	for _, w := range m.pending {
		out = append(out, w.id)
	}
	return out
}

// Stats returns the SlotManager's counters.
func (m *SlotManager) Stats() Stats {
	st := m.stats
	st.TaskManagers = len(m.tms)
	for _, tm := range m.tms {
		st.Slots += len(tm.slots)
	}
	st.FreeSlots = m.freeSlots()
	st.PendingWorkers = len(m.pending)
	st.PendingRequests = len(m.requests)
	st.PendingSlots = m.demand()
	return st
}

// reconcile fulfils every pending request that fits in the free slots,
// first fit in arrival order, and in Active mode requests the workers
// still missing. It returns how many slots are missing that nothing will
// bring: no worker can be requested for them (Standalone, or
// Config.MaxSlots) or not yet (a start retry interval).
//
// One pass is enough: allocations only take free slots away, so a
// request that did not fit when the pass reached it fits no better after.
// The workers requested cover the demand of all pending requests against
// all free slots, whichever order the requests are fulfilled in: slots
// are interchangeable, so once free slots reach the demand every pending
// request fits.
func (m *SlotManager) reconcile() (short int) {
	free := m.freeSlots()
	m.requests = slices.DeleteFunc(m.requests, func(r *request) bool {
		if r.n > free {
			return false
		}
		free -= r.n
		m.allocate(r)
		return true
	})
	missing := m.demand() - m.supply()
	if missing <= 0 {
		return 0
	}
	if m.mode != Active {
		return missing
	}
	need := m.workersToRequest()
	if m.now < m.retryAt {
		return 0
	}
	for range need {
		m.nextWorker++
		id := WorkerID(fmt.Sprintf("worker-%d", m.nextWorker))
		m.pending = append(m.pending, &worker{id: id, deadline: m.now + m.registrationTimeout})
		m.stats.WorkersRequested++
		m.emit(RequestWorker{Worker: id, Spec: WorkerSpec{Slots: m.cfg.SlotsPerWorker}})
	}
	return max(0, missing-need*m.cfg.SlotsPerWorker)
}

// workersToRequest is how many workers the pending requests need beyond
// free slots and pending workers, within Config.MaxSlots; 0 in
// Standalone mode.
func (m *SlotManager) workersToRequest() int {
	missing := m.demand() - m.supply()
	if m.mode != Active || missing <= 0 {
		return 0
	}
	spw := m.cfg.SlotsPerWorker
	need := (missing + spw - 1) / spw
	if m.cfg.MaxSlots > 0 {
		total := len(m.pending) * spw
		for _, tm := range m.tms {
			total += len(tm.slots)
		}
		need = max(0, min(need, (m.cfg.MaxSlots-total)/spw))
	}
	return need
}

// timedOut is the Reason of a request that waited Config.SlotRequestTimeout
// (see ErrRequestTimeout): the slots it needs against every slot of the
// registered TaskManagers, which tells a cluster too small for it from
// one too busy, then how many of those are free.
func (m *SlotManager) timedOut(r *request) error {
	total := 0
	for _, tm := range m.tms {
		total += len(tm.slots)
	}
	return userReason(ErrRequestTimeout, "not enough slots: needs %d, the cluster has %d (%d free) after waiting %s = %v",
		r.n, total, m.freeSlots(), KeySlotRequestTimeout, m.cfg.SlotRequestTimeout.Truncate(time.Millisecond))
}

// allocate gives r its slots: the free slots of the earliest registered
// TaskManagers first, so that later ones go idle and can be released.
func (m *SlotManager) allocate(r *request) {
	a := AllocateSlots{Job: r.job, Addresses: map[WorkerID]string{}}
	for _, tm := range m.tms {
		for i, j := range tm.slots {
			if len(a.Slots) == r.n {
				break
			}
			if j == "" {
				tm.slots[i] = r.job
				tm.free--
				a.Slots = append(a.Slots, SlotID{TaskManager: tm.id, Index: i})
				a.Addresses[tm.id] = tm.address
			}
		}
	}
	if len(a.Slots) != r.n {
		panic(fmt.Sprintf("resourcemanager: broken invariant: allocated %d slots of %d for job %s", len(a.Slots), r.n, r.job))
	}
	m.stats.SlotsAllocated += int64(r.n)
	m.stats.RequestsFulfilled++
	m.emit(a)
}

// lose forgets tm: a Warn, then a JobSlotsLost for every job that held
// slots on it, then, if release, a ReleaseWorker.
func (m *SlotManager) lose(tm *taskManager, why error, release bool) {
	m.remove(tm)
	m.stats.TaskManagersLost++
	m.emit(Warn{Reason: why})
	var jobs []JobID
	for _, j := range tm.slots {
		if j != "" && !slices.Contains(jobs, j) {
			jobs = append(jobs, j)
		}
	}
	slices.Sort(jobs)
	for _, job := range jobs {
		lost := JobSlotsLost{Job: job, TaskManager: tm.id, Reason: why}
		for i, j := range tm.slots {
			if j == job {
				lost.Slots = append(lost.Slots, SlotID{TaskManager: tm.id, Index: i})
			}
		}
		m.emit(lost)
	}
	if release {
		m.release(tm.id, why)
	}
}

func (m *SlotManager) release(id WorkerID, why error) {
	m.stats.WorkersReleased++
	m.emit(ReleaseWorker{Worker: id, Reason: why})
}

func (m *SlotManager) remove(tm *taskManager) {
	m.tms = slices.DeleteFunc(m.tms, func(t *taskManager) bool { return t == tm })
}

func (m *SlotManager) startFailed() {
	m.stats.WorkersFailed++
	m.retryAt = m.now + m.retryInterval
}

// demand is how many slots the pending requests ask for.
func (m *SlotManager) demand() int {
	n := 0
	for _, r := range m.requests {
		n += r.n
	}
	return n
}

// supply is how many slots are free or on their way (requested workers).
func (m *SlotManager) supply() int {
	return m.freeSlots() + len(m.pending)*m.cfg.SlotsPerWorker
}

func (m *SlotManager) freeSlots() int {
	n := 0
	for _, tm := range m.tms {
		n += tm.free
	}
	return n
}

func (m *SlotManager) taskManager(id WorkerID) *taskManager {
	for _, tm := range m.tms {
		if tm.id == id {
			return tm
		}
	}
	return nil
}

func (m *SlotManager) worker(id WorkerID) *worker {
	for _, w := range m.pending {
		if w.id == id {
			return w
		}
	}
	return nil
}

// slots says "1 slot" or "n slots".
func slots(n int) string {
	if n == 1 {
		return "1 slot"
	}
	return fmt.Sprintf("%d slots", n)
}

func (m *SlotManager) advance(now int64) {
	m.now = max(m.now, now)
}

func (m *SlotManager) emit(a Action) {
	m.actions = append(m.actions, a)
}
