package rest

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime/multipart"
	"net"
	"net/http"
	"net/textproto"
	"net/url"
	"strings"
	"time"

	"github.com/runnel-io/runnel/cluster/security"
	"github.com/runnel-io/runnel/config"
)

// Client calls the REST API of a JobManager. Its methods are safe for
// concurrent use and bounded by their ctx. An answer other than 2xx is a
// *StatusError.
type Client struct {
	// Address is the REST API's address: "host:port" or
	// "http://host:port" (or https).
	Address string
	// HTTP sends the requests; nil is a client that gives up connecting
	// after 10 seconds and waiting for an answer after 2 minutes, with no
	// limit on the time a request takes (an upload may be large).
	HTTP *http.Client
	// Token, if not empty, is sent as the bearer token of every request
	// (Authorization: Bearer <token>).
	Token string
}

// NewClient returns a client of the REST API at address with the
// settings sec (security.RESTFrom): over HTTPS if sec is enabled or
// address starts with "https://", trusting sec.Trust (the system's CAs
// if unset) and presenting sec.Cert if set, and sending the token of
// sec.TokenFile if set. An address without a scheme takes sec's
// (security.REST.Scheme); an http:// address with sec enabled is an
// error, not a silent fall back to plain HTTP (which would carry the
// token in the clear).
func NewClient(address string, sec security.REST) (*Client, error) {
	c := &Client{Address: address}
	if !strings.Contains(address, "://") {
		c.Address = sec.Scheme() + "://" + address
	}
	if sec.Enabled && strings.HasPrefix(strings.ToLower(c.Address), "http://") {
		return nil, fmt.Errorf("rest: %s is plain HTTP but %s is true: give the JobManager's address as https://host:port, or host:port",
			address, config.SSLRESTEnabled.Key())
	}
	if strings.HasPrefix(strings.ToLower(c.Address), "https://") {
		sec.Enabled = true
		conf, err := sec.Client()
		if err != nil {
			return nil, fmt.Errorf("rest: %w", err)
		}
		c.HTTP = newHTTP(conf)
	}
	tok, err := sec.Token()
	if err != nil {
		return nil, fmt.Errorf("rest: %w", err)
	}
	c.Token = tok
	return c, nil
}

