package rpc

import (
	"context"
	"io"
	"net"
	"sync/atomic"
	"testing"
	"time"

	"github.com/runnel-io/runnel/internal/tlstest"
)

// tlsServer serves Echo over TLS with the cluster's certificates and
// counts the calls that reach the handler.
func tlsServer(t testing.TB, certs tlstest.Certs) (*Server, *atomic.Int64) {
	t.Helper()
	var calls atomic.Int64
	s := NewServer(nil)
	Handle(s, "Echo", func(_ context.Context, r *echoReq) (*echoResp, error) {
		calls.Add(1)
		return &echoResp{Text: r.Text, Len: len(r.Text)}, nil
	})
	if err := s.Listen("127.0.0.1:0", tlstest.Server(t, certs.Cluster)); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = s.Close(ctx)
	})
	return s, &calls
}

// TestTLSRefusesCallersWithoutCertificate: over TLS, a call without a
// client certificate, with one of a foreign CA, or in plain HTTP fails
// and never reaches the handler; a call of the cluster's client does.
func TestTLSRefusesCallersWithoutCertificate(t *testing.T) {
	certs := tlstest.New(t)
	s, calls := tlsServer(t, certs)
	for name, c := range map[string]*Client{
		"plain HTTP":          {},
		"no certificate":      NewClient(tlstest.Anonymous()),
		"foreign certificate": NewClient(tlstest.Client(t, certs.Foreign)),
	} {
		_, err := Call[echoReq, echoResp](context.Background(), c, s.Addr(), "Echo", &echoReq{Text: "hi"})
		if err == nil {
			t.Errorf("%s: the call succeeded", name)
		}
		if n := calls.Load(); n != 0 {
			t.Fatalf("%s: the handler ran %d times", name, n)
		}
	}
	c := NewClient(tlstest.Client(t, certs.Cluster))
	resp, err := Call[echoReq, echoResp](context.Background(), c, s.Addr(), "Echo", &echoReq{Text: "hi"})
	if err != nil || resp.Len != 2 {
		t.Fatalf("the cluster's call: %+v, %v", resp, err)
	}
	if n := calls.Load(); n != 1 {
		t.Fatalf("the handler ran %d times, want 1", n)
	}
}

// TestTLSClientRefusesForeignServer: the cluster's client does not call
// a server whose certificate does not chain to its trust.
func TestTLSClientRefusesForeignServer(t *testing.T) {
	certs := tlstest.New(t)
	var calls atomic.Int64
	s := NewServer(nil)
	Handle(s, "Echo", func(_ context.Context, r *echoReq) (*echoResp, error) {
		calls.Add(1)
		return &echoResp{}, nil
	})
	if err := s.Listen("127.0.0.1:0", tlstest.Server(t, certs.Foreign)); err != nil {
		t.Fatal(err)
	}
	defer s.Close(context.Background())
	c := NewClient(tlstest.Client(t, certs.Cluster))
	if _, err := Call[echoReq, echoResp](context.Background(), c, s.Addr(), "Echo", &echoReq{Text: "secret"}); err == nil {
		t.Fatal("called a foreign server")
	}
	if calls.Load() != 0 {
		t.Fatal("the request reached a foreign server")
	}
}

// FuzzRPCTLSHandshake sends arbitrary bytes as the first bytes of a
// plain TCP connection to an RPC server with TLS: no handler runs, the
// server hangs up, and it serves the cluster's client afterwards.
func FuzzRPCTLSHandshake(f *testing.F) {
	certs := tlstest.New(f)
	s, calls := tlsServer(f, certs)
	good := NewClient(tlstest.Client(f, certs.Cluster))
	f.Add([]byte("POST /rpc/v1/Echo HTTP/1.1\r\nHost: x\r\nContent-Length: 13\r\n\r\n{\"text\":\"x\"}"))
	f.Add([]byte{})
	f.Add([]byte{0x16, 0x03, 0x01, 0x00, 0x05, 0x01, 0x00, 0x00, 0x01, 0x00})
	f.Add([]byte{0x16, 0x03, 0x03, 0xff, 0xff})
	f.Add([]byte{0x17, 0x03, 0x03, 0x00, 0x05, 'h', 'e', 'l', 'l', 'o'})
	f.Add([]byte{0x15, 0x03, 0x03, 0x00, 0x02, 0x02, 0x28})
	f.Add([]byte("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		before := calls.Load()
		conn, err := net.Dial("tcp", s.Addr())
		if err != nil {
			t.Fatal(err)
		}
		_, _ = conn.Write(data) // the server may hang up first
		_ = conn.(*net.TCPConn).CloseWrite()
		_, _ = io.ReadAll(conn) // returns once the server closed
		conn.Close()
		if n := calls.Load(); n != before {
			t.Fatalf("%q reached the handler", data)
		}
		resp, err := Call[echoReq, echoResp](context.Background(), good, s.Addr(), "Echo", &echoReq{Text: "ok"})
		if err != nil || resp.Text != "ok" {
			t.Fatalf("the cluster's call after %q: %+v, %v", data, resp, err)
		}
	})
}
