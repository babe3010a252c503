package rpc

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

type echoReq struct {
	Text string `json:"text"`
}
type echoResp struct {
	Text string `json:"text"`
	Len  int    `json:"len"`
}

func server(t *testing.T) *Server {
	t.Helper()
	s := NewServer(nil)
	Handle(s, "Echo", func(_ context.Context, r *echoReq) (*echoResp, error) {
		if r.Text == "" {
			return nil, Errorf(CodeBadRequest, "empty text")
		}
		return &echoResp{Text: r.Text, Len: len(r.Text)}, nil
	})
	Handle(s, "Block", func(ctx context.Context, _ *echoReq) (*echoResp, error) {
		<-ctx.Done()
		return nil, ctx.Err()
	})
	if err := s.Listen("127.0.0.1:0", nil); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		_ = s.Close(ctx)
	})
	return s
}

func TestCall(t *testing.T) {
	s := server(t)
	c := &Client{}
	resp, err := Call[echoReq, echoResp](context.Background(), c, s.Addr(), "Echo", &echoReq{Text: "hi"})
	if err != nil || resp.Text != "hi" || resp.Len != 2 {
		t.Fatalf("Echo = %+v, %v", resp, err)
	}
	_, err = Call[echoReq, echoResp](context.Background(), c, s.Addr(), "Echo", &echoReq{})
	var re *Error
	if !errors.As(err, &re) || re.Code != CodeBadRequest || !strings.Contains(re.Message, "empty text") {
		t.Fatalf("error %v, want a bad-request Error", err)
	}
	_, err = Call[echoReq, echoResp](context.Background(), c, s.Addr(), "Nope", &echoReq{})
	if !errors.As(err, &re) || re.Code != CodeNotFound {
		t.Fatalf("error %v, want not-found", err)
	}
}

func TestVersionMismatchIsAnError(t *testing.T) {
	s := server(t)
	res, err := http.Post("http://"+s.Addr()+"/rpc/v0/Echo", "application/json", strings.NewReader(`{"text":"x"}`))
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusBadRequest {
		t.Fatalf("status %s, want 400", res.Status)
	}
}

func TestCallHonoursTheDeadline(t *testing.T) {
	s := server(t)
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	_, err := Call[echoReq, echoResp](ctx, &Client{}, s.Addr(), "Block", &echoReq{Text: "x"})
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("error %v, want the deadline", err)
	}
}

func TestMalformedBodies(t *testing.T) {
	s := server(t)
	for _, body := range []string{"", "{", `{"text":"a"} {}`, `[1,2]`, strings.Repeat("x", 100)} {
		res, err := http.Post("http://"+s.Addr()+"/rpc/v1/Echo", "application/json", strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		if res.StatusCode != http.StatusBadRequest {
			t.Errorf("body %q: status %s, want 400", body, res.Status)
		}
	}
}

func FuzzDecode(f *testing.F) {
	f.Add([]byte(`{"text":"hello"}`))
	f.Add([]byte(`{"text":1}`))
	f.Add([]byte(`null`))
	f.Fuzz(func(t *testing.T, b []byte) {
		var r echoReq
		_ = Decode(b, &r)
	})
}

func TestMonitor(t *testing.T) {
	m := NewMonitor[string](10 * time.Second)
	t0 := time.Unix(1000, 0)
	m.Seen("a", t0)
	m.Seen("b", t0.Add(5*time.Second))
	if next, ok := m.Next(); !ok || !next.Equal(t0.Add(10*time.Second)) {
		t.Fatalf("next = %v", next)
	}
	if lost := m.Expired(t0.Add(10 * time.Second)); len(lost) != 0 {
		t.Fatalf("lost %v at exactly the timeout", lost)
	}
	if lost := m.Expired(t0.Add(11 * time.Second)); len(lost) != 1 || lost[0] != "a" {
		t.Fatalf("lost %v, want [a]", lost)
	}
	if lost := m.Expired(t0.Add(12 * time.Second)); len(lost) != 0 {
		t.Fatalf("a lost twice: %v", lost)
	}
	m.Seen("b", t0.Add(14*time.Second))
	if lost := m.Expired(t0.Add(20 * time.Second)); len(lost) != 0 {
		t.Fatalf("b lost despite its heartbeat: %v", lost)
	}
	if !m.Monitored("b") || m.Monitored("a") {
		t.Fatal("monitored set wrong")
	}
}

// TestHTTPHygiene: a call by another method than POST is 405 with Allow,
// and an oversized header is refused before any handler runs.
func TestHTTPHygiene(t *testing.T) {
	s := server(t)
	for _, method := range []string{http.MethodGet, http.MethodPut, http.MethodDelete} {
		req, _ := http.NewRequest(method, "http://"+s.Addr()+"/rpc/v1/Echo", nil)
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		if res.StatusCode != http.StatusMethodNotAllowed || res.Header.Get("Allow") != http.MethodPost {
			t.Errorf("%s: %s, Allow %q; want 405 with Allow: POST", method, res.Status, res.Header.Get("Allow"))
		}
	}
	req, _ := http.NewRequest(http.MethodPost, "http://"+s.Addr()+"/rpc/v1/Echo", strings.NewReader(`{"text":"hi"}`))
	req.Header.Set("X-Padding", strings.Repeat("x", 128<<10))
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusRequestHeaderFieldsTooLarge {
		t.Errorf("a 128 KiB header: %s, want 431", res.Status)
	}
}

// TestFencing: a fenced method serves calls of the expected leader
// session only; a former leader's, one without a token, and any while no
// leader is known are refused before the handler runs, and counted.
func TestFencing(t *testing.T) {
	s := NewServer(nil)
	var leader atomic.Value
	leader.Store("session-2")
	var ran atomic.Int64
	HandleFenced(s, "Act", func() string { return leader.Load().(string) }, func(ctx context.Context, r *echoReq) (*echoResp, error) {
		ran.Add(1)
		return &echoResp{Text: FencingToken(ctx)}, nil
	})
	if err := s.Listen("127.0.0.1:0", nil); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close(context.Background()) })
	c := &Client{}
	call := func(token string) (*echoResp, error) {
		ctx := context.Background()
		if token != "" {
			ctx = WithFencingToken(ctx, token)
		}
		return Call[echoReq, echoResp](ctx, c, s.Addr(), "Act", &echoReq{Text: "x"})
	}
	if resp, err := call("session-2"); err != nil || resp.Text != "session-2" {
		t.Fatalf("the leader's call: %+v, %v", resp, err)
	}
	for _, token := range []string{"session-1", ""} {
		var re *Error
		if _, err := call(token); !errors.As(err, &re) || re.Code != CodeFenced {
			t.Errorf("a call with token %q: %v, want %s", token, err, CodeFenced)
		}
	}
	leader.Store("")
	if _, err := call("session-2"); err == nil {
		t.Error("a call was served while no leader is known")
	}
	if ran.Load() != 1 || s.Fenced() != 3 {
		t.Errorf("the handler ran %d times and %d calls were refused; want 1 and 3", ran.Load(), s.Fenced())
	}
}
