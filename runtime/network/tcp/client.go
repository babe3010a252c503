package tcp

import (
	"bufio"
	"context"
	"crypto/tls"
	"encoding/binary"
	"fmt"
	"net"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/runnel-io/runnel/runtime/network"
)

// ClientOptions configure a Client. The zero value is valid.
type ClientOptions struct {
	// Dial opens a connection to a Server's address: a net.Dialer's
	// DialContext if nil. Tests use it to cut connections.
	Dial func(ctx context.Context, network, addr string) (net.Conn, error)
	// HandshakeTimeout bounds dialling and the handshake:
	// DefaultHandshakeTimeout if 0.
	HandshakeTimeout time.Duration
}

// DialTLS returns a ClientOptions.Dial that connects over TLS with conf
// (security.Internal.Client): it dials with d (a zero net.Dialer if nil)
// and completes the TLS handshake, within ctx, before it returns the
// connection. Records are full-size from the first byte on: the data
// plane wants throughput, not the first bytes early.
func DialTLS(d *net.Dialer, conf *tls.Config) func(ctx context.Context, network, addr string) (net.Conn, error) {
	if d == nil {
		d = &net.Dialer{}
	}
	conf = conf.Clone()
	conf.DynamicRecordSizingDisabled = true
	return func(ctx context.Context, network, addr string) (net.Conn, error) {
		raw, err := d.DialContext(ctx, network, addr)
		if err != nil {
			return nil, err
		}
		c := conf
		if c.ServerName == "" && !c.InsecureSkipVerify {
			host, _, _ := net.SplitHostPort(addr)
			c = c.Clone()
			c.ServerName = host
		}
		conn := tls.Client(raw, c)
		if err := conn.HandshakeContext(ctx); err != nil {
			raw.Close()
			return nil, fmt.Errorf("tls handshake: %w", err)
		}
		return conn, nil
	}
}

// Client is the producer side of the exchange, one per TaskManager: it
// keeps one connection per consumer TaskManager (per Server address),
// shared by every channel to that TaskManager, and hands out a Sender per
// channel.
//
// Its methods are safe for concurrent use.
//
// Lock order: Client.mu, then clientConn.wmu, then clientConn.mu, then
// Sender.mu.
type Client struct {
	opts   ClientOptions
	ctx    context.Context // done at Close
	cancel context.CancelFunc

	mu     sync.Mutex
	conns  map[string]*clientConn
	closed bool

	wg sync.WaitGroup // the connections' goroutines
}

// NewClient returns a client without connections.
func NewClient(opts ClientOptions) *Client {
	if opts.Dial == nil {
		opts.Dial = (&net.Dialer{}).DialContext
	}
	if opts.HandshakeTimeout <= 0 {
		opts.HandshakeTimeout = DefaultHandshakeTimeout
	}
	ctx, cancel := context.WithCancel(context.Background())
	return &Client{opts: opts, ctx: ctx, cancel: cancel, conns: make(map[string]*clientConn)}
}

// Sender opens channel id to the Server at addr, connecting first if the
// client has no connection to addr yet, and returns the channel's Sender.
// The Sender has no credit until the consumer has registered the channel;
// until then its Send waits.
//
// It returns ctx's error if ctx is done before the connection is ready (the
// connection attempt goes on for other callers), ErrVersion or ErrProtocol
// errors if the handshake fails, and ErrClosed after Close.
func (c *Client) Sender(ctx context.Context, addr string, id ChannelID) (*Sender, error) {
	if err := id.validate(); err != nil {
		return nil, err
	}
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return nil, fmt.Errorf("tcp: open %v: %w", id, ErrClosed)
	}
	cc := c.conns[addr]
	if cc == nil {
		cc = &clientConn{
			client:  c,
			addr:    addr,
			ready:   make(chan struct{}),
			done:    make(chan struct{}),
			senders: make(map[uint64]*Sender),
		}
		c.conns[addr] = cc
		c.wg.Add(1)
		go func() {
			defer c.wg.Done()
			cc.run()
		}()
	}
	c.mu.Unlock()
	select {
	case <-cc.ready:
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	if cc.dialErr != nil {
		return nil, cc.dialErr
	}
	return cc.open(id)
}

