package tcp

import (
	"bufio"
	"cmp"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/runnel-io/runnel/runtime/network"
)

// DefaultHandshakeTimeout bounds a new connection's handshake.
const DefaultHandshakeTimeout = 10 * time.Second

// ServerOptions configure a Server. The zero value is valid; each field's
// comment gives its default.
type ServerOptions struct {
	// SegmentSize is the size of the pooled segments that receive data
	// buffers: network.DefaultSegmentSize if 0. A larger buffer (an
	// oversized one, holding one big record) gets a segment of its own.
	SegmentSize int
	// MaxBufferSize is the largest data buffer accepted, announced to every
	// producer in the handshake: DefaultMaxBufferSize if 0, at most
	// MaxBufferSizeLimit.
	MaxBufferSize int
	// HandshakeTimeout bounds the handshake of an accepted connection:
	// DefaultHandshakeTimeout if 0.
	HandshakeTimeout time.Duration
	// Logger receives connection failures (discarded if nil).
	Logger *slog.Logger
}

func (o *ServerOptions) ensureDefaults() error {
	if o.SegmentSize == 0 {
		o.SegmentSize = network.DefaultSegmentSize
	}
	if o.MaxBufferSize == 0 {
		o.MaxBufferSize = DefaultMaxBufferSize
	}
	if o.HandshakeTimeout == 0 {
		o.HandshakeTimeout = DefaultHandshakeTimeout
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	switch {
	case o.SegmentSize < 0:
		return fmt.Errorf("tcp: segment size %d is negative", o.SegmentSize)
	case o.MaxBufferSize < o.SegmentSize || o.MaxBufferSize > MaxBufferSizeLimit:
		return fmt.Errorf("tcp: max buffer size %d outside [segment size %d, %d]", o.MaxBufferSize, o.SegmentSize, MaxBufferSizeLimit)
	case o.HandshakeTimeout < 0:
		return fmt.Errorf("tcp: handshake timeout %v is negative", o.HandshakeTimeout)
	}
	return nil
}

// Server is the consumer side of the exchange, one per TaskManager (Flink's
// taskmanager.data.port): it accepts the connections of producer
// TaskManagers and delivers the buffers of each channel into the gate
// channel registered for it, returning a credit to the producer each time
// the consumer polls a buffer out of that gate channel.
//
// Register, Stats and the Receiver's methods are safe for concurrent use.
//
// Lock order: Server.mu, then an InputGate's lock (Register and Close set
// the gate's poll hook), then serverConn.mu. Nothing takes Server.mu while
// holding a gate's lock: the poll hook runs without it.
type Server struct {
	ln   net.Listener
	opts ServerOptions
	ran  atomic.Bool

	mu       sync.Mutex
	channels map[ChannelID]*inChannel
	conns    map[*serverConn]struct{}
	closed   bool

	wg sync.WaitGroup // the connections' goroutines
}

// NewServer returns a server that will accept connections on ln once Run
// is called. The server owns ln.
func NewServer(ln net.Listener, opts ServerOptions) (*Server, error) {
	if err := opts.ensureDefaults(); err != nil {
		return nil, err
	}
	return &Server{
		ln:       ln,
		opts:     opts,
		channels: make(map[ChannelID]*inChannel),
		conns:    make(map[*serverConn]struct{}),
	}, nil
}

// Addr is the address producers dial.
func (s *Server) Addr() net.Addr { return s.ln.Addr() }

// Run accepts connections until ctx is done, then closes the listener and
// every connection, fails every registered channel that has not ended with
// an error wrapping ErrClosed, and returns nil once every goroutine of the
// server has stopped. It returns an error if accepting fails for another
// reason, after the same clean-up. Run is called once.
func (s *Server) Run(ctx context.Context) error {
	if !s.ran.CompareAndSwap(false, true) {
		return errors.New("tcp: server run twice")
	}
	stop := context.AfterFunc(ctx, func() { s.ln.Close() })
	defer stop()
	var err error
	for {
		var conn net.Conn
		conn, err = s.ln.Accept()
		if err != nil {
			break
		}
		s.serve(conn)
	}
	if ctx.Err() != nil {
		err = nil
	} else {
		err = fmt.Errorf("tcp: accept on %s: %w", s.ln.Addr(), err)
	}
	s.shutdown()
	return err
}

func (s *Server) shutdown() {
	s.ln.Close()
	s.mu.Lock()
	s.closed = true
	conns := make([]*serverConn, 0, len(s.conns))
	for sc := range s.conns {
		conns = append(conns, sc)
	}
	s.mu.Unlock()
	for _, sc := range conns {
		sc.fail(ErrClosed)
	}
	s.wg.Wait()
	s.mu.Lock()
	for _, c := range s.channels {
		c.fail(fmt.Errorf("tcp: channel %v: %w", c.id, ErrClosed))
	}
	s.mu.Unlock()
}

// handshaker is a connection with a handshake of its own, under the
// protocol's: a *tls.Conn accepted by a tls.NewListener.
type handshaker interface {
	HandshakeContext(context.Context) error
}

// serve starts the goroutines of an accepted connection: a reader, which
// does the handshake and then delivers frames, and a credit writer.
func (s *Server) serve(conn net.Conn) {
	ctx, cancel := context.WithCancel(context.Background())
	sc := &serverConn{
		s:      s,
		conn:   conn,
		remote: conn.RemoteAddr().String(),
		ctx:    ctx,
		cancel: cancel,
		signal: make(chan struct{}, 1),
	}
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		cancel()
		conn.Close()
		return
	}
	s.conns[sc] = struct{}{}
	s.wg.Add(2)
	s.mu.Unlock()
	go func() {
		defer s.wg.Done()
		sc.fail(sc.read())
	}()
	go func() {
		defer s.wg.Done()
		sc.writeCredits()
	}()
}

