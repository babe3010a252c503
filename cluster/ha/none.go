package ha

import (
	"context"
	"fmt"
	"slices"
	"sync"
)

// None is the services of a cluster without high availability: leaders
// and records live in this process's memory.
type None struct {
	mu      sync.Mutex
	closed  bool
	leaders map[string]*leadership
	free    chan struct{} // closed and replaced whenever a leadership ends
	jobs    []JobRecord
	cps     map[string]*checkpoints
}

var _ Services = (*None)(nil)

// NewNone returns services without high availability.
func NewNone() *None {
	return &None{leaders: map[string]*leadership{}, free: make(chan struct{}), cps: map[string]*checkpoints{}}
}

type leadership struct {
	n       *None
	name    string
	address string
	lost    chan struct{}
	once    sync.Once
}

func (l *leadership) Lost() <-chan struct{} { return l.lost }

func (l *leadership) Resign() error {
	l.n.mu.Lock()
	defer l.n.mu.Unlock()
	l.end()
	return nil
}

// end ends the leadership; n.mu is held.
func (l *leadership) end() {
	l.once.Do(func() {
		close(l.lost)
		if l.n.leaders[l.name] == l {
			delete(l.n.leaders, l.name)
		}
		close(l.n.free)
		l.n.free = make(chan struct{})
	})
}

// Elect makes the caller the component's leader once no one else is.
func (n *None) Elect(ctx context.Context, component, address string) (Leadership, error) {
	for {
		n.mu.Lock()
		if n.closed {
			n.mu.Unlock()
			return nil, ErrClosed
		}
		if n.leaders[component] == nil {
			l := &leadership{n: n, name: component, address: address, lost: make(chan struct{})}
			n.leaders[component] = l
			n.mu.Unlock()
			return l, nil
		}
		free := n.free
		n.mu.Unlock()
		select {
		case <-free:
		case <-ctx.Done():
			return nil, fmt.Errorf("ha: elect %s: %w", component, ctx.Err())
		}
	}
}

// LeaderAddress is the address of the component's leader.
func (n *None) LeaderAddress(_ context.Context, component string) (string, error) {
	n.mu.Lock()
	defer n.mu.Unlock()
	if l := n.leaders[component]; l != nil {
		return l.address, nil
	}
	return "", fmt.Errorf("%w of %s", ErrNoLeader, component)
}

// Jobs keeps jobs in memory.
func (n *None) Jobs() JobStore { return jobStore{n} }

// Checkpoints keeps a job's checkpoints in memory.
func (n *None) Checkpoints(jobID string) CheckpointStore {
	n.mu.Lock()
	defer n.mu.Unlock()
	c := n.cps[jobID]
	if c == nil {
		c = &checkpoints{n: n, id: -1}
		n.cps[jobID] = c
	}
	return c
}

// Close ends every leadership.
func (n *None) Close() error {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.closed = true
	for _, l := range n.leaders {
		l.end()
	}
	return nil
}

type jobStore struct{ n *None }

func (s jobStore) Put(_ context.Context, r JobRecord) error {
	s.n.mu.Lock()
	defer s.n.mu.Unlock()
	if s.n.closed {
		return ErrClosed
	}
	r.Submission = slices.Clone(r.Submission)
	if i := slices.IndexFunc(s.n.jobs, func(x JobRecord) bool { return x.ID == r.ID }); i >= 0 {
		s.n.jobs[i] = r
		return nil
	}
	s.n.jobs = append(s.n.jobs, r)
	return nil
}

func (s jobStore) Remove(_ context.Context, id string) error {
	s.n.mu.Lock()
	defer s.n.mu.Unlock()
	if s.n.closed {
		return ErrClosed
	}
	s.n.jobs = slices.DeleteFunc(s.n.jobs, func(x JobRecord) bool { return x.ID == id })
	return nil
}

func (s jobStore) List(context.Context) ([]JobRecord, error) {
	s.n.mu.Lock()
	defer s.n.mu.Unlock()
	if s.n.closed {
		return nil, ErrClosed
	}
	return slices.Clone(s.n.jobs), nil
}

type checkpoints struct {
	n        *None
	id       int64
	location string
}

func (c *checkpoints) Add(_ context.Context, id int64, location string) error {
	c.n.mu.Lock()
	defer c.n.mu.Unlock()
	if c.n.closed {
		return ErrClosed
	}
	if id > c.id {
		c.id, c.location = id, location
	}
	return nil
}

func (c *checkpoints) Latest(context.Context) (int64, string, bool, error) {
	c.n.mu.Lock()
	defer c.n.mu.Unlock()
	if c.n.closed {
		return 0, "", false, ErrClosed
	}
	return c.id, c.location, c.id >= 0, nil
}
