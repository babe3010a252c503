package standalone_test

import (
	"context"
	"errors"
	"testing"

	rm "github.com/runnel-io/runnel/cluster/resourcemanager"
	"github.com/runnel-io/runnel/cluster/resourcemanager/driver/standalone"
)

type noEvents struct{ t *testing.T }

func (e noEvents) WorkerStarted(id rm.WorkerID)         { e.t.Errorf("WorkerStarted(%s)", id) }
func (e noEvents) WorkerFailed(id rm.WorkerID, _ error) { e.t.Errorf("WorkerFailed(%s)", id) }

func TestStandaloneStartsNothing(t *testing.T) {
	d := standalone.New()
	ctx := context.Background()
	if err := d.Start(ctx, noEvents{t}); err != nil {
		t.Fatal(err)
	}
	if d.CanStartWorkers() {
		t.Error("CanStartWorkers is true")
	}
	if err := d.RequestWorker(ctx, "w", rm.WorkerSpec{Slots: 1}); !errors.Is(err, rm.ErrCannotStartWorkers) {
		t.Errorf("RequestWorker: %v, want ErrCannotStartWorkers", err)
	}
	if err := d.ReleaseWorker(ctx, "w"); !errors.Is(err, rm.ErrCannotStartWorkers) {
		t.Errorf("ReleaseWorker: %v, want ErrCannotStartWorkers", err)
	}
	if err := d.Close(); err != nil {
		t.Error(err)
	}
	cancelled, cancel := context.WithCancel(ctx)
	cancel()
	if err := standalone.New().Start(cancelled, noEvents{t}); !errors.Is(err, context.Canceled) {
		t.Errorf("Start with a done context: %v", err)
	}
}
