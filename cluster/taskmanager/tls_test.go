//go:build unix

package taskmanager

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/runnel-io/runnel/cluster/rpc"
	"github.com/runnel-io/runnel/cluster/security"
	"github.com/runnel-io/runnel/internal/clustertest"
	"github.com/runnel-io/runnel/internal/tlstest"
)

// tlsJobManager is a fake JobManager serving over the cluster's TLS: it
// counts the registrations that reach it, and grants every job a builtin
// worker reporting to tlsJobMaster.
func tlsJobManager(t *testing.T, certs tlstest.Certs) (addr string, registered *atomic.Int64) {
	t.Helper()
	registered = new(atomic.Int64)
	jm := rpc.NewServer(nil)
	rpc.Handle(jm, rpc.MethodRegisterTaskManager, func(context.Context, *rpc.RegisterTaskManager) (*rpc.Registered, error) {
		registered.Add(1)
		return &rpc.Registered{}, nil
	})
	rpc.Handle(jm, rpc.MethodHeartbeat, func(context.Context, *rpc.Heartbeat) (*rpc.HeartbeatAck, error) {
		return &rpc.HeartbeatAck{}, nil
	})
	rpc.Handle(jm, rpc.MethodCheckWorker, func(_ context.Context, r *rpc.CheckWorker) (*rpc.WorkerGrant, error) {
		if r.JobMaster != tlsJobMaster {
			return nil, rpc.Errorf(rpc.CodeForbidden, "the JobMaster of job %s is not at %s", r.JobID, r.JobMaster)
		}
		// The helper's mode travels in the job's configuration: the one
		// job the test starts prints its TLS settings.
		return &rpc.WorkerGrant{Builtin: true, Config: map[string]string{helperModeKey: "internal"}}, nil
	})
	if err := jm.Listen("127.0.0.1:0", tlstest.Server(t, certs.Cluster)); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = jm.Close(context.Background()) })
	return jm.Addr(), registered
}

// TestStartWorkerRefusesCallersWithoutCertificate: a TaskManager with
// internal TLS refuses a StartWorker in plain HTTP, without a client
// certificate or with one of a foreign CA, and starts no process; the
// cluster's caller starts a worker, which gets the TaskManager's own TLS
// settings whatever the TaskManager inherited, and which a StartWorker
// cannot set.
// tlsJobMaster is the JobMaster address tlsJobManager grants workers to.
const tlsJobMaster = "127.0.0.1:1"

func TestStartWorkerRefusesCallersWithoutCertificate(t *testing.T) {
	checkNoLeaks(t)
	certs := tlstest.New(t)
	// Inherited settings that must not reach the worker.
	t.Setenv(security.EnvInternal, `{"enabled":false}`)
	jmAddr, registered := tlsJobManager(t, certs)
	work := t.TempDir()
	tm, err := New(Config{ID: "tm-tls", JobManager: jmAddr, Host: "127.0.0.1", Slots: 1,
		HeartbeatInterval: 20 * time.Millisecond, HeartbeatTimeout: 10 * time.Second,
		WorkDir: work, Self: self(), Internal: certs.Cluster}, nil, nil)
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
	waitFor(t, "the registration over TLS", func() bool { return registered.Load() > 0 })

	startWith := func(c *rpc.Client, req *rpc.StartWorker) error {
		_, err := rpc.Call[rpc.StartWorker, rpc.Empty](context.Background(), c, tm.Addr(), rpc.MethodStartWorker, req)
		return err
	}
	noWorker := func(job string) {
		t.Helper()
		tm.mu.Lock()
		n := len(tm.workers)
		tm.mu.Unlock()
		if n != 0 {
			t.Fatalf("%s: %d workers", job, n)
		}
		if _, err := os.Stat(filepath.Join(work, job+".log")); !os.IsNotExist(err) {
			t.Fatalf("%s: the worker's log exists (%v): a process was started", job, err)
		}
	}
	for name, c := range map[string]*rpc.Client{
		"plain":     {},
		"anonymous": rpc.NewClient(tlstest.Anonymous()),
		"foreign":   rpc.NewClient(tlstest.Client(t, certs.Foreign)),
	} {
		job := "job-" + name
		err := startWith(c, &rpc.StartWorker{JobID: job, Builtin: true, Env: workerEnv(job, "tm-tls", tlsJobMaster, "sleep"), JobMaster: tlsJobMaster})
		if err == nil {
			t.Errorf("%s: StartWorker succeeded", name)
		}
		noWorker(job)
	}

	cluster := rpc.NewClient(tlstest.Client(t, certs.Cluster))
	err = startWith(cluster, &rpc.StartWorker{JobID: "job-env", Builtin: true, Env: certs.Foreign.Env(), JobMaster: tlsJobMaster})
	var re *rpc.Error
	if err == nil || !strings.Contains(err.Error(), "is not the worker's RUNNEL_PROCESS entry") {
		t.Errorf("a StartWorker that sets %s: %v", security.EnvInternal, err)
	} else if !errors.As(err, &re) || re.Code != rpc.CodeBadRequest {
		t.Errorf("a StartWorker that sets %s: %v, want bad-request", security.EnvInternal, err)
	}
	noWorker("job-env")

	if err := startWith(cluster, &rpc.StartWorker{JobID: "job-ok", Builtin: true, Env: workerEnv("job-ok", "tm-tls", tlsJobMaster, "internal"), JobMaster: tlsJobMaster}); err != nil {
		t.Fatal(err)
	}
	_, log := waitLog(t, work, "job-ok", 1)
	waitFor(t, "the worker's settings", func() bool {
		data, _ := os.ReadFile(filepath.Join(work, "job-ok.log"))
		log = string(data)
		return strings.Contains(log, "internal=")
	})
	_, want, _ := strings.Cut(certs.Cluster.Env(), "=")
	if !strings.Contains(log, "internal="+want+"\n") {
		t.Errorf("the worker's log %q, want its settings %s", log, want)
	}
	if _, err := rpc.Call[rpc.StopWorker, rpc.Empty](context.Background(), cluster, tm.Addr(), rpc.MethodStopWorker, &rpc.StopWorker{JobID: "job-ok"}); err != nil {
		t.Fatal(err)
	}
}
