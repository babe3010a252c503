package stream

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/runnel-io/runnel/cluster/program"
)

// The process's role in a cluster, read once from program.EnvVar: nil
// for a program run by itself, which runs its jobs on the embedded
// mini-cluster.
var cluster struct {
	once sync.Once
	p    *program.Process
	err  error
}

func processRole() (*program.Process, error) {
	cluster.once.Do(func() { cluster.p, cluster.err = program.FromEnv() })
	if cluster.err != nil {
		return nil, fmt.Errorf("stream: %w", cluster.err)
	}
	return cluster.p, nil
}

// clusterProcess is the process's role if it has a part in a cluster;
// nil for a program run by itself or with program.RoleLocal.
func clusterProcess() (*program.Process, error) {
	p, err := processRole()
	if err != nil || p == nil || p.Role == program.RoleLocal {
		return nil, err
	}
	return p, nil
}

// clusterJob builds the job for process p: the graph, and, in the
// processes that run it, its checkpoint storage, which must be a
// directory every process reaches (state.checkpoints.dir): a temporary
// one would be another directory in each.
func (e *Environment) clusterJob(p *program.Process, name string) (program.Job, func(), error) {
	sg, err := e.StreamGraph()
	if err != nil {
		return program.Job{}, nil, err
	}
	jg, err := sg.JobGraph()
	if err != nil {
		return program.Job{}, nil, fmt.Errorf("stream: job %q: %w", name, err)
	}
	opts := e.mini
	opts.Logger = e.logger
	cleanup := func() {}
	if p.Role != program.RoleClient {
		if cleanup, err = e.checkpointOptions(&opts, true); err != nil {
			return program.Job{}, nil, fmt.Errorf("stream: job %q: %w", name, err)
		}
	}
	return program.Job{Name: name, Graph: jg, Options: opts, Stdout: e.stdout}, cleanup, nil
}

// executeOn plays the process's part of the job on a cluster.
func (e *Environment) executeOn(ctx context.Context, p *program.Process, name string) error {
	job, cleanup, err := e.clusterJob(p, name)
	if err != nil {
		return err
	}
	defer cleanup()
	if err := p.Execute(ctx, job); err != nil {
		return fmt.Errorf("stream: job %q: %w", name, err)
	}
	return nil
}

// executeAsyncOn submits the job to the cluster and returns its client;
// in the cluster's own processes it plays their part, as Execute.
func (e *Environment) executeAsyncOn(ctx context.Context, p *program.Process, name string) (*JobClient, error) {
	if p.Role != program.RoleClient {
		return nil, e.executeOn(ctx, p, name)
	}
	job, cleanup, err := e.clusterJob(p, name)
	if err != nil {
		return nil, err
	}
	r, err := p.Submit(ctx, job)
	if err != nil {
		cleanup()
		return nil, fmt.Errorf("stream: job %q: %w", name, err)
	}
	ctx, cancel := context.WithCancel(ctx)
	c := &JobClient{name: name, job: remoteJob{r}, done: make(chan struct{}), cleanup: cleanup}
	c.cancel = func() {
		cctx, ccancel := context.WithTimeout(context.WithoutCancel(ctx), time.Minute)
		defer ccancel()
		_ = r.Cancel(cctx)
	}
	go func() {
		defer close(c.done)
		defer cancel()
		defer cleanup()
		if err := r.Wait(ctx); err != nil {
			c.err = fmt.Errorf("stream: job %q: %w", name, err)
		}
	}()
	return c, nil
}

// remoteJob adapts a job on a cluster to the JobClient.
type remoteJob struct{ *program.RemoteJob }

func (r remoteJob) Restarts() int {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	n, _ := r.RemoteJob.Restarts(ctx)
	return n
}

var _ jobHandle = remoteJob{}
