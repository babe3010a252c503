package program

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"sync"
	"time"

	"github.com/runnel-io/runnel/cluster/jobmaster"
	"github.com/runnel-io/runnel/cluster/rest"
	"github.com/runnel-io/runnel/cluster/security"
	"github.com/runnel-io/runnel/runtime/checkpoint"
	"github.com/runnel-io/runnel/runtime/job"
)

// RemoteJob is a job submitted to a cluster, controlled through the
// JobManager's REST API: a job.Handle.
type RemoteJob struct {
	id, name       string
	c              *rest.Client
	stdout, stderr io.Writer
	ctx            context.Context // Submit's, for Wait and Cancel
	detached       bool

	once sync.Once
	err  error
}

// Submit sends the job to the JobManager's REST API: the program's binary
// (unless it is the runnel binary of the cluster), its arguments and
// configuration, and the plan's fingerprint, which every process of the
// job checks. It returns once the job is submitted, after noting its ID
// in the process's SubmitLog, if any. Only a client process submits.
func (p *Process) Submit(ctx context.Context, j *job.Job) (*RemoteJob, error) {
	if p.Role != RoleClient {
		return nil, fmt.Errorf("program: a %s does not submit jobs", p.Role)
	}
	stdout, stderr := j.Stdout, j.Stderr
	if stdout == nil {
		stdout = io.Discard
	}
	if stderr == nil {
		stderr = io.Discard
	}
	plan := j.Graph.Plan(j.Name)
	wd, _ := os.Getwd()
	sub := rest.Submission{Name: j.Name, Builtin: p.Builtin, Args: os.Args[1:], Config: p.Config,
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
	var sec security.REST
	if p.REST != nil {
		sec = *p.REST
	}
	c, err := rest.NewClient(p.JobManager, sec)
	if err != nil {
		return nil, fmt.Errorf("program: submit job %q to %s: %w", j.Name, p.JobManager, err)
	}
	id, err := c.Submit(ctx, sub, program)
	if err != nil {
		return nil, fmt.Errorf("program: submit job %q to %s: %w", j.Name, p.JobManager, err)
	}
	if err := p.noteSubmitted(id); err != nil {
		return nil, err
	}
	fmt.Fprintf(stdout, "Job has been submitted with JobID %s\n", id)
	return &RemoteJob{id: id, name: j.Name, c: c, stdout: stdout, stderr: stderr, ctx: ctx, detached: p.Detached}, nil
}

// ID is the job's ID.
func (r *RemoteJob) ID() string { return r.id }

// Wait waits for the job's end and returns nil if it finished (or was
// stopped with a savepoint), its failure otherwise; a detached client's
// returns nil at once. Meanwhile it prints one line for each failure and
// restart of the job to the job's Stderr.
func (r *RemoteJob) Wait() error {
	if r.detached {
		return nil
	}
	r.once.Do(func() { r.err = r.wait(r.ctx) })
	return r.err
}

// waitPoll is how often a client asks for the job's end and failures.
const waitPoll = 200 * time.Millisecond

func (r *RemoteJob) wait(ctx context.Context) error {
	t := time.NewTicker(waitPoll)
	defer t.Stop()
	printed := 0
	for {
		res, err := r.c.Result(ctx, r.id)
		if err != nil {
			return fmt.Errorf("program: job %s: %w", r.id, err)
		}
		// The failures the history has now, after the result: an ended
		// job's are all there.
		if ex, err := r.c.Exceptions(ctx, r.id); err == nil {
			printed = r.printFailures(ex.ExceptionHistory.Entries, printed)
		}
		if res != nil {
			return r.result(res)
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("program: waiting for the result of job %s: %w", r.id, ctx.Err())
		case <-t.C:
		}
	}
}

// printFailures prints the entries (newest first) after the first
// printed ones, oldest first, and returns how many it has printed.
func (r *RemoteJob) printFailures(entries []rest.Exception, printed int) int {
	if len(entries) <= printed {
		return printed
	}
	fresh := slices.Clone(entries[:len(entries)-printed])
	slices.Reverse(fresh)
	for _, e := range fresh {
		fmt.Fprintln(r.stderr, jobmaster.FailureLine(r.name, e.FailureLabels["attempt"], e.Stacktrace, e.FailureLabels["restart"]))
	}
	return len(entries)
}

func (r *RemoteJob) result(res *rest.JobResult) error {
	switch res.ApplicationStatus {
	case "SUCCEEDED":
		fmt.Fprintf(r.stdout, "Job with JobID %s has finished.\nJob Runtime: %d ms\n", res.ID, res.NetRuntime)
		return nil
	case "CANCELED":
		return fmt.Errorf("program: job %q (%s) was cancelled: %w", r.name, res.ID, context.Canceled)
	}
	msg := "unknown cause"
	if res.FailureCause != nil && res.FailureCause.StackTrace != "" {
		msg = res.FailureCause.StackTrace
	}
	return fmt.Errorf("program: job %q (%s) failed: %w", r.name, res.ID, errors.New(msg))
}

// Cancel cancels the job; it does not wait for its end.
func (r *RemoteJob) Cancel() {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(r.ctx), time.Minute)
	defer cancel()
	_ = r.c.Cancel(ctx, r.id)
}

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
func (r *RemoteJob) Restarts() int {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(r.ctx), time.Minute)
	defer cancel()
	ex, err := r.c.Exceptions(ctx, r.id)
	if err != nil {
		return 0
	}
	n := len(ex.ExceptionHistory.Entries)
	if res, err := r.c.Result(ctx, r.id); err == nil && res != nil && res.ApplicationStatus == "FAILED" && n > 0 {
		n--
	}
	return n
}

var _ job.Handle = (*RemoteJob)(nil)