// Close closes every connection, which fails the Senders on them, and
// returns once every goroutine of the client has stopped.
func (c *Client) Close() error {
	c.mu.Lock()
	c.closed = true
	conns := make([]*clientConn, 0, len(c.conns))
	for _, cc := range c.conns {
		conns = append(conns, cc)
	}
	c.mu.Unlock()
	c.cancel()
	for _, cc := range conns {
		cc.fail(ErrClosed)
	}
	c.wg.Wait()
	return nil
}

// Stats returns a snapshot of every open Sender, ordered by ID.
func (c *Client) Stats() []SenderStats {
	c.mu.Lock()
	conns := make([]*clientConn, 0, len(c.conns))
	for _, cc := range c.conns {
		conns = append(conns, cc)
	}
	c.mu.Unlock()
	var out []SenderStats
	for _, cc := range conns {
		cc.mu.Lock()
		for _, s := range cc.senders {
			out = append(out, s.Stats())
		}
		cc.mu.Unlock()
	}
	slices.SortFunc(out, func(a, b SenderStats) int { return compareIDs(a.ID, b.ID) })
	return out
}

// clientConn is one connection to a consumer TaskManager.
type clientConn struct {
	client *Client
	addr   string

	// ready is closed once the handshake is done or failed (dialErr); conn
	// and maxBuffer are set before.
	ready     chan struct{}
	dialErr   error
	conn      net.Conn
	maxBuffer int

	done     chan struct{} // closed when the connection failed, with err
	err      error
	failOnce sync.Once

	wmu sync.Mutex // one frame at a time

	mu      sync.Mutex
	senders map[uint64]*Sender // open channels by number
	nextNum uint64
}

// run dials, does the handshake, and then reads credits until the
// connection fails.
func (cc *clientConn) run() {
	c := cc.client
	ctx, cancel := context.WithTimeout(c.ctx, c.opts.HandshakeTimeout)
	conn, err := c.opts.Dial(ctx, "tcp", cc.addr)
	cancel()
	if err == nil {
		c.mu.Lock()
		if c.closed {
			err = ErrClosed
			conn.Close()
		} else {
			cc.conn = conn // from now on, Close closes it
		}
		c.mu.Unlock()
	}
	var br *bufio.Reader
	if err == nil {
		br = bufio.NewReaderSize(conn, 4<<10)
		cc.maxBuffer, err = cc.handshake(br)
	}
	if err != nil {
		cc.dialErr = fmt.Errorf("tcp: connect to %s: %w", cc.addr, err)
		cc.fail(err)
		close(cc.ready)
		return
	}
	close(cc.ready)
	cc.fail(cc.readCredits(br))
}

func (cc *clientConn) handshake(br *bufio.Reader) (int, error) {
	cc.conn.SetDeadline(time.Now().Add(cc.client.opts.HandshakeTimeout))
	if _, err := cc.conn.Write(appendHello(nil)); err != nil {
		return 0, err
	}
	n, err := readWelcome(br)
	if err != nil {
		return 0, err
	}
	cc.conn.SetDeadline(time.Time{})
	return n, nil
}

// fail closes the connection, once, so that every Sender on it fails with
// an error naming the remote address.
func (cc *clientConn) fail(err error) {
	cc.failOnce.Do(func() {
		cc.err = fmt.Errorf("tcp: connection to %s: %w", cc.addr, err)
		c := cc.client
		c.mu.Lock()
		if c.conns[cc.addr] == cc {
			delete(c.conns, cc.addr) // the next Sender dials afresh
		}
		conn := cc.conn
		c.mu.Unlock()
		if conn != nil {
			conn.Close()
		}
		close(cc.done)
	})
}

