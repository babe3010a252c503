package hdfstest

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

// startTimeout bounds the wait for the cluster, or a restarted NameNode,
// to serve.
const startTimeout = 2 * time.Minute

// Cluster is a running HDFS: a NameNode and one DataNode in one Java
// process. Its methods are safe for concurrent use.
type Cluster struct {
	dir  string
	port int
	log  io.Writer

	proc    *javatest.Process
	stdin   io.WriteCloser
	replies chan string

	mu     sync.Mutex // serialises commands and Close
	closed bool
	lost   bool // a command timed out: replies can no longer be matched
}

// Start starts a cluster whose NameNode listens on a free loopback port,
// with its data under dir, and returns once it serves. Its output goes to
// log (discarded if nil).
func Start(dir string, log io.Writer) (*Cluster, error) {
	cp, err := classpath()
	if err != nil {
		return nil, err
	}
	if log == nil {
		log = io.Discard
	}
	ports, err := javatest.FreePorts(1)
	if err != nil {
		return nil, err
	}
	base, tmp := filepath.Join(dir, "hdfs"), filepath.Join(dir, "tmp")
	if err := os.MkdirAll(tmp, 0o755); err != nil {
		return nil, fmt.Errorf("hdfstest: %w", err)
	}
	c := &Cluster{dir: dir, port: ports[0], log: log, replies: make(chan string, 1)}
	cmd := exec.Command("java", "-Xmx512m", "-XX:+UseSerialGC", "-XX:TieredStopAtLevel=1", "-XX:-UsePerfData",
		"-Djava.io.tmpdir="+tmp, "-Dorg.slf4j.simpleLogger.defaultLogLevel=warn",
		"-cp", cp, "MiniHDFS", base, fmt.Sprint(c.port))
	cmd.Stderr = log
	// A pipe of its own rather than StdoutPipe: read goes on reading
	// while the process is waited for.
	stdout, w, err := os.Pipe()
	if err != nil {
		return nil, fmt.Errorf("hdfstest: %w", err)
	}
	cmd.Stdout = w
	if c.stdin, err = cmd.StdinPipe(); err != nil {
		return nil, fmt.Errorf("hdfstest: %w", err)
	}
	c.proc, err = javatest.Start(cmd)
	w.Close()
	if err != nil {
		stdout.Close()
		return nil, fmt.Errorf("hdfstest: starting HDFS (is Java installed?): %w", err)
	}
	up := make(chan string, 1)
	go c.read(stdout, up)
	select {
	case uri := <-up:
		if want := c.URI(); uri != want {
			_ = c.Close()
			return nil, fmt.Errorf("hdfstest: the NameNode serves %s, want %s", uri, want)
		}
		return c, nil
	case <-c.proc.Exited():
		_ = c.Close()
		return nil, errors.New("hdfstest: HDFS exited while starting (its output went to the cluster's log)")
	case <-time.After(startTimeout):
		_ = c.Close()
		return nil, fmt.Errorf("hdfstest: HDFS does not serve after %v", startTimeout)
	}
}

// read passes on the launcher's lines: its URI to up, the answers to
// commands to c.replies, anything else to the log.
func (c *Cluster) read(stdout io.ReadCloser, up chan<- string) {
	defer stdout.Close()
	sc := bufio.NewScanner(stdout)
	for sc.Scan() {
		line := sc.Text()
		switch {
		case strings.HasPrefix(line, "hdfs://"):
			up <- line
		case line == "ok" || strings.HasPrefix(line, "error "):
			select {
			case c.replies <- line:
			default: // no command waits (it timed out): output must flow on
			}
		default:
			fmt.Fprintln(c.log, line)
		}
	}
}

// URI is the NameNode's URI: "hdfs://127.0.0.1:PORT".
func (c *Cluster) URI() string { return "hdfs://" + c.NameNodeAddr() }

// NameNodeAddr is the NameNode's RPC address: "127.0.0.1:PORT".
func (c *Cluster) NameNodeAddr() string { return net.JoinHostPort("127.0.0.1", fmt.Sprint(c.port)) }

// StopNameNode stops the NameNode; the DataNode goes on running, and
// clients' calls fail until StartNameNode.
func (c *Cluster) StopNameNode() error { return c.command("stop-namenode") }

// StartNameNode starts the NameNode again, on its port and with its data,
// and returns once it serves with the DataNode registered.
func (c *Cluster) StartNameNode() error { return c.command("start-namenode") }

func (c *Cluster) command(cmd string) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		return errors.New("hdfstest: the cluster is closed")
	}
	if c.lost {
		return errors.New("hdfstest: an earlier command got no answer; the cluster's state is unknown")
	}
	if _, err := fmt.Fprintln(c.stdin, cmd); err != nil {
		return fmt.Errorf("hdfstest: %s: %w", cmd, err)
	}
	select {
	case r := <-c.replies:
		if msg, ok := strings.CutPrefix(r, "error "); ok {
			return fmt.Errorf("hdfstest: %s: %s", cmd, msg)
		}
		return nil
	case <-c.proc.Exited():
		return fmt.Errorf("hdfstest: %s: HDFS exited", cmd)
	case <-time.After(startTimeout):
		c.lost = true // a late answer must not pass for the next command's
		return fmt.Errorf("hdfstest: %s: no answer after %v", cmd, startTimeout)
	}
}

// Close stops the cluster and removes its data.
func (c *Cluster) Close() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.closed {
		c.closed = true
		_ = c.stdin.Close() // the launcher shuts the cluster down
		select {
		case <-c.proc.Exited():
		case <-time.After(20 * time.Second):
			c.proc.Stop(10 * time.Second)
		}
	}
	return os.RemoveAll(c.dir)
}
