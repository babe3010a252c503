package zookeeper

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"path"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/go-zookeeper/zk"

	"github.com/runnel-io/runnel/cluster/ha"
	"github.com/runnel-io/runnel/config"
)

// ErrNoSession is returned by New when the quorum gives no session
// within the connection timeout.
var ErrNoSession = errors.New("zookeeper: no session with the quorum")

func init() {
	ha.Register("ZOOKEEPER", func(conf *config.Configuration, log *slog.Logger) (ha.Services, error) {
		c, err := ConfigFrom(conf)
		if err != nil {
			return nil, err
		}
		return New(c, log)
	})
}

// connState is the connection's state as Curator names it.
type connState int

const (
	connected connState = iota // CONNECTED, or RECONNECTED
	suspended                  // SUSPENDED: the connection is lost, the session may live
	lost                       // LOST: the session expired, or may have
)

func (s connState) String() string {
	return [...]string{"CONNECTED", "SUSPENDED", "LOST"}[s]
}

// Services are the high-availability services in ZooKeeper: see the
// package documentation.
//
// Lock order: Services.mu, then leadership.mu. No ZooKeeper call is made
// with either held, since the client calls back into Services with its
// own locks held.
type Services struct {
	cfg     Config
	log     *slog.Logger
	conn    *zk.Conn
	acl     []zk.ACL
	base    string // <root>/<cluster-id>
	storage Storage

	mu          sync.Mutex
	state       connState
	suspensions int // SUSPENDED seen so far
	losses      int // LOST seen so far
	changed     chan struct{}
	lostTimer   *time.Timer // LOST once the session timeout passed SUSPENDED
	closed      bool
	done        chan struct{} // closed by Close
	wg          sync.WaitGroup

	// wakeups counts the predecessor watches that fired: a test proves
	// with it that a resignation wakes only the successor.
	wakeups atomic.Int64
}

var _ ha.Services = (*Services)(nil)

// New connects to the quorum and returns the services once the client
// has a session and the cluster's nodes exist, or an error naming the
// key that is wrong: the quorum's (matching ErrNoSession) if it gives no
// session within the connection timeout.
func New(c Config, log *slog.Logger) (*Services, error) {
	c.EnsureDefaults()
	if err := c.Validate(); err != nil {
		return nil, err
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	s := &Services{cfg: c, log: log.With("component", "ha-zookeeper"), base: path.Join("/", c.Root, c.ClusterID),
		state: suspended, changed: make(chan struct{}), done: make(chan struct{}), acl: zk.WorldACL(zk.PermAll)}
	s.storage = c.Storage
	if s.storage == nil {
		fs, err := NewFileStorage(strings.TrimRight(c.StorageDir, "/") + "/" + strings.Trim(c.ClusterID, "/"))
		if err != nil {
			return nil, err
		}
		s.storage = fs
	}
	conn, _, err := zk.Connect(c.servers(), c.SessionTimeout, zk.WithLogger(zkLogger{s.log}), zk.WithLogInfo(false),
		zk.WithEventCallback(s.event))
	if err != nil {
		return nil, fmt.Errorf("zookeeper: %s %s: %w", config.ZooKeeperQuorum, c.Quorum, err)
	}
	s.conn = conn
	ctx, cancel := context.WithTimeout(context.Background(), c.ConnectionTimeout)
	defer cancel()
	if err := s.awaitConnected(ctx); err != nil {
		s.Close()
		return nil, fmt.Errorf("%w: %s %s: none gave a session within %s (%s)", ErrNoSession, config.ZooKeeperQuorum, c.Quorum,
			config.FormatDuration(c.ConnectionTimeout), config.ZooKeeperConnectionTimeout)
	}
	if c.ACL == "creator" {
		if err := conn.AddAuth("digest", []byte(c.DigestCredentials)); err != nil {
			s.Close()
			return nil, fmt.Errorf("zookeeper: %s: digest authentication: %w", config.ZooKeeperDigestFile, err)
		}
		s.acl = zk.AuthACL(zk.PermAll)
	}
	if err := s.ensure(ctx, s.MesosWorkersPath()); err != nil {
		s.Close()
		return nil, err
	}
	s.log.Info("zookeeper: connected", "quorum", c.Quorum, "base", s.base)
	return s, nil
}

// MesosWorkersPath is the node reserved for the Mesos driver's workers
// (high-availability.zookeeper.path.mesos-workers under the cluster's
// node), which New creates.
func (s *Services) MesosWorkersPath() string { return path.Join(s.base, s.cfg.MesosWorkersPath) }

// Close ends every leadership, closes the session (removing its
// ephemeral nodes at once) and waits for the services' goroutines.
func (s *Services) Close() error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil
	}
	s.closed = true
	close(s.done)
	if s.lostTimer != nil {
		s.lostTimer.Stop()
	}
	s.mu.Unlock()
	if s.conn != nil {
		s.conn.Close() // ends the calls in flight, so that the goroutines see done
	}
	s.wg.Wait()
	return nil
}

