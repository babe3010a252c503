package tcp

import (
	"context"
	"crypto/tls"
	"errors"
	"io"
	"net"
	"testing"
	"time"

	"github.com/runnel-io/runnel/internal/tlstest"
	"github.com/runnel-io/runnel/runtime/network"
)

// tlsCluster is a Server behind a TLS listener of the cluster's
// certificates, with a registered channel, and a Client of the cluster.
type tlsCluster struct {
	*cluster
	certs tlstest.Certs
	id    ChannelID
	gate  *network.InputGate
}

func newTLSCluster(t testing.TB, certs tlstest.Certs) *tlsCluster {
	t.Helper()
	raw, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv, err := NewServer(tls.NewListener(raw, tlstest.Server(t, certs.Cluster)), ServerOptions{SegmentSize: 64, HandshakeTimeout: 500 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	c := &cluster{srv: srv, addr: raw.Addr().String(), stop: cancel, ran: make(chan error, 1)}
	go func() { c.ran <- srv.Run(ctx) }()
	c.client = NewClient(ClientOptions{Dial: DialTLS(nil, tlstest.Client(t, certs.Cluster))})
	tc := &tlsCluster{cluster: c, certs: certs, id: ChannelID{Job: "registered"}, gate: network.NewInputGate(1, 4)}
	if _, err := srv.Register(tc.id, tc.gate, 0); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		c.client.Close()
		c.stop()
		if err := <-c.ran; err != nil {
			t.Errorf("Run: %v", err)
		}
		tc.gate.Drain()
		if tt, ok := t.(*testing.T); ok {
			checkNoLeaks(tt)
		}
	})
	return tc
}

// untouched fails the test if anything reached the server: a channel
// other than those registered opened, or the registered channel got a
// producer or a buffer.
func (c *tlsCluster) untouched(t testing.TB) {
	t.Helper()
	for _, st := range c.srv.Stats() {
		if st.ID.Job != c.id.Job || (st.ID == c.id && (st.Remote != "" || st.Received != 0)) {
			t.Fatalf("a stranger reached the server: %+v", st)
		}
	}
	if _, _, ok := c.gate.Poll(); ok {
		t.Fatal("a stranger's buffer reached the gate")
	}
}

