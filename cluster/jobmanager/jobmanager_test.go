package jobmanager

import (
	"encoding/json"
	"net"
	"net/http"
	"testing"
	"time"

	"github.com/runnel-io/runnel/cluster/taskmanager"
	"github.com/runnel-io/runnel/config"
	"github.com/runnel-io/runnel/internal/clustertest"
)

func registered(t *testing.T, rest string) int {
	t.Helper()
	res, err := http.Get("http://" + rest + "/overview")
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	var o struct {
		TaskManagers int `json:"taskmanagers"`
		Slots        int `json:"slots-total"`
	}
	if err := json.NewDecoder(res.Body).Decode(&o); err != nil {
		t.Fatal(err)
	}
	if o.Slots != 2*o.TaskManagers {
		t.Errorf("%d slots for %d task managers of 2", o.Slots, o.TaskManagers)
	}
	return o.TaskManagers
}

// TestJobManagerLifecycle runs a JobManager and a TaskManager in this
// process: the TaskManager registers, its loss is noticed, and the
// JobManager stops everything when its context is done.
func TestJobManagerLifecycle(t *testing.T) {
	c := &config.Configuration{}
	for k, v := range map[string]string{
		"jobmanager.rpc.address": "127.0.0.1", "jobmanager.rpc.port": "0", "rest.port": "0",
		"rest.bind-address": "127.0.0.1", "heartbeat.interval": "10ms", "heartbeat.timeout": "200ms",
	} {
		c.Set(k, v)
	}
	jm, err := New(c, Options{WorkDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	cancel, done := clustertest.Go(t, jm.Run)
	<-jm.Ready()

	tm, err := taskmanager.New(taskmanager.Config{JobManager: jm.RPCAddr(), Slots: 2,
		HeartbeatInterval: 10 * time.Millisecond, HeartbeatTimeout: 200 * time.Millisecond}, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	stopTM, tmDone := clustertest.Go(t, tm.Run)
	for registered(t, jm.RESTAddr()) != 1 {
		time.Sleep(5 * time.Millisecond)
	}
	stopTM()
	<-tmDone
	for registered(t, jm.RESTAddr()) != 0 {
		time.Sleep(5 * time.Millisecond)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	for _, addr := range []string{jm.RPCAddr(), jm.RESTAddr(), jm.BlobAddr()} {
		if conn, err := net.Dial("tcp", addr); err == nil {
			conn.Close()
			t.Errorf("%s still listening after Run returned", addr)
		}
	}
}
