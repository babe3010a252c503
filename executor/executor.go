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
		return &processExecutor{x: minicluster.Executor{}, conf: p.Config}, nil
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
