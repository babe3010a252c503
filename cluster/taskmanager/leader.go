package taskmanager

import (
	"context"
	"sync"

	"github.com/runnel-io/runnel/cluster/ha"
	"github.com/runnel-io/runnel/cluster/rpc"
)

// Leader is where the ResourceManager leads: its RPC address and the
// session of its leadership, the fencing token the TaskManager's calls to
// it carry ("" without high availability).
type Leader struct {
	Address string
	Session string
}

// Leaders delivers the ResourceManager's leader and each change of it, as
// high availability retrieves them (ha.Services.WatchLeader): a zero
// Leader while none leads. The channel is closed when ctx is done; a slow
// reader may miss leaders that came and went, never the latest.
type Leaders func(ctx context.Context) <-chan Leader

// leaderWatch is the leader the TaskManager follows: the configured
// JobManager, or the latest that Config.Leaders delivered.
type leaderWatch struct {
	mu      sync.Mutex
	cur     Leader
	changed chan struct{} // closed and replaced when cur changes
}

func newLeaderWatch(static Leader) *leaderWatch {
	return &leaderWatch{cur: static, changed: make(chan struct{})}
}

// follow takes each leader of ch until it is closed.
func (w *leaderWatch) follow(ch <-chan Leader) {
	for l := range ch {
		w.mu.Lock()
		if l != w.cur {
			w.cur = l
			close(w.changed)
			w.changed = make(chan struct{})
		}
		w.mu.Unlock()
	}
}

// current is the leader followed now, and a channel closed once it
// changes.
func (w *leaderWatch) current() (Leader, <-chan struct{}) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.cur, w.changed
}

// await waits until there is a leader and returns it with a context of
// ctx that is cancelled once the leader changes; ok is false once ctx is
// done.
func (w *leaderWatch) await(ctx context.Context) (Leader, context.Context, context.CancelFunc, bool) {
	for {
		l, changed := w.current()
		if l.Address != "" {
			lctx, cancel := context.WithCancel(ctx)
			go func() { // ends with lctx: the caller cancels it
				select {
				case <-changed:
					cancel()
				case <-lctx.Done():
				}
			}()
			return l, lctx, cancel, true
		}
		select {
		case <-changed:
		case <-ctx.Done():
			return Leader{}, nil, nil, false
		}
	}
}

// calls is ctx for calls to l: with its session as fencing token.
func (l Leader) calls(ctx context.Context) context.Context {
	if l.Session == "" {
		return ctx
	}
	return rpc.WithFencingToken(ctx, l.Session)
}

// LeadersOf follows the ResourceManager's leader as the high-availability
// services s retrieve it.
func LeadersOf(s ha.Services) Leaders {
	return func(ctx context.Context) <-chan Leader {
		in := s.WatchLeader(ctx, ha.ResourceManager)
		out := make(chan Leader)
		go func() { // ends with ctx, which closes in
			defer close(out)
			for l := range in {
				select {
				case out <- Leader{Address: l.Address, Session: l.Session}:
				case <-ctx.Done():
					return
				}
			}
		}()
		return out
	}
}
