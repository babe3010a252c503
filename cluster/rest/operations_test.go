package rest

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"testing"
	"time"

	"go.uber.org/goleak"
)

// triggerID starts an operation with a POST and returns its trigger ID.
func triggerID(t *testing.T, s *Server, path, body string) string {
	t.Helper()
	code, answer := serve(t, s, "POST", path, "application/json", body)
	var v triggerResponse
	if err := json.Unmarshal([]byte(answer), &v); code != http.StatusAccepted || err != nil || v.RequestID == "" {
		t.Fatalf("POST %s: %d %s", path, code, answer)
	}
	return v.RequestID
}

// awaitCompleted polls the status of an operation until it is
// completed.
func awaitCompleted(t *testing.T, s *Server, path string) string {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(2 * time.Millisecond) {
		code, answer := serve(t, s, "GET", path, "", "")
		var v operationStatus
		if err := json.Unmarshal([]byte(answer), &v); code != http.StatusOK || err != nil {
			t.Fatalf("GET %s: %d %s", path, code, answer)
		}
		if v.Status.ID == statusCompleted {
			return answer
		}
	}
	t.Fatalf("GET %s: still in progress", path)
	return ""
}

func TestCheckpointAndSavepointTriggerIDsAreApart(t *testing.T) {
	s := NewServer(newFakeBackend(), "test", nil, Options{SavepointsDir: "/sp"})
	defer s.Close(context.Background())
	sp := triggerID(t, s, "/jobs/j1/savepoints", `{"target-directory": "/sp"}`)
	ck := triggerID(t, s, "/jobs/j1/checkpoints", ``)
	awaitCompleted(t, s, "/jobs/j1/savepoints/"+sp)
	awaitCompleted(t, s, "/jobs/j1/checkpoints/"+ck)
	for _, path := range []string{
		"/jobs/j1/checkpoints/" + sp, // a savepoint is not a checkpoint
		"/jobs/j1/savepoints/" + ck,
		"/jobs/j2/savepoints/" + sp, // of another job
	} {
		if code, answer := serve(t, s, "GET", path, "", ""); code != http.StatusNotFound {
			t.Errorf("GET %s: %d %s, want 404", path, code, answer)
		}
	}
}

func TestSavepointOperationsKeepTheLastResults(t *testing.T) {
	s := NewServer(newFakeBackend(), "test", nil, Options{SavepointsDir: "/sp"})
	defer s.Close(context.Background())
	s.ops.keep = 2
	var ids []string
	for range 3 {
		id := triggerID(t, s, "/jobs/j1/savepoints", `{"target-directory": "/sp"}`)
		awaitCompleted(t, s, "/jobs/j1/savepoints/"+id)
		ids = append(ids, id)
	}
	for i, id := range ids {
		want := http.StatusOK
		if i == 0 {
			want = http.StatusNotFound // the oldest is dropped
		}
		if code, answer := serve(t, s, "GET", "/jobs/j1/savepoints/"+id, "", ""); code != want {
			t.Errorf("savepoint %d: %d %s, want %d", i, code, answer, want)
		}
	}
}

func TestCheckpointOperationsEndWhenTheServerCloses(t *testing.T) {
	ignore := goleak.IgnoreCurrent()
	t.Cleanup(func() { goleak.VerifyNone(t, ignore) })
	backend := newFakeBackend()
	backend.gate = make(chan struct{}) // never opened
	s := NewServer(backend, "test", nil, Options{SavepointsDir: "/sp"})
	if err := s.Listen("127.0.0.1:0", nil); err != nil {
		t.Fatal(err)
	}
	ck := triggerID(t, s, "/jobs/j1/checkpoints", "")
	sp := triggerID(t, s, "/jobs/j1/stop", `{"targetDirectory": "/sp"}`)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := s.Close(ctx); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(ctx); err != nil {
		t.Errorf("second Close: %v", err)
	}
	backend.mu.Lock()
	ended := backend.opErrs
	backend.mu.Unlock()
	if len(ended) != 2 || !errors.Is(ended[0], context.Canceled) || !errors.Is(ended[1], context.Canceled) {
		t.Errorf("the operations ended with %v, want their contexts cancelled", ended)
	}
	for _, key := range []opKey{{opCheckpoint, "j1", ck}, {opSavepoint, "j1", sp}} {
		if res, ok := s.ops.status(key); !ok || res == nil || !errors.Is(res.err, context.Canceled) {
			t.Errorf("%v: %+v, want failed by the closing", key, res)
		}
	}
	// A closed server starts no operation.
	code, answer := serve(t, s, "POST", "/jobs/j1/checkpoints", "", "")
	if msg := errorOf(t, answer); code != http.StatusServiceUnavailable || msg != errClosed.Error() {
		t.Errorf("trigger after Close: %d %q, want 503", code, msg)
	}
}

func TestCheckpointOperationsOutliveCloseTimeout(t *testing.T) {
	// An operation that ignores its context makes Close give up when
	// its context is done, and say so.
	s := NewServer(newFakeBackend(), "test", nil, Options{SavepointsDir: "/sp"})
	release := make(chan struct{})
	defer close(release)
	if _, err := s.ops.start(opCheckpoint, "j1", func(context.Context) opResult { <-release; return opResult{} }); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	if err := s.Close(ctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("Close = %v, want the deadline exceeded", err)
	}
}