// event follows the client's session events; the client calls it with
// its locks held, so it must not call the client.
func (s *Services) event(ev zk.Event) {
	if ev.Type != zk.EventSession {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return
	}
	switch ev.State {
	case zk.StateHasSession:
		if s.state != connected {
			if s.lostTimer != nil {
				s.lostTimer.Stop()
				s.lostTimer = nil
			}
			s.setState(connected, "server", ev.Server)
		}
	case zk.StateDisconnected:
		if s.state == connected {
			s.suspensions++
			s.setState(suspended)
			// The servers expire the session once they have not heard from
			// the client for the session timeout; the client learns it only
			// when it reconnects. Taking it as lost after that long is
			// Curator's (and so Flink's) rule.
			s.lostTimer = time.AfterFunc(s.cfg.SessionTimeout, func() {
				s.mu.Lock()
				defer s.mu.Unlock()
				if s.state == suspended && !s.closed {
					s.loseSession("the session timeout passed without a connection")
				}
			})
		}
	case zk.StateExpired:
		s.loseSession("the session expired")
	}
}

// loseSession moves to LOST; s.mu is held.
func (s *Services) loseSession(why string) {
	if s.state == lost {
		return
	}
	s.losses++
	s.setState(lost, "why", why)
}

// setState changes the state and wakes its waiters; s.mu is held.
func (s *Services) setState(st connState, args ...any) {
	s.state = st
	close(s.changed)
	s.changed = make(chan struct{})
	s.log.Info("zookeeper: connection "+st.String(), args...)
}

// mark is the count of suspensions and losses at a moment: a leadership
// is lost once a later one happens (suspensions only without
// tolerate-suspended-connections).
type mark struct{ suspensions, losses int }

func (s *Services) markNow() mark {
	s.mu.Lock()
	defer s.mu.Unlock()
	return mark{s.suspensions, s.losses}
}

// lostSince reports why a leadership taken at m is lost, or ""; s.mu is
// held.
func (s *Services) lostSince(m mark) string {
	switch {
	case s.closed:
		return "the services are closed"
	case s.losses > m.losses:
		return "the ZooKeeper session was lost"
	case s.suspensions > m.suspensions && !s.cfg.TolerateSuspendedConnections:
		return "the ZooKeeper connection was suspended"
	}
	return ""
}

// watchState returns the state and a channel closed when it changes.
func (s *Services) watchState() (connState, <-chan struct{}) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.state, s.changed
}

// awaitConnected waits until the client has a session.
func (s *Services) awaitConnected(ctx context.Context) error {
	for {
		st, changed := s.watchState()
		if st == connected {
			return nil
		}
		select {
		case <-changed:
		case <-ctx.Done():
			return ctx.Err()
		case <-s.done:
			return ha.ErrClosed
		}
	}
}

// spawn runs fn in a goroutine that Close waits for, unless the services
// are closed; it reports whether it did.
func (s *Services) spawn(fn func()) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return false
	}
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		fn()
	}()
	return true
}

// retriable reports whether err is the connection's, not the request's.
func retriable(err error) bool {
	return errors.Is(err, zk.ErrConnectionClosed) || errors.Is(err, zk.ErrNoServer) || errors.Is(err, zk.ErrSessionExpired)
}

// retry runs op, again after the retry wait (or once the connection is
// back) while it fails for the connection, at most MaxRetryAttempts more
// times: Curator's retry policy.
func (s *Services) retry(ctx context.Context, op func() error) error {
	for attempt := 0; ; attempt++ {
		if s.isClosed() {
			return ha.ErrClosed
		}
		err := op()
		if err == nil || !retriable(err) || attempt >= s.cfg.MaxRetryAttempts {
			if s.isClosed() && err != nil {
				return ha.ErrClosed
			}
			return err
		}
		if err := s.pause(ctx); err != nil {
			return err
		}
	}
}

// pause waits for the retry wait, or until the connection is back.
func (s *Services) pause(ctx context.Context) error {
	t := time.NewTimer(s.cfg.RetryWait)
	defer t.Stop()
	for {
		st, changed := s.watchState()
		if st == connected {
			// The failure may be older than the state: give the client a
			// moment rather than spin.
			changed = nil
		}
		select {
		case <-t.C:
			return nil
		case <-changed:
			if st, _ := s.watchState(); st == connected {
				return nil
			}
		case <-ctx.Done():
			return ctx.Err()
		case <-s.done:
			return ha.ErrClosed
		}
	}
}

func (s *Services) isClosed() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.closed
}

// ensure creates the persistent node p and its parents that are missing.
func (s *Services) ensure(ctx context.Context, p string) error {
	return s.retry(ctx, func() error {
		for i := 1; i <= len(p); i++ {
			if i < len(p) && p[i] != '/' {
				continue
			}
			_, err := s.conn.Create(p[:i], nil, 0, s.acl)
			if err != nil && !errors.Is(err, zk.ErrNodeExists) {
				return fmt.Errorf("zookeeper: create %s: %w", p[:i], err)
			}
		}
		return nil
	})
}

// checkName refuses a job ID or component that is not one node's name.
func checkName(what, name string) error {
	if name == "" || name == "." || name == ".." || strings.ContainsAny(name, "/\x00") {
		return fmt.Errorf("zookeeper: %s %q is not a node name", what, name)
	}
	return nil
}

// zkLogger writes the client's log to the services' logger.
type zkLogger struct{ log *slog.Logger }

func (l zkLogger) Printf(format string, args ...any) {
	l.log.Debug("zookeeper client: " + fmt.Sprintf(format, args...))
}
