//go:build unix

package process

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	rm "github.com/runnel-io/runnel/cluster/resourcemanager"
	"github.com/runnel-io/runnel/internal/procgroup"
)

// EnvWorkerID is set to the worker's ID in every worker's environment.
const EnvWorkerID = "RUNNEL_WORKER_ID"

// The configuration keys the driver appends to Command, as -Dkey=value.
const (
	KeyResourceID = "taskmanager.resource-id"
	KeySlots      = "taskmanager.numberOfTaskSlots"
)

// DefaultGracePeriod is the GracePeriod EnsureDefaults fills in.
const DefaultGracePeriod = 10 * time.Second

// ErrExited is wrapped by the error WorkerFailed reports when a worker's
// process ends, with the exit status (an *exec.ExitError) if it had one.
var ErrExited = errors.New("resourcemanager: worker process exited")

// Config is how the driver starts workers. It is a plain value; Command
// and Env are copied by New.
type Config struct {
	// Command is the TaskManager's command line, program first, for
	// example {"/usr/local/bin/runnel", "taskmanager",
	// "-Djobmanager.rpc.address=localhost:6123"}. The program is looked
	// up in PATH if it has no slash. Required.
	Command []string
	// Env holds "KEY=value" entries added to the driver's own
	// environment for every worker.
	Env []string
	// LogDir is where each worker's output goes, to <worker ID>.log; it
	// is created if missing. Required.
	LogDir string
	// GracePeriod (default 10s) is how long a worker has to exit after
	// SIGTERM before it is killed.
	GracePeriod time.Duration
}

// EnsureDefaults fills in a zero GracePeriod.
func (c *Config) EnsureDefaults() {
	if c.GracePeriod == 0 {
		c.GracePeriod = DefaultGracePeriod
	}
}

// Validate reports the first missing or invalid field.
func (c Config) Validate() error {
	switch {
	case len(c.Command) == 0 || c.Command[0] == "":
		return errors.New("resourcemanager: process driver needs a command")
	case c.LogDir == "":
		return errors.New("resourcemanager: process driver needs a log directory")
	case c.GracePeriod < 0:
		return fmt.Errorf("resourcemanager: process driver grace period must not be negative, got %v", c.GracePeriod)
	}
	return nil
}

// Driver starts and stops local TaskManager processes. It is safe for
// concurrent use.
type Driver struct {
	cfg Config

	wg sync.WaitGroup // one per watch goroutine

	mu      sync.Mutex // guards what follows
	started bool
	closed  bool
	events  rm.WorkerEvents
	life    context.Context // the workers' life; cancelled by Close
	stop    context.CancelFunc
	workers map[rm.WorkerID]*worker
}

type worker struct {
	id     rm.WorkerID
	cmd    *exec.Cmd
	log    *os.File
	cancel context.CancelFunc // stops the process: SIGTERM, then SIGKILL
}

var _ rm.Driver = (*Driver)(nil)

// New returns a driver for cfg (after EnsureDefaults), which must be
// valid.
func New(cfg Config) (*Driver, error) {
	cfg.EnsureDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	cfg.Command = append([]string(nil), cfg.Command...)
	cfg.Env = append([]string(nil), cfg.Env...)
	return &Driver{cfg: cfg, workers: map[rm.WorkerID]*worker{}}, nil
}

// Start creates LogDir and takes events. There are no workers of an
// earlier run to recover: they ended with that run's driver.
func (d *Driver) Start(ctx context.Context, events rm.WorkerEvents) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("resourcemanager: process driver not started: %w", err)
	}
	if events == nil {
		return errors.New("resourcemanager: process driver needs WorkerEvents")
	}
	if err := os.MkdirAll(d.cfg.LogDir, 0o755); err != nil {
		return fmt.Errorf("resourcemanager: process driver: %w", err)
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	switch {
	case d.closed:
		return rm.ErrDriverClosed
	case d.started:
		return errors.New("resourcemanager: process driver already started")
	}
	d.started, d.events = true, events
	d.life, d.stop = context.WithCancel(context.Background())
	return nil
}

// CanStartWorkers is true.
func (*Driver) CanStartWorkers() bool { return true }

