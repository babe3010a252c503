package program

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/runnel-io/runnel/cluster/rest"
	"github.com/runnel-io/runnel/runtime/checkpoint"
)

// RemoteJob is a job submitted to a cluster, controlled through the
// JobManager's REST API.
type RemoteJob struct {
	id, name string
	c        *rest.Client
	stdout   io.Writer
}

// Submit sends the job to the JobManager's REST API: the program's binary
// (unless it is the runnel binary of the cluster), its arguments and
// configuration, and the plan's fingerprint, which every process of the
// job checks. It returns once the job is submitted. Only a client
// process submits.
func (p *Process) Submit(ctx context.Context, job Job) (*RemoteJob, error) {
	if p.Role != RoleClient {
		return nil, fmt.Errorf("program: a %s does not submit jobs", p.Role)
	}
	if job.Stdout == nil {
		job.Stdout = os.Stdout
	}
	plan := job.Graph.Plan(job.Name)
	wd, _ := os.Getwd()
	sub := rest.Submission{Name: job.Name, Builtin: p.Builtin, Args: os.Args[1:], Config: p.Config,
		WorkingDir: wd, Fingerprint: plan.Fingerprint}
	var program io.Reader
	if !p.Builtin {
		self, err := os.Executable()
		if err != nil {
			return nil, fmt.Errorf("program: the job's binary: %w", err)
		}
		f, err := os.Open(self)
		if err != nil {
			return nil, fmt.Errorf("program: the job's binary: %w", err)
		}
		defer f.Close()
		program = f
	}
	c := &rest.Client{Address: p.JobManager}
	id, err := c.Submit(ctx, sub, program)
	if err != nil {
		return nil, fmt.Errorf("program: submit job %q to %s: %w", job.Name, p.JobManager, err)
	}
	fmt.Fprintf(job.Stdout, "Job has been submitted with JobID %s\n", id)
	return &RemoteJob{id: id, name: job.Name, c: c, stdout: job.Stdout}, nil
}

// submit submits the job and, unless detached, waits for its end.
func submit(ctx context.Context, p *Process, job Job) error {
	r, err := p.Submit(ctx, job)
	if err != nil || p.Detached {
		return err
	}
	return r.Wait(ctx)
}

// ID is the job's ID.
func (r *RemoteJob) ID() string { return r.id }

// Wait waits for the job's end and returns nil if it finished (or was
// stopped with a savepoint), its failure otherwise.
func (r *RemoteJob) Wait(ctx context.Context) error {
	res, err := r.c.WaitResult(ctx, r.id, 200*time.Millisecond)
	if err != nil {
		return fmt.Errorf("program: job %s: %w", r.id, err)
	}
	switch res.ApplicationStatus {
	case "SUCCEEDED":
		fmt.Fprintf(r.stdout, "Job with JobID %s has finished.\nJob Runtime: %d ms\n", res.ID, res.NetRuntime)
		return nil
	case "CANCELED":
		return fmt.Errorf("program: job %q (%s) was cancelled: %w", r.name, res.ID, context.Canceled)
	}
	msg := "unknown cause"
	if res.FailureCause != nil {
		msg = res.FailureCause.StackTrace
	}
	return fmt.Errorf("program: job %q (%s) failed: %w", r.name, res.ID, errors.New(msg))
}

// Cancel cancels the job.
func (r *RemoteJob) Cancel(ctx context.Context) error { return r.c.Cancel(ctx, r.id) }

// TriggerSavepoint takes a savepoint into dir ("" for the default).
func (r *RemoteJob) TriggerSavepoint(ctx context.Context, dir string) (string, error) {
	return r.c.TriggerSavepoint(ctx, r.id, dir, false)
}

// StopWithSavepoint stops the job with a savepoint.
func (r *RemoteJob) StopWithSavepoint(ctx context.Context, dir string, drain bool) (string, error) {
	return r.c.StopWithSavepoint(ctx, r.id, dir, drain)
}

// TriggerCheckpoint takes a checkpoint now.
func (r *RemoteJob) TriggerCheckpoint(ctx context.Context) (int64, error) {
	return r.c.TriggerCheckpoint(ctx, r.id)
}

// CheckpointStats returns the job's checkpoint counts and latest
// checkpoints, as the REST API shows them.
func (r *RemoteJob) CheckpointStats(ctx context.Context) (checkpoint.Stats, error) {
	c, err := r.c.Checkpoints(ctx, r.id)
	if err != nil {
		return checkpoint.Stats{}, err
	}
	s := checkpoint.Stats{Triggered: c.Counts.Total, Completed: c.Counts.Completed, Failed: c.Counts.Failed, InProgress: int(c.Counts.InProgress)}
	if l := c.Latest.Completed; l != nil {
		s.LastCompletedID, s.LastCompletedLocation = l.ID, l.ExternalPath
		s.LastCompletedDuration = time.Duration(l.EndToEndDuration) * time.Millisecond
	}
	if l := c.Latest.Restored; l != nil {
		s.RestoredID, s.RestoredLocation = l.ID, l.ExternalPath
	}
	return s, nil
}

// Restarts is how many times the job restarted after a failure: the
// failures in its exception history, less the last one if it failed the
// job.
func (r *RemoteJob) Restarts(ctx context.Context) (int, error) {
	ex, err := r.c.Exceptions(ctx, r.id)
	if err != nil {
		return 0, err
	}
	n := len(ex.ExceptionHistory.Entries)
	if res, err := r.c.Result(ctx, r.id); err == nil && res != nil && res.ApplicationStatus == "FAILED" && n > 0 {
		n--
	}
	return n, nil
}
