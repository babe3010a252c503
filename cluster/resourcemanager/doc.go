// Package resourcemanager is the registry of TaskManagers and slots: it
// hands slots to job masters, asks a Driver for workers when slot demand
// exceeds supply, and releases idle ones (Flink's dynamic resource
// allocation, FLIP-6). It has two halves:
//
//   - SlotManager, the bookkeeping, is a deterministic state machine like
//     etcd's raft and the checkpoint coordinator: the resource manager's
//     goroutine feeds it events (a registration, a heartbeat, a slot
//     request or release, a worker started or failed, a TaskManager lost,
//     a Tick), each carrying the time, and drains Ready for the actions to
//     take (RequestWorker, ReleaseWorker, AllocateSlots, JobSlotsLost,
//     RequestFailed, Warn). It reads no clock, starts no goroutine and
//     does no I/O; NextDeadline tells the caller when to Tick next.
//   - Driver, the only part that knows the cluster manager, behind one
//     small interface (Flink's ResourceManagerDriver, Arroyo's
//     Scheduler): driver/standalone for TaskManagers started by an
//     operator, driver/process for local TaskManager processes; Mesos and
//     Kubernetes implement the same interface.
//
// A TaskManager and the worker it runs in share one WorkerID. In Active
// mode (a driver that starts workers) the SlotManager names the workers it
// requests and only those may register; in Standalone mode any TaskManager
// registers under its own ID and none is ever requested or released.
//
// The life of a slot request (RequestSlots):
//
//	pending   waits in one queue for all jobs, in the order requests came
//	          → AllocateSlots, all n slots at once, as soon as n slots are
//	            free and no older request that fits in them comes first
//	          → RequestFailed after Config.SlotRequestTimeout:
//	            "not enough slots: needs n, the cluster has m (f free)
//	            after waiting slot.request.timeout = d"
//	          → cancelled by ReleaseSlots of its job
//
// Requests are served first fit in arrival order: whenever slots are
// free (a registration, a release, a request), every pending request that
// fits in them is fulfilled, oldest first, and a request that does not fit
// keeps its place without blocking the smaller ones behind it (no
// head-of-line blocking: a job that waits for more slots than are free
// does not hold up every later, smaller job). The price is that a large
// request can be overtaken again and again while smaller ones keep taking
// the slots that free up; it is not reserved slots (that would bring the
// blocking back), but it keeps its place, so it is the first served once
// enough slots are free, and it cannot wait forever: it fails after
// slot.request.timeout, as in Flink. In Active mode overtaking costs no
// worker: workers are requested for the demand of all pending requests
// against all free slots, and since slots are interchangeable, once the
// requested workers have registered every pending request fits.
//
// In the failure of a timed-out request, n is the slots the request
// asked for, m every slot of the registered TaskManagers, allocated or
// free, and f the free ones: m < n says the cluster is too small for the
// request (add TaskManagers, or lower the parallelism), m >= n that it is
// too busy (other jobs hold the slots).
//
// The life of a worker in Active mode:
//
//	requested  RequestWorker, when the pending requests miss slots that
//	           free slots and requested workers do not cover
//	           → registered when its TaskManager registers
//	           → gone on WorkerFailed (a failed start: no worker is
//	             requested for Config.StartRetryInterval) or, with
//	             ReleaseWorker, after Config.RegistrationTimeout
//	registered → gone with ReleaseWorker once idle (every slot free) for
//	             Config.TaskManagerTimeout and not needed by a pending
//	             request
//	           → lost, with JobSlotsLost for every job on it, after
//	             Config.HeartbeatTimeout without a heartbeat or on
//	             TaskManagerLost (then ReleaseWorker), on WorkerFailed, or
//	             when it registers again (then registered anew)
//
// Invariants (TestRandomized checks 1 to 6 and 9 after every event of 1000
// random sequences of correct and incorrect events, in both modes; the
// scripts in testdata/, run by TestScripts, check them too and show each
// case):
//
//  1. A slot is allocated to at most one job, only by AllocateSlots, only
//     on a registered TaskManager, and stays allocated until ReleaseSlots
//     of its job or a JobSlotsLost naming it (scale.txt, standalone.txt).
//  2. Never more workers are requested than needed: a RequestWorker comes
//     only while the pending requests ask for more slots than are free
//     plus SlotsPerWorker for every requested worker not yet registered,
//     at most ceil(missing / SlotsPerWorker) of them, within
//     Config.MaxSlots; a WorkerID is never requested twice (overlap.txt,
//     scale.txt).
//  3. A released worker holds no allocated slot: every job with slots on
//     it got a JobSlotsLost first, and it is forgotten, so nothing is
//     allocated on it again and its registration is declined
//     (heartbeat.txt, reregister.txt).
//  4. In Standalone mode no worker is ever requested or released; slot
//     requests wait for registrations (standalone.txt).
//  5. Every slot request ends in exactly one AllocateSlots of exactly the
//     slots it asked for or one RequestFailed, or is cancelled by
//     ReleaseSlots. After every event no pending request fits in the free
//     slots; a request is fulfilled only when no older pending request
//     fits in the slots free at that moment, so requests that fit are
//     fulfilled in the order they came; after a Tick none is older than
//     Config.SlotRequestTimeout, and the RequestFailed of one that timed
//     out starts "not enough slots: needs n, the cluster has m" (nohol.txt,
//     timeout.txt, overlap.txt).
//  6. A TaskManager that goes (heartbeat timeout, TaskManagerLost,
//     WorkerFailed, registering again) yields one JobSlotsLost for every
//     job with slots on it, naming exactly those slots; after a Tick no
//     TaskManager is registered whose last heartbeat is
//     Config.HeartbeatTimeout old (heartbeat.txt, reregister.txt).
//  7. In Active mode a TaskManager is released for idleness only with
//     every slot free for Config.TaskManagerTimeout and only if the
//     pending requests do not need its slots (scale.txt, overlap.txt).
//  8. A worker that fails before registering, or does not register
//     within Config.RegistrationTimeout (counted from its request, or
//     from WorkerStarted), holds back new worker requests for
//     Config.StartRetryInterval (workers.txt).
//  9. Tick before NextDeadline does nothing; NextDeadline changes only
//     with events (TestRandomized).
//  10. The SlotManager is deterministic: no goroutines, no clock, no I/O,
//     nothing beyond the standard library's pure packages
//     (TestCoreIsDeterministic), the same events give the same actions
//     (TestSameEventsSameActions), and bad input is ignored and counted,
//     never a panic (TestRandomized, TestRegistrationErrors).
package resourcemanager
