package rpc

import (
	"context"
	"fmt"
	"net/http"
)

// FencingHeader carries the caller's fencing token: the leader session ID
// of the leadership it calls as (ha.Leadership.Session), Flink's fencing
// token of a FencedRpcEndpoint.
const FencingHeader = "Runnel-Fencing-Token"

// CodeFenced: the receiver refused a call made under another leader
// session than the one it follows — a former leader's.
const CodeFenced = "fenced"

type fencingKey struct{}

// WithFencingToken returns ctx whose calls carry token: a leader makes
// its calls with the session of its leadership.
func WithFencingToken(ctx context.Context, token string) context.Context {
	return context.WithValue(ctx, fencingKey{}, token)
}

// FencingToken is the token ctx's calls carry, or, in a handler, the
// token the caller sent; "" if none.
func FencingToken(ctx context.Context) string {
	t, _ := ctx.Value(fencingKey{}).(string)
	return t
}

// HandleFenced registers the method name like Handle, for a leader's calls
// only: a call whose fencing token is not expected() is refused with
// CodeFenced before fn runs. expected is called once per call and must be
// safe for concurrent use; while it returns "" (no leader known), every
// call is refused. A nil expected fences nothing: the receiver has no
// leader to follow (a cluster without high availability).
func HandleFenced[Req, Resp any](s *Server, name string, expected func() string, fn func(ctx context.Context, req *Req) (*Resp, error)) {
	if expected == nil {
		Handle(s, name, fn)
		return
	}
	Handle(s, name, func(ctx context.Context, req *Req) (*Resp, error) {
		got, want := FencingToken(ctx), expected()
		if want == "" || got != want {
			s.fenced.Add(1)
			s.log.Info("rpc: a call of another leader session refused", "method", name, "session", got, "leader", want)
			return nil, &Error{Code: CodeFenced, Message: fmt.Sprintf("%s: the call's leader session %q is not the leader's %q", name, got, want)}
		}
		return fn(ctx, req)
	})
}

// Fenced is how many calls the server refused for their fencing token.
func (s *Server) Fenced() int64 { return s.fenced.Load() }

// fencingFrom puts the fencing token of a request into its context.
func fencingFrom(r *http.Request) context.Context {
	if t := r.Header.Get(FencingHeader); t != "" {
		return WithFencingToken(r.Context(), t)
	}
	return r.Context()
}