// readCredits reads the consumer's frames until the connection fails.
func (cc *clientConn) readCredits(br *bufio.Reader) error {
	var p []byte
	for {
		h, err := readHeader(br, toProducer)
		if err != nil {
			return err
		}
		if p, err = readPayload(br, p, h.n); err != nil {
			return err
		}
		cc.mu.Lock()
		s, opened := cc.senders[h.ch], h.ch < cc.nextNum
		cc.mu.Unlock()
		if !opened {
			return protocolErr("%v frame for channel %d, which was not opened", h.typ, h.ch)
		}
		switch h.typ {
		case frameCredit:
			n, err := decodeCredit(p)
			if err != nil {
				return err
			}
			if s != nil { // nil: ended, the credit is of no use
				if err := s.addCredit(n); err != nil {
					return err
				}
			}
		case frameReject:
			if s != nil {
				s.reject(fmt.Errorf("tcp: %s rejected channel %v: %q", cc.addr, s.id, p))
			}
		}
	}
}

// open assigns the next channel number to id and sends the open frame.
func (cc *clientConn) open(id ChannelID) (*Sender, error) {
	cc.wmu.Lock()
	defer cc.wmu.Unlock()
	cc.mu.Lock()
	if cc.nextNum >= maxChannelsPerConn {
		cc.mu.Unlock()
		return nil, fmt.Errorf("tcp: open %v: %d channels on the connection to %s", id, maxChannelsPerConn, cc.addr)
	}
	s := &Sender{cc: cc, id: id, num: cc.nextNum, wake: make(chan struct{}, 1)}
	cc.senders[s.num] = s
	cc.nextNum++
	cc.mu.Unlock()
	p := appendFrame(nil, frameOpen, s.num, appendChannelID(nil, id))
	if _, err := cc.conn.Write(p); err != nil {
		cc.fail(err)
		return nil, cc.err
	}
	return s, nil
}

func (cc *clientConn) failed() error {
	select {
	case <-cc.done:
		return cc.err
	default:
		return nil
	}
}

// Sender is the producer's end of one channel to a remote gate: a
// network.Sender. Send takes one credit per buffer, data or event, and
// waits while the channel has none, so that a consumer that stops polling
// stops this channel only; the other channels of the connection flow on.
//
// Like every network.Sender it is used by one producer goroutine at a time;
// Stats may be called from any goroutine.
type Sender struct {
	cc  *clientConn
	id  ChannelID
	num uint64

	mu     sync.Mutex
	credit int
	err    error // the consumer rejected the channel
	wake   chan struct{}

	// The producer goroutine's own.
	ended   bool
	payload []byte    // of an event
	frame   []byte    // an event's frame
	vec     [2][]byte // a data frame: header, segment

	granted, sent, sentBytes, waits atomic.Int64
	backlog                         atomic.Int32
}

var _ network.Sender = (*Sender)(nil)

// ID is the channel's ID.
func (s *Sender) ID() ChannelID { return s.id }

