package rest

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"crypto/tls"
	_ "embed"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"regexp"
	"strings"
	"sync"
	"time"

	"github.com/runnel-io/runnel/config"
	"github.com/runnel-io/runnel/internal/httpserve"
)

//go:embed openapi.yaml
var openAPI []byte

// TaskManager describes a registered TaskManager (Flink's
// TaskManagerInfo).
type TaskManager struct {
	ID                     string `json:"id"`
	Path                   string `json:"path"`
	DataPort               int    `json:"dataPort"`
	TimeSinceLastHeartbeat int64  `json:"timeSinceLastHeartbeat"`
	SlotsNumber            int    `json:"slotsNumber"`
	FreeSlots              int    `json:"freeSlots"`
}

// Job is one job, as /jobs/overview lists it.
type Job struct {
	ID        string `json:"jid"`
	Name      string `json:"name"`
	State     string `json:"state"`
	StartTime int64  `json:"start-time"`
	EndTime   int64  `json:"end-time"`
	Duration  int64  `json:"duration"`
}

// Overview is the cluster at a glance (/overview): Flink's
// ClusterOverviewWithVersion.
type Overview struct {
	TaskManagers   int    `json:"taskmanagers"`
	SlotsTotal     int    `json:"slots-total"`
	SlotsAvailable int    `json:"slots-available"`
	JobsRunning    int    `json:"jobs-running"`
	JobsFinished   int    `json:"jobs-finished"`
	JobsCancelled  int    `json:"jobs-cancelled"`
	JobsFailed     int    `json:"jobs-failed"`
	Version        string `json:"flink-version"`
	Commit         string `json:"flink-commit"`
}

// Backend is what the REST API shows: the JobManager's state. Its methods
// are called concurrently, from request goroutines. An error that wraps
// ErrNotFound is answered 404, ErrBadRequest 400, ErrConflict 409, any
// other 500, with the error's message.
type Backend interface {
	TaskManagers(ctx context.Context) ([]TaskManager, error)
	Jobs(ctx context.Context) ([]Job, error)
	// Config is the cluster's configuration, by key.
	Config() map[string]string
	JobBackend
}

// ErrNotFound makes a handler answer 404.
var ErrNotFound = errors.New("rest: not found")

// ErrForbidden makes a handler answer 403: what the server's Options
// refuse (a submission with web.submit.enable false, a savepoint into a
// directory outside state.savepoints.dir).
var ErrForbidden = errors.New("rest: forbidden")

// errTooLarge answers a request, or a part of one, above its limit: 413.
var errTooLarge = errors.New("rest: request too large")

// errClosed answers requests that would start an operation after Close:
// 503.
var errClosed = errors.New("rest: the server is closing")

// Server serves the REST API of a Backend. It owns the goroutines of the
// asynchronous operations (savepoints, stops, checkpoints) it starts:
// Close cancels and waits for them.
type Server struct {
	backend Backend
	version string
	log     *slog.Logger
	opts    Options
	token   *tokenHash // nil without a token
	mux     *http.ServeMux
	handler http.Handler // mux, behind the token check
	routes  []string     // "GET /overview", for the OpenAPI check
	http    *httpserve.Server
	ops     *operations
	closing sync.Once
}

