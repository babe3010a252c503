package taskmanager

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	"github.com/runnel-io/runnel/cluster/rpc"
	"github.com/runnel-io/runnel/internal/clustertest"
)

// fencedJobManager is a fake leading JobManager whose ResourceManager
// methods serve the calls of session only, counting what they served.
type fencedJobManager struct {
	s                      *rpc.Server
	registered, heartbeats atomic.Int64
}

func newFencedJobManager(t *testing.T, session string) *fencedJobManager {
	t.Helper()
	jm := &fencedJobManager{s: rpc.NewServer(nil)}
	lead := func() string { return session }
	rpc.HandleFenced(jm.s, rpc.MethodRegisterTaskManager, lead, func(context.Context, *rpc.RegisterTaskManager) (*rpc.Registered, error) {
		jm.registered.Add(1)
		return &rpc.Registered{}, nil
	})
	rpc.HandleFenced(jm.s, rpc.MethodHeartbeat, lead, func(context.Context, *rpc.Heartbeat) (*rpc.HeartbeatAck, error) {
		jm.heartbeats.Add(1)
		return &rpc.HeartbeatAck{}, nil
	})
	if err := jm.s.Listen("127.0.0.1:0", nil); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = jm.s.Close(context.Background()) })
	return jm
}

// TestTaskManagerFollowsTheLeader: with Leaders, a TaskManager waits for
// a leader, registers with it under its session, and on a change of
// leader registers with the new one and stops calling the old; calls of
// a former leader's session are refused.
func TestTaskManagerFollowsTheLeader(t *testing.T) {
	checkNoLeaks(t)
	a, b := newFencedJobManager(t, "session-a"), newFencedJobManager(t, "session-b")
	leaders := make(chan Leader, 4)
	tm, err := New(Config{ID: "tm-ha", Host: "127.0.0.1", Slots: 1,
		HeartbeatInterval: 10 * time.Millisecond, HeartbeatTimeout: 5 * time.Second,
		Leaders: func(ctx context.Context) <-chan Leader {
			out := make(chan Leader)
			go func() {
				defer close(out)
				for {
					select {
					case l := <-leaders:
						select {
						case out <- l:
						case <-ctx.Done():
							return
						}
					case <-ctx.Done():
						return
					}
				}
			}()
			return out
		}}, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	cancel, done := clustertest.Go(t, tm.Run)
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run: %v", err)
		}
	})
	<-tm.Ready()

	leaders <- Leader{Address: a.s.Addr(), Session: "session-a"}
	waitFor(t, "heartbeats to the first leader", func() bool { return a.registered.Load() == 1 && a.heartbeats.Load() > 2 })
	if a.s.Fenced() != 0 {
		t.Errorf("the first leader refused %d calls of its own session", a.s.Fenced())
	}

	// No leader for a while, then another one.
	leaders <- Leader{}
	leaders <- Leader{Address: b.s.Addr(), Session: "session-b"}
	waitFor(t, "heartbeats to the new leader", func() bool { return b.registered.Load() == 1 && b.heartbeats.Load() > 2 })
	before := a.heartbeats.Load()
	waitFor(t, "more heartbeats to the new leader", func() bool { return b.heartbeats.Load() > 10 })
	if after := a.heartbeats.Load(); after > before+1 {
		t.Errorf("the former leader still got heartbeats: %d, then %d", before, after)
	}

	// The former leader, were it still called, would refuse the new
	// session: its calls are fenced.
	ctx := rpc.WithFencingToken(context.Background(), "session-b")
	if _, err := rpc.Call[rpc.Heartbeat, rpc.HeartbeatAck](ctx, &rpc.Client{}, a.s.Addr(), rpc.MethodHeartbeat, &rpc.Heartbeat{ID: "tm-ha"}); err == nil {
		t.Error("a call under another session was served")
	}
}
