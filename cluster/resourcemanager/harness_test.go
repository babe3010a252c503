package resourcemanager_test

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"

	rm "github.com/runnel-io/runnel/cluster/resourcemanager"
)

// harness wraps a SlotManager: every event goes through it, and after
// every event it checks the actions and the SlotManager's state against
// a model that follows what the actions say. It is shared by the scripts
// (interaction_test.go) and TestRandomized.
type harness struct {
	t    testing.TB
	name string
	m    *rm.SlotManager
	cfg  rm.Config
	mode rm.Mode
	now  int64

	owner     map[slotKey]rm.JobID // allocated slots
	requests  []modelRequest       // pending, oldest first
	seq       int64                // requests so far
	requested map[rm.WorkerID]bool // every worker ever requested
	deadline  map[rm.WorkerID]int64
	invalid   int            // 1: an invalid request awaits its RequestFailed
	seen      map[string]int // outcomes, for TestRandomized's coverage check
}

// slotKey names a slot of one registration: a TaskManager that registers
// again has new slots.
type slotKey struct {
	slot rm.SlotID
	reg  int64
}

type modelRequest struct {
	job   rm.JobID
	n     int
	since int64
	seq   int64 // arrival order
}

func newHarness(t testing.TB, name string, cfg rm.Config, mode rm.Mode) *harness {
	t.Helper()
	m, err := rm.New(cfg, mode)
	if err != nil {
		t.Errorf("%s: New: %v", name, err)
		return nil
	}
	cfg.EnsureDefaults()
	return &harness{
		t: t, name: name, m: m, cfg: cfg, mode: mode,
		owner: map[slotKey]rm.JobID{}, requested: map[rm.WorkerID]bool{}, deadline: map[rm.WorkerID]int64{},
	}
}

func (h *harness) saw(what string) {
	if h.seen != nil {
		h.seen[what]++
	}
}

func (h *harness) errorf(format string, args ...any) {
	h.t.Helper()
	h.t.Errorf("%s at %d: %s", h.name, h.now, fmt.Sprintf(format, args...))
}

func (h *harness) register(now int64, id rm.WorkerID, addr string, slots int) ([]rm.Action, error) {
	var err error
	acts := h.step(now, func() { err = h.m.RegisterTaskManager(now, id, addr, slots) })
	if err != nil {
		if !strings.HasPrefix(err.Error(), "resourcemanager: ") {
			h.errorf("registration error without prefix: %v", err)
		}
		h.saw("registration declined")
	} else {
		h.saw("registered")
		delete(h.deadline, id)
	}
	return acts, err
}

func (h *harness) heartbeat(now int64, id rm.WorkerID) error {
	var err error
	h.step(now, func() { err = h.m.Heartbeat(now, id) })
	if err != nil {
		h.saw("heartbeat unknown")
	}
	return err
}

func (h *harness) tick(now int64) []rm.Action {
	before, ok := h.m.NextDeadline()
	acts := h.step(now, func() { h.m.Tick(now) })
	if (!ok || now < before) && len(acts) > 0 {
		h.errorf("Tick before NextDeadline (%d, %v) produced %v", before, ok, acts)
	}
	for _, tm := range h.m.TaskManagers() {
		if h.now >= tm.LastHeartbeat+h.cfg.HeartbeatTimeout.Milliseconds() {
			h.errorf("TaskManager %s is registered after its heartbeat timeout", tm.ID)
		}
	}
	for _, r := range h.requests {
		if h.now >= r.since+h.cfg.SlotRequestTimeout.Milliseconds() {
			h.errorf("request of job %s from %d is pending after its timeout", r.job, r.since)
		}
	}
	for _, w := range h.m.PendingWorkers() {
		if h.now >= h.deadline[w] {
			h.errorf("worker %s is pending after its registration deadline %d", w, h.deadline[w])
		}
	}
	return acts
}

func (h *harness) request(now int64, job rm.JobID, n int) []rm.Action {
	invalid := job == "" || n < 1 || (h.mode == rm.Active && h.cfg.MaxSlots > 0 && n > h.cfg.MaxSlots)
	if invalid {
		h.invalid = 1
	} else {
		h.seq++
		h.requests = append(h.requests, modelRequest{job: job, n: n, since: max(h.now, now), seq: h.seq})
	}
	acts := h.step(now, func() { h.m.RequestSlots(now, job, n) })
	if h.invalid != 0 {
		h.errorf("invariant 5: no RequestFailed for the invalid request of %d slots", n)
		h.invalid = 0
	}
	return acts
}

