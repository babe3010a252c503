package rest

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sync"
)

// fakeBackend is a cluster of two jobs: j1 runs (until cancelled), j2 has
// finished. Its operations succeed for j1 and fail with ErrConflict for
// j2; savepoints without a directory fail too.
type fakeBackend struct {
	// gate, if not nil, holds the operations until it is closed or their
	// context is done.
	gate chan struct{}
	// readProgram, if not nil, reads the program of a submission.
	readProgram func(io.Reader) ([]byte, error)

	mu          sync.Mutex
	submissions []fakeSubmission
	cancelled   bool    // j1
	resultCalls int     // of j1
	opErrs      []error // of the operations that ended by their context
}

type fakeSubmission struct {
	Submission
	program []byte // nil for a builtin job
}

func newFakeBackend() *fakeBackend { return &fakeBackend{} }

func (f *fakeBackend) submitted() []fakeSubmission {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]fakeSubmission(nil), f.submissions...)
}

func (*fakeBackend) TaskManagers(context.Context) ([]TaskManager, error) {
	return []TaskManager{{ID: "tm-1", Path: "127.0.0.1", SlotsNumber: 2, FreeSlots: 1}}, nil
}

func (*fakeBackend) Jobs(context.Context) ([]Job, error) {
	return []Job{
		{ID: "j1", Name: "wordcount", State: StateRunning, StartTime: 1_700_000_000_000, EndTime: -1, Duration: 5000},
		{ID: "j2", Name: "x", State: StateFinished, StartTime: 1_600_000_000_000, EndTime: 1_600_000_060_000, Duration: 60000},
	}, nil
}

func (*fakeBackend) Config() map[string]string { return map[string]string{"rest.port": "8081"} }

func notFound(jobID string) error { return fmt.Errorf("%w: job %s", ErrNotFound, jobID) }

func (f *fakeBackend) Job(_ context.Context, jobID string) (JobDetails, error) {
	switch jobID {
	case "j1":
		state := StateRunning
		f.mu.Lock()
		if f.cancelled {
			state = StateCancelling
		}
		f.mu.Unlock()
		return JobDetails{ID: "j1", Name: "wordcount", IsStoppable: true, State: state, StartTime: 1_700_000_000_000,
			EndTime: -1, Duration: 5000, Now: 1_700_000_005_000,
			Timestamps: map[string]int64{StateCreated: 1_700_000_000_000, StateRunning: 1_700_000_000_100},
			Vertices: []JobVertex{
				{ID: "v1", Name: "Source: lines", Parallelism: 2, MaxParallelism: 128, Status: StateRunning},
				{ID: "v2", Name: "count -> Sink: print", Parallelism: 4, MaxParallelism: 128, Status: StateRunning},
			}}, nil
	case "j2":
		// Nil lists and maps, which the server answers as empty ones.
		return JobDetails{ID: "j2", Name: "x", State: StateFinished, StartTime: 1_600_000_000_000,
			EndTime: 1_600_000_060_000, Duration: 60000, Now: 1_700_000_005_000}, nil
	}
	return JobDetails{}, notFound(jobID)
}

func (f *fakeBackend) JobExceptions(ctx context.Context, jobID string) (JobExceptions, error) {
	switch jobID {
	case "j1":
		return JobExceptions{ExceptionHistory: ExceptionHistory{Entries: []Exception{{
			ExceptionName: "task failed", Stacktrace: "count (2/4) failed: injected\nat attempt 1",
			Timestamp: 1_700_000_003_000, TaskName: "count (2/4)", TaskManagerID: "tm-1",
		}}}}, nil
	case "j2":
		return JobExceptions{}, nil
	}
	return JobExceptions{}, notFound(jobID)
}

func (f *fakeBackend) JobMetrics(_ context.Context, jobID string) ([]Metric, error) {
	switch jobID {
	case "j1":
		return []Metric{{ID: "tm-1.Network.BackPressuredChannels", Value: "1"}, {ID: "tm-1.Network.SegmentsInUse", Value: "12"}}, nil
	case "j2":
		return nil, nil
	}
	return nil, notFound(jobID)
}

