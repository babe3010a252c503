package program

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"sync"

	"github.com/runnel-io/runnel/runtime/checkpoint"
	"github.com/runnel-io/runnel/runtime/job"
)

// ErrPartPlayed is returned by Execute in a JobMaster or worker process
// that has played its part already: a cluster starts such a process for
// one job, the first its program executes.
var ErrPartPlayed = errors.New("program: this process has played its part in its job; a program run by a cluster executes one job there")

// Executor plays a process's role in a cluster for the jobs its program
// executes: as a client it submits them, as a JobMaster or worker it runs
// its part of the one job it was started for. It is safe for concurrent
// use.
type Executor struct {
	p      *Process
	mu     sync.Mutex
	played bool
}

// NewExecutor returns the executor of process p, which must not have
// RoleLocal.
func NewExecutor(p *Process) *Executor { return &Executor{p: p} }

// Execute plays the process's role for j. As a client it submits j and
// returns its handle at once; Wait waits for the job's end (unless
// detached). As a JobMaster or a worker it plays its part: the handle's
// Wait returns when the part is over, with nil if it was played (the
// job's own failure is the Dispatcher's to report), with the part's
// failure otherwise. Execute never ends the process: the program's main
// decides its exit code.
func (x *Executor) Execute(ctx context.Context, j *job.Job) (job.Handle, error) {
	p := x.p
	if p.Role == RoleClient {
		return p.Submit(ctx, j)
	}
	x.mu.Lock()
	played := x.played
	x.played = true
	x.mu.Unlock()
	if played {
		return nil, ErrPartPlayed
	}
	log := slog.New(slog.NewTextHandler(os.Stderr, nil)).With("job", p.JobID)
	ctx, cancel := context.WithCancel(ctx)
	h := &part{id: p.JobID, cancel: cancel, done: make(chan struct{})}
	go func() {
		defer close(h.done)
		defer cancel()
		var err error
		switch p.Role {
		case RoleJobMaster:
			err = runJobMaster(ctx, p, j, log)
		case RoleWorker:
			err = runWorker(ctx, p, j, log)
		default:
			err = fmt.Errorf("program: unknown role %q", p.Role)
		}
		if err != nil {
			log.Error("the "+string(p.Role)+" failed", "error", err)
			h.err = fmt.Errorf("program: the %s of job %s: %w", p.Role, p.JobID, err)
		}
	}()
	return h, nil
}

// part is the handle of a JobMaster's or worker's part in a job: it
// controls nothing, the job's client does.
type part struct {
	id     string
	cancel context.CancelFunc
	done   chan struct{}
	err    error
}

var errNotClient = errors.New("program: the job is controlled through its client, not its JobMaster or workers")

func (h *part) ID() string { return h.id }
func (h *part) Wait() error {
	<-h.done
	return h.err
}
func (h *part) Cancel()                                                  { h.cancel() }
func (h *part) TriggerSavepoint(context.Context, string) (string, error) { return "", errNotClient }
func (h *part) StopWithSavepoint(context.Context, string, bool) (string, error) {
	return "", errNotClient
}
func (h *part) TriggerCheckpoint(context.Context) (int64, error) { return 0, errNotClient }
func (h *part) CheckpointStats(context.Context) (checkpoint.Stats, error) {
	return checkpoint.Stats{}, errNotClient
}
func (h *part) Restarts() int { return 0 }

// Mode is job.Submit for a client, job.Distributed for a JobMaster or a
// worker.
func (x *Executor) Mode() job.Mode {
	if x.p.Role == RoleClient {
		return job.Submit
	}
	return job.Distributed
}