func (h *harness) release(now int64, job rm.JobID) []rm.Action {
	h.requests = slices.DeleteFunc(h.requests, func(r modelRequest) bool { return r.job == job })
	for k, j := range h.owner {
		if j == job {
			delete(h.owner, k)
		}
	}
	return h.step(now, func() { h.m.ReleaseSlots(now, job) })
}

func (h *harness) started(now int64, id rm.WorkerID) []rm.Action {
	if slices.Contains(h.m.PendingWorkers(), id) {
		h.deadline[id] = max(h.now, now) + h.cfg.RegistrationTimeout.Milliseconds()
	}
	return h.step(now, func() { h.m.WorkerStarted(now, id) })
}

func (h *harness) failed(now int64, id rm.WorkerID, err error) []rm.Action {
	return h.step(now, func() { h.m.WorkerFailed(now, id, err) })
}

func (h *harness) lost(now int64, id rm.WorkerID) []rm.Action {
	return h.step(now, func() { h.m.TaskManagerLost(now, id) })
}

// step runs one event and checks what came out of it.
func (h *harness) step(now int64, event func()) []rm.Action {
	h.t.Helper()
	h.now = max(h.now, now)
	before := h.m.TaskManagers()
	pendingBefore := h.m.PendingWorkers()
	event()
	acts := h.m.Ready()
	after := h.m.TaskManagers()
	pendingAfter := h.m.PendingWorkers()
	afterSlots := map[slotKey]rm.JobID{}
	regOf := map[rm.WorkerID]int64{}
	for _, tm := range after {
		regOf[tm.ID] = tm.Registered
		for i, j := range tm.Slots {
			afterSlots[slotKey{rm.SlotID{TaskManager: tm.ID, Index: i}, tm.Registered}] = j
		}
	}
	regBefore := map[rm.WorkerID]int64{}
	for _, tm := range before {
		regBefore[tm.ID] = tm.Registered
	}
	// ownedOn reports the model's allocated slots on a registration.
	ownedOn := func(id rm.WorkerID, reg int64) []rm.SlotID {
		var out []rm.SlotID
		for k := range h.owner {
			if k.slot.TaskManager == id && k.reg == reg {
				out = append(out, k.slot)
			}
		}
		return out
	}
	// freeAt(i) and totalAt(i) are the free and registered slots when the
	// SlotManager decided action i: what is free after the event, plus
	// what the allocations from i on took, plus the idle TaskManagers
	// released after i (the last thing a Tick does).
	freeAfter, totalAfter := 0, len(afterSlots)
	for _, j := range afterSlots {
		if j == "" {
			freeAfter++
		}
	}
	allocFrom := make([]int, len(acts)+1) // slots allocated by actions i...
	idleAfter := make([]int, len(acts)+1) // slots released idle by actions i+1...
	for i := len(acts) - 1; i >= 0; i-- {
		allocFrom[i] = allocFrom[i+1]
		if a, ok := acts[i].(rm.AllocateSlots); ok {
			allocFrom[i] += len(a.Slots)
		}
		if i+1 < len(acts) {
			idleAfter[i] = idleAfter[i+1]
			if a, ok := acts[i+1].(rm.ReleaseWorker); ok && errors.Is(a.Reason, rm.ErrIdle) {
				for _, tm := range before {
					if tm.ID == a.Worker {
						idleAfter[i] += len(tm.Slots)
					}
				}
			}
		}
	}
	freeAt := func(i int) int { return freeAfter + allocFrom[i] + idleAfter[i] }
	totalAt := func(i int) int { return totalAfter + idleAfter[i] }
	type served struct {
		seq  int64
		free int // free slots when it was served
	}
	var servedNow []served
	requestedNow := 0
	for i, a := range acts {
		h.checkReason(a)
		switch a := a.(type) {
		case rm.RequestWorker:
			h.saw("RequestWorker")
			requestedNow++
			if h.mode != rm.Active {
				h.errorf("invariant 4: RequestWorker %s in %v mode", a.Worker, h.mode)
			}
			if h.requested[a.Worker] {
				h.errorf("invariant 2: worker %s requested twice", a.Worker)
			}
			if a.Spec.Slots != h.cfg.SlotsPerWorker {
				h.errorf("RequestWorker %s for %d slots, want %d", a.Worker, a.Spec.Slots, h.cfg.SlotsPerWorker)
			}
			h.requested[a.Worker] = true
			h.deadline[a.Worker] = h.now + h.cfg.RegistrationTimeout.Milliseconds()
		case rm.ReleaseWorker:
			h.saw("ReleaseWorker " + reasonName(a.Reason))
			if h.mode != rm.Active {
				h.errorf("invariant 4: ReleaseWorker %s in %v mode", a.Worker, h.mode)
			}
			if reg, ok := regBefore[a.Worker]; ok && regOf[a.Worker] != reg {
				if held := ownedOn(a.Worker, reg); len(held) > 0 {
					h.errorf("invariant 3: ReleaseWorker %s while slots %v are allocated on it", a.Worker, held)
				}
			} else if !slices.Contains(pendingBefore, a.Worker) || slices.Contains(pendingAfter, a.Worker) {
				h.errorf("ReleaseWorker %s: neither a TaskManager that went nor a pending worker", a.Worker)
			}
		case rm.AllocateSlots:
			h.saw("AllocateSlots")
			// The job's oldest pending request of that size: a later one
			// of the same size cannot fit where it does not.
			k := slices.IndexFunc(h.requests, func(r modelRequest) bool { return r.job == a.Job && r.n == len(a.Slots) })
			if k < 0 {
				h.errorf("invariant 5: AllocateSlots of %d slots for job %s matches no pending request %v", len(a.Slots), a.Job, h.requests)
				break
			}
			r := h.requests[k]
			if r.n > freeAt(i) {
				h.errorf("invariant 5: AllocateSlots of %d slots with %d free", r.n, freeAt(i))
			}
			if n := len(servedNow); n > 0 && servedNow[n-1].seq > r.seq {
				h.errorf("invariant 5: request %d of job %s served after the later request %d", r.seq, a.Job, servedNow[n-1].seq)
			}
			servedNow = append(servedNow, served{seq: r.seq, free: freeAt(i)})
			if k > 0 {
				h.saw("AllocateSlots overtaking")
			}
			h.requests = slices.Delete(h.requests, k, k+1)
			for _, s := range a.Slots {
				k := slotKey{s, regOf[s.TaskManager]}
				if _, ok := afterSlots[k]; !ok || k.reg == 0 {
					h.errorf("invariant 1: AllocateSlots %s on no registered TaskManager", s)
				}
				if j, ok := h.owner[k]; ok {
					h.errorf("invariant 1: slot %s allocated to %s and to %s", s, j, a.Job)
				}
				if a.Addresses[s.TaskManager] == "" {
					h.errorf("AllocateSlots without an address for %s", s.TaskManager)
				}
				h.owner[k] = a.Job
			}
		case rm.JobSlotsLost:
			h.saw("JobSlotsLost " + reasonName(a.Reason))
			reg := regBefore[a.TaskManager]
			want := ownedOn(a.TaskManager, reg)
			want = slices.DeleteFunc(want, func(s rm.SlotID) bool { return h.owner[slotKey{s, reg}] != a.Job })
			sortSlots(want)
			if !slices.Equal(want, a.Slots) {
				h.errorf("invariant 6: JobSlotsLost %s on %s lists %v, the job held %v", a.Job, a.TaskManager, a.Slots, want)
			}
			for _, s := range want {
				delete(h.owner, slotKey{s, reg})
			}
		case rm.RequestFailed:
			h.saw("RequestFailed " + reasonName(a.Reason))
			if errors.Is(a.Reason, rm.ErrInvalidRequest) {
				if h.invalid != 1 {
					h.errorf("invariant 5: RequestFailed %s %d for a valid request", a.Job, a.Slots)
				}
				h.invalid = 0
				break
			}
			k := slices.IndexFunc(h.requests, func(r modelRequest) bool { return r.job == a.Job })
			if k < 0 || h.requests[k].n != a.Slots {
				h.errorf("invariant 5: RequestFailed %s %d matches no pending request %v", a.Job, a.Slots, h.requests)
				break
			}
			want := fmt.Sprintf("not enough slots: needs %d, the cluster has %d (%d free) after waiting slot.request.timeout = %v",
				a.Slots, totalAt(i), freeAt(i), h.cfg.SlotRequestTimeout)
			if a.Reason.Error() != want {
				h.errorf("invariant 5: RequestFailed %s %d: %q, want %q", a.Job, a.Slots, a.Reason, want)
			}
			h.requests = slices.Delete(h.requests, k, k+1)
		case rm.Warn:
			h.saw("Warn " + reasonName(a.Reason))
		default:
			h.errorf("unknown action %T", a)
		}
	}
	// The model's allocations are exactly the SlotManager's.
	for k, j := range h.owner {
		if got, ok := afterSlots[k]; !ok || got != j {
			h.errorf("invariant 6: slot %s (registration %d) of job %s is %q after the event (lost without a JobSlotsLost?)", k.slot, k.reg, j, got)
			delete(h.owner, k)
		}
	}
	free := 0
	for k, j := range afterSlots {
		if j == "" {
			free++
		} else if h.owner[k] != j {
			h.errorf("invariant 1: slot %s is allocated to %s without an AllocateSlots", k.slot, j)
		}
	}
	st := h.m.Stats()
	demand := 0
	for _, r := range h.requests {
		demand += r.n
	}
	if st.PendingRequests != len(h.requests) || st.PendingSlots != demand || st.FreeSlots != free {
		h.errorf("stats %+v; model: %d requests for %d slots, %d free", st, len(h.requests), demand, free)
	}
	// Never more workers than the pending requests need.
	spw := h.cfg.SlotsPerWorker
	if requestedNow > 0 && (len(pendingAfter)-1)*spw >= demand-free {
		h.errorf("invariant 2: %d workers pending (%d slots each) for %d slots missing beyond %d free", len(pendingAfter), spw, demand, free)
	}
	if h.cfg.MaxSlots > 0 && st.Slots+len(pendingAfter)*spw > h.cfg.MaxSlots && requestedNow > 0 {
		h.errorf("invariant 2: %d slots registered and %d pending workers exceed %d", st.Slots, len(pendingAfter), h.cfg.MaxSlots)
	}
	for _, w := range pendingAfter {
		if !h.requested[w] {
			h.errorf("worker %s pending without a RequestWorker", w)
		}
	}
	// Every request that fits is served: none waits that fits in the free
	// slots, and none was served while an older one, still waiting,
	// fitted in the slots free then (first fit in arrival order).
	for _, r := range h.requests {
		if r.n <= free {
			h.errorf("invariant 5: request %d of job %s (%d slots) waits with %d slots free", r.seq, r.job, r.n, free)
		}
		for _, s := range servedNow {
			if r.seq < s.seq && r.n <= s.free {
				h.errorf("invariant 5: request %d served before the older request %d of job %s (%d slots) with %d slots free",
					s.seq, r.seq, r.job, r.n, s.free)
			}
		}
	}
	return acts
}

