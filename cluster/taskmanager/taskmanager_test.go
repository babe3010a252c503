package taskmanager

import (
	"context"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/runnel-io/runnel/cluster/rpc"
	"github.com/runnel-io/runnel/internal/clustertest"
)

// TestTaskManagerReregisters: a JobManager that forgets the TaskManager
// (its heartbeats answered not-found from the third on) gets a new
// registration, with the address of the TaskManager's RPC endpoint.
func TestTaskManagerReregisters(t *testing.T) {
	checkNoLeaks(t)
	var (
		mu                      sync.Mutex
		heartbeats, reregisters int
		forgotten               bool
		addrs                   []string
	)
	s := rpc.NewServer(nil)
	rpc.Handle(s, rpc.MethodRegisterTaskManager, func(_ context.Context, r *rpc.RegisterTaskManager) (*rpc.Registered, error) {
		if r.ID != "tm-x" || r.Slots != 3 {
			t.Errorf("registration %+v", r)
		}
		mu.Lock()
		defer mu.Unlock()
		addrs = append(addrs, r.Address)
		if forgotten {
			reregisters++
			forgotten = false
		}
		return &rpc.Registered{}, nil
	})
	rpc.Handle(s, rpc.MethodHeartbeat, func(_ context.Context, r *rpc.Heartbeat) (*rpc.HeartbeatAck, error) {
		mu.Lock()
		defer mu.Unlock()
		if heartbeats++; heartbeats == 3 {
			forgotten = true
		}
		if forgotten {
			return nil, rpc.Errorf(rpc.CodeNotFound, "unknown task manager %s", r.ID)
		}
		return &rpc.HeartbeatAck{}, nil
	})
	if err := s.Listen("127.0.0.1:0", nil); err != nil {
		t.Fatal(err)
	}
	defer s.Close(context.Background())
	host, port, _ := net.SplitHostPort(s.Addr())
	tm, err := New(Config{ID: "tm-x", JobManager: net.JoinHostPort(host, port), Slots: 3,
		HeartbeatInterval: 10 * time.Millisecond, HeartbeatTimeout: time.Second}, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	cancel, done := clustertest.Go(t, tm.Run)
	<-tm.Ready()
	deadline := time.Now().Add(30 * time.Second)
	for {
		mu.Lock()
		n := reregisters
		mu.Unlock()
		if n > 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("no registration after the JobManager forgot the TaskManager")
		}
		time.Sleep(time.Millisecond)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if _, port, _ := net.SplitHostPort(tm.Addr()); port == "0" || port == "" {
		t.Errorf("TaskManager address %q has no port", tm.Addr())
	}
	for _, a := range addrs {
		if a != tm.Addr() {
			t.Errorf("registered with address %q, want %q", a, tm.Addr())
		}
	}
}

func TestTaskManagerRejectsBadConfig(t *testing.T) {
	for _, cfg := range []Config{
		{JobManager: "x:1", Slots: 0, HeartbeatInterval: time.Second, HeartbeatTimeout: 2 * time.Second},
		{Slots: 1, HeartbeatInterval: time.Second, HeartbeatTimeout: 2 * time.Second},
		{JobManager: "x:1", Slots: 1, HeartbeatInterval: time.Second, HeartbeatTimeout: time.Second},
	} {
		if _, err := New(cfg, nil, nil); err == nil {
			t.Errorf("config %+v accepted", cfg)
		}
	}
}
