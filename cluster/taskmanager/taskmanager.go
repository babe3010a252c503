package taskmanager

import (
	"context"
	"crypto/rand"
	"crypto/tls"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/runnel-io/runnel/cluster/blob"
	"github.com/runnel-io/runnel/cluster/rpc"
	"github.com/runnel-io/runnel/cluster/security"
	"github.com/runnel-io/runnel/config"
	"github.com/runnel-io/runnel/internal/httpserve"
	"github.com/runnel-io/runnel/internal/version"
	"github.com/runnel-io/runnel/runtime/clock"
)

// DefaultStopGracePeriod is the StopGracePeriod New fills in.
const DefaultStopGracePeriod = 5 * time.Second

// Config configures a TaskManager.
type Config struct {
	// ID is the TaskManager's resource ID (taskmanager.resource-id); a
	// random one if empty.
	ID string
	// JobManager is the address of the JobManager's RPC endpoint
	// (jobmanager.rpc.address and jobmanager.rpc.port).
	JobManager string
	// Leaders, if not nil, tells where the JobManager's ResourceManager
	// leads (high availability): the TaskManager follows each new leader,
	// registering with it, and JobManager (which may be empty) is where it
	// looks until the first leader is known.
	Leaders Leaders
	// Host is the address others reach this TaskManager at
	// (taskmanager.host); the interface towards the JobManager if empty
	// (loopback for a JobManager on loopback).
	Host string
	// BindHost is the address the RPC endpoint and the workers' RPC and
	// data ports listen on (taskmanager.bind-host); the advertised host
	// (Host, or the interface towards the JobManager) if empty. All
	// interfaces takes an explicit 0.0.0.0.
	BindHost string
	// RPCPort is the port of the TaskManager's RPC endpoint
	// (taskmanager.rpc.port); 0 picks a free one.
	RPCPort int
	// Slots is taskmanager.numberOfTaskSlots.
	Slots int
	// HeartbeatInterval and HeartbeatTimeout are heartbeat.interval and
	// heartbeat.timeout.
	HeartbeatInterval, HeartbeatTimeout time.Duration
	// WorkDir holds the logs of the worker processes (<job ID>.log) and
	// the programs fetched from BlobServers (blobs/<key>)
	// (process.taskmanager.working-dir). Run creates it if missing; if
	// empty, Run creates a temporary directory and removes it when it
	// returns.
	WorkDir string
	// Self is the command that runs the workers of builtin jobs: its
	// first element is the program, the rest go before a worker's Args.
	// If empty, the TaskManager's own executable (os.Executable) with no
	// extra arguments. New copies it.
	Self []string
	// StopGracePeriod is how long a worker process has to exit after
	// SIGTERM before it is killed (default DefaultStopGracePeriod).
	StopGracePeriod time.Duration
	// Internal is the TLS of the internal connections
	// (security.ssl.internal.*): of the RPC endpoint, of the calls to the
	// JobManager and JobMasters, of the BlobServer downloads, and of the
	// worker processes, which get it in their environment
	// (security.EnvInternal). Disabled if zero.
	Internal security.Internal
}

// ConfigFrom reads a TaskManager's configuration.
func ConfigFrom(c *config.Configuration) (Config, error) {
	var cfg Config
	var err error
	get := func(f func() error) {
		if err == nil {
			err = f()
		}
	}
	var host string
	var port int
	get(func() (e error) { cfg.ID, e = config.Get(c, config.TaskManagerResourceID); return })
	get(func() (e error) { host, e = config.Get(c, config.JobManagerRPCAddress); return })
	get(func() (e error) { port, e = config.Get(c, config.JobManagerRPCPort); return })
	get(func() (e error) { cfg.Host, e = config.Get(c, config.TaskManagerHost); return })
	get(func() (e error) { cfg.BindHost, e = config.Get(c, config.TaskManagerBindHost); return })
	get(func() (e error) { cfg.RPCPort, e = config.Get(c, config.TaskManagerRPCPort); return })
	get(func() (e error) { cfg.Slots, e = config.Get(c, config.NumTaskSlots); return })
	get(func() (e error) { cfg.HeartbeatInterval, e = config.Get(c, config.HeartbeatInterval); return })
	get(func() (e error) { cfg.HeartbeatTimeout, e = config.Get(c, config.HeartbeatTimeout); return })
	get(func() (e error) { cfg.WorkDir, e = config.Get(c, config.TaskManagerWorkingDir); return })
	get(func() (e error) { cfg.Internal, e = security.InternalFrom(c); return })
	cfg.JobManager = net.JoinHostPort(host, fmt.Sprint(port))
	return cfg, err
}