// RequestWorker starts the TaskManager process of worker id and returns
// once it runs (or failed to start: the error then says why, and no
// event follows). WorkerStarted and, when the process ends, WorkerFailed
// come from the worker's goroutine.
func (d *Driver) RequestWorker(ctx context.Context, id rm.WorkerID, spec rm.WorkerSpec) error {
	if err := checkID(id); err != nil {
		return err
	}
	if spec.Slots < 1 {
		return fmt.Errorf("resourcemanager: worker %s needs at least one slot, got %d", id, spec.Slots)
	}
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("resourcemanager: worker %s not started: %w", id, err)
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	if err := d.usable(); err != nil {
		return err
	}
	if d.workers[id] != nil {
		return fmt.Errorf("%w: %s", rm.ErrDuplicateWorker, id)
	}
	log, err := os.OpenFile(filepath.Join(d.cfg.LogDir, string(id)+".log"), os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o644)
	if err != nil {
		return fmt.Errorf("resourcemanager: worker %s not started: %w", id, err)
	}
	life, cancel := context.WithCancel(d.life)
	args := append(d.cfg.Command[1:len(d.cfg.Command):len(d.cfg.Command)],
		fmt.Sprintf("-D%s=%s", KeyResourceID, id),
		fmt.Sprintf("-D%s=%d", KeySlots, spec.Slots))
	cmd := exec.CommandContext(life, d.cfg.Command[0], args...)
	cmd.Env = append(append(os.Environ(), d.cfg.Env...), EnvWorkerID+"="+string(id))
	cmd.Stdout, cmd.Stderr = log, log
	cmd.SysProcAttr = procgroup.Attr(false)
	cmd.Cancel = func() error { return procgroup.Signal(cmd.Process.Pid, syscall.SIGTERM) }
	cmd.WaitDelay = d.cfg.GracePeriod
	if err := cmd.Start(); err != nil {
		cancel()
		log.Close()
		return fmt.Errorf("resourcemanager: worker %s not started: %w", id, err)
	}
	w := &worker{id: id, cmd: cmd, log: log, cancel: cancel}
	d.workers[id] = w
	d.wg.Add(1)
	go d.watch(w)
	return nil
}

// ReleaseWorker sends SIGTERM to worker id's process group and returns;
// SIGKILL follows after Config.GracePeriod if the TaskManager has not
// exited, and WorkerFailed reports its end.
func (d *Driver) ReleaseWorker(_ context.Context, id rm.WorkerID) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	if err := d.usable(); err != nil {
		return err
	}
	w := d.workers[id]
	if w == nil {
		return fmt.Errorf("%w: %s", rm.ErrUnknownWorker, id)
	}
	w.cancel()
	return nil
}

// Close stops every worker as ReleaseWorker does and returns once all
// have ended and been reported, at most about Config.GracePeriod later.
func (d *Driver) Close() error {
	d.mu.Lock()
	d.closed = true
	if d.stop != nil {
		d.stop()
	}
	d.mu.Unlock()
	d.wg.Wait()
	return nil
}

// watch reports w started, waits for its end, reaps it, and reports
// that.
func (d *Driver) watch(w *worker) {
	defer d.wg.Done()
	d.events.WorkerStarted(w.id)
	err := procgroup.Reap(w.cmd)
	w.cancel()
	w.log.Close()
	d.mu.Lock()
	delete(d.workers, w.id)
	d.mu.Unlock()
	var exit *exec.ExitError
	switch {
	case errors.As(err, &exit) || w.cmd.ProcessState == nil:
		err = fmt.Errorf("%w: worker %s: %w", ErrExited, w.id, err)
	default:
		// A clean exit, released or not (Wait then returns the
		// context's error).
		err = fmt.Errorf("%w: worker %s: %s", ErrExited, w.id, w.cmd.ProcessState)
	}
	d.events.WorkerFailed(w.id, err)
}

// usable reports why the driver takes no requests, if it does not. d.mu
// must be held.
func (d *Driver) usable() error {
	switch {
	case d.closed:
		return rm.ErrDriverClosed
	case !d.started:
		return rm.ErrDriverNotStarted
	}
	return nil
}

// checkID rejects IDs that cannot name a log file.
func checkID(id rm.WorkerID) error {
	s := string(id)
	if s == "" || s == "." || s == ".." || strings.ContainsAny(s, "/\\\x00") {
		return fmt.Errorf("resourcemanager: invalid worker ID %s", strconv.Quote(s))
	}
	return nil
}