// NewServer returns the REST server of backend, with the access rules of
// opts.
func NewServer(backend Backend, version string, log *slog.Logger, opts Options) *Server {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	s := &Server{backend: backend, version: version, log: log, opts: opts, mux: http.NewServeMux(), ops: newOperations(keepCompleted)}
	if opts.Token != "" {
		h := tokenHash(sha256.Sum256([]byte(opts.Token)))
		s.token = &h
		s.opts.Token = "" // kept only as its hash
	}
	s.route("GET /overview", s.overview)
	s.route("GET /config", s.config)
	s.route("GET /jobmanager/config", s.jobManagerConfig)
	s.route("GET /taskmanagers", s.taskManagers)
	s.route("GET /taskmanagers/{tmid}", s.taskManager)
	s.route("GET /jobs", s.jobs)
	s.route("GET /jobs/overview", s.jobsOverview)
	s.route("POST /jobs", s.submit)
	s.route("GET /jobs/{jobid}", s.job)
	s.route("PATCH /jobs/{jobid}", s.cancel)
	s.route("GET /jobs/{jobid}/exceptions", s.jobExceptions)
	s.route("GET /jobs/{jobid}/metrics", s.jobMetrics)
	s.route("GET /jobs/{jobid}/checkpoints", s.jobCheckpoints)
	s.route("GET /jobs/{jobid}/execution-result", s.executionResult)
	s.route("POST /jobs/{jobid}/savepoints", s.triggerSavepoint)
	s.route("POST /jobs/{jobid}/stop", s.stopWithSavepoint)
	s.route("GET /jobs/{jobid}/savepoints/{triggerid}", s.savepointStatus)
	s.route("POST /jobs/{jobid}/checkpoints", s.triggerCheckpoint)
	s.route("GET /jobs/{jobid}/checkpoints/{triggerid}", s.checkpointStatus)
	s.mux.HandleFunc("GET /openapi.yaml", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/yaml")
		_, _ = w.Write(openAPI)
	})
	// No catch-all pattern: it would match every method, and the mux
	// would no longer answer 405 (with Allow) to a wrong one.
	s.handler = s.authenticate(jsonErrors(s.mux))
	return s
}

// authenticate lets through the requests that carry the server's bearer
// token, if it has one, and answers the others 401 with
// WWW-Authenticate: Bearer. The token is compared by its hash, in
// constant time, and never logged nor answered.
func (s *Server) authenticate(next http.Handler) http.Handler {
	if s.token == nil {
		return next
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		scheme, tok, _ := strings.Cut(r.Header.Get("Authorization"), " ")
		tok = strings.TrimSpace(tok)
		if !strings.EqualFold(scheme, "Bearer") || tok == "" {
			w.Header().Set("WWW-Authenticate", `Bearer realm="runnel"`)
			writeError(w, http.StatusUnauthorized, fmt.Sprintf(
				"rest: no bearer token: this REST API requires the header Authorization: Bearer <token> (%s)", config.RESTTokenFile.Key()))
			return
		}
		h := sha256.Sum256([]byte(tok))
		if subtle.ConstantTimeCompare(h[:], s.token[:]) != 1 {
			s.log.Info("rest: request with a wrong bearer token refused", "method", r.Method, "path", r.URL.Path, "remote", r.RemoteAddr)
			w.Header().Set("WWW-Authenticate", `Bearer realm="runnel", error="invalid_token"`)
			writeError(w, http.StatusUnauthorized, fmt.Sprintf("rest: wrong bearer token (%s)", config.RESTTokenFile.Key()))
			return
		}
		next.ServeHTTP(w, r)
	})
}

// jsonErrors makes the mux's own answers of 404 (no route) and 405 (a
// route, but not for this method; the mux sets Allow) Flink's error JSON.
func jsonErrors(mux *http.ServeMux) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if _, pattern := mux.Handler(r); pattern != "" {
			mux.ServeHTTP(w, r)
			return
		}
		mux.ServeHTTP(&errorWriter{ResponseWriter: w, r: r}, r)
	})
}

// errorWriter rewrites an answer of 404 or 405 as error JSON and drops
// the plain text that follows it; other answers (the mux's redirects to
// a clean path) pass.
type errorWriter struct {
	http.ResponseWriter
	r       *http.Request
	replied bool
}

func (e *errorWriter) WriteHeader(code int) {
	switch code {
	case http.StatusNotFound:
		e.replied = true
		e.Header().Del("X-Content-Type-Options")
		writeError(e.ResponseWriter, code, fmt.Sprintf("Not found: %s", e.r.URL.Path))
	case http.StatusMethodNotAllowed:
		e.replied = true
		e.Header().Del("X-Content-Type-Options")
		writeError(e.ResponseWriter, code, fmt.Sprintf("Method %s not allowed on %s: allowed %s", e.r.Method, e.r.URL.Path, e.Header().Get("Allow")))
	default:
		e.ResponseWriter.WriteHeader(code)
	}
}

func (e *errorWriter) Write(b []byte) (int, error) {
	if e.replied {
		return len(b), nil
	}
	return e.ResponseWriter.Write(b)
}

