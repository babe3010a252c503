package jobmanager

import (
	"context"
	"errors"
	"fmt"
	"log"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/runnel-io/runnel/cluster/ha"
	"github.com/runnel-io/runnel/cluster/taskmanager"
	"github.com/runnel-io/runnel/config"
	"github.com/runnel-io/runnel/internal/clustertest"
	"github.com/runnel-io/runnel/internal/zktest"
)

// zk is the package's ZooKeeper server, started once in TestMain.
var zk *zktest.Ensemble

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "runnel-jobmanager-zk-")
	if err != nil {
		log.Fatal(err)
	}
	if zk, err = zktest.StartEnsemble(dir, 1, nil); err != nil {
		os.RemoveAll(dir)
		log.Fatal(err)
	}
	code := m.Run()
	_ = zk.Close()
	os.Exit(code)
}

// haConfig is the configuration of a JobManager or TaskManager of a
// cluster with high availability through the package's ZooKeeper, under a
// cluster ID of the test's own.
func haConfig(t *testing.T, storage string) *config.Configuration {
	c := &config.Configuration{}
	for k, v := range map[string]string{
		"high-availability": "zookeeper", "high-availability.zookeeper.quorum": zk.Connect(),
		"high-availability.zookeeper.storageDir":             "file://" + storage,
		"high-availability.cluster-id":                       fmt.Sprintf("/%s-%d", t.Name(), time.Now().UnixNano()),
		"high-availability.zookeeper.client.session-timeout": "4s",
		"jobmanager.rpc.address":                             "127.0.0.1", "jobmanager.rpc.port": "0", "rest.port": "0",
		"rest.bind-address": "127.0.0.1", "heartbeat.interval": "50ms", "heartbeat.timeout": "2s",
	} {
		c.Set(k, v)
	}
	return c
}

// TestStandbyTakesOver: of two JobManagers of one cluster, one leads and
// the other waits; a TaskManager that finds the leader through ZooKeeper
// registers with it, and when the leader stops, the standby leads and the
// TaskManager registers with it without restarting.
func TestStandbyTakesOver(t *testing.T) {
	storage := t.TempDir()
	c := haConfig(t, storage)
	start := func(name string) (*JobManager, context.CancelFunc, <-chan error) {
		jm, err := New(c, Options{WorkDir: filepath.Join(t.TempDir(), name)})
		if err != nil {
			t.Fatal(err)
		}
		cancel, done := clustertest.Go(t, jm.Run)
		return jm, cancel, done
	}
	first, stopFirst, firstDone := start("first")
	<-first.Ready()
	second, stopSecond, secondDone := start("second")
	t.Cleanup(func() {
		stopSecond()
		if err := <-secondDone; err != nil {
			t.Errorf("the second JobManager: %v", err)
		}
	})
	select {
	case <-second.Ready():
		t.Fatal("the second JobManager leads while the first does")
	default:
	}

	tmHA, err := ha.New(c, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = tmHA.Close() })
	tm, err := taskmanager.New(taskmanager.Config{ID: "tm-ha", Host: "127.0.0.1", Slots: 2,
		HeartbeatInterval: 50 * time.Millisecond, HeartbeatTimeout: 2 * time.Second,
		Leaders: taskmanager.LeadersOf(tmHA)}, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	stopTM, tmDone := clustertest.Go(t, tm.Run)
	t.Cleanup(func() {
		stopTM()
		if err := <-tmDone; err != nil {
			t.Errorf("the TaskManager: %v", err)
		}
	})
	waitUntil(t, "the TaskManager registered with the first JobManager", func() bool { return registered(t, first.RESTAddr()) == 1 })

	stopFirst()
	if err := <-firstDone; err != nil && !errors.Is(err, ErrLeadershipLost) {
		t.Fatalf("the first JobManager: %v", err)
	}
	waitUntil(t, "the second JobManager to lead", func() bool {
		select {
		case <-second.Ready():
			return true
		default:
			return false
		}
	})
	waitUntil(t, "the TaskManager registered with the second JobManager", func() bool { return registered(t, second.RESTAddr()) == 1 })
}

func waitUntil(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(time.Minute)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("no %s within a minute", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestLeaderStopsWhenItLosesZooKeeper: a leading JobManager whose
// connection to ZooKeeper is lost stops at once with ErrLeadershipLost,
// rather than act as a leader that another may have replaced.
func TestLeaderStopsWhenItLosesZooKeeper(t *testing.T) {
	jm, err := New(haConfig(t, t.TempDir()), Options{WorkDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	_, done := clustertest.Go(t, jm.Run)
	<-jm.Ready()
	if err := zk.Stop(0); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := zk.Start(0); err != nil {
			t.Fatal(err)
		}
		if err := zk.WaitServing(); err != nil {
			t.Fatal(err)
		}
	})
	select {
	case err := <-done:
		if !errors.Is(err, ErrLeadershipLost) {
			t.Errorf("Run: %v, want ErrLeadershipLost", err)
		}
	case <-time.After(time.Minute):
		t.Fatal("the JobManager still runs a minute after losing ZooKeeper")
	}
}
