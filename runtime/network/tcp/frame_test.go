package tcp

import (
	"bufio"
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"io"
	"net"
	"testing"
	"time"

	"github.com/runnel-io/runnel/runtime/checkpoint"
	"github.com/runnel-io/runnel/runtime/network"
)

const fuzzMaxBuffer = 4 << 10

// validFrames returns one frame of every type, each direction's frames
// concatenated.
func validFrames() (toCons, toProd []byte) {
	p := appendFrame(nil, frameOpen, 0, appendChannelID(nil, ChannelID{Job: "job", Edge: 3, Producer: 1, Consumer: 2}))
	p = appendFrame(p, frameData, 0, []byte("records"))
	p = appendFrame(p, frameBarrier, 0, appendBarrier(nil, &network.Barrier{ID: 9, Timestamp: -5, Options: checkpoint.Options{Kind: checkpoint.KindSavepoint, Drain: true, Final: true, TargetDir: "s3://b/p"}}))
	p = appendFrame(p, frameCancelBarrier, 0, binary.AppendVarint(nil, 8))
	p = appendFrame(p, frameEndOfData, 0, nil)
	p = appendFrame(p, frameEndOfPartition, 0, nil)
	c := appendFrame(nil, frameCredit, 0, binary.AppendUvarint(nil, 2))
	c = appendFrame(c, frameReject, 1, []byte("no"))
	return p, c
}

// FuzzReadFrame feeds arbitrary bytes to the frame decoder of either
// direction and to the payload decoders: they return errors, never panic,
// never allocate much beyond the bytes they were given, and what they
// accept survives a round trip through the encoders.
func FuzzReadFrame(f *testing.F) {
	toCons, toProd := validFrames()
	f.Add(toCons)
	f.Add(toProd)
	f.Add([]byte{byte(frameData), 0, 0xff, 0xff, 0xff, 0xff, 0x0f})                                  // a huge length
	f.Add([]byte{byte(frameData), 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x01}) // an overlong varint
	f.Add(appendHeader(nil, frameData, 0, fuzzMaxBuffer))                                            // a length with no bytes behind it
	f.Fuzz(func(t *testing.T, data []byte) {
		for _, d := range []direction{toConsumer(fuzzMaxBuffer), toProducer} {
			br := bufio.NewReader(bytes.NewReader(data))
			var payload []byte
			for {
				h, err := readHeader(br, d)
				if err != nil {
					if err != io.EOF && !errors.Is(err, ErrProtocol) && !errors.Is(err, io.ErrUnexpectedEOF) {
						t.Fatalf("readHeader: unexpected error %v", err)
					}
					break
				}
				limit := d.maxPayload(h.typ)
				if limit < 0 || h.n > limit || h.ch >= maxChannelsPerConn {
					t.Fatalf("accepted %+v beyond its bounds", h)
				}
				re := appendHeader(nil, h.typ, h.ch, h.n)
				if h2, err := readHeader(bufio.NewReader(bytes.NewReader(re)), d); err != nil || h2 != h {
					t.Fatalf("header %+v re-read as %+v, %v", h, h2, err)
				}
				payload, err = readPayload(br, payload, h.n)
				if cap(payload) > 2*len(data)+payloadChunk {
					t.Fatalf("payload of %d bytes declared, %d given: allocated %d", h.n, len(data), cap(payload))
				}
				if err != nil {
					break
				}
				checkPayload(t, h.typ, payload)
			}
		}
	})
}

// checkPayload decodes p as a payload of type typ; what decodes encodes
// back to something that decodes the same.
func checkPayload(t *testing.T, typ frameType, p []byte) {
	switch typ {
	case frameOpen:
		id, err := decodeChannelID(p)
		if err != nil {
			return
		}
		if err := id.validate(); err != nil {
			t.Fatalf("decoded an invalid ID: %v", err)
		}
		if id2, err := decodeChannelID(appendChannelID(nil, id)); err != nil || id2 != id {
			t.Fatalf("ID %v round-tripped to %v, %v", id, id2, err)
		}
	case frameBarrier:
		b, err := decodeBarrier(p)
		if err != nil {
			return
		}
		if b2, err := decodeBarrier(appendBarrier(nil, b)); err != nil || *b2 != *b {
			t.Fatalf("barrier %+v round-tripped to %+v, %v", b, b2, err)
		}
	case frameCancelBarrier:
		v, err := decodeVarint(p, "cancel barrier")
		if err != nil {
			return
		}
		if v2, err := decodeVarint(binary.AppendVarint(nil, v), ""); err != nil || v2 != v {
			t.Fatalf("cancel barrier %d round-tripped to %d, %v", v, v2, err)
		}
	case frameCredit:
		n, err := decodeCredit(p)
		if err != nil {
			return
		}
		if n <= 0 || n > maxCredit {
			t.Fatalf("decoded credit %d", n)
		}
	case frameEndOfData, frameEndOfPartition:
		if len(p) != 0 {
			t.Fatalf("event with a %d-byte payload", len(p))
		}
	}
}