// TaskManager is one TaskManager process's core: it registers with the
// JobManager, heartbeats, and runs the worker processes that JobMasters
// ask for through its RPC endpoint. Its methods are safe for concurrent
// use; Run may be called once.
type TaskManager struct {
	cfg    Config
	log    *slog.Logger
	clk    clock.Clock
	client *rpc.Client
	leader *leaderWatch // the ResourceManager the TaskManager follows
	// The TLS of the RPC endpoint and of the BlobServer downloads: nil
	// if Config.Internal is disabled.
	tlsServer, tlsClient *tls.Config
	blobHTTP             *http.Client // fetches programs from BlobServers

	ran   atomic.Bool
	ready chan struct{} // closed once the RPC endpoint listens

	// Set by Run before the RPC endpoint listens, read-only after.
	server  *rpc.Server
	addr    string          // the RPC endpoint's advertised address
	host    string          // the advertised host, which workers advertise too
	bind    string          // the host the RPC endpoint and the workers listen on
	workDir string          // Config.WorkDir, or Run's temporary directory
	life    context.Context // Run's: the worker processes' life

	// wg counts the worker entries: each is added when StartWorker takes
	// a job's place in workers and done when its start failed or its
	// process has been reaped.
	wg sync.WaitGroup

	// mu guards what follows. It is never held while waiting on a
	// semaphore of fetching, a process or a call.
	mu       sync.Mutex
	closed   bool                       // Run is returning: no new workers
	workers  map[string]*worker         // by job ID
	fetching map[blob.Key]chan struct{} // a semaphore per program being fetched
}