// checkReason checks that every reason names its sentinel and says which.
func (h *harness) checkReason(a rm.Action) {
	var err error
	switch a := a.(type) {
	case rm.ReleaseWorker:
		err = a.Reason
	case rm.JobSlotsLost:
		err = a.Reason
	case rm.RequestFailed:
		err = a.Reason
	case rm.Warn:
		err = a.Reason
	default:
		return
	}
	// A timed-out request's reason is what the user reads for the job:
	// what was missing first, without the package prefix.
	prefix := "resourcemanager: "
	if errors.Is(err, rm.ErrRequestTimeout) {
		prefix = "not enough slots: "
	}
	if err == nil || !strings.HasPrefix(err.Error(), prefix) || reasonName(err) == "other" {
		h.errorf("%T without a proper reason: %v", a, err)
	}
}

func reasonName(err error) string {
	for _, s := range []struct {
		err  error
		name string
	}{
		{rm.ErrRequestTimeout, "request-timeout"}, {rm.ErrInvalidRequest, "invalid-request"},
		{rm.ErrHeartbeatTimeout, "heartbeat-timeout"}, {rm.ErrTaskManagerLost, "lost"},
		{rm.ErrReregistered, "reregistered"}, {rm.ErrWorkerFailed, "worker-failed"},
		{rm.ErrRegistrationTimeout, "registration-timeout"}, {rm.ErrIdle, "idle"},
		{rm.ErrNotEnoughSlots, "not-enough-slots"},
	} {
		if errors.Is(err, s.err) {
			return s.name
		}
	}
	return "other"
}

func sortSlots(s []rm.SlotID) {
	slices.SortFunc(s, func(a, b rm.SlotID) int {
		if c := strings.Compare(string(a.TaskManager), string(b.TaskManager)); c != 0 {
			return c
		}
		return a.Index - b.Index
	})
}
