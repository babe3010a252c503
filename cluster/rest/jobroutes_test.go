package rest

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// serve answers one request with a server of backend.
func serve(t *testing.T, s *Server, method, path, contentType, body string) (int, string) {
	t.Helper()
	req := httptest.NewRequest(method, path, strings.NewReader(body))
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	w := httptest.NewRecorder()
	s.Handler().ServeHTTP(w, req)
	return w.Code, w.Body.String()
}

// errorOf is the one message of an error answer.
func errorOf(t *testing.T, body string) string {
	t.Helper()
	var e struct{ Errors []string }
	if err := json.Unmarshal([]byte(body), &e); err != nil || len(e.Errors) != 1 {
		t.Fatalf("answer %q is not {\"errors\": [message]}", body)
	}
	return e.Errors[0]
}

func TestJobsSubmitRejectsBadRequests(t *testing.T) {
	s := NewServer(newFakeBackend(), "test", nil, Options{SavepointsDir: "/sp"})
	defer s.Close(context.Background())
	request := func(json string) [2]string { return [2]string{"request", json} }
	program := [2]string{"program", "binary"}
	for _, c := range []struct {
		name  string
		parts [][2]string
		want  string
	}{
		{"no parts", nil, `part "request" missing`},
		{"program first", [][2]string{program, request(`{"jobName": "a"}`)}, `the first part is "program", want "request"`},
		{"malformed request", [][2]string{request(`{"jobName": `), program}, `part "request": unexpected EOF`},
		{"unknown field", [][2]string{request(`{"name": "a"}`), program}, `part "request": json: unknown field "name"`},
		{"wrong type", [][2]string{request(`{"jobName": "a", "programArgs": "x y"}`), program}, `part "request": json: cannot unmarshal string into Go struct field Submission.programArgs`},
		{"no program", [][2]string{request(`{"jobName": "a"}`)}, `part "program" missing`},
		{"program of a builtin", [][2]string{request(`{"jobName": "a", "builtin": true}`), program}, `part "program" sent for a builtin job`},
		{"unknown part", [][2]string{request(`{"jobName": "a"}`), {"jar", "x"}}, `unexpected part "jar" after "request"`},
		{"rejected by the backend", [][2]string{request(`{"builtin": true}`)}, "jobName missing"},
	} {
		t.Run(c.name, func(t *testing.T) {
			ct, body := multipartBody(t, c.parts...)
			code, answer := serve(t, s, "POST", "/jobs", ct, body)
			if msg := errorOf(t, answer); code != http.StatusBadRequest || !strings.Contains(msg, c.want) {
				t.Errorf("POST /jobs: %d %q, want 400 with %q", code, msg, c.want)
			}
		})
	}
	code, answer := serve(t, s, "POST", "/jobs", "application/json", `{"jobName": "a"}`)
	if msg := errorOf(t, answer); code != http.StatusBadRequest || !strings.Contains(msg, "want multipart/form-data") {
		t.Errorf("POST /jobs as JSON: %d %q, want 400 asking for multipart/form-data", code, msg)
	}
}

func TestJobsSubmit(t *testing.T) {
	backend := newFakeBackend()
	s := NewServer(backend, "test", nil, Options{SavepointsDir: "/sp"})
	defer s.Close(context.Background())
	ct, body := multipartBody(t,
		[2]string{"request", `{"jobName": "mine", "programArgs": ["--input", "in.txt"], "config": {"parallelism.default": "2"}, "workingDir": "/home/me", "planFingerprint": "f00d"}`},
		[2]string{"program", "\x7fELF\x00binary"})
	code, answer := serve(t, s, "POST", "/jobs", ct, body)
	if code != http.StatusAccepted || answer != `{"jobUrl":"/jobs/j3","jobid":"j3"}`+"\n" {
		t.Fatalf("POST /jobs: %d %s", code, answer)
	}
	got := backend.submitted()[0]
	if got.Name != "mine" || strings.Join(got.Args, " ") != "--input in.txt" || got.Config["parallelism.default"] != "2" ||
		got.WorkingDir != "/home/me" || got.Fingerprint != "f00d" || string(got.program) != "\x7fELF\x00binary" || got.Builtin {
		t.Errorf("submitted %+v", got)
	}
}

