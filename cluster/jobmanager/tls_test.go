package jobmanager

import (
	"context"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/runnel-io/runnel/cluster/security"
	"github.com/runnel-io/runnel/cluster/taskmanager"
	"github.com/runnel-io/runnel/config"
	"github.com/runnel-io/runnel/internal/clustertest"
	"github.com/runnel-io/runnel/internal/tlstest"
)

// failures is a slog handler that passes the error of each record with
// message msg to seen, dropping it if seen is full.
type failures struct {
	msg  string
	seen chan string
}

func (f failures) Enabled(context.Context, slog.Level) bool { return true }
func (f failures) Handle(_ context.Context, r slog.Record) error {
	if r.Message != f.msg {
		return nil
	}
	var why string
	r.Attrs(func(a slog.Attr) bool {
		if a.Key == "error" {
			why = a.Value.String()
		}
		return true
	})
	select {
	case f.seen <- why:
	default:
	}
	return nil
}
func (f failures) WithAttrs([]slog.Attr) slog.Handler { return f }
func (f failures) WithGroup(string) slog.Handler      { return f }

// TestJobManagerRefusesForeignTaskManager: a JobManager with internal TLS
// does not let a TaskManager whose certificate chains to another CA
// register, however often it tries, nor one with TLS disabled; a
// TaskManager of the cluster registers.
func TestJobManagerRefusesForeignTaskManager(t *testing.T) {
	certs := tlstest.New(t)
	c := &config.Configuration{}
	for k, v := range map[string]string{
		"jobmanager.rpc.address": "127.0.0.1", "jobmanager.rpc.port": "0", "rest.port": "0",
		"rest.bind-address": "127.0.0.1", "heartbeat.interval": "10ms", "heartbeat.timeout": "200ms",
		"security.ssl.internal.enabled": "true", "security.ssl.internal.cert": certs.Cluster.Cert,
		"security.ssl.internal.key": certs.Cluster.Key, "security.ssl.internal.trust": certs.Cluster.Trust,
	} {
		c.Set(k, v)
	}
	jm, err := New(c, Options{WorkDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	cancel, done := clustertest.Go(t, jm.Run)
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run: %v", err)
		}
	})
	<-jm.Ready()

	run := func(id string, in security.Internal, log *slog.Logger) func() {
		tm, err := taskmanager.New(taskmanager.Config{ID: id, JobManager: jm.RPCAddr(), Host: "127.0.0.1", Slots: 2,
			HeartbeatInterval: 100 * time.Millisecond, HeartbeatTimeout: 2 * time.Second, Internal: in}, nil, log)
		if err != nil {
			t.Fatal(err)
		}
		stop, tmDone := clustertest.Go(t, tm.Run)
		return func() {
			stop()
			if err := <-tmDone; err != nil {
				t.Errorf("%s: Run: %v", id, err)
			}
		}
	}
	for name, in := range map[string]security.Internal{"foreign": certs.Foreign, "plain": {}} {
		seen := make(chan string, 1)
		stop := run("tm-"+name, in, slog.New(failures{msg: "registration failed", seen: seen}))
		// Three refused attempts, then the JobManager still knows no
		// TaskManager.
		// A loaded machine may time an attempt out before its handshake
		// fails: one of them says why.
		var why string
		for range 3 {
			why += <-seen + "\n"
		}
		if n := registered(t, jm.RESTAddr()); n != 0 {
			t.Fatalf("%s: %d TaskManagers registered", name, n)
		}
		stop()
		if name == "foreign" && !strings.Contains(why, "tls") {
			t.Errorf("%s: refused with %q, want a TLS failure", name, why)
		}
	}

	stop := run("tm-cluster", certs.Cluster, nil)
	defer stop()
	// Bounded, so that a TaskManager that never registers fails the test
	// here rather than at the suite's timeout.
	for deadline := time.Now().Add(time.Minute); registered(t, jm.RESTAddr()) != 1; time.Sleep(5 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("the TaskManager with the cluster's certificate did not register within a minute")
		}
	}
}
