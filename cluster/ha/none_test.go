package ha

import (
	"context"
	"errors"
	"testing"
	"time"
)

func TestNoneElectsOneLeaderAtATime(t *testing.T) {
	n := NewNone()
	ctx := context.Background()
	first, err := n.Elect(ctx, Dispatcher, "a:1")
	if err != nil {
		t.Fatal(err)
	}
	if addr, err := n.LeaderAddress(ctx, Dispatcher); err != nil || addr != "a:1" {
		t.Fatalf("LeaderAddress = %q, %v", addr, err)
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
	if addr, _ := n.LeaderAddress(ctx, Dispatcher); addr != "b:1" {
		t.Errorf("after the first resigned the leader is at %q, want b:1", addr)
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
	if _, err := n.LeaderAddress(ctx, JobMaster("x")); !errors.Is(err, ErrNoLeader) {
		t.Errorf("LeaderAddress of a component without a leader = %v", err)
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
	if _, _, ok, _ := cps.Latest(ctx); ok {
		t.Error("a new store has a checkpoint")
	}
	_ = cps.Add(ctx, 3, "chk-3")
	_ = cps.Add(ctx, 2, "chk-2")
	if id, loc, ok, _ := n.Checkpoints("a").Latest(ctx); !ok || id != 3 || loc != "chk-3" {
		t.Errorf("Latest = %d %q %v, want 3 chk-3", id, loc, ok)
	}
	if _, err := New("zookeeper"); err == nil {
		t.Error("New(zookeeper) succeeded")
	}
	if _, err := New("etcd"); err == nil {
		t.Error("New(etcd) succeeded")
	}
}
