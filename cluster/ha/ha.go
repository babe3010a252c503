package ha

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"

	"github.com/runnel-io/runnel/config"
)

// ErrClosed is returned by calls on closed services.
var ErrClosed = errors.New("ha: the services are closed")

// ErrNoLeader is returned by Leader when no one leads the component.
var ErrNoLeader = errors.New("ha: no leader")

// The components that elect a leader; a job's JobMaster elects as
// JobMaster(jobID).
const (
	Dispatcher      = "dispatcher"
	ResourceManager = "resourcemanager"
)

// JobMaster is the component name of the JobMaster of a job.
func JobMaster(jobID string) string { return "jobmaster-" + jobID }

// Services are a cluster's high-availability services. Every method is
// safe for concurrent use. See the package documentation for the
// contracts.
type Services interface {
	// Elect makes the caller the leader of component, announcing address
	// and a new leader session to Leader and WatchLeader; it waits while
	// another holds the leadership, and returns ctx's error wrapped if ctx
	// is done first, ErrClosed if the services close first. A caller whose
	// leadership is lost is no contender any more: it calls Elect again to
	// run again.
	Elect(ctx context.Context, component, address string) (Leadership, error)
	// Leader is the address and session the component's leader announced,
	// or an error matching ErrNoLeader if none is known.
	Leader(ctx context.Context, component string) (LeaderInfo, error)
	// WatchLeader delivers the component's leader, then each change: the
	// zero LeaderInfo while none is known. The channel holds only the
	// latest value (a slow reader skips intermediate leaders) and is
	// closed once ctx is done or the services are closed.
	WatchLeader(ctx context.Context, component string) <-chan LeaderInfo
	// Jobs keeps the jobs submitted and not yet ended.
	Jobs() JobStore
	// Checkpoints keeps a job's completed checkpoints.
	Checkpoints(jobID string) CheckpointStore
	// CheckpointIDs hands out a job's checkpoint IDs.
	CheckpointIDs(jobID string) CheckpointIDCounter
	// Results keeps the results of ended jobs.
	Results() JobResultStore
	// Close ends every leadership, closes the watches and releases the
	// services; the goroutines it started have returned when it returns.
	// The records the stores keep outlive it (but those of None).
	Close() error
}

// Leadership is one leadership of a component, from Elect until it is
// lost. Its methods are safe for concurrent use.
type Leadership interface {
	// Session is the leader session ID: random, new for every
	// leadership, announced with the address. It is the fencing token a
	// leader's calls carry (rpc.WithFencingToken).
	Session() string
	// Lost is closed when the leadership ends, for any reason: Resign,
	// Close, a lost connection to the coordination service. A leader must
	// stop acting as one once it is closed.
	Lost() <-chan struct{}
	// Resign gives the leadership up: Lost is closed when it returns. It
	// may be called more than once; an error says that the leadership is
	// given up but may still be announced for a while (until the
	// connection is back or its session expires).
	Resign() error
}

// LeaderInfo is what a leader announces: where it is reached and its
// leader session. The zero value means no leader.
type LeaderInfo struct {
	Address, Session string
}

// JobRecord is what recovers a job: its ID and its submission, opaque to
// the store.
type JobRecord struct {
	ID         string
	Submission []byte
}

// JobStore keeps the jobs a Dispatcher must recover. A job ID must be a
// non-empty string without "/".
type JobStore interface {
	// Put adds the job, or replaces the submission of a job put before.
	Put(ctx context.Context, r JobRecord) error
	// Remove removes the job; removing a job not stored does nothing.
	Remove(ctx context.Context, id string) error
	// List returns the jobs put and not removed, oldest first (a job put
	// again keeps its place). The caller owns the slices returned.
	List(ctx context.Context) ([]JobRecord, error)
}

// Checkpoint is a pointer to a completed checkpoint: its ID and where it
// lies.
type Checkpoint struct {
	ID       int64
	Location string
}

// CheckpointStore keeps the completed checkpoints of one job: the
// authority on which checkpoints a job recovers from, not a scan of the
// checkpoint directory.
type CheckpointStore interface {
	// Add adds a checkpoint, or replaces the location of one of its ID.
	Add(ctx context.Context, id int64, location string) error
	// Latest is the checkpoint with the highest ID; ok is false if none.
	Latest(ctx context.Context) (c Checkpoint, ok bool, err error)
	// All is every checkpoint, by ascending ID.
	All(ctx context.Context) ([]Checkpoint, error)
	// Remove removes a checkpoint (not its files); removing one not
	// stored does nothing.
	Remove(ctx context.Context, id int64) error
}

// CheckpointIDCounter hands out one job's checkpoint IDs, across
// JobMasters: a new JobMaster of the job never reuses an ID. IDs start at
// 1.
type CheckpointIDCounter interface {
	// GetAndIncrement returns the next ID and counts it as used.
	GetAndIncrement(ctx context.Context) (int64, error)
	// SetAtLeast makes the next ID at least id, as after restoring
	// checkpoint id-1; it never lowers it.
	SetAtLeast(ctx context.Context, id int64) error
}

// JobResult is the record of an ended job, opaque to the store: what
// keeps a job that ended before a failover from being run again or
// forgotten.
type JobResult struct {
	ID     string
	Result []byte
}

// JobResultStore keeps the results of ended jobs. A job ID is as in
// JobStore.
type JobResultStore interface {
	// Put adds the result, or replaces the one of its job.
	Put(ctx context.Context, r JobResult) error
	// Get is the result of the job; ok is false if none is stored.
	Get(ctx context.Context, id string) (r JobResult, ok bool, err error)
	// List returns every result, oldest first.
	List(ctx context.Context) ([]JobResult, error)
	// Remove removes a job's result; removing one not stored does
	// nothing.
	Remove(ctx context.Context, id string) error
}

// Opener opens the services of a high-availability.type from the
// configuration, logging to log.
type Opener func(conf *config.Configuration, log *slog.Logger) (Services, error)

var (
	openersMu sync.Mutex
	openers   = map[string]Opener{}
)

// Register makes New open the services of kind (as
// config.HighAvailabilityType spells it, e.g. "ZOOKEEPER") with open. An
// implementation registers itself in its package's init, so that a
// program links it by importing the package; Register panics if kind is
// registered already.
func Register(kind string, open Opener) {
	openersMu.Lock()
	defer openersMu.Unlock()
	if _, dup := openers[kind]; dup {
		panic("ha: " + kind + " is registered twice")
	}
	openers[kind] = open
}

// New returns the services that config.HighAvailabilityType names in
// conf: None for NONE, else the implementation registered for the type
// (ZOOKEEPER: package cluster/ha/zookeeper). Its errors name the key that
// is wrong.
func New(conf *config.Configuration, log *slog.Logger) (Services, error) {
	kind, err := config.Get(conf, config.HighAvailabilityType)
	if err != nil {
		return nil, fmt.Errorf("ha: %w", err)
	}
	if kind == "NONE" {
		return NewNone(), nil
	}
	openersMu.Lock()
	open := openers[kind]
	openersMu.Unlock()
	if open == nil {
		return nil, fmt.Errorf("ha: %s %s: the implementation is not linked into this program", config.HighAvailabilityType, kind)
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return open(conf, log)
}
