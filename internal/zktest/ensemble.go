package zktest

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/runnel-io/runnel/internal/javatest"
)

// startTimeout bounds the wait for a server to serve.
const startTimeout = 60 * time.Second

// TickTime is the servers' tick, in milliseconds: sessions may time out
// after as little as two ticks (minSessionTimeout), so that tests can
// expire sessions quickly.
const TickTime = 250

// Ensemble is a set of running ZooKeeper servers. Its methods are safe
// for concurrent use.
type Ensemble struct {
	jars string
	dir  string
	log  io.Writer

	mu      sync.Mutex
	servers []*server
	closed  bool
}

type server struct {
	id                         int
	clientPort, peer, election int
	dir                        string
	proc                       *javatest.Process
}

// StartEnsemble starts n servers (1, or 3 for an ensemble that can lose
// one) on free loopback ports, with their data under dir, and returns once
// they serve. The servers' output goes to log (discarded if nil).
func StartEnsemble(dir string, n int, log io.Writer) (*Ensemble, error) {
	if n != 1 && n != 3 {
		return nil, fmt.Errorf("zktest: %d servers: want 1 or 3", n)
	}
	jars, err := Jars()
	if err != nil {
		return nil, err
	}
	if log == nil {
		log = io.Discard
	}
	e := &Ensemble{jars: jars, dir: dir, log: log}
	ports, err := javatest.FreePorts(3 * n)
	if err != nil {
		return nil, err
	}
	for i := range n {
		s := &server{id: i + 1, clientPort: ports[3*i], peer: ports[3*i+1], election: ports[3*i+2],
			dir: filepath.Join(dir, fmt.Sprintf("zk-%d", i+1))}
		e.servers = append(e.servers, s)
	}
	for _, s := range e.servers {
		if err := e.configure(s); err != nil {
			return nil, err
		}
	}
	for i := range e.servers {
		if err := e.launch(i); err != nil {
			_ = e.Close()
			return nil, err
		}
	}
	for i := range e.servers {
		if err := e.waitServing(i); err != nil {
			_ = e.Close()
			return nil, err
		}
	}
	return e, nil
}

// Connect is the connection string of the ensemble:
// "127.0.0.1:p1,127.0.0.1:p2,...".
func (e *Ensemble) Connect() string {
	var addrs []string
	for _, s := range e.servers {
		addrs = append(addrs, e.Addr(s.id-1))
	}
	return strings.Join(addrs, ",")
}

// Addr is the client address of server i (from 0).
func (e *Ensemble) Addr(i int) string {
	return net.JoinHostPort("127.0.0.1", fmt.Sprint(e.servers[i].clientPort))
}

// Size is the number of servers.
func (e *Ensemble) Size() int { return len(e.servers) }

func (e *Ensemble) configure(s *server) error {
	if err := os.MkdirAll(filepath.Join(s.dir, "data"), 0o755); err != nil {
		return fmt.Errorf("zktest: %w", err)
	}
	var cfg strings.Builder
	fmt.Fprintf(&cfg, "tickTime=%d\ninitLimit=20\nsyncLimit=10\n", TickTime)
	fmt.Fprintf(&cfg, "minSessionTimeout=%d\nmaxSessionTimeout=120000\n", 2*TickTime)
	fmt.Fprintf(&cfg, "dataDir=%s\nclientPort=%d\nclientPortAddress=127.0.0.1\n", filepath.Join(s.dir, "data"), s.clientPort)
	cfg.WriteString("admin.enableServer=false\n4lw.commands.whitelist=srvr,ruok,stat\nmaxClientCnxns=0\n")
	if len(e.servers) > 1 {
		cfg.WriteString("standaloneEnabled=false\n")
		for _, o := range e.servers {
			fmt.Fprintf(&cfg, "server.%d=127.0.0.1:%d:%d\n", o.id, o.peer, o.election)
		}
		if err := os.WriteFile(filepath.Join(s.dir, "data", "myid"), fmt.Appendf(nil, "%d\n", s.id), 0o644); err != nil {
			return fmt.Errorf("zktest: %w", err)
		}
	}
	if err := os.WriteFile(filepath.Join(s.dir, "zoo.cfg"), []byte(cfg.String()), 0o644); err != nil {
		return fmt.Errorf("zktest: %w", err)
	}
	return nil
}