// Register makes gate channel ch the destination of channel id: buffers
// that a producer sends on id are delivered into gate.Channel(ch), and each
// one the consumer polls out of it returns a credit to the producer. The
// producer may connect before or after Register; it sends nothing before
// it has credit, and its initial credit is the gate channel's capacity.
//
// The gate channel must have no other producer: deliveries rely on the
// room the credits promise and never wait for it. Register sets the gate
// channel's poll hook (network.InputGate.SetOnPoll); Receiver.Close removes
// it.
func (s *Server) Register(id ChannelID, gate *network.InputGate, ch int) (*Receiver, error) {
	if err := id.validate(); err != nil {
		return nil, err
	}
	if ch < 0 || ch >= gate.NumChannels() {
		return nil, fmt.Errorf("tcp: register %v: gate has no channel %d", id, ch)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return nil, fmt.Errorf("tcp: register %v: %w", id, ErrClosed)
	}
	c := s.channels[id]
	if c == nil {
		c = newInChannel(id)
		s.channels[id] = c
	} else if c.registered {
		return nil, fmt.Errorf("tcp: channel %v registered twice", id)
	}
	c.registered = true
	c.capacity = gate.Channel(ch).Capacity()
	// One segment more than the capacity: the consumer may hold the buffer
	// it polled last while its credit brings the next one.
	t := &target{gate: gate, ch: ch, pool: network.NewPool(s.opts.SegmentSize, c.capacity+1)}
	c.target.Store(t)
	c.pool = t.pool
	gate.SetOnPoll(ch, c.onPoll)
	if sc := c.conn.Load(); sc != nil {
		c.grant(sc, c.capacity)
	}
	return &Receiver{s: s, c: c}, nil
}

// Stats returns a snapshot of every registered or opened channel, ordered
// by ID.
func (s *Server) Stats() []ReceiverStats {
	s.mu.Lock()
	out := make([]ReceiverStats, 0, len(s.channels))
	for _, c := range s.channels {
		out = append(out, c.stats())
	}
	s.mu.Unlock()
	slices.SortFunc(out, func(a, b ReceiverStats) int { return compareIDs(a.ID, b.ID) })
	return out
}

func compareIDs(a, b ChannelID) int {
	return cmp.Or(cmp.Compare(a.Job, b.Job), cmp.Compare(a.Edge, b.Edge), cmp.Compare(a.Producer, b.Producer), cmp.Compare(a.Consumer, b.Consumer))
}

// Receiver is the consumer's handle on a registered channel.
type Receiver struct {
	s *Server
	c *inChannel
}

// Failed returns a channel closed when the channel failed before its end
// of partition: its connection broke, its producer broke the protocol, or
// the server stopped. The consumer's task then fails with Err.
func (r *Receiver) Failed() <-chan struct{} { return r.c.failed }

