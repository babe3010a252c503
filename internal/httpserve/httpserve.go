// Package httpserve runs an http.Handler on a listener, with the goroutine
// that serves it owned and waited for: what the REST API, the RPC endpoint
// and the BlobServer share. It also builds the clients that call them.
package httpserve

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"time"
)

// MaxHeaderBytes bounds a request's header: 64 KiB.
const MaxHeaderBytes = 64 << 10

// Server is a handler served on a bound address.
type Server struct {
	srv     *http.Server
	ln      net.Listener
	tls     bool
	serving sync.WaitGroup
}

// Listen binds addr ("host:port"; port 0 picks a free one) and serves h
// until Close: over TLS if conf is not nil, in which case the handshake,
// and the client certificate check conf asks for, comes before any
// request is read. what names the server in errors ("rest", "rpc").
func Listen(what, addr string, h http.Handler, conf *tls.Config, log *slog.Logger) (*Server, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("%s: listen on %s: %w", what, addr, err)
	}
	if conf != nil {
		ln = tls.NewListener(ln, conf)
	}
	var errLog *slog.Logger
	if log != nil {
		errLog = log.With("server", what)
	}
	s := &Server{srv: &http.Server{
		Handler:           h,
		ReadHeaderTimeout: 10 * time.Second,
		MaxHeaderBytes:    MaxHeaderBytes,
		IdleTimeout:       2 * time.Minute,
		ErrorLog:          slogErrorLog(errLog),
	}, ln: ln, tls: conf != nil}
	s.serving.Add(1)
	go func() {
		defer s.serving.Done()
		if err := s.srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) && log != nil {
			log.Error(what+": server stopped", "error", err)
		}
	}()
	return s, nil
}

// Addr is the bound address.
func (s *Server) Addr() string { return s.ln.Addr().String() }

// URL is the server's base URL: scheme and bound address
// ("https://127.0.0.1:8081"). A server bound to all interfaces reports the
// loopback address, which reaches it.
func (s *Server) URL() string {
	scheme := "http"
	if s.tls {
		scheme = "https"
	}
	return scheme + "://" + Reachable(s.Addr())
}

// Reachable is addr with an unspecified host (0.0.0.0, ::) replaced by
// loopback: an address this host can dial.
func Reachable(addr string) string {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return addr
	}
	if ip := net.ParseIP(host); ip != nil && ip.IsUnspecified() {
		if ip.To4() != nil {
			host = "127.0.0.1"
		} else {
			host = "::1"
		}
	}
	return net.JoinHostPort(host, port)
}

// Close stops the server, waiting for the requests in progress until ctx
// is done, and for the serving goroutine.
func (s *Server) Close(ctx context.Context) error {
	err := s.srv.Shutdown(ctx)
	s.serving.Wait()
	return err
}

// Client returns an HTTP client for the cluster's internal servers (RPC,
// BLOBs): over TLS with conf if it is not nil, never through a proxy of
// the environment (HTTP_PROXY is for users' traffic, not the cluster's).
// It gives up connecting after 10 seconds and has no overall timeout:
// calls are bounded by their context.
func Client(conf *tls.Config) *http.Client {
	return &http.Client{Transport: &http.Transport{
		DialContext:         (&net.Dialer{Timeout: 10 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
		TLSClientConfig:     conf,
		TLSHandshakeTimeout: 10 * time.Second,
		IdleConnTimeout:     90 * time.Second,
		MaxIdleConnsPerHost: 16,
		ForceAttemptHTTP2:   false,
	}}
}

// Scheme is "https" if conf is not nil, else "http".
func Scheme(conf *tls.Config) string {
	if conf != nil {
		return "https"
	}
	return "http"
}