// launch starts the process of server i.
func (e *Ensemble) launch(i int) error {
	s := e.servers[i]
	cmd := exec.Command("java", "-Xmx128m", "-XX:+UseSerialGC", "-XX:TieredStopAtLevel=1",
		"-Dzookeeper.jmx.log4j.disable=true", "-Dorg.slf4j.simpleLogger.defaultLogLevel=warn",
		"-cp", filepath.Join(e.jars, "*"), "org.apache.zookeeper.server.quorum.QuorumPeerMain", filepath.Join(s.dir, "zoo.cfg"))
	cmd.Stdout, cmd.Stderr = e.log, e.log
	proc, err := javatest.Start(cmd)
	if err != nil {
		return fmt.Errorf("zktest: starting ZooKeeper server %d (is Java installed?): %w", s.id, err)
	}
	s.proc = proc
	return nil
}

// waitServing waits until server i answers srvr with its mode: it serves
// (a member of a quorum, or standalone).
func (e *Ensemble) waitServing(i int) error {
	s := e.servers[i]
	e.mu.Lock()
	proc := s.proc
	e.mu.Unlock()
	if proc == nil {
		return fmt.Errorf("zktest: ZooKeeper server %d is stopped", s.id)
	}
	deadline := time.Now().Add(startTimeout)
	for {
		if mode, err := e.Mode(i); err == nil && mode != "" {
			return nil
		}
		select {
		case <-proc.Exited():
			return fmt.Errorf("zktest: ZooKeeper server %d exited while starting (its output went to the ensemble's log)", s.id)
		case <-time.After(50 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("zktest: ZooKeeper server %d does not serve after %v", s.id, startTimeout)
		}
	}
}

// Mode is server i's role as srvr says it ("standalone", "leader",
// "follower"), or "" if it does not serve (it runs without a quorum).
func (e *Ensemble) Mode(i int) (string, error) {
	conn, err := net.DialTimeout("tcp", e.Addr(i), time.Second)
	if err != nil {
		return "", err
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(2 * time.Second))
	if _, err := conn.Write([]byte("srvr")); err != nil {
		return "", err
	}
	sc := bufio.NewScanner(conn)
	for sc.Scan() {
		if mode, ok := strings.CutPrefix(sc.Text(), "Mode: "); ok {
			return strings.TrimSpace(mode), nil
		}
	}
	return "", sc.Err()
}

// Stop stops server i (from 0): SIGTERM, then SIGKILL after ten seconds.
// Stopping a stopped server does nothing.
func (e *Ensemble) Stop(i int) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.stop(e.servers[i])
}

func (e *Ensemble) stop(s *server) error {
	if s.proc == nil {
		return nil
	}
	s.proc.Stop(10 * time.Second)
	s.proc = nil
	return nil
}

// Start starts server i (from 0) again, on its port and with its data;
// it does not wait for the server to serve (WaitServing does, once a
// quorum runs). Start of a running server does nothing.
func (e *Ensemble) Start(i int) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.closed {
		return errors.New("zktest: the ensemble is closed")
	}
	if e.servers[i].proc != nil {
		return nil
	}
	return e.launch(i)
}

// WaitServing waits until every running server serves.
func (e *Ensemble) WaitServing() error {
	for i, s := range e.servers {
		e.mu.Lock()
		running := s.proc != nil
		e.mu.Unlock()
		if running {
			if err := e.waitServing(i); err != nil {
				return err
			}
		}
	}
	return nil
}

// Close stops every server and removes their data.
func (e *Ensemble) Close() error {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.closed = true
	for _, s := range e.servers {
		_ = e.stop(s)
	}
	return os.RemoveAll(e.dir)
}
