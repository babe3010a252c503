package ha

import (
	"cmp"
	"context"
	"crypto/rand"
	"fmt"
	"slices"
	"sync"

	"github.com/runnel-io/runnel/cluster/ha/internal/latest"
)

// None is the services of a cluster without high availability: leaders
// and records live in this process's memory.
type None struct {
	mu      sync.Mutex
	closed  bool
	done    chan struct{} // closed by Close
	leaders map[string]*leadership
	changed chan struct{} // closed and replaced whenever a leadership starts or ends
	jobs    []JobRecord
	results []JobResult
	cps     map[string]*checkpoints
	ids     map[string]*counter
	watches sync.WaitGroup
}

var _ Services = (*None)(nil)

// NewNone returns services without high availability.
func NewNone() *None {
	return &None{leaders: map[string]*leadership{}, done: make(chan struct{}), changed: make(chan struct{}),
		cps: map[string]*checkpoints{}, ids: map[string]*counter{}}
}

type leadership struct {
	n    *None
	name string
	info LeaderInfo
	lost chan struct{}
	once sync.Once
}

func (l *leadership) Session() string       { return l.info.Session }
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
		l.n.change()
	})
}

// change wakes the waiters on a leadership; n.mu is held.
func (n *None) change() {
	close(n.changed)
	n.changed = make(chan struct{})
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
			l := &leadership{n: n, name: component, info: LeaderInfo{address, rand.Text()}, lost: make(chan struct{})}
			n.leaders[component] = l
			n.change()
			n.mu.Unlock()
			return l, nil
		}
		changed := n.changed
		n.mu.Unlock()
		select {
		case <-changed:
		case <-ctx.Done():
			return nil, fmt.Errorf("ha: elect %s: %w", component, ctx.Err())
		}
	}
}

// Leader is the address and session of the component's leader.
func (n *None) Leader(_ context.Context, component string) (LeaderInfo, error) {
	n.mu.Lock()
	defer n.mu.Unlock()
	if l := n.leaders[component]; l != nil {
		return l.info, nil
	}
	return LeaderInfo{}, fmt.Errorf("%w of %s", ErrNoLeader, component)
}

// WatchLeader follows the component's leader in this process.
func (n *None) WatchLeader(ctx context.Context, component string) <-chan LeaderInfo {
	out := latest.New[LeaderInfo]()
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.closed {
		out.Close()
		return out.C()
	}
	n.watches.Add(1)
	go func() {
		defer n.watches.Done()
		defer out.Close()
		first, last := true, LeaderInfo{}
		for {
			n.mu.Lock()
			var cur LeaderInfo
			if l := n.leaders[component]; l != nil {
				cur = l.info
			}
			changed := n.changed
			n.mu.Unlock()
			if first || cur != last {
				out.Send(cur)
				first, last = false, cur
			}
			select {
			case <-changed:
			case <-ctx.Done():
				return
			case <-n.done:
				return
			}
		}
	}()
	return out.C()
}

// Jobs keeps jobs in memory.
func (n *None) Jobs() JobStore { return jobStore{n} }

// Results keeps job results in memory.
func (n *None) Results() JobResultStore { return resultStore{n} }

// Checkpoints keeps a job's checkpoints in memory.
func (n *None) Checkpoints(jobID string) CheckpointStore {
	n.mu.Lock()
	defer n.mu.Unlock()
	c := n.cps[jobID]
	if c == nil {
		c = &checkpoints{n: n}
		n.cps[jobID] = c
	}
	return c
}

// CheckpointIDs counts a job's checkpoint IDs in memory.
func (n *None) CheckpointIDs(jobID string) CheckpointIDCounter {
	n.mu.Lock()
	defer n.mu.Unlock()
	c := n.ids[jobID]
	if c == nil {
		c = &counter{n: n, next: 1}
		n.ids[jobID] = c
	}
	return c
}

// Close ends every leadership and closes the watches.
func (n *None) Close() error {
	n.mu.Lock()
	if !n.closed {
		n.closed = true
		close(n.done)
		for _, l := range n.leaders {
			l.end()
		}
	}
	n.mu.Unlock()
	n.watches.Wait()
	return nil
}

