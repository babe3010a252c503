package jobmanager

import (
	"context"
	"errors"
	"testing"
	"time"

	rm "github.com/runnel-io/runnel/cluster/resourcemanager"
	"github.com/runnel-io/runnel/cluster/resourcemanager/driver/standalone"
	"github.com/runnel-io/runnel/internal/clustertest"
	"github.com/runnel-io/runnel/runtime/clock"
)

// slotListener hands the service's decisions to the test.
type slotListener struct {
	allocated chan rm.AllocateSlots
	failed    chan rm.RequestFailed
}

func (l slotListener) SlotsAllocated(a rm.AllocateSlots) { l.allocated <- a }
func (l slotListener) SlotsLost(rm.JobSlotsLost)         {}
func (l slotListener) RequestFailed(f rm.RequestFailed)  { l.failed <- f }

// TestServiceSlotRequests runs the resource manager's service on a
// manual clock: a request for more slots than the cluster has does not
// hold up a later, smaller one, and fails after slot.request.timeout with
// a reason that says what was missing.
func TestServiceSlotRequests(t *testing.T) {
	clk := clock.NewManual(time.UnixMilli(1_000_000))
	l := slotListener{allocated: make(chan rm.AllocateSlots, 4), failed: make(chan rm.RequestFailed, 4)}
	cfg := rm.Config{SlotRequestTimeout: time.Minute, HeartbeatTimeout: time.Hour}
	s, err := NewService(cfg, standalone.New(), l, clk, nil)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	clustertest.Go(t, s.Run)

	if err := s.RegisterTaskManager(ctx, "tm-a", "tm-a:6122", 2); err != nil {
		t.Fatal(err)
	}
	s.RequestSlots("big", 3)
	s.RequestSlots("small", 1)
	select {
	case a := <-l.allocated:
		if a.Job != "small" || len(a.Slots) != 1 {
			t.Fatalf("allocated %d slots to %s, want 1 to small", len(a.Slots), a.Job)
		}
	case f := <-l.failed:
		t.Fatalf("request of %s failed: %v", f.Job, f.Reason)
	case <-ctx.Done():
		t.Fatal("small got no slot while big waits")
	}
	// Both requests are in (Stats runs after them) before the clock moves.
	if _, err := s.Stats(ctx); err != nil {
		t.Fatal(err)
	}
	clk.Advance(time.Minute)
	select {
	case f := <-l.failed:
		want := "not enough slots: needs 3, the cluster has 2 (1 free) after waiting slot.request.timeout = 1m0s"
		if f.Job != "big" || f.Slots != 3 || f.Reason.Error() != want {
			t.Fatalf("RequestFailed %s %d: %q, want big 3: %q", f.Job, f.Slots, f.Reason, want)
		}
		if !errors.Is(f.Reason, rm.ErrRequestTimeout) {
			t.Fatalf("reason %v does not wrap ErrRequestTimeout", f.Reason)
		}
	case a := <-l.allocated:
		t.Fatalf("allocated %d slots to %s", len(a.Slots), a.Job)
	case <-ctx.Done():
		t.Fatal("big did not fail after slot.request.timeout")
	}
}
