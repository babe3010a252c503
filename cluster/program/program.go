package program

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"

	"github.com/runnel-io/runnel/cluster/minicluster"
	"github.com/runnel-io/runnel/runtime/graph"
)

// Job is a job as a program's environment hands it over: its graph and
// how it runs (checkpoints, restarts, restore, network buffers), the
// options it would run with on the mini-cluster.
type Job struct {
	Name    string
	Graph   *graph.JobGraph
	Options minicluster.Options
	// Stdout receives what the client prints (the job's ID and result).
	Stdout io.Writer
}

// exit ends the process; tests replace it.
var exit = os.Exit

// Execute plays the process's role for job. As a client it returns when
// the job has ended (at once when detached), with the job's failure. As a
// JobMaster or a worker it never returns: the process exits when its part
// of the job is over, with status 0 or, after logging the failure, 1, so
// that nothing the program does after starting its job runs twice.
func (p *Process) Execute(ctx context.Context, job Job) error {
	if job.Stdout == nil {
		job.Stdout = os.Stdout
	}
	if p.Role == RoleClient {
		return submit(ctx, p, job)
	}
	log := slog.New(slog.NewTextHandler(os.Stderr, nil)).With("job", p.JobID)
	var err error
	switch p.Role {
	case RoleJobMaster:
		err = runJobMaster(ctx, p, job, log)
	case RoleWorker:
		err = runWorker(ctx, p, job, log)
	default:
		err = fmt.Errorf("program: unknown role %q", p.Role)
	}
	if err != nil {
		log.Error("the "+string(p.Role)+" failed", "error", err)
		exit(1)
	} else {
		exit(0)
	}
	return err // only with a replaced exit
}
