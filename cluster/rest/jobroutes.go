package rest

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"

	"github.com/runnel-io/runnel/config"
)

// maxRequestPart bounds the JSON part "request" of a submission.
const maxRequestPart = 1 << 20

// job answers the job's details, with empty lists and maps rather than
// nulls.
func (s *Server) job(r *http.Request) (any, error) {
	d, err := s.backend.Job(r.Context(), r.PathValue("jobid"))
	if err != nil {
		return nil, err
	}
	if d.Vertices == nil {
		d.Vertices = []JobVertex{}
	}
	if d.Timestamps == nil {
		d.Timestamps = map[string]int64{}
	}
	return d, nil
}

func (s *Server) jobExceptions(r *http.Request) (any, error) {
	ex, err := s.backend.JobExceptions(r.Context(), r.PathValue("jobid"))
	if err != nil {
		return nil, err
	}
	if ex.ExceptionHistory.Entries == nil {
		ex.ExceptionHistory.Entries = []Exception{}
	}
	return ex, nil
}

// jobMetrics is Flink's metrics query: without ?get the IDs of the job's
// metrics, with ?get=a,b the values of those of them that exist.
func (s *Server) jobMetrics(r *http.Request) (any, error) {
	ms, err := s.backend.JobMetrics(r.Context(), r.PathValue("jobid"))
	if err != nil {
		return nil, err
	}
	list := []Metric{}
	get := r.URL.Query().Get("get")
	if get == "" {
		for _, m := range ms {
			list = append(list, Metric{ID: m.ID})
		}
		return list, nil
	}
	want := map[string]bool{}
	for _, id := range strings.Split(get, ",") {
		want[strings.TrimSpace(id)] = true
	}
	for _, m := range ms {
		if want[m.ID] {
			list = append(list, m)
		}
	}
	return list, nil
}

func (s *Server) jobCheckpoints(r *http.Request) (any, error) {
	return s.backend.JobCheckpoints(r.Context(), r.PathValue("jobid"))
}

// executionResult answers IN_PROGRESS while the job runs, COMPLETED with
// its result once it has ended.
func (s *Server) executionResult(r *http.Request) (any, error) {
	res, err := s.backend.Result(r.Context(), r.PathValue("jobid"))
	if err != nil {
		return nil, err
	}
	if res == nil {
		return ExecutionResult{Status: QueueStatus{ID: statusInProgress}}, nil
	}
	return ExecutionResult{Status: QueueStatus{ID: statusCompleted}, Result: res}, nil
}

// cancel is Flink's PATCH /jobs/:jobid?mode=cancel; 403 if
// web.cancel.enable is false.
func (s *Server) cancel(r *http.Request) (any, error) {
	if s.opts.DisableCancel {
		return nil, fmt.Errorf("%w: cancelling jobs through the REST API is disabled (%s: false)", ErrForbidden, config.WebCancelEnable.Key())
	}
	mode := r.URL.Query().Get("mode")
	if mode != "cancel" {
		return nil, fmt.Errorf("%w: mode %q: want mode=cancel", ErrBadRequest, mode)
	}
	if err := s.backend.Cancel(r.Context(), r.PathValue("jobid")); err != nil {
		return nil, err
	}
	return accepted{struct{}{}}, nil
}

// submit runs a job: a multipart/form-data request whose part "request"
// is the Submission as JSON, followed, unless the job is builtin, by the
// part "program", the job's binary, which is streamed to the backend.
// It is 403 if web.submit.enable is false, 413 if the part "request" is
// above 1 MiB or the program above Options.MaxProgramSize.
func (s *Server) submit(r *http.Request) (any, error) {
	if s.opts.DisableSubmit {
		return nil, fmt.Errorf("%w: submitting jobs through the REST API is disabled (%s: false)", ErrForbidden, config.WebSubmitEnable.Key())
	}
	mr, err := r.MultipartReader()
	if err != nil {
		return nil, fmt.Errorf("%w: want multipart/form-data with the parts \"request\" and \"program\": %v", ErrBadRequest, err)
	}
	part, err := mr.NextPart()
	if errors.Is(err, io.EOF) {
		return nil, fmt.Errorf("%w: part \"request\" missing", ErrBadRequest)
	}
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrBadRequest, err)
	}
	if name := part.FormName(); name != "request" {
		return nil, fmt.Errorf("%w: the first part is %q, want \"request\"", ErrBadRequest, name)
	}
	request, err := io.ReadAll(io.LimitReader(part, maxRequestPart+1))
	switch {
	case err != nil:
		return nil, fmt.Errorf("%w: part \"request\": %w", ErrBadRequest, err)
	case len(request) > maxRequestPart:
		return nil, fmt.Errorf("%w: part \"request\" is above the limit of %d bytes", errTooLarge, maxRequestPart)
	}
	var sub Submission
	dec := json.NewDecoder(bytes.NewReader(request))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&sub); err != nil {
		return nil, fmt.Errorf("%w: part \"request\": %v", ErrBadRequest, err)
	}
	var program io.Reader
	part, err = mr.NextPart()
	switch {
	case errors.Is(err, io.EOF):
		if !sub.Builtin {
			return nil, fmt.Errorf("%w: part \"program\" missing: the job's binary, unless \"builtin\" is true", ErrBadRequest)
		}
	case err != nil:
		return nil, fmt.Errorf("%w: %w", ErrBadRequest, err)
	case part.FormName() != "program":
		return nil, fmt.Errorf("%w: unexpected part %q after \"request\", want \"program\"", ErrBadRequest, part.FormName())
	case sub.Builtin:
		return nil, fmt.Errorf("%w: part \"program\" sent for a builtin job", ErrBadRequest)
	default:
		program = &maxReader{r: part, n: s.opts.maxProgram(), limit: s.opts.maxProgram()}
	}
	id, err := s.backend.Submit(r.Context(), sub, program)
	if err != nil {
		return nil, err
	}
	return accepted{SubmitResponse{JobURL: "/jobs/" + id, JobID: id}}, nil
}

// maxReader reads r, up to n bytes: a byte more is errTooLarge.
type maxReader struct {
	r        io.Reader
	n, limit int64
}

func (m *maxReader) Read(p []byte) (int, error) {
	if m.n <= 0 {
		var b [1]byte
		if k, err := m.r.Read(b[:]); k == 0 {
			return 0, err
		}
		return 0, fmt.Errorf("%w: the part \"program\" is above the limit of %d bytes", errTooLarge, m.limit)
	}
	if int64(len(p)) > m.n {
		p = p[:m.n]
	}
	k, err := m.r.Read(p)
	m.n -= int64(k)
	return k, err
}
