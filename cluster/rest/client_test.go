package rest

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"testing/iotest"
	"time"

	"github.com/runnel-io/runnel/cluster/security"
)

// startServer serves backend on a free port until the test ends, and
// checks that the server closes cleanly and leaves no goroutine behind.
func startServer(t *testing.T, backend *fakeBackend) *Server {
	t.Helper()
	return listen(t, backend, Options{SavepointsDir: "/sp"}, security.REST{})
}

func TestClientReads(t *testing.T) {
	s := startServer(t, newFakeBackend())
	ctx := t.Context()
	for _, addr := range []string{s.Addr(), "http://" + s.Addr() + "/"} {
		c := &Client{Address: addr}
		o, err := c.Overview(ctx)
		if err != nil || o != (Overview{TaskManagers: 1, SlotsTotal: 2, SlotsAvailable: 1, JobsRunning: 1, JobsFinished: 1, Version: "test"}) {
			t.Errorf("Overview at %s = %+v, %v", addr, o, err)
		}
	}
	c := &Client{Address: s.Addr(), HTTP: &http.Client{}}
	jobs, err := c.Jobs(ctx)
	if err != nil || len(jobs) != 2 || jobs[0].ID != "j1" || jobs[1].State != StateFinished || jobs[1].EndTime != 1_600_000_060_000 {
		t.Errorf("Jobs = %+v, %v", jobs, err)
	}
	d, err := c.Job(ctx, "j1")
	if err != nil || d.Name != "wordcount" || len(d.Vertices) != 2 || d.Vertices[1].Parallelism != 4 || d.Timestamps[StateRunning] != 1_700_000_000_100 {
		t.Errorf("Job = %+v, %v", d, err)
	}
	ex, err := c.Exceptions(ctx, "j1")
	if err != nil || len(ex.ExceptionHistory.Entries) != 1 || ex.ExceptionHistory.Entries[0].TaskManagerID != "tm-1" {
		t.Errorf("Exceptions = %+v, %v", ex, err)
	}
	cp, err := c.Checkpoints(ctx, "j1")
	if err != nil || cp.Counts.Completed != 6 || cp.Latest.Completed.ExternalPath != "/ck/chk-7" || cp.Latest.Savepoint != nil || !cp.Latest.Restored.IsSavepoint {
		t.Errorf("Checkpoints = %+v, %v", cp, err)
	}
	tms, err := c.TaskManagers(ctx)
	if err != nil || len(tms) != 1 || tms[0].FreeSlots != 1 {
		t.Errorf("TaskManagers = %+v, %v", tms, err)
	}
}

func TestClientStatusErrors(t *testing.T) {
	s := startServer(t, newFakeBackend())
	c := &Client{Address: s.Addr()}
	ctx := t.Context()
	for name, call := range map[string]func() error{
		"GET /jobs/nope: 404: rest: not found: job nope":                       func() error { _, err := c.Job(ctx, "nope"); return err },
		"GET /jobs/nope/exceptions: 404: rest: not found: job nope":            func() error { _, err := c.Exceptions(ctx, "nope"); return err },
		"GET /jobs/nope/checkpoints: 404: rest: not found: job nope":           func() error { _, err := c.Checkpoints(ctx, "nope"); return err },
		"GET /jobs/nope/execution-result: 404: rest: not found: job nope":      func() error { _, err := c.Result(ctx, "nope"); return err },
		"PATCH /jobs/nope?mode=cancel: 404: rest: not found: job nope":         func() error { return c.Cancel(ctx, "nope") },
		"POST /jobs/nope/savepoints: 404: rest: not found: job nope":           func() error { _, err := c.TriggerSavepoint(ctx, "nope", "/sp", false); return err },
		"POST /jobs/nope/stop: 404: rest: not found: job nope":                 func() error { _, err := c.StopWithSavepoint(ctx, "nope", "/sp", false); return err },
		"POST /jobs/nope/checkpoints: 404: rest: not found: job nope":          func() error { _, err := c.TriggerCheckpoint(ctx, "nope"); return err },
		"GET /jobs/a%2Fb: 400: rest: bad request: malformed job ID \"a/b\"":    func() error { _, err := c.Job(ctx, "a/b"); return err },
		"PATCH /jobs/j2?mode=cancel: 409: rest: conflict: job j2 has finished": func() error { return c.Cancel(ctx, "j2") },
		"POST /jobs: 400: rest: bad request: jobName missing": func() error {
			_, err := c.Submit(ctx, Submission{Builtin: true}, nil)
			return err
		},
		"POST /jobs: 400: rest: bad request: part \"program\" missing: the job's binary, unless \"builtin\" is true": func() error {
			_, err := c.Submit(ctx, Submission{Name: "x"}, nil)
			return err
		},
	} {
		err := call()
		var se *StatusError
		if !errors.As(err, &se) || err.Error() != "rest: "+name {
			t.Errorf("error %v, want a StatusError %q", err, "rest: "+name)
			continue
		}
		if code, _ := strconv.Atoi(strings.SplitN(name, ": ", 3)[1]); se.Code != code {
			t.Errorf("%s: code %d", name, se.Code)
		}
	}
}

func TestClientTransportErrors(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	c := &Client{Address: addr}
	_, err = c.Overview(t.Context())
	if err == nil || !strings.HasPrefix(err.Error(), "rest: GET /overview: ") || errors.As(err, new(*StatusError)) {
		t.Errorf("Overview of a closed port = %v", err)
	}
}