// The formats of the path parameters, checked before a handler sees
// them: a job ID is what the Dispatcher makes (32 hexadecimal digits)
// or, for other backends, a name of letters, digits, '-' and '_'; a
// trigger ID is what the server makes, 32 hexadecimal digits. No other
// value reaches a backend, a file name or a log.
var (
	jobIDFormat     = regexp.MustCompile(`^[A-Za-z0-9_-]{1,64}$`)
	triggerIDFormat = regexp.MustCompile(`^[0-9a-f]{32}$`)
)

// checkPathValues answers 400 for a malformed job or trigger ID.
func checkPathValues(r *http.Request) error {
	if id := r.PathValue("jobid"); id != "" && !jobIDFormat.MatchString(id) {
		return fmt.Errorf("%w: malformed job ID %q", ErrBadRequest, id)
	}
	if id := r.PathValue("triggerid"); id != "" && !triggerIDFormat.MatchString(id) {
		return fmt.Errorf("%w: malformed trigger ID %q: want 32 hexadecimal digits", ErrBadRequest, id)
	}
	return nil
}

// bodyLimit is the size limit of a request's body for pattern: a
// submission's is its program's limit and the JSON part's, with room for
// the multipart framing; any other's that of a JSON body.
func (s *Server) bodyLimit(pattern string) int64 {
	if pattern == "POST /jobs" {
		return s.opts.maxProgram() + maxRequestPart + 64<<10
	}
	return maxBody
}

// accepted makes route answer v with 202 Accepted: a submission or an
// operation that goes on after the answer.
type accepted struct{ v any }

// route serves pattern with h: its value as JSON (200, or 202 if
// accepted), its error as {"errors": [message]} with the status code of
// the error's kind (statusOf).
func (s *Server) route(pattern string, h func(r *http.Request) (any, error)) {
	s.routes = append(s.routes, pattern)
	limit := s.bodyLimit(pattern)
	s.mux.HandleFunc(pattern, func(w http.ResponseWriter, r *http.Request) {
		var v any
		var err error
		switch {
		case r.ContentLength > limit:
			err = fmt.Errorf("%w: a body of %d bytes, above the limit of %d", errTooLarge, r.ContentLength, limit)
		default:
			r.Body = http.MaxBytesReader(w, r.Body, limit)
			if err = checkPathValues(r); err == nil {
				v, err = h(r)
			}
		}
		if err != nil {
			code := statusOf(err)
			if code == http.StatusInternalServerError {
				s.log.Warn("rest: request failed", "method", r.Method, "path", r.URL.Path, "error", err)
			}
			writeError(w, code, err.Error())
			return
		}
		code := http.StatusOK
		if a, ok := v.(accepted); ok {
			code, v = http.StatusAccepted, a.v
		}
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(code)
		_ = json.NewEncoder(w).Encode(v)
	})
}

// statusOf is the status code that answers err.
func statusOf(err error) int {
	switch {
	case errors.Is(err, errTooLarge) || errors.As(err, new(*http.MaxBytesError)):
		return http.StatusRequestEntityTooLarge
	case errors.Is(err, ErrNotFound):
		return http.StatusNotFound
	case errors.Is(err, ErrForbidden):
		return http.StatusForbidden
	case errors.Is(err, ErrBadRequest):
		return http.StatusBadRequest
	case errors.Is(err, ErrConflict):
		return http.StatusConflict
	case errors.Is(err, errClosed):
		return http.StatusServiceUnavailable
	default:
		return http.StatusInternalServerError
	}
}

func writeError(w http.ResponseWriter, status int, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string][]string{"errors": {msg}})
}

// Handler is the server's http.Handler.
func (s *Server) Handler() http.Handler { return s.handler }

// Listen binds the server to addr and serves until Close, over TLS if
// conf is not nil.
func (s *Server) Listen(addr string, conf *tls.Config) (err error) {
	s.http, err = httpserve.Listen("rest", addr, s.handler, conf, s.log)
	return err
}

// URL is the server's base URL, once it listens: "http://127.0.0.1:8081".
func (s *Server) URL() string { return s.http.URL() }

