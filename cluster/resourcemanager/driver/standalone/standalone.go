package standalone

import (
	"context"
	"fmt"

	rm "github.com/runnel-io/runnel/cluster/resourcemanager"
)

// Driver is the standalone driver. Its zero value is ready; it is safe
// for concurrent use and holds no resources, so Close has nothing to
// wait for.
type Driver struct{}

var _ rm.Driver = (*Driver)(nil)

// New returns a standalone driver.
func New() *Driver { return &Driver{} }

// Start returns at once: there is nothing to prepare and no worker to
// recover. It returns ctx's error if ctx is already done. It never calls
// events.
func (*Driver) Start(ctx context.Context, _ rm.WorkerEvents) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("resourcemanager: standalone driver not started: %w", err)
	}
	return nil
}

// CanStartWorkers is false: TaskManagers come on their own.
func (*Driver) CanStartWorkers() bool { return false }

// RequestWorker returns ErrCannotStartWorkers: start a TaskManager with
// taskmanager.resource-id set to id instead.
func (*Driver) RequestWorker(_ context.Context, id rm.WorkerID, _ rm.WorkerSpec) error {
	return fmt.Errorf("%w: standalone, start TaskManager %s yourself", rm.ErrCannotStartWorkers, id)
}

// ReleaseWorker returns ErrCannotStartWorkers: stop the TaskManager
// yourself.
func (*Driver) ReleaseWorker(_ context.Context, id rm.WorkerID) error {
	return fmt.Errorf("%w: standalone, stop TaskManager %s yourself", rm.ErrCannotStartWorkers, id)
}

// Close does nothing.
func (*Driver) Close() error { return nil }