func (f *fakeBackend) JobCheckpoints(_ context.Context, jobID string) (Checkpoints, error) {
	switch jobID {
	case "j1":
		return Checkpoints{
			Counts: CheckpointCounts{Restored: 1, Total: 8, InProgress: 1, Completed: 6, Failed: 1},
			Latest: LatestCheckpoints{
				Completed: &CompletedCheckpoint{ID: 7, Status: "COMPLETED", ExternalPath: "/ck/chk-7", EndToEndDuration: 42},
				Restored:  &RestoredCheckpoint{ID: 3, IsSavepoint: true, ExternalPath: "/sp/savepoint-3"},
			},
		}, nil
	case "j2":
		return Checkpoints{}, nil
	}
	return Checkpoints{}, notFound(jobID)
}

func (f *fakeBackend) Result(_ context.Context, jobID string) (*JobResult, error) {
	switch jobID {
	case "j1":
		f.mu.Lock()
		defer f.mu.Unlock()
		f.resultCalls++
		if f.cancelled {
			return &JobResult{ID: "j1", ApplicationStatus: "CANCELED", NetRuntime: 5000}, nil
		}
		return nil, nil
	case "j2":
		return &JobResult{ID: "j2", ApplicationStatus: "SUCCEEDED", NetRuntime: 60000}, nil
	}
	return nil, notFound(jobID)
}

func (f *fakeBackend) Submit(_ context.Context, s Submission, program io.Reader) (string, error) {
	switch s.Name {
	case "":
		return "", fmt.Errorf("%w: jobName missing", ErrBadRequest)
	case "boom":
		return "", errors.New("the blob store is full")
	}
	sub := fakeSubmission{Submission: s}
	if program != nil {
		read := f.readProgram
		if read == nil {
			read = io.ReadAll
		}
		var err error
		if sub.program, err = read(program); err != nil {
			return "", err
		}
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.submissions = append(f.submissions, sub)
	return fmt.Sprintf("j%d", 2+len(f.submissions)), nil
}

func (f *fakeBackend) Cancel(_ context.Context, jobID string) error {
	switch jobID {
	case "j1":
		f.mu.Lock()
		defer f.mu.Unlock()
		f.cancelled = true
		return nil
	case "j2":
		return fmt.Errorf("%w: job j2 has finished", ErrConflict)
	}
	return notFound(jobID)
}

// wait holds an operation at the gate.
func (f *fakeBackend) wait(ctx context.Context) error {
	if f.gate == nil {
		return nil
	}
	select {
	case <-f.gate:
		return nil
	case <-ctx.Done():
		f.mu.Lock()
		defer f.mu.Unlock()
		f.opErrs = append(f.opErrs, ctx.Err())
		return ctx.Err()
	}
}

func (f *fakeBackend) operation(ctx context.Context, jobID, dir string) error {
	if err := f.wait(ctx); err != nil {
		return err
	}
	if jobID != "j1" {
		return fmt.Errorf("%w: job %s has finished", ErrConflict, jobID)
	}
	if dir == "" {
		return fmt.Errorf("%w: no directory, and no state.savepoints.dir", ErrConflict)
	}
	return nil
}

func (f *fakeBackend) TriggerSavepoint(ctx context.Context, jobID, dir string, cancelJob bool) (string, error) {
	if err := f.operation(ctx, jobID, dir); err != nil {
		return "", err
	}
	if cancelJob {
		_ = f.Cancel(ctx, jobID)
	}
	return dir + "/savepoint-1", nil
}

func (f *fakeBackend) StopWithSavepoint(ctx context.Context, jobID, dir string, drain bool) (string, error) {
	if err := f.operation(ctx, jobID, dir); err != nil {
		return "", err
	}
	if drain {
		return dir + "/savepoint-drained", nil
	}
	return dir + "/savepoint-stopped", nil
}

func (f *fakeBackend) TriggerCheckpoint(ctx context.Context, jobID string) (int64, error) {
	if err := f.operation(ctx, jobID, "-"); err != nil {
		return 0, err
	}
	return 8, nil
}