// newHTTP is the HTTP client of a Client, over TLS with conf if it is not
// nil.
func newHTTP(conf *tls.Config) *http.Client {
	return &http.Client{Transport: &http.Transport{
		Proxy:                 http.ProxyFromEnvironment,
		DialContext:           (&net.Dialer{Timeout: 10 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
		TLSClientConfig:       conf,
		TLSHandshakeTimeout:   10 * time.Second,
		ResponseHeaderTimeout: 2 * time.Minute,
		IdleConnTimeout:       90 * time.Second,
		MaxIdleConnsPerHost:   4,
	}}
}

// defaultHTTP is the client of a Client whose HTTP is nil.
var defaultHTTP = newHTTP(nil)

// StatusError is an answer of the server other than 2xx.
type StatusError struct {
	// Code is the HTTP status code (404: no such job or operation).
	Code   int
	Method string
	Path   string
	// Message is the server's: its "errors" joined by "; ", or the body
	// of an answer that is not Flink's error JSON.
	Message string
}

func (e *StatusError) Error() string {
	return fmt.Sprintf("rest: %s %s: %d: %s", e.Method, e.Path, e.Code, e.Message)
}

// OperationError is an asynchronous operation (a savepoint, a stop with a
// savepoint, a checkpoint) that the server reports failed.
type OperationError struct {
	// Operation is "savepoint", "stop" or "checkpoint".
	Operation string
	JobID     string
	Cause     FailureCause
}

func (e *OperationError) Error() string {
	return fmt.Sprintf("rest: %s of job %s failed: %s", e.Operation, e.JobID, e.Cause.StackTrace)
}

// Overview is the cluster at a glance.
func (c *Client) Overview(ctx context.Context) (Overview, error) {
	var o Overview
	err := c.call(ctx, http.MethodGet, "/overview", nil, &o)
	return o, err
}

// Jobs lists the jobs, as /jobs/overview does.
func (c *Client) Jobs(ctx context.Context) ([]Job, error) {
	var v struct {
		Jobs []Job `json:"jobs"`
	}
	err := c.call(ctx, http.MethodGet, "/jobs/overview", nil, &v)
	return v.Jobs, err
}

// Job is the job's details.
func (c *Client) Job(ctx context.Context, jobID string) (JobDetails, error) {
	var d JobDetails
	err := c.call(ctx, http.MethodGet, jobPath(jobID, ""), nil, &d)
	return d, err
}

// Exceptions is the history of the job's failures, newest first.
func (c *Client) Exceptions(ctx context.Context, jobID string) (JobExceptions, error) {
	var e JobExceptions
	err := c.call(ctx, http.MethodGet, jobPath(jobID, "/exceptions"), nil, &e)
	return e, err
}

// Metrics returns the values of the job's metrics named ids, or of all of
// them if none is named.
func (c *Client) Metrics(ctx context.Context, jobID string, ids ...string) ([]Metric, error) {
	if len(ids) == 0 {
		var all []Metric
		if err := c.call(ctx, http.MethodGet, jobPath(jobID, "/metrics"), nil, &all); err != nil {
			return nil, err
		}
		for _, m := range all {
			ids = append(ids, m.ID)
		}
		if len(ids) == 0 {
			return nil, nil
		}
	}
	var ms []Metric
	err := c.call(ctx, http.MethodGet, jobPath(jobID, "/metrics")+"?get="+url.QueryEscape(strings.Join(ids, ",")), nil, &ms)
	return ms, err
}

// Checkpoints are the job's checkpoint statistics.
func (c *Client) Checkpoints(ctx context.Context, jobID string) (Checkpoints, error) {
	var cp Checkpoints
	err := c.call(ctx, http.MethodGet, jobPath(jobID, "/checkpoints"), nil, &cp)
	return cp, err
}

// TaskManagers lists the registered TaskManagers.
func (c *Client) TaskManagers(ctx context.Context) ([]TaskManager, error) {
	var v struct {
		TaskManagers []TaskManager `json:"taskmanagers"`
	}
	err := c.call(ctx, http.MethodGet, "/taskmanagers", nil, &v)
	return v.TaskManagers, err
}

// Submit runs a job and returns its ID. program is the job's binary,
// streamed to the server as it is read; nil for a builtin job. Submit
// returns once it no longer reads program.
func (c *Client) Submit(ctx context.Context, s Submission, program io.Reader) (jobID string, err error) {
	request, err := json.Marshal(s)
	if err != nil {
		return "", fmt.Errorf("rest: POST /jobs: %w", err)
	}
	pr, pw := io.Pipe()
	mw := multipart.NewWriter(pw)
	written := make(chan struct{})
	go func() {
		defer close(written)
		pw.CloseWithError(writeSubmission(mw, request, program))
	}()
	var res SubmitResponse
	err = c.send(ctx, http.MethodPost, "/jobs", mw.FormDataContentType(), pr, &res)
	// An answer before the whole body was sent (an error) stops the
	// writer.
	pr.CloseWithError(errors.New("rest: the request has ended"))
	<-written
	if err != nil {
		return "", err
	}
	return res.JobID, nil
}

// writeSubmission writes the parts of a submission: "request", then
// "program" unless program is nil.
func writeSubmission(mw *multipart.Writer, request []byte, program io.Reader) error {
	h := textproto.MIMEHeader{}
	h.Set("Content-Disposition", `form-data; name="request"`)
	h.Set("Content-Type", "application/json")
	w, err := mw.CreatePart(h)
	if err == nil {
		_, err = w.Write(request)
	}
	if err == nil && program != nil {
		if w, err = mw.CreateFormFile("program", "program"); err == nil {
			_, err = io.Copy(w, program)
		}
	}
	if err != nil {
		return err
	}
	return mw.Close()
}

// Result is how the job ended; nil while it runs.
func (c *Client) Result(ctx context.Context, jobID string) (*JobResult, error) {
	var r ExecutionResult
	path := jobPath(jobID, "/execution-result")
	if err := c.call(ctx, http.MethodGet, path, nil, &r); err != nil {
		return nil, err
	}
	switch {
	case r.Status.ID == statusInProgress:
		return nil, nil
	case r.Status.ID == statusCompleted && r.Result != nil:
		return r.Result, nil
	default:
		return nil, fmt.Errorf("rest: GET %s: status %q without a result", path, r.Status.ID)
	}
}

// WaitResult polls the job's result every poll (500ms if poll is not
// positive) until the job has ended, and returns how it ended.
func (c *Client) WaitResult(ctx context.Context, jobID string, poll time.Duration) (*JobResult, error) {
	if poll <= 0 {
		poll = 500 * time.Millisecond
	}
	t := time.NewTicker(poll)
	defer t.Stop()
	for {
		r, err := c.Result(ctx, jobID)
		if r != nil || err != nil {
			return r, err
		}
		select {
		case <-ctx.Done():
			return nil, fmt.Errorf("rest: waiting for the result of job %s: %w", jobID, ctx.Err())
		case <-t.C:
		}
	}
}

// Cancel cancels the job; it returns once the job is cancelling.
func (c *Client) Cancel(ctx context.Context, jobID string) error {
	return c.call(ctx, http.MethodPatch, jobPath(jobID, "")+"?mode=cancel", nil, nil)
}

// TriggerSavepoint takes a savepoint of the job into dir ("" for the
// cluster's state.savepoints.dir), cancels the job after it if
// cancelJob, and returns the savepoint's location once it is complete. A
// savepoint that fails is an *OperationError.
func (c *Client) TriggerSavepoint(ctx context.Context, jobID, dir string, cancelJob bool) (location string, err error) {
	body := savepointRequest{TargetDirectory: dir, CancelJob: cancelJob}
	op, err := c.operation(ctx, "savepoint", jobID, "/savepoints", body, "/savepoints/")
	if err != nil {
		return "", err
	}
	return op.location()
}

// StopWithSavepoint stops the job with a savepoint into dir ("" for the
// cluster's state.savepoints.dir), after the sources end their input if
// drain, and returns the savepoint's location once it is complete. A stop
// that fails is an *OperationError.
func (c *Client) StopWithSavepoint(ctx context.Context, jobID, dir string, drain bool) (location string, err error) {
	body := stopRequest{TargetDirectory: dir, Drain: drain}
	op, err := c.operation(ctx, "stop", jobID, "/stop", body, "/savepoints/")
	if err != nil {
		return "", err
	}
	return op.location()
}

// TriggerCheckpoint takes a checkpoint of the job and returns its ID once
// it is complete. A checkpoint that fails is an *OperationError.
func (c *Client) TriggerCheckpoint(ctx context.Context, jobID string) (int64, error) {
	body := checkpointRequest{CheckpointType: "FULL"}
	op, err := c.operation(ctx, "checkpoint", jobID, "/checkpoints", body, "/checkpoints/")
	if err != nil {
		return 0, err
	}
	if op.CheckpointID == nil {
		return 0, fmt.Errorf("rest: checkpoint of job %s: the server answered no checkpointId", jobID)
	}
	return *op.CheckpointID, nil
}

// The interval between the polls of an operation's status: from the
// first to the last, doubling.
const (
	firstPoll = 100 * time.Millisecond
	lastPoll  = 500 * time.Millisecond
)

// operation is the result of an operation that succeeded: it POSTs body
// to the job's trigger resource, then polls the job's status resource of
// the trigger ID until the operation is complete.
func (c *Client) operation(ctx context.Context, name, jobID, trigger string, body any, status string) (*clientOperation, error) {
	var t triggerResponse
	if err := c.call(ctx, http.MethodPost, jobPath(jobID, trigger), body, &t); err != nil {
		return nil, err
	}
	path := jobPath(jobID, status+url.PathEscape(t.RequestID))
	wait := firstPoll
	for {
		var s struct {
			Status    QueueStatus      `json:"status"`
			Operation *clientOperation `json:"operation"`
		}
		if err := c.call(ctx, http.MethodGet, path, nil, &s); err != nil {
			return nil, err
		}
		if s.Status.ID == statusCompleted {
			switch {
			case s.Operation == nil:
				return nil, fmt.Errorf("rest: GET %s: completed without a result", path)
			case s.Operation.FailureCause != nil:
				return nil, &OperationError{Operation: name, JobID: jobID, Cause: *s.Operation.FailureCause}
			}
			s.Operation.name, s.Operation.jobID = name, jobID
			return s.Operation, nil
		}
		select {
		case <-ctx.Done():
			return nil, fmt.Errorf("rest: waiting for the %s of job %s: %w", name, jobID, ctx.Err())
		case <-time.After(wait):
		}
		wait = min(2*wait, lastPoll)
	}
}

// clientOperation is a completed operation as the client reads it.
type clientOperation struct {
	Location     *string       `json:"location"`
	CheckpointID *int64        `json:"checkpointId"`
	FailureCause *FailureCause `json:"failure-cause"`
	name, jobID  string
}

func (op *clientOperation) location() (string, error) {
	if op.Location == nil {
		return "", fmt.Errorf("rest: %s of job %s: the server answered no location", op.name, op.jobID)
	}
	return *op.Location, nil
}

// jobPath is the path of the job's resource sub ("/exceptions").
func jobPath(jobID, sub string) string {
	return "/jobs/" + url.PathEscape(jobID) + sub
}

// call sends body as JSON (none if nil) and decodes the answer into out
// (unless nil).
func (c *Client) call(ctx context.Context, method, path string, body, out any) error {
	var r io.Reader
	contentType := ""
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return fmt.Errorf("rest: %s %s: %w", method, path, err)
		}
		r, contentType = bytes.NewReader(b), "application/json"
	}
	return c.send(ctx, method, path, contentType, r, out)
}