// Err is why the channel failed, nil if it has not. The error names the
// remote address when a connection broke.
func (r *Receiver) Err() error {
	select {
	case <-r.c.failed:
		return r.c.err
	default:
		return nil
	}
}

// Stats returns a snapshot of the channel.
func (r *Receiver) Stats() ReceiverStats { return r.c.stats() }

// Close unregisters the channel: it removes the gate channel's poll hook,
// buffers still arriving for it are dropped, and its producer gets no
// credit back. The channel's ID may be registered again, for a new
// producer.
func (r *Receiver) Close() {
	s, c := r.s, r.c
	s.mu.Lock()
	defer s.mu.Unlock()
	if t := c.target.Swap(nil); t != nil {
		t.gate.SetOnPoll(t.ch, nil)
	}
	if s.channels[c.id] == c {
		delete(s.channels, c.id)
	}
}

// target is where a registered channel delivers.
type target struct {
	gate *network.InputGate
	ch   int
	pool *network.Pool
}

// canceled is a done context: Pool.Get with it takes a free segment or
// fails instead of waiting.
var canceled = func() context.Context {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	return ctx
}()

// segment returns a segment for n bytes: a pooled one if n fits and one is
// free, else one of its own (which Recycle drops), whose memory readPayload
// grows as the bytes arrive. The connection's reader never waits for
// memory: credits bound what can arrive.
func (t *target) segment(n int) *network.Segment {
	if n <= t.pool.SegmentSize() {
		if seg, err := t.pool.Get(canceled); err == nil {
			return seg
		}
		return &network.Segment{B: make([]byte, 0, n)}
	}
	return &network.Segment{}
}

// inChannel is the consumer's side of one channel. It is created by
// Register or by the producer's open, whichever comes first.
type inChannel struct {
	id     ChannelID
	target atomic.Pointer[target] // nil before Register and after Close
	conn   atomic.Pointer[serverConn]
	num    uint64 // the channel's number on conn; set with conn

	// Guarded by Server.mu.
	registered bool
	capacity   int
	pool       *network.Pool

	// window is the credit announced to the producer and not used yet: the
	// buffers that may still arrive. It never goes negative: a buffer that
	// would make it so breaks the protocol.
	window atomic.Int64
	// unannounced is the credit returned by polls and not yet sent.
	unannounced atomic.Int64
	ended       atomic.Bool // end of partition received

	received, receivedBytes, polled atomic.Int64

	failOnce sync.Once
	failed   chan struct{}
	err      error
}

func newInChannel(id ChannelID) *inChannel {
	return &inChannel{id: id, failed: make(chan struct{})}
}

func (c *inChannel) fail(err error) {
	if c.ended.Load() {
		return
	}
	c.failOnce.Do(func() {
		c.err = err
		close(c.failed)
	})
}

func (c *inChannel) isFailed() bool {
	select {
	case <-c.failed:
		return true
	default:
		return false
	}
}

// onPoll is the gate channel's poll hook: a slot is free again, so the
// producer gets a credit back.
func (c *inChannel) onPoll() {
	c.polled.Add(1)
	if c.ended.Load() {
		return
	}
	if sc := c.conn.Load(); sc != nil {
		c.grant(sc, 1)
	}
}

// grant adds n credits to be announced by sc's credit writer.
func (c *inChannel) grant(sc *serverConn, n int) {
	if c.unannounced.Add(int64(n)) == int64(n) { // was 0: not queued yet
		sc.queueCredit(c)
	}
}

func (c *inChannel) stats() ReceiverStats {
	st := ReceiverStats{
		ID:            c.id,
		Credit:        int(c.window.Load()),
		Unannounced:   int(c.unannounced.Load()),
		Received:      c.received.Load(),
		ReceivedBytes: c.receivedBytes.Load(),
		Ended:         c.ended.Load(),
		Failed:        c.isFailed(),
	}
	st.Queued = int(st.Received - c.polled.Load())
	if t := c.target.Load(); t != nil {
		st.Capacity = t.gate.Channel(t.ch).Capacity()
		st.SegmentsInUse = t.pool.InUse()
	}
	if sc := c.conn.Load(); sc != nil {
		st.Remote = sc.remote
	}
	return st
}