// FuzzHandshake feeds arbitrary bytes to both sides of the handshake, and
// then to a server connection's reader as a whole (handshake and frames):
// every input ends with an error or EOF, never a panic or a hang.
func FuzzHandshake(f *testing.F) {
	toCons, _ := validFrames()
	f.Add(appendHello(nil))
	f.Add(appendWelcome(nil, DefaultMaxBufferSize))
	f.Add(append(appendHello(nil), toCons...))
	f.Add([]byte("RNLX\x02"))
	f.Add([]byte("GET / HTTP/1.1\r\n\r\n"))
	f.Add(append(appendWelcome(nil, 1), 0x80))
	srv, err := NewServer(nil, ServerOptions{SegmentSize: 64, MaxBufferSize: fuzzMaxBuffer})
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		if v, err := readHello(bytes.NewReader(data)); err == nil && v != Version {
			t.Fatalf("accepted version %d", v)
		}
		n, err := readWelcome(bufio.NewReader(bytes.NewReader(data)))
		if err == nil {
			if n <= 0 || n > MaxBufferSizeLimit {
				t.Fatalf("accepted buffer size %d", n)
			}
			if n2, err := readWelcome(bufio.NewReader(bytes.NewReader(appendWelcome(nil, n)))); err != nil || n2 != n {
				t.Fatalf("buffer size %d round-tripped to %d, %v", n, n2, err)
			}
		}

		// The whole reader, on a registered channel.
		gate := network.NewInputGate(1, 2)
		r, err := srv.Register(ChannelID{Job: "job", Edge: 3, Producer: 1, Consumer: 2}, gate, 0)
		if err != nil {
			t.Fatal(err)
		}
		defer r.Close()
		ctx, cancel := context.WithCancel(context.Background())
		sc := &serverConn{s: srv, conn: &fakeConn{r: bytes.NewReader(data)}, remote: "fuzz", ctx: ctx, cancel: cancel, signal: make(chan struct{}, 1)}
		if err := sc.read(); err == nil {
			t.Fatal("the reader returned without an error")
		}
		sc.fail(io.EOF)
		gate.Drain()
	})
}

// fakeConn reads from r and discards what is written.
type fakeConn struct{ r io.Reader }

func (c *fakeConn) Read(p []byte) (int, error)       { return c.r.Read(p) }
func (c *fakeConn) Write(p []byte) (int, error)      { return len(p), nil }
func (c *fakeConn) Close() error                     { return nil }
func (c *fakeConn) LocalAddr() net.Addr              { return &net.TCPAddr{} }
func (c *fakeConn) RemoteAddr() net.Addr             { return &net.TCPAddr{} }
func (c *fakeConn) SetDeadline(time.Time) error      { return nil }
func (c *fakeConn) SetReadDeadline(time.Time) error  { return nil }
func (c *fakeConn) SetWriteDeadline(time.Time) error { return nil }

// TestServerRejectsGarbage writes bytes that break the protocol to a
// server: it closes the connection (after answering a handshake of another
// version with its own, so that the producer can tell why).
func TestServerRejectsGarbage(t *testing.T) {
	hello := appendHello(nil)
	open := appendFrame(nil, frameOpen, 0, appendChannelID(nil, ChannelID{Job: "unregistered"}))
	cases := []struct {
		name    string
		in      []byte
		welcome bool
	}{
		{"http", []byte("GET / HTTP/1.1\r\nHost: x\r\n\r\n"), false},
		{"version 2", []byte("RNLX\x02"), true},
		{"unknown frame type", append(hello, 99, 0, 0), true},
		{"credit from the producer", append(hello, appendFrame(nil, frameCredit, 0, []byte{1})...), true},
		{"open out of order", append(hello, appendFrame(nil, frameOpen, 1, appendChannelID(nil, ChannelID{}))...), true},
		{"bad channel ID", append(hello, appendFrame(nil, frameOpen, 0, []byte{0xff})...), true},
		{"data before open", append(hello, appendFrame(nil, frameData, 0, []byte("x"))...), true},
		{"data without credit", append(append(hello, open...), appendFrame(nil, frameData, 0, []byte("x"))...), true},
		{"oversized data", append(append(hello, open...), appendHeader(nil, frameData, 0, 1<<20)...), true},
		{"channel beyond the limit", append(hello, appendHeader(nil, frameData, maxChannelsPerConn, 0)...), true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c := newCluster(t, ServerOptions{MaxBufferSize: 64 << 10})
			conn, err := net.Dial("tcp", c.addr)
			if err != nil {
				t.Fatal(err)
			}
			defer conn.Close()
			if _, err := conn.Write(tc.in); err != nil {
				t.Fatal(err)
			}
			got, _ := io.ReadAll(conn) // returns once the server closed
			want := []byte(nil)
			if tc.welcome {
				want = appendWelcome(nil, 64<<10)
			}
			if !bytes.Equal(got, want) {
				t.Fatalf("server answered %q, want %q, then closed", got, want)
			}
		})
	}
}

