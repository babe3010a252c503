package rpc

import (
	"bytes"
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/runnel-io/runnel/internal/httpserve"
)

// Version is the wire version of the control-plane messages.
const Version = 1

// MaxBody is the largest request or response body accepted, in bytes.
const MaxBody = 16 << 20

// Error is what a failed call answers: a message and a code a caller can
// act on.
type Error struct {
	Code    string `json:"code"`
	Message string `json:"message"`
}

func (e *Error) Error() string { return "rpc: " + e.Code + ": " + e.Message }

// Codes of Error.
const (
	CodeBadRequest = "bad-request"
	CodeNotFound   = "not-found"
	CodeInternal   = "internal"
	CodeVersion    = "version-mismatch"
	// CodeConflict: the receiver cannot do that in its state (a job that
	// is not running, or has no checkpoint storage).
	CodeConflict = "conflict"
	// CodeForbidden: the receiver refuses the call: a TaskManager asked
	// to start a worker its ResourceManager did not give it slots for.
	CodeForbidden = "forbidden"
)

// Errorf returns an *Error with the given code, for handlers that want the
// caller to see a code other than CodeInternal.
func Errorf(code, format string, args ...any) error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

// Server serves the methods registered on it. Register all methods before
// Listen; after that it is safe for concurrent use.
type Server struct {
	mux    map[string]func(ctx context.Context, body []byte) (any, error)
	log    *slog.Logger
	http   *httpserve.Server
	fenced atomic.Int64 // calls refused by HandleFenced
}

// NewServer returns a server without methods.
func NewServer(log *slog.Logger) *Server {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Server{mux: map[string]func(context.Context, []byte) (any, error){}, log: log}
}

// Handle registers the method name, served by fn. It panics if name is
// taken: methods are registered by code, at start-up.
func Handle[Req, Resp any](s *Server, name string, fn func(ctx context.Context, req *Req) (*Resp, error)) {
	if _, dup := s.mux[name]; dup {
		panic("rpc: method " + name + " registered twice")
	}
	s.mux[name] = func(ctx context.Context, body []byte) (any, error) {
		var req Req
		if err := Decode(body, &req); err != nil {
			return nil, &Error{Code: CodeBadRequest, Message: fmt.Sprintf("%s: %v", name, err)}
		}
		return fn(ctx, &req)
	}
}

// Decode decodes a JSON message, rejecting anything but one JSON value.
func Decode(body []byte, v any) error {
	if len(body) > MaxBody {
		return fmt.Errorf("rpc: message of %d bytes, more than %d", len(body), MaxBody)
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	if err := dec.Decode(v); err != nil {
		return fmt.Errorf("rpc: malformed message: %w", err)
	}
	if len(bytes.TrimSpace(body[dec.InputOffset():])) > 0 {
		return errors.New("rpc: malformed message: trailing data")
	}
	return nil
}

// ServeHTTP implements http.Handler.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	rest, ok := strings.CutPrefix(r.URL.Path, "/rpc/v")
	version, method, ok2 := strings.Cut(rest, "/")
	switch {
	case !ok || !ok2:
		writeError(w, http.StatusNotFound, &Error{Code: CodeNotFound, Message: r.Method + " " + r.URL.Path})
		return
	case r.Method != http.MethodPost:
		w.Header().Set("Allow", http.MethodPost)
		writeError(w, http.StatusMethodNotAllowed, &Error{Code: CodeBadRequest, Message: r.Method + " " + r.URL.Path + ": calls are POST"})
		return
	case version != fmt.Sprint(Version):
		writeError(w, http.StatusBadRequest, &Error{Code: CodeVersion,
			Message: fmt.Sprintf("the caller speaks version %s, this server version %d", version, Version)})
		return
	}
	fn, ok := s.mux[method]
	if !ok {
		writeError(w, http.StatusNotFound, &Error{Code: CodeNotFound, Message: "no method " + method})
		return
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, MaxBody))
	var tooLarge *http.MaxBytesError
	if errors.As(err, &tooLarge) {
		writeError(w, http.StatusRequestEntityTooLarge, &Error{Code: CodeBadRequest,
			Message: fmt.Sprintf("%s: the request is larger than %d bytes", method, MaxBody)})
		return
	}
	if err != nil {
		writeError(w, http.StatusBadRequest, &Error{Code: CodeBadRequest, Message: fmt.Sprintf("%s: reading the request: %v", method, err)})
		return
	}
	resp, err := fn(fencingFrom(r), body)
	if err != nil {
		var re *Error
		if !errors.As(err, &re) {
			re = &Error{Code: CodeInternal, Message: err.Error()}
		}
		status := http.StatusInternalServerError
		switch re.Code {
		case CodeBadRequest, CodeVersion:
			status = http.StatusBadRequest
		case CodeNotFound:
			status = http.StatusNotFound
		case CodeConflict, CodeFenced:
			status = http.StatusConflict
		case CodeForbidden:
			status = http.StatusForbidden
		}
		writeError(w, status, re)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	if err := json.NewEncoder(w).Encode(resp); err != nil {
		s.log.Warn("rpc: writing a response", "method", method, "error", err)
	}
}