func TestJobsBackendErrorsHaveTheirStatusCodes(t *testing.T) {
	s := NewServer(newFakeBackend(), "test", nil, Options{SavepointsDir: "/sp"})
	defer s.Close(context.Background())
	ct, body := multipartBody(t, [2]string{"request", `{"jobName": "boom", "builtin": true}`})
	code, answer := serve(t, s, "POST", "/jobs", ct, body)
	if msg := errorOf(t, answer); code != http.StatusInternalServerError || msg != "the blob store is full" {
		t.Errorf("failed submission: %d %q, want 500 with the backend's message", code, msg)
	}
	code, answer = serve(t, s, "PATCH", "/jobs/j2?mode=cancel", "", "")
	if msg := errorOf(t, answer); code != http.StatusConflict || msg != "rest: conflict: job j2 has finished" {
		t.Errorf("cancelling a finished job: %d %q, want 409", code, msg)
	}
	code, answer = serve(t, s, "GET", "/jobs/nope", "", "")
	if msg := errorOf(t, answer); code != http.StatusNotFound || msg != "rest: not found: job nope" {
		t.Errorf("unknown job: %d %q, want 404", code, msg)
	}
	code, answer = serve(t, s, "PATCH", "/jobs/j1?mode=savepoint", "", "")
	if msg := errorOf(t, answer); code != http.StatusBadRequest || !strings.Contains(msg, `mode "savepoint": want mode=cancel`) {
		t.Errorf("unknown mode: %d %q, want 400 naming the mode", code, msg)
	}
}

func TestJobsExecutionResult(t *testing.T) {
	s := NewServer(newFakeBackend(), "test", nil, Options{SavepointsDir: "/sp"})
	defer s.Close(context.Background())
	for path, want := range map[string]string{
		"/jobs/j1/execution-result": `{"status":{"id":"IN_PROGRESS"}}`,
		"/jobs/j2/execution-result": `{"status":{"id":"COMPLETED"},"job-execution-result":{"id":"j2","application-status":"SUCCEEDED","net-runtime":60000}}`,
	} {
		if code, answer := serve(t, s, "GET", path, "", ""); code != http.StatusOK || answer != want+"\n" {
			t.Errorf("GET %s: %d %s, want %s", path, code, answer, want)
		}
	}
}

func TestJobsProgramIsStreamed(t *testing.T) {
	// The backend reads the program while the request is still being
	// sent: the part after the first megabyte is only written once the
	// backend has read the first.
	backend := newFakeBackend()
	first := make(chan struct{})
	backend.readProgram = func(r io.Reader) ([]byte, error) {
		b := make([]byte, 1<<20)
		if _, err := io.ReadFull(r, b); err != nil {
			return nil, err
		}
		close(first)
		rest, err := io.ReadAll(r)
		return append(b, rest...), err
	}
	s := NewServer(backend, "test", nil, Options{SavepointsDir: "/sp"})
	if err := s.Listen("127.0.0.1:0", nil); err != nil {
		t.Fatal(err)
	}
	defer s.Close(context.Background())
	program := io.MultiReader(strings.NewReader(strings.Repeat("a", 1<<20)), &afterReader{wait: first, r: strings.NewReader(strings.Repeat("b", 1<<20))})
	c := &Client{Address: s.Addr()}
	id, err := c.Submit(t.Context(), Submission{Name: "big"}, program)
	if err != nil {
		t.Fatal(err)
	}
	if got := backend.submitted()[0].program; id != "j3" || len(got) != 2<<20 || got[1<<20-1] != 'a' || got[1<<20] != 'b' {
		t.Errorf("submitted %s with a program of %d bytes", id, len(got))
	}
}

// afterReader reads r once wait is closed.
type afterReader struct {
	wait <-chan struct{}
	r    io.Reader
}

func (a *afterReader) Read(p []byte) (int, error) {
	<-a.wait
	return a.r.Read(p)
}

func TestJobsErrorClass(t *testing.T) {
	for err, want := range map[error]string{
		notFound("j"):    "rest.ErrNotFound",
		context.Canceled: "context.Canceled",
		errors.New("x"):  "*errors.errorString",
		fmt.Errorf("reading: %w", &json.SyntaxError{}): "*json.SyntaxError",
	} {
		if got := errorClass(err); got != want {
			t.Errorf("errorClass(%v) = %s, want %s", err, got, want)
		}
	}
}