// serverConn is one accepted connection from a producer TaskManager.
type serverConn struct {
	s      *Server
	conn   net.Conn
	remote string
	ctx    context.Context // done once the connection failed
	cancel context.CancelFunc

	// table holds the connection's channels by number; the reader's only.
	// A rejected open leaves an entry that never gets credit.
	table []*inChannel

	failOnce sync.Once
	err      error

	mu      sync.Mutex
	credits []*inChannel // channels with unannounced credit, each once
	rejects []rejection
	spare   []*inChannel
	signal  chan struct{}
}

type rejection struct {
	num uint64
	msg string
}

// errHandshake marks a connection refused in its TLS handshake.
var errHandshake = errors.New("tls handshake")

// fail closes the connection and fails its open channels with err, once.
func (sc *serverConn) fail(err error) {
	sc.failOnce.Do(func() {
		if err == nil {
			err = io.EOF
		}
		sc.err = fmt.Errorf("tcp: connection from %s: %w", sc.remote, err)
		sc.cancel()
		sc.conn.Close()
		s := sc.s
		s.mu.Lock()
		delete(s.conns, sc)
		for _, c := range sc.table {
			if c.conn.Load() != sc {
				continue // rejected
			}
			if !c.registered && s.channels[c.id] == c {
				delete(s.channels, c.id)
			}
			c.fail(sc.err)
		}
		s.mu.Unlock()
		switch {
		case errors.Is(err, ErrClosed) || errors.Is(err, io.EOF):
		case errors.Is(err, errHandshake):
			// A stranger (a port scan, a peer without the cluster's
			// certificate): its own mistake, which must not flood the log.
			s.opts.Logger.Debug("tcp: connection refused", "remote", sc.remote, "error", err)
		default:
			s.opts.Logger.Warn("tcp: connection failed", "remote", sc.remote, "error", err)
		}
	})
}

// read does the handshake and then delivers the producer's frames until
// the connection fails; it returns why.
func (sc *serverConn) read() error {
	br := bufio.NewReaderSize(sc.conn, 64<<10)
	sc.conn.SetDeadline(time.Now().Add(sc.s.opts.HandshakeTimeout))
	if h, ok := sc.conn.(handshaker); ok {
		// A TLS connection: its handshake, and the check of the peer's
		// certificate, come before any byte of the protocol is read.
		if err := h.HandshakeContext(sc.ctx); err != nil {
			return fmt.Errorf("%w: %w", errHandshake, err)
		}
	}
	_, herr := readHello(br)
	if herr != nil && !errors.Is(herr, ErrVersion) {
		return herr
	}
	// Answer a producer of another version too, so that it can tell why.
	if _, err := sc.conn.Write(appendWelcome(nil, sc.s.opts.MaxBufferSize)); err != nil {
		return err
	}
	if herr != nil {
		return herr
	}
	sc.conn.SetDeadline(time.Time{})
	d := toConsumer(sc.s.opts.MaxBufferSize)
	var scratch []byte
	for {
		if sc.ctx.Err() != nil {
			return nil // failed already; no frame buffered since counts
		}
		h, err := readHeader(br, d)
		if err != nil {
			return err
		}
		if h.typ == frameOpen {
			if scratch, err = readPayload(br, scratch, h.n); err != nil {
				return err
			}
			if err := sc.open(h.ch, scratch); err != nil {
				return err
			}
			continue
		}
		if h.ch >= uint64(len(sc.table)) {
			return protocolErr("%v frame for channel %d, which was not opened", h.typ, h.ch)
		}
		c := sc.table[h.ch]
		if c.ended.Load() {
			return protocolErr("%v frame on channel %v after its end of partition", h.typ, c.id)
		}
		if c.window.Add(-1) < 0 {
			return protocolErr("%v frame on channel %v without credit", h.typ, c.id)
		}
		t := c.target.Load()
		b := network.Buffer{}
		switch h.typ {
		case frameData:
			b.Kind = network.Data
			if t == nil {
				_, err = br.Discard(h.n)
				break
			}
			b.Segment = t.segment(h.n)
			b.Segment.B, err = readPayload(br, b.Segment.B, h.n)
		default:
			if scratch, err = readPayload(br, scratch, h.n); err != nil {
				break
			}
			b, err = decodeEvent(h.typ, scratch)
		}
		if err != nil {
			if b.Segment != nil {
				b.Segment.Recycle()
			}
			return fmt.Errorf("tcp: channel %v: %w", c.id, err)
		}
		if b.Kind == network.EndOfPartition {
			c.ended.Store(true)
		}
		c.received.Add(1)
		if b.Kind == network.Data {
			c.receivedBytes.Add(int64(h.n))
		}
		if t == nil {
			if b.Segment != nil {
				b.Segment.Recycle()
			}
			continue // unregistered: dropped
		}
		// Never waits: the credit promised the room.
		if err := t.gate.Channel(t.ch).Send(sc.ctx, b); err != nil {
			if b.Segment != nil {
				b.Segment.Recycle()
			}
			return err
		}
	}
}

