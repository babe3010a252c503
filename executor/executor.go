// Package executor decides where the jobs of a program run: on the
// embedded mini-cluster, or in the part a cluster gave the process. The
// runnel binary and a cluster's TaskManagers start a job's program with
// the environment variable program.EnvVar describing that part (a
// client that submits, the job's JobMaster, a worker running some of its
// subtasks, or a local run configured by the command line); a program
// started any other way runs its jobs on the mini-cluster.
//
// The process's part is read once, when FromProcess is first called, and
// never changes; package stream's NewEnvironment asks for it, so that a
// job's program needs no code of its own to run on a cluster.
package executor

import (
	"fmt"
	"maps"
	"sync"

	"github.com/runnel-io/runnel/cluster/minicluster"
	"github.com/runnel-io/runnel/cluster/program"
	"github.com/runnel-io/runnel/runtime/job"
)

// Local returns the executor of the embedded mini-cluster.
func Local() job.Executor { return minicluster.Executor{} }

// process is the process's part, read once.
var process = sync.OnceValues(func() (*processExecutor, error) {
	p, err := program.FromEnv()
	if err != nil {
		return nil, fmt.Errorf("executor: %w", err)
	}
	if p == nil {
		return &processExecutor{x: Local()}, nil
	}
	if p.Role == program.RoleLocal {
		return &processExecutor{x: minicluster.Executor{Started: p.NoteRun}, conf: p.Config}, nil
	}
	return &processExecutor{x: program.NewExecutor(p), conf: p.Config}, nil
})

type processExecutor struct {
	x    job.Executor
	conf map[string]string
}

// FromProcess returns the executor of the process's part and the
// configuration, by Flink's keys, that its jobs start with (what the
// command line asked for, and the cluster's settings). Every call returns
// the same executor; the map is the caller's.
func FromProcess() (job.Executor, map[string]string, error) {
	pe, err := process()
	if err != nil {
		return nil, nil, err
	}
	return pe.x, maps.Clone(pe.conf), nil
}
