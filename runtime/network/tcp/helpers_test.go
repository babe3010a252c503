package tcp

import (
	"bytes"
	"context"
	"net"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/runnel-io/runnel/runtime/network"
)

// cluster is a Server on a loopback port and a Client, torn down (and
// checked for leaked goroutines) when the test ends.
type cluster struct {
	srv    *Server
	client *Client
	addr   string
	stop   context.CancelFunc
	ran    chan error

	mu    sync.Mutex
	conns []net.Conn // the client's connections, to cut them
}

func newCluster(t *testing.T, so ServerOptions) *cluster {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv, err := NewServer(ln, so)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	c := &cluster{srv: srv, addr: ln.Addr().String(), stop: cancel, ran: make(chan error, 1)}
	go func() { c.ran <- srv.Run(ctx) }()
	d := &net.Dialer{}
	c.client = NewClient(ClientOptions{Dial: func(ctx context.Context, network, addr string) (net.Conn, error) {
		conn, err := d.DialContext(ctx, network, addr)
		if err == nil {
			c.mu.Lock()
			c.conns = append(c.conns, conn)
			c.mu.Unlock()
		}
		return conn, err
	}})
	t.Cleanup(func() {
		c.client.Close()
		c.stopServer(t)
		checkNoLeaks(t)
	})
	return c
}

// stopServer cancels the server and waits for Run; it may be called again.
func (c *cluster) stopServer(t *testing.T) {
	t.Helper()
	c.stop()
	if err, ok := <-c.ran; ok {
		close(c.ran)
		if err != nil {
			t.Errorf("Run: %v", err)
		}
	}
}

func (c *cluster) numConns() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.conns)
}

func (c *cluster) sender(t *testing.T, id ChannelID) *Sender {
	t.Helper()
	s, err := c.client.Sender(context.Background(), c.addr, id)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func (c *cluster) register(t *testing.T, id ChannelID, g *network.InputGate, ch int) *Receiver {
	t.Helper()
	r, err := c.srv.Register(id, g, ch)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// waitFor waits until cond holds. It is how a test waits for another
// goroutine to reach a state (a Send blocked for credit, say): correctness
// never depends on how long that takes, and the deadline only turns a hang
// into a failure.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		runtime.Gosched()
		time.Sleep(100 * time.Microsecond)
	}
}

// checkNoLeaks fails the test if a goroutine started by this package's
// code (or its tests) is still alive: every goroutine the package starts
// must have stopped once Close and Run have returned. It allows the
// goroutines a moment to return after their last deferred call.
func checkNoLeaks(t *testing.T) {
	t.Helper()
	var leaked []string
	waitUntil := time.Now().Add(5 * time.Second)
	for {
		leaked = leaked[:0]
		buf := make([]byte, 1<<20)
		buf = buf[:runtime.Stack(buf, true)]
		stacks := bytes.Split(buf, []byte("\n\n"))
		for _, st := range stacks[1:] { // stacks[0] is the caller's
			s := string(st)
			if strings.Contains(s, "created by github.com/runnel-io/runnel/runtime/network/tcp.") {
				leaked = append(leaked, s)
			}
		}
		if len(leaked) == 0 || time.Now().After(waitUntil) {
			break
		}
		runtime.Gosched()
		time.Sleep(time.Millisecond)
	}
	if len(leaked) > 0 {
		t.Errorf("%d goroutines leaked:\n%s", len(leaked), strings.Join(leaked, "\n\n"))
	}
}

// seqBuffer returns a data buffer from pool holding the bytes of s.
func seqBuffer(t *testing.T, pool *network.Pool, s string) network.Buffer {
	t.Helper()
	seg, err := pool.Get(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	seg.B = append(seg.B, s...)
	return network.Buffer{Kind: network.Data, Segment: seg}
}

// pollOne waits for and returns the next buffer of g.
func pollOne(g *network.InputGate) (network.Buffer, int) {
	for {
		if b, ch, ok := g.Poll(); ok {
			return b, ch
		}
		<-g.Available()
	}
}