func decodeEvent(t frameType, p []byte) (network.Buffer, error) {
	switch t {
	case frameEndOfPartition:
		return network.Buffer{Kind: network.EndOfPartition}, nil
	case frameEndOfData:
		return network.Buffer{Kind: network.EndOfData}, nil
	case frameBarrier:
		b, err := decodeBarrier(p)
		return network.Buffer{Kind: network.CheckpointBarrier, Barrier: b}, err
	case frameCancelBarrier:
		id, err := decodeVarint(p, "cancel barrier")
		return network.Buffer{Kind: network.CancelBarrier, Value: id}, err
	}
	return network.Buffer{}, protocolErr("unexpected %v frame", t)
}

// open binds channel number num of the connection to the channel ID in p.
func (sc *serverConn) open(num uint64, p []byte) error {
	if num != uint64(len(sc.table)) {
		return protocolErr("open of channel %d, want %d", num, len(sc.table))
	}
	id, err := decodeChannelID(p)
	if err != nil {
		return err
	}
	s := sc.s
	s.mu.Lock()
	defer s.mu.Unlock()
	if sc.ctx.Err() != nil {
		return nil // failed: bind nothing that fail would not see
	}
	c := s.channels[id]
	switch {
	case c == nil:
		c = newInChannel(id)
		s.channels[id] = c
	case c.conn.Load() != nil || c.isFailed():
		sc.table = append(sc.table, newInChannel(id))
		sc.reject(num, fmt.Sprintf("channel %v already has a producer", id))
		return nil
	}
	c.num = num
	c.conn.Store(sc)
	sc.table = append(sc.table, c)
	if c.registered {
		c.grant(sc, c.capacity)
	}
	return nil
}

func (sc *serverConn) reject(num uint64, msg string) {
	sc.mu.Lock()
	sc.rejects = append(sc.rejects, rejection{num, msg})
	sc.mu.Unlock()
	sc.wake()
}

func (sc *serverConn) queueCredit(c *inChannel) {
	sc.mu.Lock()
	sc.credits = append(sc.credits, c)
	sc.mu.Unlock()
	sc.wake()
}

func (sc *serverConn) wake() {
	select {
	case sc.signal <- struct{}{}:
	default:
	}
}

// writeCredits sends the credits returned by polls, and rejections, until
// the connection fails.
func (sc *serverConn) writeCredits() {
	var buf, p []byte
	for {
		select {
		case <-sc.signal:
		case <-sc.ctx.Done():
			return
		}
		sc.mu.Lock()
		credits := sc.credits
		sc.credits = sc.spare[:0]
		rejects := sc.rejects
		sc.rejects = nil
		sc.mu.Unlock()
		buf = buf[:0]
		for _, r := range rejects {
			buf = appendFrame(buf, frameReject, r.num, []byte(r.msg))
		}
		for i, c := range credits {
			credits[i] = nil
			n := c.unannounced.Swap(0)
			if n == 0 {
				continue
			}
			// The window grows before the producer can hear of the credit,
			// so a buffer that uses it always finds it.
			c.window.Add(n)
			p = binary.AppendUvarint(p[:0], uint64(n))
			buf = appendFrame(buf, frameCredit, c.num, p)
		}
		sc.mu.Lock()
		sc.spare = credits[:0]
		sc.mu.Unlock()
		if len(buf) == 0 {
			continue
		}
		if _, err := sc.conn.Write(buf); err != nil {
			sc.fail(err)
			return
		}
	}
}