// locked runs fn with n.mu held, unless n is closed.
func (n *None) locked(fn func()) error {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.closed {
		return ErrClosed
	}
	fn()
	return nil
}

type jobStore struct{ n *None }

func (s jobStore) Put(_ context.Context, r JobRecord) error {
	r.Submission = slices.Clone(r.Submission)
	return s.n.locked(func() {
		if i := slices.IndexFunc(s.n.jobs, func(x JobRecord) bool { return x.ID == r.ID }); i >= 0 {
			s.n.jobs[i] = r
			return
		}
		s.n.jobs = append(s.n.jobs, r)
	})
}

func (s jobStore) Remove(_ context.Context, id string) error {
	return s.n.locked(func() {
		s.n.jobs = slices.DeleteFunc(s.n.jobs, func(x JobRecord) bool { return x.ID == id })
	})
}

func (s jobStore) List(context.Context) ([]JobRecord, error) {
	var out []JobRecord
	err := s.n.locked(func() {
		for _, r := range s.n.jobs {
			out = append(out, JobRecord{r.ID, slices.Clone(r.Submission)})
		}
	})
	return out, err
}

type resultStore struct{ n *None }

func (s resultStore) Put(_ context.Context, r JobResult) error {
	r.Result = slices.Clone(r.Result)
	return s.n.locked(func() {
		if i := slices.IndexFunc(s.n.results, func(x JobResult) bool { return x.ID == r.ID }); i >= 0 {
			s.n.results[i] = r
			return
		}
		s.n.results = append(s.n.results, r)
	})
}

func (s resultStore) Get(_ context.Context, id string) (JobResult, bool, error) {
	var out JobResult
	var ok bool
	err := s.n.locked(func() {
		if i := slices.IndexFunc(s.n.results, func(x JobResult) bool { return x.ID == id }); i >= 0 {
			out, ok = JobResult{id, slices.Clone(s.n.results[i].Result)}, true
		}
	})
	return out, ok, err
}

func (s resultStore) List(context.Context) ([]JobResult, error) {
	var out []JobResult
	err := s.n.locked(func() {
		for _, r := range s.n.results {
			out = append(out, JobResult{r.ID, slices.Clone(r.Result)})
		}
	})
	return out, err
}

func (s resultStore) Remove(_ context.Context, id string) error {
	return s.n.locked(func() {
		s.n.results = slices.DeleteFunc(s.n.results, func(x JobResult) bool { return x.ID == id })
	})
}

type checkpoints struct {
	n   *None
	all []Checkpoint // by ascending ID
}

func (c *checkpoints) Add(_ context.Context, id int64, location string) error {
	return c.n.locked(func() {
		i, found := slices.BinarySearchFunc(c.all, id, func(x Checkpoint, id int64) int { return cmp.Compare(x.ID, id) })
		if found {
			c.all[i].Location = location
			return
		}
		c.all = slices.Insert(c.all, i, Checkpoint{id, location})
	})
}

func (c *checkpoints) Latest(context.Context) (Checkpoint, bool, error) {
	var out Checkpoint
	var ok bool
	err := c.n.locked(func() {
		if len(c.all) > 0 {
			out, ok = c.all[len(c.all)-1], true
		}
	})
	return out, ok, err
}

func (c *checkpoints) All(context.Context) ([]Checkpoint, error) {
	var out []Checkpoint
	err := c.n.locked(func() { out = slices.Clone(c.all) })
	return out, err
}

func (c *checkpoints) Remove(_ context.Context, id int64) error {
	return c.n.locked(func() {
		c.all = slices.DeleteFunc(c.all, func(x Checkpoint) bool { return x.ID == id })
	})
}

type counter struct {
	n    *None
	next int64
}

func (c *counter) GetAndIncrement(context.Context) (int64, error) {
	var id int64
	err := c.n.locked(func() {
		id = c.next
		c.next++
	})
	return id, err
}

func (c *counter) SetAtLeast(_ context.Context, id int64) error {
	return c.n.locked(func() { c.next = max(c.next, id) })
}
