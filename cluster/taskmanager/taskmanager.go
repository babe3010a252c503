package taskmanager

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"time"

	"github.com/runnel-io/runnel/cluster/rpc"
	"github.com/runnel-io/runnel/config"
	"github.com/runnel-io/runnel/internal/version"
	"github.com/runnel-io/runnel/runtime/clock"
)

// Config configures a TaskManager.
type Config struct {
	// ID is the TaskManager's resource ID (taskmanager.resource-id); a
	// random one if empty.
	ID string
	// JobManager is the address of the JobManager's RPC endpoint
	// (jobmanager.rpc.address and jobmanager.rpc.port).
	JobManager string
	// Host is the address others reach this TaskManager at
	// (taskmanager.host); the interface towards the JobManager if empty.
	Host string
	// Slots is taskmanager.numberOfTaskSlots.
	Slots int
	// HeartbeatInterval and HeartbeatTimeout are heartbeat.interval and
	// heartbeat.timeout.
	HeartbeatInterval, HeartbeatTimeout time.Duration
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
	get(func() (e error) { cfg.Slots, e = config.Get(c, config.NumTaskSlots); return })
	get(func() (e error) { cfg.HeartbeatInterval, e = config.Get(c, config.HeartbeatInterval); return })
	get(func() (e error) { cfg.HeartbeatTimeout, e = config.Get(c, config.HeartbeatTimeout); return })
	cfg.JobManager = net.JoinHostPort(host, fmt.Sprint(port))
	return cfg, err
}

// TaskManager is one TaskManager process's core.
type TaskManager struct {
	cfg    Config
	log    *slog.Logger
	clk    clock.Clock
	client *rpc.Client
}

// New returns a TaskManager.
func New(cfg Config, clk clock.Clock, log *slog.Logger) (*TaskManager, error) {
	if cfg.Slots < 1 {
		return nil, fmt.Errorf("taskmanager: taskmanager.numberOfTaskSlots %d: must be at least 1", cfg.Slots)
	}
	if cfg.JobManager == "" {
		return nil, errors.New("taskmanager: no JobManager address (jobmanager.rpc.address)")
	}
	if cfg.HeartbeatInterval <= 0 || cfg.HeartbeatTimeout <= cfg.HeartbeatInterval {
		return nil, fmt.Errorf("taskmanager: heartbeat.timeout (%v) must exceed heartbeat.interval (%v)", cfg.HeartbeatTimeout, cfg.HeartbeatInterval)
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
	return &TaskManager{cfg: cfg, log: log.With("taskmanager", cfg.ID), clk: clk, client: &rpc.Client{}}, nil
}

// ID is the TaskManager's resource ID.
func (t *TaskManager) ID() string { return t.cfg.ID }

// Run registers and heartbeats until ctx is done.
func (t *TaskManager) Run(ctx context.Context) error {
	for {
		if err := t.register(ctx); err != nil {
			return nil // ctx is done
		}
		t.heartbeat(ctx)
		if ctx.Err() != nil {
			return nil
		}
		t.log.Warn("lost the JobManager; registering again", "jobmanager", t.cfg.JobManager)
	}
}

// register registers with the JobManager, retrying every heartbeat
// interval; it fails only when ctx is done.
func (t *TaskManager) register(ctx context.Context) error {
	for {
		req := &rpc.RegisterTaskManager{ID: t.cfg.ID, Address: t.address(), Slots: t.cfg.Slots, Version: version.String()}
		cctx, cancel := context.WithTimeout(ctx, t.cfg.HeartbeatInterval)
		_, err := rpc.Call[rpc.RegisterTaskManager, rpc.Registered](cctx, t.client, t.cfg.JobManager, rpc.MethodRegisterTaskManager, req)
		cancel()
		if err == nil {
			t.log.Info("registered", "jobmanager", t.cfg.JobManager, "slots", t.cfg.Slots)
			return nil
		}
		t.log.Debug("registration failed", "jobmanager", t.cfg.JobManager, "error", err)
		if err := t.sleep(ctx, t.cfg.HeartbeatInterval); err != nil {
			return err
		}
	}
}

// heartbeat sends heartbeats until the JobManager is lost or ctx is done.
func (t *TaskManager) heartbeat(ctx context.Context) {
	lastAck := t.clk.Now()
	for {
		if t.sleep(ctx, t.cfg.HeartbeatInterval) != nil {
			return
		}
		cctx, cancel := context.WithTimeout(ctx, t.cfg.HeartbeatInterval)
		_, err := rpc.Call[rpc.Heartbeat, rpc.HeartbeatAck](cctx, t.client, t.cfg.JobManager, rpc.MethodHeartbeat, &rpc.Heartbeat{ID: t.cfg.ID})
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

// address is the TaskManager's address as the JobManager should see it.
func (t *TaskManager) address() string {
	if t.cfg.Host != "" {
		return t.cfg.Host
	}
	conn, err := net.Dial("udp", t.cfg.JobManager)
	if err != nil {
		return "localhost"
	}
	defer conn.Close()
	host, _, _ := net.SplitHostPort(conn.LocalAddr().String())
	return host
}