func TestClientSubmit(t *testing.T) {
	backend := newFakeBackend()
	s := startServer(t, backend)
	c := &Client{Address: s.Addr()}
	sub := Submission{Name: "wc", Builtin: true, Args: []string{"wordcount", "--input", "in.txt"},
		Config: map[string]string{"parallelism.default": "3"}, WorkingDir: "/w", Fingerprint: "abc"}
	id, err := c.Submit(t.Context(), sub, nil)
	if err != nil || id != "j3" {
		t.Fatalf("Submit = %q, %v", id, err)
	}
	id, err = c.Submit(t.Context(), Submission{Name: "mine"}, strings.NewReader("program"))
	if err != nil || id != "j4" {
		t.Fatalf("Submit = %q, %v", id, err)
	}
	// A program that cannot be read fails the submission.
	broken := errors.New("disk on fire")
	_, err = c.Submit(t.Context(), Submission{Name: "broken"}, io.MultiReader(strings.NewReader("prog"), iotest.ErrReader(broken)))
	if !errors.Is(err, broken) || !strings.HasPrefix(err.Error(), "rest: POST /jobs: ") {
		t.Errorf("Submit of an unreadable program = %v", err)
	}
	got := backend.submitted()
	if len(got) != 2 || got[0].program != nil || got[0].Fingerprint != "abc" || got[0].Config["parallelism.default"] != "3" ||
		strings.Join(got[0].Args, " ") != "wordcount --input in.txt" || string(got[1].program) != "program" {
		t.Errorf("submitted %+v", got)
	}
}

func TestClientResult(t *testing.T) {
	backend := newFakeBackend()
	s := startServer(t, backend)
	c := &Client{Address: s.Addr()}
	ctx := t.Context()
	if r, err := c.Result(ctx, "j1"); r != nil || err != nil {
		t.Errorf("Result of a running job = %+v, %v", r, err)
	}
	if r, err := c.Result(ctx, "j2"); err != nil || r.ApplicationStatus != "SUCCEEDED" || r.NetRuntime != 60000 {
		t.Errorf("Result of a finished job = %+v, %v", r, err)
	}
	short, cancel := context.WithTimeout(ctx, 50*time.Millisecond)
	defer cancel()
	if r, err := c.WaitResult(short, "j1", 10*time.Millisecond); r != nil || !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("WaitResult of a running job = %+v, %v, want the deadline exceeded", r, err)
	}
	// The job ends while WaitResult polls.
	done := make(chan *JobResult, 1) // no leak if the test stops first
	go func() {
		r, err := c.WaitResult(ctx, "j1", time.Millisecond)
		if err != nil {
			t.Error(err)
		}
		done <- r
	}()
	for {
		backend.mu.Lock()
		polled := backend.resultCalls
		backend.mu.Unlock()
		if polled > 5 {
			break
		}
		time.Sleep(time.Millisecond)
	}
	if err := c.Cancel(ctx, "j1"); err != nil {
		t.Fatal(err)
	}
	if r := <-done; r == nil || r.ApplicationStatus != "CANCELED" {
		t.Errorf("WaitResult = %+v, want CANCELED", r)
	}
}

func TestClientOperations(t *testing.T) {
	backend := newFakeBackend()
	backend.gate = make(chan struct{})
	s := startServer(t, backend)
	c := &Client{Address: s.Addr()}
	ctx := t.Context()

	// Polling is bounded by ctx.
	short, cancel := context.WithTimeout(ctx, 150*time.Millisecond)
	defer cancel()
	if _, err := c.TriggerCheckpoint(short, "j1"); !errors.Is(err, context.DeadlineExceeded) || !strings.HasPrefix(err.Error(), "rest: waiting for the checkpoint of job j1: ") {
		t.Errorf("TriggerCheckpoint held = %v, want the deadline exceeded", err)
	}
	close(backend.gate)

	if loc, err := c.TriggerSavepoint(ctx, "j1", "/sp", false); err != nil || loc != "/sp/savepoint-1" {
		t.Errorf("TriggerSavepoint = %q, %v", loc, err)
	}
	if loc, err := c.StopWithSavepoint(ctx, "j1", "/sp", true); err != nil || loc != "/sp/savepoint-drained" {
		t.Errorf("StopWithSavepoint = %q, %v", loc, err)
	}
	if id, err := c.TriggerCheckpoint(ctx, "j1"); err != nil || id != 8 {
		t.Errorf("TriggerCheckpoint = %d, %v", id, err)
	}
	for name, call := range map[string]func() error{
		"savepoint":  func() error { _, err := c.TriggerSavepoint(ctx, "j1", "", true); return err },
		"stop":       func() error { _, err := c.StopWithSavepoint(ctx, "j2", "/sp", false); return err },
		"checkpoint": func() error { _, err := c.TriggerCheckpoint(ctx, "j2"); return err },
	} {
		err := call()
		var oe *OperationError
		if !errors.As(err, &oe) || oe.Operation != name || oe.Cause.Class != "rest.ErrConflict" ||
			!strings.HasPrefix(err.Error(), "rest: "+name+" of job ") || !strings.Contains(err.Error(), " failed: rest: conflict: ") {
			t.Errorf("failed %s: %v, want an OperationError", name, err)
		}
	}
}
