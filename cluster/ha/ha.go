package ha

import (
	"context"
	"errors"
	"fmt"
	"strings"
)

// ErrClosed is returned by calls on closed services.
var ErrClosed = errors.New("ha: the services are closed")

// ErrNoLeader is returned by LeaderAddress when no one leads the component.
var ErrNoLeader = errors.New("ha: no leader")

// The components that elect a leader; a job's JobMaster elects as
// JobMaster(jobID).
const (
	Dispatcher      = "dispatcher"
	ResourceManager = "resourcemanager"
)

// JobMaster is the component name of the JobMaster of a job.
func JobMaster(jobID string) string { return "jobmaster-" + jobID }

// Services are a cluster's high-availability services. See the package
// documentation for the contracts.
type Services interface {
	// Elect makes the caller the leader of component, announcing address
	// to LeaderAddress; it waits while another holds the leadership.
	Elect(ctx context.Context, component, address string) (Leadership, error)
	// LeaderAddress is the address the component's leader announced.
	LeaderAddress(ctx context.Context, component string) (string, error)
	// Jobs keeps the jobs submitted and not yet ended.
	Jobs() JobStore
	// Checkpoints keeps a job's completed checkpoints.
	Checkpoints(jobID string) CheckpointStore
	// Close ends every leadership and releases the services.
	Close() error
}

// Leadership is a component's leadership.
type Leadership interface {
	// Lost is closed when the leadership ends.
	Lost() <-chan struct{}
	// Resign gives the leadership up.
	Resign() error
}

// JobRecord is what recovers a job: its ID and its submission, opaque to
// the store.
type JobRecord struct {
	ID         string
	Submission []byte
}

// JobStore keeps the jobs a Dispatcher must recover.
type JobStore interface {
	Put(ctx context.Context, r JobRecord) error
	Remove(ctx context.Context, id string) error
	List(ctx context.Context) ([]JobRecord, error)
}

// CheckpointStore keeps the completed checkpoints of one job: a pointer
// (ID and location) per checkpoint.
type CheckpointStore interface {
	Add(ctx context.Context, id int64, location string) error
	// Latest is the checkpoint with the highest ID; ok is false if none.
	Latest(ctx context.Context) (id int64, location string, ok bool, err error)
}

// New returns the services of high-availability.type kind ("NONE" or
// "ZOOKEEPER", any case).
func New(kind string) (Services, error) {
	switch strings.ToUpper(kind) {
	case "", "NONE":
		return NewNone(), nil
	case "ZOOKEEPER":
		return nil, errors.New("ha: high-availability.type ZOOKEEPER is not supported yet; use NONE")
	}
	return nil, fmt.Errorf("ha: high-availability.type %q: want NONE or ZOOKEEPER", kind)
}