// send sends body (none if nil) and decodes the answer into out (unless
// nil).
func (c *Client) send(ctx context.Context, method, path, contentType string, body io.Reader, out any) error {
	fail := func(err error) error { return fmt.Errorf("rest: %s %s: %w", method, path, err) }
	req, err := http.NewRequestWithContext(ctx, method, c.base()+path, body)
	if err != nil {
		return fail(err)
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	req.Header.Set("Accept", "application/json")
	if c.Token != "" {
		req.Header.Set("Authorization", "Bearer "+c.Token)
	}
	hc := c.HTTP
	if hc == nil {
		hc = defaultHTTP
	}
	res, err := hc.Do(req)
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err // the method and URL are said already
		}
		return fail(c.explain(err))
	}
	defer res.Body.Close()
	if res.StatusCode/100 != 2 {
		return &StatusError{Code: res.StatusCode, Method: method, Path: path, Message: errorMessage(res)}
	}
	if out == nil {
		_, _ = io.Copy(io.Discard, io.LimitReader(res.Body, maxBody))
		return nil
	}
	if err := json.NewDecoder(res.Body).Decode(out); err != nil {
		return fail(fmt.Errorf("decoding the answer: %w", err))
	}
	return nil
}

// explain says what a TLS error means and which key sets what is
// missing: an untrusted server certificate, or a server that wants a
// client certificate or refuses the one presented.
func (c *Client) explain(err error) error {
	var verify *tls.CertificateVerificationError
	var unknownCA x509.UnknownAuthorityError
	var hostname x509.HostnameError
	switch {
	case errors.As(err, &hostname):
		return fmt.Errorf("the JobManager's certificate does not name the host dialled (connect by a name the certificate holds): %w", err)
	case errors.As(err, &verify), errors.As(err, &unknownCA):
		return fmt.Errorf("the JobManager's certificate is not trusted: set %s to the CA certificate that signed it: %w", config.SSLRESTTrust.Key(), err)
	}
	switch remoteAlert(err) {
	case "certificate required":
		return fmt.Errorf("the JobManager requires a client certificate (%s): set %s and %s: %w",
			config.SSLRESTAuthentication.Key(), config.SSLRESTCert.Key(), config.SSLRESTKey.Key(), err)
	case "bad certificate", "unknown certificate authority", "certificate unknown":
		return fmt.Errorf("the JobManager refused the client certificate (%s): it must chain to the JobManager's %s: %w",
			config.SSLRESTCert.Key(), config.SSLRESTTrust.Key(), err)
	}
	return err
}

// remoteAlert is the description of the TLS alert the peer sent ("bad
// certificate"), "" if err is not one.
func remoteAlert(err error) string {
	var op *net.OpError
	if errors.As(err, &op) && op.Op == "remote error" && op.Err != nil {
		return strings.TrimPrefix(op.Err.Error(), "tls: ")
	}
	return ""
}

// errorMessage reads the message of an error answer.
func errorMessage(res *http.Response) string {
	b, _ := io.ReadAll(io.LimitReader(res.Body, 64<<10))
	var e struct {
		Errors []string `json:"errors"`
	}
	if json.Unmarshal(b, &e) == nil && len(e.Errors) > 0 {
		return strings.Join(e.Errors, "; ")
	}
	if msg := strings.TrimSpace(string(b)); msg != "" {
		return msg
	}
	return http.StatusText(res.StatusCode)
}

// base is the URL of the API's root, without a trailing slash.
func (c *Client) base() string {
	a := strings.TrimRight(c.Address, "/")
	if !strings.Contains(a, "://") {
		a = "http://" + a
	}
	return a
}
