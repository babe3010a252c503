package resourcemanager

import "fmt"

// JobID names a job.
type JobID string

// WorkerID names a worker: a TaskManager and what runs it (a process, a
// container, a Mesos task). The SlotManager chooses it for the workers it
// requests (worker-1, worker-2...) and the driver passes it on, so that
// the TaskManager registers under it; a TaskManager that an operator
// started registers under the ID it was configured with
// (taskmanager.resource-id).
type WorkerID string

// SlotID names one slot: Index (0 to the number of slots - 1) of
// TaskManager.
type SlotID struct {
	TaskManager WorkerID
	Index       int
}

func (s SlotID) String() string { return fmt.Sprintf("%s/%d", s.TaskManager, s.Index) }

// WorkerSpec is what a requested worker must offer.
type WorkerSpec struct {
	// Slots is how many slots its TaskManager registers with
	// (taskmanager.numberOfTaskSlots): Config.SlotsPerWorker.
	Slots int
}

// Action is something the caller must do, returned by SlotManager.Ready in
// the order the SlotManager decided them. The concrete types are
// RequestWorker, ReleaseWorker, AllocateSlots, JobSlotsLost,
// RequestFailed and Warn; no other package can add one.
type Action interface {
	action()
}

// RequestWorker asks the driver for a worker (Driver.RequestWorker) whose
// TaskManager will register as Worker. Only for a SlotManager in Active
// mode. If the driver fails to start it, the caller reports
// SlotManager.WorkerFailed.
type RequestWorker struct {
	Worker WorkerID
	Spec   WorkerSpec
}

// ReleaseWorker asks the driver to stop Worker (Driver.ReleaseWorker): it
// was idle, did not register in time, or was lost. Only in Active mode.
// No slot on it is allocated any more: a job that held some was told by a
// JobSlotsLost first. The SlotManager has forgotten Worker; later events
// about it are ignored.
type ReleaseWorker struct {
	Worker WorkerID
	// Reason wraps ErrIdle, ErrRegistrationTimeout, ErrHeartbeatTimeout
	// or ErrTaskManagerLost.
	Reason error
}

// AllocateSlots fulfils a pending slot request of Job, of len(Slots)
// slots: the oldest of the job's requests that fit in the free slots,
// which is not its oldest request if that one is larger and waits. Slots
// are the job's until it calls ReleaseSlots or a JobSlotsLost takes some
// away. Addresses holds the address each of their TaskManagers
// registered with.
type AllocateSlots struct {
	Job       JobID
	Slots     []SlotID
	Addresses map[WorkerID]string
}

// JobSlotsLost says that TaskManager, which held Slots of Job, is gone:
// the job must fail over (its tasks there are dead) and request slots
// again. Its other slots stay allocated.
type JobSlotsLost struct {
	Job         JobID
	TaskManager WorkerID
	Slots       []SlotID
	// Reason wraps ErrHeartbeatTimeout, ErrTaskManagerLost,
	// ErrReregistered or ErrWorkerFailed.
	Reason error
}

// RequestFailed fails a slot request of Job, of Slots slots: one that was
// invalid, never pending, or the job's oldest pending request, which
// timed out (requests time out in the order they came).
type RequestFailed struct {
	Job   JobID
	Slots int
	// Reason wraps ErrRequestTimeout ("not enough slots: needs ...", see
	// there) or ErrInvalidRequest.
	Reason error
}

// Warn is something an operator should know (a TaskManager lost, a
// worker that failed to start, a request that waits for slots that
// nothing will bring); the caller logs it.
type Warn struct {
	Reason error
}

func (RequestWorker) action() {}
func (ReleaseWorker) action() {}
func (AllocateSlots) action() {}
func (JobSlotsLost) action()  {}
func (RequestFailed) action() {}
func (Warn) action()          {}
