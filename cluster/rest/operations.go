package rest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"sync"

	"github.com/runnel-io/runnel/config"
)

// The asynchronous operations are run as Flink runs them: a POST starts
// one and answers {"request-id": trigger ID} at once; the operation's
// status resource answers IN_PROGRESS until it completes, then COMPLETED
// with its result or its failure cause.

// The states of an asynchronous operation (QueueStatus.ID).
const (
	statusInProgress = "IN_PROGRESS"
	statusCompleted  = "COMPLETED"
)

// keepCompleted is how many completed operations a server keeps the
// results of; older ones are dropped, and their status is 404.
const keepCompleted = 1000

// maxBody bounds the JSON body of a trigger.
const maxBody = 1 << 20

// opKind says under which status resource an operation is found.
type opKind int

const (
	// opSavepoint is a savepoint or a stop with a savepoint:
	// /jobs/:jobid/savepoints/:triggerid.
	opSavepoint opKind = iota
	// opCheckpoint is a checkpoint: /jobs/:jobid/checkpoints/:triggerid.
	opCheckpoint
)

func (k opKind) String() string {
	if k == opCheckpoint {
		return "checkpoint"
	}
	return "savepoint"
}

type opKey struct {
	kind             opKind
	jobID, triggerID string
}

// opResult is how an operation ended.
type opResult struct {
	location     string // of a savepoint
	checkpointID int64  // of a checkpoint
	err          error
}

// operations runs the asynchronous operations of a server and keeps their
// results: those of all operations in progress and of the last keep
// completed ones. Its methods are safe for concurrent use.
type operations struct {
	ctx     context.Context // of every operation; cancelled by close
	cancel  context.CancelFunc
	running sync.WaitGroup
	keep    int

	mu        sync.Mutex
	closed    bool
	results   map[opKey]*opResult // nil while in progress
	completed []opKey             // the keys of completed operations, oldest first
}

func newOperations(keep int) *operations {
	ctx, cancel := context.WithCancel(context.Background())
	return &operations{ctx: ctx, cancel: cancel, keep: keep, results: map[opKey]*opResult{}}
}

// start runs run in a goroutine of its own and returns the operation's
// trigger ID; after close it returns errClosed.
func (o *operations) start(kind opKind, jobID string, run func(context.Context) opResult) (string, error) {
	key := opKey{kind, jobID, newTriggerID()}
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.closed {
		return "", errClosed
	}
	o.results[key] = nil
	o.running.Add(1)
	go func() {
		defer o.running.Done()
		o.finish(key, run(o.ctx))
	}()
	return key.triggerID, nil
}

func (o *operations) finish(key opKey, res opResult) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.results[key] = &res
	o.completed = append(o.completed, key)
	for len(o.completed) > o.keep {
		delete(o.results, o.completed[0])
		o.completed = o.completed[1:]
	}
}

// status is the result of an operation, nil while it is in progress; ok
// is false if there is no such operation (or no more).
func (o *operations) status(key opKey) (res *opResult, ok bool) {
	o.mu.Lock()
	defer o.mu.Unlock()
	res, ok = o.results[key]
	return res, ok
}

// close refuses new operations, cancels those in progress and waits for
// them until ctx is done.
func (o *operations) close(ctx context.Context) error {
	o.mu.Lock()
	o.closed = true
	o.mu.Unlock()
	o.cancel()
	done := make(chan struct{})
	go func() {
		o.running.Wait()
		close(done)
	}()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("rest: close: operations still in progress: %w", ctx.Err())
	}
}

// newTriggerID is a random trigger ID: 32 hexadecimal digits, as Flink's.
func newTriggerID() string {
	var b [16]byte
	_, _ = rand.Read(b[:]) // never fails
	return hex.EncodeToString(b[:])
}

// triggerResponse answers the start of an operation.
type triggerResponse struct {
	RequestID string `json:"request-id"`
}

// operationStatus is the status of an operation: Flink's
// AsynchronousOperationResult. Operation is set once it is COMPLETED.
type operationStatus struct {
	Status    QueueStatus      `json:"status"`
	Operation *operationResult `json:"operation,omitempty"`
}

// operationResult is a completed operation: a savepoint's location, a
// checkpoint's ID, or why it failed.
type operationResult struct {
	Location     *string       `json:"location,omitempty"`
	CheckpointID *int64        `json:"checkpointId,omitempty"`
	FailureCause *FailureCause `json:"failure-cause,omitempty"`
}

// The bodies of the triggers, as Flink's; what Flink has besides is
// ignored.
type (
	savepointRequest struct {
		TargetDirectory string `json:"target-directory"`
		CancelJob       bool   `json:"cancel-job"`
	}
	stopRequest struct {
		TargetDirectory string `json:"targetDirectory"`
		Drain           bool   `json:"drain"`
	}
	checkpointRequest struct {
		CheckpointType string `json:"checkpointType"`
	}
)

