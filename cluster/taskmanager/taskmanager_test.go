package taskmanager

import (
	"context"
	"net"
	"sync/atomic"
	"testing"
	"time"

	"github.com/runnel-io/runnel/cluster/rpc"
)

// TestTaskManagerReregisters: a JobManager that forgets the TaskManager
// (a heartbeat answered not-found) gets a new registration.
func TestTaskManagerReregisters(t *testing.T) {
	var registrations, heartbeats atomic.Int64
	s := rpc.NewServer(nil)
	rpc.Handle(s, rpc.MethodRegisterTaskManager, func(_ context.Context, r *rpc.RegisterTaskManager) (*rpc.Registered, error) {
		if r.ID != "tm-x" || r.Slots != 3 {
			t.Errorf("registration %+v", r)
		}
		registrations.Add(1)
		return &rpc.Registered{}, nil
	})
	rpc.Handle(s, rpc.MethodHeartbeat, func(_ context.Context, r *rpc.Heartbeat) (*rpc.HeartbeatAck, error) {
		if heartbeats.Add(1) == 3 {
			return nil, rpc.Errorf(rpc.CodeNotFound, "unknown task manager %s", r.ID)
		}
		return &rpc.HeartbeatAck{}, nil
	})
	if err := s.Listen("127.0.0.1:0"); err != nil {
		t.Fatal(err)
	}
	defer s.Close(context.Background())
	host, port, _ := net.SplitHostPort(s.Addr())
	tm, err := New(Config{ID: "tm-x", JobManager: net.JoinHostPort(host, port), Slots: 3,
		HeartbeatInterval: 5 * time.Millisecond, HeartbeatTimeout: time.Second}, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error)
	go func() { done <- tm.Run(ctx) }()
	for registrations.Load() < 2 {
		time.Sleep(time.Millisecond)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if heartbeats.Load() < 3 {
		t.Fatalf("registered again after %d heartbeats, want after the third", heartbeats.Load())
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
