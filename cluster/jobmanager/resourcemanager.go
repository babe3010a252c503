package jobmanager

import (
	"context"
	"errors"
	"fmt"
	"log/slog"

	rm "github.com/runnel-io/runnel/cluster/resourcemanager"
	"github.com/runnel-io/runnel/internal/serial"
	"github.com/runnel-io/runnel/runtime/clock"
)

// Listener hears what the resource manager decided for jobs. Its methods
// are called from the service's goroutine and must not block.
type Listener interface {
	SlotsAllocated(a rm.AllocateSlots)
	SlotsLost(l rm.JobSlotsLost)
	RequestFailed(f rm.RequestFailed)
}

// Service runs the resource manager: a SlotManager and its Driver. One
// goroutine (Run) owns the core; registrations, heartbeats, requests and
// the driver's events are queued for it. Its methods are safe for
// concurrent use.
type Service struct {
	sm       *rm.SlotManager
	driver   rm.Driver
	clk      clock.Clock
	log      *slog.Logger
	listener Listener

	loop *serial.Loop // the goroutine that owns the core
}

// NewService returns the service of a resource manager with driver;
// listener hears the jobs' allocations (nil: no one).
func NewService(cfg rm.Config, driver rm.Driver, listener Listener, clk clock.Clock, log *slog.Logger) (*Service, error) {
	mode := rm.Standalone
	if driver.CanStartWorkers() {
		mode = rm.Active
	}
	sm, err := rm.New(cfg, mode)
	if err != nil {
		return nil, err
	}
	if clk == nil {
		clk = clock.System{}
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Service{sm: sm, driver: driver, clk: clk, log: log, listener: listener, loop: serial.New()}, nil
}

// ErrStopped is returned by calls on a service whose Run returned.
var ErrStopped = serial.ErrStopped

func (s *Service) now() int64 { return s.clk.Now().UnixMilli() }

func (s *Service) do(fn func()) { s.loop.Do(fn) }

// call runs fn on the service's goroutine and waits for it.
func (s *Service) call(ctx context.Context, fn func()) error { return s.loop.Call(ctx, fn) }

// Run starts the driver and serves until ctx is done; then it closes the
// driver (the process driver stops its workers) and returns.
func (s *Service) Run(ctx context.Context) error {
	if err := s.driver.Start(ctx, events{s}); err != nil {
		return fmt.Errorf("jobmanager: start the resource manager driver: %w", err)
	}
	defer func() {
		if err := s.driver.Close(); err != nil {
			s.log.Warn("closing the resource manager's driver", "error", err)
		}
	}()
	s.loop.Run(ctx, s.clk, func() (int64, bool) {
		s.sm.Tick(s.now())
		s.act(ctx)
		return s.sm.NextDeadline()
	})
	return nil
}

// act carries out the core's actions.
func (s *Service) act(ctx context.Context) {
	for _, a := range s.sm.Ready() {
		switch a := a.(type) {
		case rm.RequestWorker:
			if err := s.driver.RequestWorker(ctx, a.Worker, a.Spec); err != nil {
				s.log.Warn("requesting a worker", "worker", a.Worker, "error", err)
				s.sm.WorkerFailed(s.now(), a.Worker, err)
			} else {
				s.log.Info("requested a worker", "worker", a.Worker, "slots", a.Spec.Slots)
			}
		case rm.ReleaseWorker:
			s.log.Info("releasing a worker", "worker", a.Worker, "reason", a.Reason)
			if err := s.driver.ReleaseWorker(ctx, a.Worker); err != nil && !errors.Is(err, rm.ErrCannotStartWorkers) {
				s.log.Warn("releasing a worker", "worker", a.Worker, "error", err)
			}
		case rm.AllocateSlots:
			if s.listener != nil {
				s.listener.SlotsAllocated(a)
			}
		case rm.JobSlotsLost:
			s.log.Warn("a job lost slots", "job", a.Job, "taskmanager", a.TaskManager, "reason", a.Reason)
			if s.listener != nil {
				s.listener.SlotsLost(a)
			}
		case rm.RequestFailed:
			if s.listener != nil {
				s.listener.RequestFailed(a)
			}
		case rm.Warn:
			s.log.Warn("resource manager", "reason", a.Reason)
		}
	}
}

// RegisterTaskManager registers a TaskManager offering slots at address.
func (s *Service) RegisterTaskManager(ctx context.Context, id rm.WorkerID, address string, slots int) error {
	var err error
	if cerr := s.call(ctx, func() {
		err = s.sm.RegisterTaskManager(s.now(), id, address, slots)
		if err == nil {
			s.log.Info("task manager registered", "taskmanager", id, "address", address, "slots", slots)
		}
	}); cerr != nil {
		return cerr
	}
	return err
}

// Heartbeat records a TaskManager's heartbeat; an error means that the
// resource manager does not know it (any more): it must register again.
func (s *Service) Heartbeat(ctx context.Context, id rm.WorkerID) error {
	var err error
	if cerr := s.call(ctx, func() { err = s.sm.Heartbeat(s.now(), id) }); cerr != nil {
		return cerr
	}
	return err
}

// RequestSlots asks for n slots for job; the Listener hears the outcome.
func (s *Service) RequestSlots(job rm.JobID, n int) {
	s.do(func() { s.sm.RequestSlots(s.now(), job, n) })
}

// TaskManagerLost takes TaskManager id as lost now: a job master cannot
// reach it.
func (s *Service) TaskManagerLost(id rm.WorkerID) {
	s.do(func() { s.sm.TaskManagerLost(s.now(), id) })
}

// ReleaseSlots frees every slot of job.
func (s *Service) ReleaseSlots(job rm.JobID) { s.do(func() { s.sm.ReleaseSlots(s.now(), job) }) }

// TaskManagers describes the registered TaskManagers.
func (s *Service) TaskManagers(ctx context.Context) ([]rm.TaskManagerInfo, error) {
	var tms []rm.TaskManagerInfo
	err := s.call(ctx, func() { tms = s.sm.TaskManagers() })
	return tms, err
}

// SlotsOf returns how many slots of TaskManager tm job holds now.
func (s *Service) SlotsOf(ctx context.Context, tm rm.WorkerID, job rm.JobID) (int, error) {
	var n int
	err := s.call(ctx, func() { n = s.sm.SlotsOf(tm, job) })
	return n, err
}

// Stats returns the core's counters.
func (s *Service) Stats(ctx context.Context) (rm.Stats, error) {
	var st rm.Stats
	err := s.call(ctx, func() { st = s.sm.Stats() })
	return st, err
}

// events queues the driver's reports for the service's goroutine.
type events struct{ s *Service }

func (e events) WorkerStarted(id rm.WorkerID) {
	e.s.do(func() { e.s.sm.WorkerStarted(e.s.now(), id) })
}

func (e events) WorkerFailed(id rm.WorkerID, err error) {
	e.s.do(func() { e.s.sm.WorkerFailed(e.s.now(), id, err) })
}
