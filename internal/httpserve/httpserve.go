// Package httpserve runs an http.Handler on a listener, with the goroutine
// that serves it owned and waited for: what the REST API, the RPC endpoint
// and the BlobServer share.
package httpserve

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"time"
)

// Server is a handler served on a bound address.
type Server struct {
	srv     *http.Server
	ln      net.Listener
	serving sync.WaitGroup
}

// Listen binds addr ("host:port"; port 0 picks a free one) and serves h
// until Close. what names the server in errors ("rest", "rpc").
func Listen(what, addr string, h http.Handler, log *slog.Logger) (*Server, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("%s: listen on %s: %w", what, addr, err)
	}
	s := &Server{srv: &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second}, ln: ln}
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

// Close stops the server, waiting for the requests in progress until ctx
// is done, and for the serving goroutine.
func (s *Server) Close(ctx context.Context) error {
	err := s.srv.Shutdown(ctx)
	s.serving.Wait()
	return err
}
