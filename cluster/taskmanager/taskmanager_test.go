package taskmanager

import (
	"context"
	"log/slog"
	"net"
	"strings"
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

// TestTaskManagerListensOnLoopbackByDefault: with no taskmanager.host nor
// taskmanager.bind-host, a TaskManager of a JobManager on loopback
// listens on loopback only, not on all interfaces, and says so; with
// taskmanager.bind-host 0.0.0.0 it listens on all interfaces and still
// advertises the loopback address.
func TestTaskManagerListensOnLoopbackByDefault(t *testing.T) {
	checkNoLeaks(t)
	jm := rpc.NewServer(nil)
	if err := jm.Listen("127.0.0.1:0", nil); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = jm.Close(context.Background()) })
	for _, tc := range []struct{ bind, wantBound, wantLog string }{
		{"", "127.0.0.1", "listening on loopback only; set taskmanager.bind-host to 0.0.0.0 to listen on all interfaces"},
		{"0.0.0.0", "0.0.0.0", "listening on all interfaces"},
	} {
		var logs clustertest.Buffer
		tm, err := New(Config{JobManager: jm.Addr(), BindHost: tc.bind, Slots: 1,
			HeartbeatInterval: time.Second, HeartbeatTimeout: 2 * time.Second}, nil, slog.New(slog.NewTextHandler(&logs, nil)))
		if err != nil {
			t.Fatal(err)
		}
		cancel, done := clustertest.Go(t, tm.Run)
		<-tm.Ready()
		host, _, _ := net.SplitHostPort(tm.server.Addr())
		if ip := net.ParseIP(host); ip == nil || !ip.Equal(net.ParseIP(tc.wantBound)) && !(ip.IsUnspecified() && tc.wantBound == "0.0.0.0") {
			t.Errorf("bind host %q: the RPC endpoint listens on %s, want %s", tc.bind, tm.server.Addr(), tc.wantBound)
		}
		if host, _, _ := net.SplitHostPort(tm.Addr()); host != "127.0.0.1" {
			t.Errorf("bind host %q: advertised at %s, want the interface towards the JobManager, 127.0.0.1", tc.bind, tm.Addr())
		}
		if !strings.Contains(logs.String(), tc.wantLog) {
			t.Errorf("bind host %q: the log does not say %q:\n%s", tc.bind, tc.wantLog, logs.String())
		}
		cancel()
		if err := <-done; err != nil {
			t.Fatal(err)
		}
	}
}
