package minicluster

import (
	"context"
	"fmt"
	"io"
	"sync"

	"github.com/runnel-io/runnel/cluster/jobmaster"
	"github.com/runnel-io/runnel/runtime/job"
)

// Executor runs jobs on the embedded mini-cluster: each job in this
// process, on a Job of its own. The zero value is ready to use.
type Executor struct{}

// Mode is job.InProcess.
func (Executor) Mode() job.Mode { return job.InProcess }

// Execute deploys j and runs it until it ends, ctx is done or the handle
// cancels it. Each failure and restart of the job is a line on j.Stderr.
func (x Executor) Execute(ctx context.Context, j *job.Job) (job.Handle, error) {
	stderr := j.Stderr
	if stderr == nil {
		stderr = io.Discard
	}
	var mu sync.Mutex
	listener := func(a jobmaster.Action) {
		if f, ok := a.(jobmaster.Failure); ok {
			mu.Lock()
			fmt.Fprintln(stderr, f.Line(j.Name))
			mu.Unlock()
		}
	}
	mj, err := Deploy(j.Name, j.Graph, j.Config, listener)
	if err != nil {
		return nil, err
	}
	h := &handle{Job: mj, done: make(chan struct{})}
	go func() {
		defer close(h.done)
		h.err = mj.Run(ctx)
	}()
	return h, nil
}

// handle is a job.Handle of a Job that runs.
type handle struct {
	*Job
	done chan struct{}
	err  error
}

func (h *handle) Wait() error {
	<-h.done
	return h.err
}

var (
	_ job.Handle   = (*handle)(nil)
	_ job.Executor = Executor{}
)
