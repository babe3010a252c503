package zookeeper

import (
	"context"
	"crypto/rand"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/runnel-io/runnel/internal/zktest"
)

// ensemble is the package's ZooKeeper server, shared by its tests, each
// under a cluster ID of its own; nil with -short.
var ensemble *zktest.Ensemble

func TestMain(m *testing.M) {
	flag.Parse()
	if !testing.Short() {
		dir, err := os.MkdirTemp("", "zookeeper-test-")
		if err == nil {
			ensemble, err = zktest.StartEnsemble(dir, 1, nil)
		}
		if err != nil {
			fmt.Fprintln(os.Stderr, "starting ZooKeeper:", err)
			os.Exit(1)
		}
	}
	code := m.Run()
	if ensemble != nil {
		_ = ensemble.Close()
	}
	os.Exit(code)
}

// sessionTimeout is the tests' session timeout: short, so that a stopped
// server expires sessions quickly.
const sessionTimeout = 3 * time.Second

// testConfig is a configuration of the test's own cluster.
func testConfig(t *testing.T) Config {
	t.Helper()
	if ensemble == nil {
		t.Skip("runs ZooKeeper")
	}
	return Config{
		Quorum:            ensemble.Connect(),
		ClusterID:         "/" + strings.ReplaceAll(t.Name(), "/", "-") + "-" + strings.ToLower(rand.Text()[:8]), // new per run: -count reruns start clean
		StorageDir:        t.TempDir(),
		SessionTimeout:    sessionTimeout,
		ConnectionTimeout: time.Minute,
		RetryWait:         100 * time.Millisecond,
		MaxRetryAttempts:  50,
	}
}

// open returns services of c, closed when the test ends.
func open(t *testing.T, c Config) *Services {
	t.Helper()
	s, err := New(c, slog.New(slog.NewTextHandler(testWriter{t}, &slog.HandlerOptions{Level: slog.LevelInfo})))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return s
}

type testWriter struct{ t *testing.T }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimSuffix(string(p), "\n"))
	return len(p), nil
}

// bound is how long a test waits for what must happen before it fails.
const bound = time.Minute

// waitFor waits until cond holds, failing the test after bound.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(bound)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not after %v", what, bound)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// ctx is a context that ends with the test, or after twice bound.
func testContext(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 2*bound)
	t.Cleanup(cancel)
	return ctx
}

// closed reports whether ch is closed.
func closed(ch <-chan struct{}) bool {
	select {
	case <-ch:
		return true
	default:
		return false
	}
}

// restartServer stops the server, waits for cond to hold while it is
// down (for at least down), and starts it again.
func restartServer(t *testing.T, down time.Duration, cond func() bool) {
	t.Helper()
	if err := ensemble.Stop(0); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	waitFor(t, "while the server is down", func() bool { return time.Since(start) >= down && cond() })
	if err := ensemble.Start(0); err != nil {
		t.Fatal(err)
	}
	if err := ensemble.WaitServing(); err != nil {
		t.Fatal(err)
	}
}

// proxy forwards connections to the server, and cuts them on demand: a
// client behind it loses its connection while the server runs on, and so
// expires the session.
type proxy struct {
	ln     net.Listener
	target string
	mu     sync.Mutex
	cut    bool
	conns  []net.Conn
}

// newProxy starts a proxy to the server, closed when the test ends.
func newProxy(t *testing.T) *proxy {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &proxy{ln: ln, target: ensemble.Addr(0)}
	go p.serve()
	t.Cleanup(func() { _ = ln.Close(); p.setCut(true) })
	return p
}

func (p *proxy) addr() string { return p.ln.Addr().String() }

func (p *proxy) serve() {
	for {
		c, err := p.ln.Accept()
		if err != nil {
			return
		}
		p.mu.Lock()
		if p.cut {
			p.mu.Unlock()
			_ = c.Close()
			continue
		}
		s, err := net.Dial("tcp", p.target)
		if err != nil {
			p.mu.Unlock()
			_ = c.Close()
			continue
		}
		p.conns = append(p.conns, c, s)
		p.mu.Unlock()
		go func() { _, _ = io.Copy(s, c); _ = s.Close() }()
		go func() { _, _ = io.Copy(c, s); _ = c.Close() }()
	}
}

// setCut cuts every connection and refuses new ones, or lets them again.
func (p *proxy) setCut(cut bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.cut = cut
	if cut {
		for _, c := range p.conns {
			_ = c.Close()
		}
		p.conns = nil
	}
}
