package ha

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/runnel-io/runnel/config"
)

func TestNoneElectsOneLeaderAtATime(t *testing.T) {
	n := NewNone()
	ctx := context.Background()
	first, err := n.Elect(ctx, Dispatcher, "a:1")
	if err != nil {
		t.Fatal(err)
	}
	if info, err := n.Leader(ctx, Dispatcher); err != nil || info.Address != "a:1" || info.Session != first.Session() {
		t.Fatalf("Leader = %+v, %v; want a:1 with session %q", info, err, first.Session())
	}
	short, cancel := context.WithTimeout(ctx, 20*time.Millisecond)
	defer cancel()
	if _, err := n.Elect(short, Dispatcher, "b:1"); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("a second leader was elected while the first leads: %v", err)
	}
	second := make(chan Leadership, 1) // no leak if the test stops first
	go func() {
		l, err := n.Elect(ctx, Dispatcher, "b:1")
		if err != nil {
			t.Error(err)
		}
		second <- l
	}()
	if err := first.Resign(); err != nil {
		t.Fatal(err)
	}
	<-first.Lost()
	l := <-second
	if l.Session() == first.Session() || l.Session() == "" {
		t.Errorf("the second leadership's session %q is not new (the first's %q)", l.Session(), first.Session())
	}
	if info, _ := n.Leader(ctx, Dispatcher); info.Address != "b:1" {
		t.Errorf("after the first resigned the leader is at %q, want b:1", info.Address)
	}
	if err := n.Close(); err != nil {
		t.Fatal(err)
	}
	select {
	case <-l.Lost():
	default:
		t.Error("Close did not end the leadership")
	}
	if _, err := n.Elect(ctx, ResourceManager, "c:1"); !errors.Is(err, ErrClosed) {
		t.Errorf("Elect after Close = %v, want ErrClosed", err)
	}
	if _, err := n.Leader(ctx, JobMaster("x")); !errors.Is(err, ErrNoLeader) {
		t.Errorf("Leader of a component without a leader = %v", err)
	}
}

func TestNoneWatchLeader(t *testing.T) {
	n := NewNone()
	ctx, cancel := context.WithCancel(context.Background())
	w := n.WatchLeader(ctx, Dispatcher)
	if info := <-w; info != (LeaderInfo{}) {
		t.Errorf("first delivery without a leader = %+v, want the zero LeaderInfo", info)
	}
	a, _ := n.Elect(ctx, Dispatcher, "a:1")
	if info := <-w; info.Address != "a:1" || info.Session != a.Session() {
		t.Errorf("after Elect: %+v", info)
	}
	// A reader that does not read while leaders change sees the latest.
	_ = a.Resign()
	b, _ := n.Elect(ctx, Dispatcher, "b:1")
	_ = b.Resign()
	c, _ := n.Elect(ctx, Dispatcher, "c:1")
	if info := <-w; info.Address != "c:1" || info.Session != c.Session() {
		t.Errorf("a slow reader got %+v, want the latest leader, c:1", info)
	}
	cancel()
	for range w { // closed once ctx is done
	}
	w2 := n.WatchLeader(context.Background(), Dispatcher)
	<-w2
	_ = n.Close()
	for range w2 { // and by Close
	}
}

func TestNoneStores(t *testing.T) {
	n := NewNone()
	ctx := context.Background()
	jobs := n.Jobs()
	for _, id := range []string{"a", "b", "c"} {
		if err := jobs.Put(ctx, JobRecord{ID: id, Submission: []byte(id)}); err != nil {
			t.Fatal(err)
		}
	}
	_ = jobs.Remove(ctx, "b")
	_ = jobs.Put(ctx, JobRecord{ID: "a", Submission: []byte("a2")})
	list, _ := jobs.List(ctx)
	if len(list) != 2 || list[0].ID != "a" || string(list[0].Submission) != "a2" || list[1].ID != "c" {
		t.Errorf("jobs = %+v", list)
	}
	cps := n.Checkpoints("a")
	if _, ok, _ := cps.Latest(ctx); ok {
		t.Error("a new store has a checkpoint")
	}
	_ = cps.Add(ctx, 3, "chk-3")
	_ = cps.Add(ctx, 2, "chk-2")
	_ = cps.Add(ctx, 5, "chk-5")
	_ = cps.Remove(ctx, 5)
	if c, ok, _ := n.Checkpoints("a").Latest(ctx); !ok || c != (Checkpoint{3, "chk-3"}) {
		t.Errorf("Latest = %+v %v, want 3 chk-3", c, ok)
	}
	if all, _ := cps.All(ctx); len(all) != 2 || all[0].ID != 2 || all[1].ID != 3 {
		t.Errorf("All = %+v, want 2 and 3", all)
	}
	ids := n.CheckpointIDs("a")
	if id, _ := ids.GetAndIncrement(ctx); id != 1 {
		t.Errorf("the first ID is %d, want 1", id)
	}
	_ = ids.SetAtLeast(ctx, 10)
	_ = ids.SetAtLeast(ctx, 4)
	if id, _ := ids.GetAndIncrement(ctx); id != 10 {
		t.Errorf("after SetAtLeast(10) the ID is %d, want 10", id)
	}
	res := n.Results()
	_ = res.Put(ctx, JobResult{ID: "a", Result: []byte("done")})
	if r, ok, _ := res.Get(ctx, "a"); !ok || string(r.Result) != "done" {
		t.Errorf("Get = %+v %v", r, ok)
	}
	if _, ok, _ := res.Get(ctx, "b"); ok {
		t.Error("a result of a job never put")
	}
	_ = n.Close()
	if _, err := jobs.List(ctx); !errors.Is(err, ErrClosed) {
		t.Errorf("List after Close = %v, want ErrClosed", err)
	}
}

func TestNew(t *testing.T) {
	s, err := New(config.FromMap(nil), nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := s.(*None); !ok {
		t.Errorf("New without high-availability.type = %T, want *None", s)
	}
	c := config.FromMap(nil)
	c.Set("high-availability.type", "etcd")
	if _, err := New(c, nil); err == nil || !strings.Contains(err.Error(), "high-availability.type") {
		t.Errorf("New(etcd) = %v, want an error naming high-availability.type", err)
	}
}