// TestFrameWithoutCreditFailsChannel: a producer that sends more buffers
// than its credit breaks the protocol; the channel fails with ErrProtocol.
func TestFrameWithoutCreditFailsChannel(t *testing.T) {
	c := newCluster(t, ServerOptions{})
	gate := network.NewInputGate(1, 2)
	id := ChannelID{Job: "j"}
	r := c.register(t, id, gate, 0)
	conn, err := net.Dial("tcp", c.addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	p := appendHello(nil)
	p = appendFrame(p, frameOpen, 0, appendChannelID(nil, id))
	for range 3 { // capacity 2
		p = appendFrame(p, frameData, 0, []byte("x"))
	}
	if _, err := conn.Write(p); err != nil {
		t.Fatal(err)
	}
	<-r.Failed()
	if err := r.Err(); !errors.Is(err, ErrProtocol) {
		t.Fatalf("receiver: %v, want ErrProtocol", err)
	}
	gate.Drain()
}

// TestClientRejectsGarbage answers a client with bytes that break the
// protocol: the handshake or the channel fails with ErrProtocol or
// ErrVersion, naming the address.
func TestClientRejectsGarbage(t *testing.T) {
	welcome := appendWelcome(nil, 1<<10)
	cases := []struct {
		name string
		// welcome answers the hello; after answers the open, if the
		// handshake succeeded.
		welcome, after []byte
		want           error
	}{
		{"http", []byte("HTTP/1.1 400 Bad Request\r\n\r\n"), nil, ErrProtocol},
		{"version 2", []byte("RNLX\x02\x01"), nil, ErrVersion},
		{"zero buffer size", []byte("RNLX\x01\x00"), nil, ErrProtocol},
		{"huge buffer size", appendWelcome(nil, MaxBufferSizeLimit+1), nil, ErrProtocol},
		{"data to the producer", welcome, appendFrame(nil, frameData, 0, []byte("x")), ErrProtocol},
		{"credit for an unopened channel", welcome, appendFrame(nil, frameCredit, 5, []byte{1}), ErrProtocol},
		{"zero credit", welcome, appendFrame(nil, frameCredit, 0, []byte{0}), ErrProtocol},
		{"credit overflow", welcome, append(appendFrame(nil, frameCredit, 0, binary.AppendUvarint(nil, maxCredit)), appendFrame(nil, frameCredit, 0, binary.AppendUvarint(nil, maxCredit))...), ErrProtocol},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			ln, err := net.Listen("tcp", "127.0.0.1:0")
			if err != nil {
				t.Fatal(err)
			}
			defer ln.Close()
			served := make(chan struct{})
			go func() {
				defer close(served)
				conn, err := ln.Accept()
				if err != nil {
					return
				}
				defer conn.Close()
				br := bufio.NewReader(conn)
				if _, err := readHello(br); err != nil {
					return
				}
				conn.Write(tc.welcome)
				if tc.after != nil {
					// Answer the open, so that the answer meets an opened
					// channel 0.
					if _, err := readHeader(br, toConsumer(1<<10)); err != nil {
						return
					}
					conn.Write(tc.after)
				}
				io.Copy(io.Discard, br)
			}()
			client := NewClient(ClientOptions{})
			defer func() {
				client.Close()
				<-served
				checkNoLeaks(t)
			}()
			s, err := client.Sender(context.Background(), ln.Addr().String(), ChannelID{Job: "j"})
			if err == nil {
				waitFor(t, "the connection to fail", func() bool { return s.Stats().Failed })
				pool := network.NewPool(16, 1)
				err = s.Send(context.Background(), seqBuffer(t, pool, "x"))
			}
			if !errors.Is(err, tc.want) {
				t.Fatalf("got %v, want %v", err, tc.want)
			}
			if !bytes.Contains([]byte(err.Error()), []byte(ln.Addr().String())) {
				t.Errorf("%v does not name the address", err)
			}
		})
	}
}