func writeError(w http.ResponseWriter, status int, e *Error) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(e)
}

// Listen binds the server to addr and serves until Close, over TLS if
// conf is not nil (security.Internal.Server: mutual TLS, which refuses a
// caller without a trusted certificate before it reads a call).
func (s *Server) Listen(addr string, conf *tls.Config) (err error) {
	s.http, err = httpserve.Listen("rpc", addr, s, conf, s.log)
	return err
}

// Addr is the address the server listens on.
func (s *Server) Addr() string { return s.http.Addr() }

// Close stops the server, waiting for calls in progress until ctx is done.
func (s *Server) Close(ctx context.Context) error { return s.http.Close(ctx) }

// Client calls methods of servers. It is safe for concurrent use; its
// fields must not change after the first call.
type Client struct {
	// TLS, if not nil, makes calls over TLS with it
	// (security.Internal.Client); they are plain HTTP otherwise.
	TLS *tls.Config

	once sync.Once
	hc   *http.Client
}

// NewClient returns a client that calls over TLS with conf, or plain HTTP
// if conf is nil.
func NewClient(conf *tls.Config) *Client { return &Client{TLS: conf} }

func (c *Client) http() *http.Client {
	c.once.Do(func() { c.hc = httpserve.Client(c.TLS) })
	return c.hc
}

// Call calls method at addr ("host:port") with req and decodes the answer
// into resp. A failure answered by the server is an *Error.
func Call[Req, Resp any](ctx context.Context, c *Client, addr, method string, req *Req) (*Resp, error) {
	body, err := json.Marshal(req)
	if err != nil {
		return nil, fmt.Errorf("rpc: %s: %w", method, err)
	}
	url := fmt.Sprintf("%s://%s/rpc/v%d/%s", httpserve.Scheme(c.TLS), addr, Version, method)
	hr, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		return nil, fmt.Errorf("rpc: %s: %w", method, err)
	}
	hr.Header.Set("Content-Type", "application/json")
	if t := FencingToken(ctx); t != "" {
		hr.Header.Set(FencingHeader, t)
	}
	res, err := c.http().Do(hr)
	if err != nil {
		return nil, fmt.Errorf("rpc: %s at %s: %w", method, addr, err)
	}
	defer res.Body.Close()
	answer, err := io.ReadAll(io.LimitReader(res.Body, MaxBody+1))
	if err != nil {
		return nil, fmt.Errorf("rpc: %s at %s: %w", method, addr, err)
	}
	if res.StatusCode != http.StatusOK {
		var e Error
		if Decode(answer, &e) != nil || e.Code == "" {
			return nil, fmt.Errorf("rpc: %s at %s: %s", method, addr, res.Status)
		}
		return nil, &e
	}
	var resp Resp
	if err := Decode(answer, &resp); err != nil {
		return nil, fmt.Errorf("rpc: %s at %s: %w", method, addr, err)
	}
	return &resp, nil
}
