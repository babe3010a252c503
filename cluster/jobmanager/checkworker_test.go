package jobmanager

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	rm "github.com/runnel-io/runnel/cluster/resourcemanager"
	"github.com/runnel-io/runnel/cluster/resourcemanager/driver/standalone"
	"github.com/runnel-io/runnel/cluster/rest"
	"github.com/runnel-io/runnel/cluster/rpc"
	"github.com/runnel-io/runnel/cluster/security"
	"github.com/runnel-io/runnel/internal/clustertest"
	"github.com/runnel-io/runnel/runtime/clock"
)

// TestCheckWorker: the Dispatcher confirms a worker only for a running
// job whose JobMaster is the registered one and which holds slots on the
// asking TaskManager, from the moment the JobMaster can hear of them
// (SlotsAllocated), and answers with what the job was submitted with.
func TestCheckWorker(t *testing.T) {
	clk := clock.NewManual(time.UnixMilli(1_000_000))
	l := slotListener{allocated: make(chan rm.AllocateSlots, 4), failed: make(chan rm.RequestFailed, 4)}
	s, err := NewService(rm.Config{SlotRequestTimeout: time.Minute, HeartbeatTimeout: time.Hour}, standalone.New(), l, clk, nil)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	clustertest.Go(t, s.Run)
	for _, tm := range []rm.WorkerID{"tm-a", "tm-b"} {
		if err := s.RegisterTaskManager(ctx, tm, string(tm)+":1", 1); err != nil {
			t.Fatal(err)
		}
	}
	d := newDispatcher(clk, nil, security.Internal{}, nil)
	d.rm = s
	submitted := rpc.WorkerGrant{Builtin: true, Args: []string{"run", "wordcount", "--"}, WorkingDir: "/w", BlobAddress: "jm:2"}
	d.jobs["j1"] = &jobRecord{id: "j1", state: rest.StateRunning, jobMaster: "jm:7", grant: submitted}
	d.jobs["starting"] = &jobRecord{id: "starting", state: rest.StateInitializing, grant: submitted}
	d.jobs["done"] = &jobRecord{id: "done", state: rest.StateFinished, jobMaster: "jm:8", grant: submitted}

	check := func(tm, job, jm string) (*rpc.WorkerGrant, string) {
		g, err := d.checkWorker(ctx, &rpc.CheckWorker{TaskManager: tm, JobID: job, JobMaster: jm})
		var re *rpc.Error
		if err != nil && (!errors.As(err, &re) || re.Code != rpc.CodeForbidden) {
			t.Fatalf("CheckWorker %s %s %s: %v, want a grant or a refusal", tm, job, jm, err)
		}
		if re != nil {
			return nil, re.Message
		}
		return g, ""
	}
	if _, msg := check("tm-a", "j1", "jm:7"); msg != "job j1 holds no slots on TaskManager tm-a" {
		t.Errorf("before any allocation: %q", msg)
	}
	s.RequestSlots("j1", 1)
	a := <-l.allocated // what the JobMaster hears, and then starts a worker
	tm := string(a.Slots[0].TaskManager)
	g, msg := check(tm, "j1", "jm:7")
	if msg != "" || g.Builtin != submitted.Builtin || !slices.Equal(g.Args, submitted.Args) || g.WorkingDir != "/w" || g.BlobAddress != "jm:2" {
		t.Errorf("the allocated TaskManager %s: %+v, %q; want %+v", tm, g, msg, submitted)
	}
	other := map[string]string{"tm-a": "tm-b", "tm-b": "tm-a"}[tm]
	for _, tc := range []struct{ tm, job, jm, want string }{
		{other, "j1", "jm:7", "job j1 holds no slots on TaskManager " + other},
		{tm, "j1", "evil:1", "the JobMaster of job j1 is not at evil:1"},
		{tm, "nope", "jm:7", "no job nope"},
		{tm, "starting", "jm:7", "job starting has no JobMaster yet"},
		{tm, "done", "jm:8", "job done is FINISHED"},
	} {
		if _, msg := check(tc.tm, tc.job, tc.jm); !strings.Contains(msg, tc.want) {
			t.Errorf("CheckWorker %s %s %s: %q, want %q", tc.tm, tc.job, tc.jm, msg, tc.want)
		}
	}
	s.ReleaseSlots("j1")
	if _, msg := check(tm, "j1", "jm:7"); msg == "" {
		t.Error("the job's slots were released, and its worker is still confirmed")
	}
}