// Addr is the address the server listens on.
func (s *Server) Addr() string { return s.http.Addr() }

// Close stops the server: it stops listening (if it did) and waits for
// the requests in progress, then cancels the context of the asynchronous
// operations in progress and waits for them, all until ctx is done. A
// server that was only used through Handler must be closed too. Close
// after the first returns nil.
func (s *Server) Close(ctx context.Context) error {
	var err error
	s.closing.Do(func() {
		if s.http != nil {
			err = s.http.Close(ctx)
		}
		err = errors.Join(err, s.ops.close(ctx))
	})
	return err
}

func (s *Server) overview(r *http.Request) (any, error) {
	tms, err := s.backend.TaskManagers(r.Context())
	if err != nil {
		return nil, err
	}
	jobs, err := s.backend.Jobs(r.Context())
	if err != nil {
		return nil, err
	}
	o := Overview{TaskManagers: len(tms), Version: s.version}
	for _, tm := range tms {
		o.SlotsTotal += tm.SlotsNumber
		o.SlotsAvailable += tm.FreeSlots
	}
	for _, j := range jobs {
		switch j.State {
		case StateFinished:
			o.JobsFinished++
		case StateCanceled:
			o.JobsCancelled++
		case StateFailed:
			o.JobsFailed++
		default:
			o.JobsRunning++
		}
	}
	return o, nil
}

// config is the web UI's configuration. Its feature web-submit stays
// off: it turns on the UI's page that uploads and runs a JAR (/jars/...),
// which runnel does not serve; programs are submitted with POST /jobs.
// web-cancel is web.cancel.enable.
func (s *Server) config(*http.Request) (any, error) {
	_, offset := time.Now().Zone()
	return struct {
		RefreshInterval int64           `json:"refresh-interval"`
		TimezoneName    string          `json:"timezone-name"`
		TimezoneOffset  int             `json:"timezone-offset"`
		Version         string          `json:"flink-version"`
		Revision        string          `json:"flink-revision"`
		Features        map[string]bool `json:"features"`
	}{3000, time.Local.String(), offset * 1000, s.version, "", map[string]bool{"web-submit": false, "web-cancel": !s.opts.DisableCancel}}, nil
}

// jobManagerConfig lists the configuration as Flink does: key and value
// pairs, with the values of sensitive keys (config.Sensitive) masked.
func (s *Server) jobManagerConfig(*http.Request) (any, error) {
	type kv struct {
		Key   string `json:"key"`
		Value string `json:"value"`
	}
	conf := config.Masked(s.backend.Config())
	list := make([]kv, 0, len(conf))
	for k, v := range conf {
		list = append(list, kv{k, v})
	}
	sortKV(list, func(x kv) string { return x.Key })
	return list, nil
}

func (s *Server) taskManagers(r *http.Request) (any, error) {
	tms, err := s.backend.TaskManagers(r.Context())
	if err != nil {
		return nil, err
	}
	if tms == nil {
		tms = []TaskManager{}
	}
	return map[string][]TaskManager{"taskmanagers": tms}, nil
}

func (s *Server) taskManager(r *http.Request) (any, error) {
	tms, err := s.backend.TaskManagers(r.Context())
	if err != nil {
		return nil, err
	}
	id := r.PathValue("tmid")
	for _, tm := range tms {
		if tm.ID == id {
			return tm, nil
		}
	}
	return nil, fmt.Errorf("%w: no task manager %s", ErrNotFound, id)
}

func (s *Server) jobs(r *http.Request) (any, error) {
	jobs, err := s.backend.Jobs(r.Context())
	if err != nil {
		return nil, err
	}
	type status struct {
		ID     string `json:"id"`
		Status string `json:"status"`
	}
	list := make([]status, 0, len(jobs))
	for _, j := range jobs {
		list = append(list, status{j.ID, j.State})
	}
	return map[string][]status{"jobs": list}, nil
}

func (s *Server) jobsOverview(r *http.Request) (any, error) {
	jobs, err := s.backend.Jobs(r.Context())
	if err != nil {
		return nil, err
	}
	if jobs == nil {
		jobs = []Job{}
	}
	return map[string][]Job{"jobs": jobs}, nil
}