// New returns a TaskManager.
func New(cfg Config, clk clock.Clock, log *slog.Logger) (*TaskManager, error) {
	if cfg.Slots < 1 {
		return nil, fmt.Errorf("taskmanager: taskmanager.numberOfTaskSlots %d: must be at least 1", cfg.Slots)
	}
	if cfg.JobManager == "" && cfg.Leaders == nil {
		return nil, errors.New("taskmanager: no JobManager address (jobmanager.rpc.address)")
	}
	if cfg.HeartbeatInterval <= 0 || cfg.HeartbeatTimeout <= cfg.HeartbeatInterval {
		return nil, fmt.Errorf("taskmanager: heartbeat.timeout (%v) must exceed heartbeat.interval (%v)", cfg.HeartbeatTimeout, cfg.HeartbeatInterval)
	}
	if cfg.RPCPort < 0 || cfg.RPCPort > 65535 {
		return nil, fmt.Errorf("taskmanager: taskmanager.rpc.port %d: must be between 0 and 65535", cfg.RPCPort)
	}
	if cfg.StopGracePeriod == 0 {
		cfg.StopGracePeriod = DefaultStopGracePeriod
	}
	if cfg.StopGracePeriod < 0 {
		return nil, fmt.Errorf("taskmanager: stop grace period %v: must not be negative", cfg.StopGracePeriod)
	}
	if len(cfg.Self) > 0 && cfg.Self[0] == "" {
		return nil, errors.New("taskmanager: Self names no program")
	}
	cfg.Self = append([]string(nil), cfg.Self...)
	if len(cfg.Self) > 0 && strings.ContainsRune(cfg.Self[0], filepath.Separator) {
		// A relative program would be taken relative to a worker's
		// working directory.
		abs, err := filepath.Abs(cfg.Self[0])
		if err != nil {
			return nil, fmt.Errorf("taskmanager: Self: %w", err)
		}
		cfg.Self[0] = abs
	}
	if cfg.ID == "" {
		var b [8]byte
		_, _ = rand.Read(b[:])
		cfg.ID = "tm-" + hex.EncodeToString(b[:])
	}
	if clk == nil {
		clk = clock.System{}
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	tlsServer, err := cfg.Internal.Server()
	if err != nil {
		return nil, fmt.Errorf("taskmanager: %w", err)
	}
	tlsClient, err := cfg.Internal.Client()
	if err != nil {
		return nil, fmt.Errorf("taskmanager: %w", err)
	}
	return &TaskManager{
		cfg: cfg, log: log.With("taskmanager", cfg.ID), clk: clk, client: rpc.NewClient(tlsClient),
		tlsServer: tlsServer, tlsClient: tlsClient, blobHTTP: httpserve.Client(tlsClient),
		ready: make(chan struct{}), workers: map[string]*worker{}, fetching: map[blob.Key]chan struct{}{},
		leader: newLeaderWatch(Leader{Address: cfg.JobManager}),
	}, nil
}

// ID is the TaskManager's resource ID.
func (t *TaskManager) ID() string { return t.cfg.ID }

// Ready is closed once Run's RPC endpoint listens. It is never closed if
// Run fails before.
func (t *TaskManager) Ready() <-chan struct{} { return t.ready }

// Addr is the address ("host:port") the TaskManager's RPC endpoint is
// advertised at, once Ready: what it registers with the JobManager.
func (t *TaskManager) Addr() string { return t.addr }

// Run serves the RPC endpoint, registers and heartbeats until ctx is
// done. Then it stops every worker process as StopWorker does, waits for
// them and for every goroutine it started, closes the RPC endpoint and
// returns nil. It fails only if it cannot start: the work directory or
// the RPC port.
func (t *TaskManager) Run(ctx context.Context) error {
	if !t.ran.CompareAndSwap(false, true) {
		return errors.New("taskmanager: Run called twice")
	}
	cleanup, err := t.openWorkDir()
	if err != nil {
		return err
	}
	defer cleanup()

	life, cancel := context.WithCancel(ctx)
	defer cancel()
	t.life = life
	t.server = rpc.NewServer(t.log)
	rpc.Handle(t.server, rpc.MethodStartWorker, t.startWorker)
	rpc.Handle(t.server, rpc.MethodStopWorker, t.stopWorker)
	if t.cfg.Leaders != nil {
		leaders := t.cfg.Leaders(life)
		t.wg.Add(1)
		go func() {
			defer t.wg.Done()
			t.leader.follow(leaders) // until life ends
		}()
	}
	if t.cfg.Host == "" && t.cfg.JobManager == "" {
		// The interface towards the JobManager is that towards its leader.
		if _, _, cancel, ok := t.leader.await(ctx); ok {
			cancel()
		}
	}
	if t.host = t.address(); isUnspecified(t.host) {
		t.host = "localhost" // taskmanager.host 0.0.0.0: reachable here only
	}
	if t.bind = t.cfg.BindHost; t.bind == "" {
		t.bind = t.host
	}
	if err := t.server.Listen(net.JoinHostPort(t.bind, strconv.Itoa(t.cfg.RPCPort)), t.tlsServer); err != nil {
		return fmt.Errorf("taskmanager: %s %s, %s %d: %w", config.TaskManagerBindHost.Key(), t.bind, config.TaskManagerRPCPort.Key(), t.cfg.RPCPort, err)
	}
	_, port, _ := net.SplitHostPort(t.server.Addr())
	t.addr = net.JoinHostPort(t.host, port)
	defer t.shutdown(cancel)
	t.log.Info("taskmanager listening", "rpc", t.addr, "bind", t.bind, "workdir", t.workDir)
	if bound, _, _ := net.SplitHostPort(t.server.Addr()); isLoopback(bound) {
		t.log.Info("listening on loopback only; set " + config.TaskManagerBindHost.Key() + " to 0.0.0.0 to listen on all interfaces" +
			" (and " + config.TaskManagerHost.Key() + " to the address other hosts reach this one at)")
	} else if isUnspecified(bound) {
		t.log.Warn("listening on all interfaces: anyone who reaches this host's ports reaches the TaskManager and its workers")
	}
	close(t.ready)

	for {
		l, lctx, cancel, ok := t.leader.await(ctx)
		if !ok {
			return nil // ctx is done
		}
		if t.register(lctx, l) == nil {
			t.heartbeat(lctx, l)
		}
		changed := lctx.Err() != nil
		cancel()
		switch {
		case ctx.Err() != nil:
			return nil
		case changed:
			t.log.Info("the JobManager's leader changed; registering with the new one", "jobmanager", l.Address)
		default:
			t.log.Warn("lost the JobManager; registering again", "jobmanager", l.Address)
		}
	}
}

// openWorkDir creates the work directory and its blobs directory, and
// returns what removes a temporary one.
func (t *TaskManager) openWorkDir() (cleanup func(), err error) {
	cleanup = func() {}
	t.workDir = t.cfg.WorkDir
	if t.workDir == "" {
		if t.workDir, err = os.MkdirTemp("", "runnel-taskmanager-"); err != nil {
			return nil, fmt.Errorf("taskmanager: work directory: %w", err)
		}
		dir := t.workDir
		cleanup = func() {
			if err := os.RemoveAll(dir); err != nil {
				t.log.Warn("removing the work directory", "dir", dir, "error", err)
			}
		}
	}
	// Absolute: a relative program would be taken relative to a
	// worker's working directory.
	if t.workDir, err = filepath.Abs(t.workDir); err != nil {
		cleanup()
		return nil, fmt.Errorf("taskmanager: process.taskmanager.working-dir: %w", err)
	}
	if err := os.MkdirAll(filepath.Join(t.workDir, "blobs"), 0o755); err != nil {
		cleanup()
		return nil, fmt.Errorf("taskmanager: process.taskmanager.working-dir: %w", err)
	}
	return cleanup, nil
}

// shutdown stops the worker processes (cancel ends their life), waits
// for the calls in progress, which end with them, and for the goroutines
// that watch the processes.
func (t *TaskManager) shutdown(cancel context.CancelFunc) {
	t.mu.Lock()
	t.closed = true
	n := len(t.workers)
	t.mu.Unlock()
	if n > 0 {
		t.log.Info("stopping worker processes", "workers", n)
	}
	cancel()
	if err := t.server.Close(context.Background()); err != nil {
		t.log.Warn("closing the RPC endpoint", "error", err)
	}
	t.wg.Wait()
	t.blobHTTP.CloseIdleConnections()
}

// register registers with the JobManager l, retrying every heartbeat
// interval; it fails only when ctx is done.
func (t *TaskManager) register(ctx context.Context, l Leader) error {
	for {
		req := &rpc.RegisterTaskManager{ID: t.cfg.ID, Address: t.addr, Slots: t.cfg.Slots, Version: version.String()}
		cctx, cancel := context.WithTimeout(l.calls(ctx), t.cfg.HeartbeatInterval)
		_, err := rpc.Call[rpc.RegisterTaskManager, rpc.Registered](cctx, t.client, l.Address, rpc.MethodRegisterTaskManager, req)
		cancel()
		if err == nil {
			t.log.Info("registered", "jobmanager", l.Address, "slots", t.cfg.Slots)
			return nil
		}
		t.log.Debug("registration failed", "jobmanager", l.Address, "error", err)
		if err := t.sleep(ctx, t.cfg.HeartbeatInterval); err != nil {
			return err
		}
	}
}

// heartbeat sends heartbeats to l until it is lost or ctx is done.
func (t *TaskManager) heartbeat(ctx context.Context, l Leader) {
	lastAck := t.clk.Now()
	for {
		if t.sleep(ctx, t.cfg.HeartbeatInterval) != nil {
			return
		}
		cctx, cancel := context.WithTimeout(l.calls(ctx), t.cfg.HeartbeatInterval)
		_, err := rpc.Call[rpc.Heartbeat, rpc.HeartbeatAck](cctx, t.client, l.Address, rpc.MethodHeartbeat, &rpc.Heartbeat{ID: t.cfg.ID})
		cancel()
		var re *rpc.Error
		switch {
		case err == nil:
			lastAck = t.clk.Now()
		case errors.As(err, &re) && re.Code == rpc.CodeNotFound:
			return // the JobManager forgot us
		case t.clk.Now().Sub(lastAck) > t.cfg.HeartbeatTimeout:
			return
		}
	}
}

func (t *TaskManager) sleep(ctx context.Context, d time.Duration) error {
	done := make(chan struct{})
	timer := t.clk.AfterFunc(d, func() { close(done) })
	defer timer.Stop()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func isUnspecified(host string) bool {
	ip := net.ParseIP(host)
	return ip != nil && ip.IsUnspecified()
}

func isLoopback(host string) bool {
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// address is the TaskManager's host as the JobManager should see it.
func (t *TaskManager) address() string {
	if t.cfg.Host != "" {
		return t.cfg.Host
	}
	l, _ := t.leader.current()
	conn, err := net.Dial("udp", l.Address)
	if err != nil {
		return "localhost"
	}
	defer conn.Close()
	host, _, _ := net.SplitHostPort(conn.LocalAddr().String())
	return host
}