func (s *Server) triggerSavepoint(r *http.Request) (any, error) {
	var req savepointRequest
	if err := decodeBody(r, &req); err != nil {
		return nil, err
	}
	if req.CancelJob && s.opts.DisableCancel {
		// A savepoint that cancels the job is a cancellation.
		return nil, fmt.Errorf("%w: cancel-job: cancelling jobs through the REST API is disabled (%s: false)", ErrForbidden, config.WebCancelEnable.Key())
	}
	dir, err := s.opts.savepointDir(req.TargetDirectory)
	if err != nil {
		return nil, err
	}
	req.TargetDirectory = dir
	jobID := r.PathValue("jobid")
	return s.trigger(r, opSavepoint, jobID, func(ctx context.Context) opResult {
		loc, err := s.backend.TriggerSavepoint(ctx, jobID, req.TargetDirectory, req.CancelJob)
		return opResult{location: loc, err: err}
	})
}

func (s *Server) stopWithSavepoint(r *http.Request) (any, error) {
	var req stopRequest
	if err := decodeBody(r, &req); err != nil {
		return nil, err
	}
	dir, err := s.opts.savepointDir(req.TargetDirectory)
	if err != nil {
		return nil, err
	}
	req.TargetDirectory = dir
	jobID := r.PathValue("jobid")
	return s.trigger(r, opSavepoint, jobID, func(ctx context.Context) opResult {
		loc, err := s.backend.StopWithSavepoint(ctx, jobID, req.TargetDirectory, req.Drain)
		return opResult{location: loc, err: err}
	})
}

func (s *Server) triggerCheckpoint(r *http.Request) (any, error) {
	var req checkpointRequest
	if err := decodeBody(r, &req); err != nil {
		return nil, err
	}
	// Every checkpoint of runnel is a full one.
	switch req.CheckpointType {
	case "", "CONFIGURED", "FULL":
	default:
		return nil, fmt.Errorf("%w: checkpointType %q: want FULL or CONFIGURED", ErrBadRequest, req.CheckpointType)
	}
	jobID := r.PathValue("jobid")
	return s.trigger(r, opCheckpoint, jobID, func(ctx context.Context) opResult {
		id, err := s.backend.TriggerCheckpoint(ctx, jobID)
		return opResult{checkpointID: id, err: err}
	})
}

// trigger starts run, after checking that the job exists, and answers
// its trigger ID.
func (s *Server) trigger(r *http.Request, kind opKind, jobID string, run func(context.Context) opResult) (any, error) {
	if _, err := s.backend.Job(r.Context(), jobID); err != nil {
		return nil, err
	}
	id, err := s.ops.start(kind, jobID, func(ctx context.Context) opResult {
		res := run(ctx)
		if res.err != nil {
			s.log.Info("rest: operation failed", "operation", kind, "job", jobID, "error", res.err)
		}
		return res
	})
	if err != nil {
		return nil, err
	}
	return accepted{triggerResponse{RequestID: id}}, nil
}

func (s *Server) savepointStatus(r *http.Request) (any, error) {
	return s.status(r, opSavepoint, func(res *opResult) *operationResult {
		return &operationResult{Location: &res.location}
	})
}

func (s *Server) checkpointStatus(r *http.Request) (any, error) {
	return s.status(r, opCheckpoint, func(res *opResult) *operationResult {
		return &operationResult{CheckpointID: &res.checkpointID}
	})
}

// status answers the status of an operation of kind; done is the result
// of one that succeeded.
func (s *Server) status(r *http.Request, kind opKind, done func(*opResult) *operationResult) (any, error) {
	key := opKey{kind, r.PathValue("jobid"), r.PathValue("triggerid")}
	res, ok := s.ops.status(key)
	switch {
	case !ok:
		return nil, fmt.Errorf("%w: no %s operation %s of job %s", ErrNotFound, kind, key.triggerID, key.jobID)
	case res == nil:
		return operationStatus{Status: QueueStatus{ID: statusInProgress}}, nil
	case res.err != nil:
		return operationStatus{Status: QueueStatus{ID: statusCompleted}, Operation: &operationResult{FailureCause: failureCause(res.err)}}, nil
	default:
		return operationStatus{Status: QueueStatus{ID: statusCompleted}, Operation: done(res)}, nil
	}
}

// decodeBody decodes the JSON body of r into v; an empty body leaves v
// as it is. The body is limited (to maxBody) by the route: above it,
// the error is an *http.MaxBytesError, answered 413.
func decodeBody(r *http.Request, v any) error {
	err := json.NewDecoder(r.Body).Decode(v)
	if err != nil && !errors.Is(err, io.EOF) {
		return fmt.Errorf("%w: body: %w", ErrBadRequest, err)
	}
	return nil
}

// failureCause describes err as Flink describes an exception: Class is
// the kind of error (the name of the sentinel error it wraps, or else the
// Go type of the innermost error), StackTrace its message.
func failureCause(err error) *FailureCause {
	return &FailureCause{Class: errorClass(err), StackTrace: err.Error()}
}

func errorClass(err error) string {
	for _, k := range []struct {
		err  error
		name string
	}{
		{ErrNotFound, "rest.ErrNotFound"},
		{ErrBadRequest, "rest.ErrBadRequest"},
		{ErrConflict, "rest.ErrConflict"},
		{context.Canceled, "context.Canceled"},
		{context.DeadlineExceeded, "context.DeadlineExceeded"},
	} {
		if errors.Is(err, k.err) {
			return k.name
		}
	}
	for {
		inner := errors.Unwrap(err)
		if inner == nil {
			return fmt.Sprintf("%T", err)
		}
		err = inner
	}
}