// Send implements network.Sender: it waits for a credit, writes b as one
// frame and, for a data buffer, recycles its segment. It returns ctx's error
// if ctx is done while waiting, an error naming the remote address if the
// connection failed, and an error if the consumer rejected the channel, the
// buffer is larger than the consumer accepts, or the channel has ended; b
// then still belongs to the caller. A write, once started, is not
// interrupted by ctx: it waits for the consumer's TaskManager, which reads
// its connection without waiting for anything.
func (s *Sender) Send(ctx context.Context, b network.Buffer) error {
	if s.ended {
		return fmt.Errorf("tcp: channel %v: %v after end of partition", s.id, b.Kind)
	}
	var t frameType
	switch b.Kind {
	case network.Data:
		t = frameData
		if n := len(b.Segment.B); n > s.cc.maxBuffer {
			return fmt.Errorf("tcp: channel %v: buffer of %d bytes exceeds the %d bytes %s accepts", s.id, n, s.cc.maxBuffer, s.cc.addr)
		}
	case network.EndOfPartition:
		t = frameEndOfPartition
		s.payload = s.payload[:0]
	case network.EndOfData:
		t = frameEndOfData
		s.payload = s.payload[:0]
	case network.CheckpointBarrier:
		t = frameBarrier
		if len(b.Barrier.Options.TargetDir) > maxTargetDirLen {
			return fmt.Errorf("tcp: channel %v: savepoint directory longer than %d bytes", s.id, maxTargetDirLen)
		}
		s.payload = appendBarrier(s.payload[:0], b.Barrier)
	case network.CancelBarrier:
		t = frameCancelBarrier
		s.payload = binary.AppendVarint(s.payload[:0], b.Value)
	default:
		return fmt.Errorf("tcp: channel %v: cannot send %v", s.id, b.Kind)
	}
	if err := s.acquire(ctx); err != nil {
		return err
	}
	if err := s.write(t, b); err != nil {
		return err
	}
	if b.Segment != nil {
		s.sentBytes.Add(int64(len(b.Segment.B)))
		b.Segment.Recycle()
	}
	s.sent.Add(1)
	if b.Kind == network.EndOfPartition {
		s.ended = true
		s.cc.mu.Lock()
		delete(s.cc.senders, s.num)
		s.cc.mu.Unlock()
	}
	return nil
}

// acquire takes one credit, waiting for it.
func (s *Sender) acquire(ctx context.Context) error {
	s.mu.Lock()
	for {
		if err := s.cc.failed(); err != nil {
			s.mu.Unlock()
			return err
		}
		if s.err != nil {
			s.mu.Unlock()
			return s.err
		}
		if s.credit > 0 {
			s.credit--
			s.mu.Unlock()
			s.backlog.Store(0)
			return nil
		}
		if s.backlog.Swap(1) == 0 {
			s.waits.Add(1)
		}
		s.mu.Unlock()
		select {
		case <-s.wake:
		case <-s.cc.done:
		case <-ctx.Done():
			s.backlog.Store(0)
			return ctx.Err()
		}
		s.mu.Lock()
	}
}

func (s *Sender) write(t frameType, b network.Buffer) error {
	cc := s.cc
	cc.wmu.Lock()
	defer cc.wmu.Unlock()
	if err := cc.failed(); err != nil {
		return err
	}
	var err error
	if t == frameData {
		s.vec[0] = appendHeader(s.vec[0][:0], t, s.num, len(b.Segment.B))
		hdr := s.vec[0]
		bufs := net.Buffers(s.vec[:])
		bufs[1] = b.Segment.B
		_, err = bufs.WriteTo(cc.conn)
		s.vec[0], s.vec[1] = hdr, nil
	} else {
		s.frame = appendFrame(s.frame[:0], t, s.num, s.payload)
		_, err = cc.conn.Write(s.frame)
	}
	if err != nil {
		cc.fail(err)
		return cc.err
	}
	return nil
}

func (s *Sender) addCredit(n int) error {
	s.mu.Lock()
	if s.credit+n > maxCredit {
		s.mu.Unlock()
		return protocolErr("credit on channel %v exceeds %d", s.id, maxCredit)
	}
	s.credit += n
	s.mu.Unlock()
	s.granted.Add(int64(n))
	select {
	case s.wake <- struct{}{}:
	default:
	}
	return nil
}

func (s *Sender) reject(err error) {
	s.mu.Lock()
	if s.err == nil {
		s.err = err
	}
	s.mu.Unlock()
	select {
	case s.wake <- struct{}{}:
	default:
	}
}

// Stats returns a snapshot of the channel.
func (s *Sender) Stats() SenderStats {
	s.mu.Lock()
	credit, rejected := s.credit, s.err != nil
	s.mu.Unlock()
	return SenderStats{
		ID:        s.id,
		Remote:    s.cc.addr,
		Credit:    credit,
		Backlog:   int(s.backlog.Load()),
		Granted:   s.granted.Load(),
		Sent:      s.sent.Load(),
		SentBytes: s.sentBytes.Load(),
		Waits:     s.waits.Load(),
		Failed:    rejected || s.cc.failed() != nil,
	}
}