// works sends a buffer on the registered channel with the cluster's
// client and polls it out of the gate.
func (c *tlsCluster) works(t testing.TB, what string) {
	t.Helper()
	s, err := c.client.Sender(context.Background(), c.addr, c.id)
	if err != nil {
		t.Fatalf("%s: the cluster's client: %v", what, err)
	}
	pool := network.NewPool(64, 1)
	seg, err := pool.Get(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	seg.B = append(seg.B, what...)
	if err := s.Send(context.Background(), network.Buffer{Kind: network.Data, Segment: seg}); err != nil {
		t.Fatalf("%s: Send: %v", what, err)
	}
	b, _ := pollOne(c.gate)
	if string(b.Segment.B) != what {
		t.Fatalf("%s: got %q", what, b.Segment.B)
	}
	b.Segment.Recycle()
	if err := s.Send(context.Background(), network.Buffer{Kind: network.EndOfPartition}); err != nil {
		t.Fatal(err)
	}
	if b, _ := pollOne(c.gate); b.Kind != network.EndOfPartition {
		t.Fatalf("%s: got %v, want the end of partition", what, b.Kind)
	}
}

// strangerFrames is what a producer of the protocol sends, in plain TCP:
// hello, an open of a new channel and of the registered one, and data.
func strangerFrames(registered ChannelID) []byte {
	p := appendHello(nil)
	p = appendFrame(p, frameOpen, 0, appendChannelID(nil, ChannelID{Job: "stranger"}))
	p = appendFrame(p, frameOpen, 1, appendChannelID(nil, registered))
	return appendFrame(p, frameData, 1, []byte("stolen"))
}

// sendRaw writes data on a plain TCP connection to addr, closes its
// writing side and reads until the server closes the connection.
func sendRaw(t testing.TB, addr string, data []byte) []byte {
	t.Helper()
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	// The server may hang up before it read everything: a failed write
	// is one of the ways to be refused.
	_, _ = conn.Write(data)
	_ = conn.(*net.TCPConn).CloseWrite()
	got, _ := io.ReadAll(conn) // returns once the server closed
	return got
}

// TestDataPortRefusesStrangers: with TLS, the data port drops a plain
// TCP peer speaking the protocol, a TLS peer without a certificate and
// one with a certificate of a foreign CA, during the TLS handshake:
// nothing they send opens a channel or reaches a gate. A producer of the
// cluster is served before and after.
func TestDataPortRefusesStrangers(t *testing.T) {
	c := newTLSCluster(t, tlstest.New(t))
	c.untouched(t)

	// A peer that connects and says nothing holds up no other: its
	// handshake waits in its connection's goroutine, until the
	// handshake timeout drops it.
	silent, err := net.Dial("tcp", c.addr)
	if err != nil {
		t.Fatal(err)
	}
	defer silent.Close()
	c.works(t, "beside a silent peer")
	c.reset(t)
	if got, _ := io.ReadAll(silent); len(got) != 0 {
		t.Errorf("the server said %q to a silent peer", got)
	}

	got := sendRaw(t, c.addr, strangerFrames(c.id))
	if len(got) > 7 { // at most a TLS alert
		t.Errorf("the server answered a plain peer with %q", got)
	}
	c.untouched(t)

	for name, conf := range map[string]*tls.Config{
		"no certificate":      tlstest.Anonymous(),
		"foreign certificate": tlstest.Client(t, c.certs.Foreign),
	} {
		stranger := NewClient(ClientOptions{Dial: DialTLS(nil, conf)})
		s, err := stranger.Sender(context.Background(), c.addr, ChannelID{Job: "stranger"})
		if err == nil {
			err = s.Send(context.Background(), network.Buffer{Kind: network.EndOfPartition})
		}
		stranger.Close()
		if err == nil {
			t.Errorf("%s: the stranger opened a channel", name)
		} else if !errors.As(err, new(tls.AlertError)) {
			t.Logf("%s: %v", name, err) // refused, but not by an alert
		}
		c.untouched(t)
	}

	// A plain client of the protocol is refused too.
	plain := NewClient(ClientOptions{})
	_, err = plain.Sender(context.Background(), c.addr, ChannelID{Job: "stranger"})
	plain.Close()
	if err == nil {
		t.Error("a plain client of the protocol connected")
	}
	c.untouched(t)

	c.works(t, "after the strangers")
}

// TestDialTLSRefusesForeignServer: the cluster's client does not talk to
// a data port whose certificate does not chain to the trust.
func TestDialTLSRefusesForeignServer(t *testing.T) {
	certs := tlstest.New(t)
	raw, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv, err := NewServer(tls.NewListener(raw, tlstest.Server(t, certs.Foreign)), ServerOptions{})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	ran := make(chan error, 1)
	go func() { ran <- srv.Run(ctx) }()
	client := NewClient(ClientOptions{Dial: DialTLS(nil, tlstest.Client(t, certs.Cluster))})
	_, err = client.Sender(context.Background(), raw.Addr().String(), ChannelID{Job: "j"})
	client.Close()
	cancel()
	if rerr := <-ran; rerr != nil {
		t.Error(rerr)
	}
	if err == nil {
		t.Fatal("connected to a foreign server")
	}
	if st := srv.Stats(); len(st) != 0 {
		t.Errorf("the foreign server got a channel: %+v", st)
	}
	checkNoLeaks(t)
}

// FuzzDataTLSHandshake sends arbitrary bytes as the first bytes of a
// plain TCP connection to a data port with TLS: nothing reaches the
// server (no channel opens, no buffer arrives), the server hangs up, and
// a producer of the cluster is served afterwards.
func FuzzDataTLSHandshake(f *testing.F) {
	c := newTLSCluster(f, tlstest.New(f))
	f.Add(strangerFrames(c.id))
	f.Add([]byte{})
	f.Add([]byte("GET / HTTP/1.1\r\nHost: x\r\n\r\n"))
	// A TLS record header of a handshake, and a ClientHello's start.
	f.Add([]byte{0x16, 0x03, 0x01, 0x00, 0x05, 0x01, 0x00, 0x00, 0x01, 0x00})
	f.Add([]byte{0x16, 0x03, 0x03, 0xff, 0xff})
	f.Add(append([]byte{0x17, 0x03, 0x03, 0x00, 0x20}, strangerFrames(c.id)...))
	f.Add([]byte{0x15, 0x03, 0x03, 0x00, 0x02, 0x02, 0x28})
	f.Fuzz(func(t *testing.T, data []byte) {
		sendRaw(t, c.addr, data)
		c.untouched(t)
		c.works(t, "after fuzz")
		// works ended the channel: register it again for the next input.
		c.reset(t)
	})
}

// reset registers the channel anew, after works ended it.
func (c *tlsCluster) reset(t testing.TB) {
	t.Helper()
	c.id.Edge++
	c.gate = network.NewInputGate(1, 4)
	if _, err := c.srv.Register(c.id, c.gate, 0); err != nil {
		t.Fatal(err)
	}
}
