package jobmanager

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/runnel-io/runnel/cluster/blob"
	"github.com/runnel-io/runnel/cluster/ha"
	_ "github.com/runnel-io/runnel/cluster/ha/zookeeper" // high-availability.type ZOOKEEPER
	rm "github.com/runnel-io/runnel/cluster/resourcemanager"
	"github.com/runnel-io/runnel/cluster/resourcemanager/driver/process"
	"github.com/runnel-io/runnel/cluster/resourcemanager/driver/standalone"
	"github.com/runnel-io/runnel/cluster/rest"
	"github.com/runnel-io/runnel/cluster/rpc"
	"github.com/runnel-io/runnel/cluster/security"
	"github.com/runnel-io/runnel/config"
	"github.com/runnel-io/runnel/internal/version"
	"github.com/runnel-io/runnel/runtime/clock"
)

// ErrLeadershipLost is Run's error when the JobManager's leadership ends
// (high availability): it stops at once.
var ErrLeadershipLost = errors.New("jobmanager: the leadership was lost; stopping, to be restarted as a standby")

// Options are what a JobManager needs besides its configuration.
type Options struct {
	// TaskManagerCommand is the command line the process driver starts
	// TaskManagers with (program first); the running program's
	// "taskmanager" subcommand if empty.
	TaskManagerCommand []string
	// WorkDir holds the BlobServer's files, the JobMasters' and the
	// TaskManagers' logs; a temporary directory, removed at the end, if
	// empty.
	WorkDir string
	// Self is the runnel binary that runs the JobMasters of builtin jobs;
	// the running program if empty.
	Self string
	// Builtins are the jobs of Self that builtin submissions may name:
	// their Args must be "run JOB [-- ...]" with JOB one of these. With
	// none, every builtin submission is refused.
	Builtins []string
	Clock    clock.Clock
	Logger   *slog.Logger
}

// JobManager is a running JobManager.
type JobManager struct {
	conf  *config.Configuration
	opts  Options
	log   *slog.Logger
	rpc   *rpc.Server
	rest  *rest.Server
	blobs *blob.Server
	rm    *Service
	hbInt time.Duration
	ready chan struct{}

	// The TLS of the internal connections (security.ssl.internal.*): nil
	// configurations if disabled.
	internal             security.Internal
	tlsServer, tlsClient *tls.Config
	// Set by Run before Ready: the addresses the RPC endpoint and the
	// BlobServer are reached at, and the REST API's URL.
	rpcAdv, blobAdv, restURL string
}

// New prepares a JobManager from its configuration.
func New(conf *config.Configuration, opts Options) (*JobManager, error) {
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.Clock == nil {
		opts.Clock = clock.System{}
	}
	j := &JobManager{conf: conf, opts: opts, log: opts.Logger, ready: make(chan struct{})}
	// Bad TLS settings fail here, at start-up, naming the key.
	var err error
	if j.internal, err = security.InternalFrom(conf); err != nil {
		return nil, fmt.Errorf("jobmanager: %w", err)
	}
	if j.tlsServer, err = j.internal.Server(); err != nil {
		return nil, fmt.Errorf("jobmanager: %w", err)
	}
	if j.tlsClient, err = j.internal.Client(); err != nil {
		return nil, fmt.Errorf("jobmanager: %w", err)
	}
	return j, nil
}

// Ready is closed once the JobManager listens on its ports.
func (j *JobManager) Ready() <-chan struct{} { return j.ready }

// RPCAddr, RESTAddr and BlobAddr are the addresses the JobManager listens
// on, once Ready.
func (j *JobManager) RPCAddr() string  { return j.rpc.Addr() }
func (j *JobManager) RESTAddr() string { return j.rest.Addr() }
func (j *JobManager) BlobAddr() string { return j.blobs.Addr() }

// RPCAdvertised is the address TaskManagers and JobMasters are told to
// reach the RPC endpoint at, once Ready: jobmanager.rpc.address and the
// bound port.
func (j *JobManager) RPCAdvertised() string { return j.rpcAdv }

// RESTURL is the REST API's URL, once Ready: one that reaches it, such as
// "http://127.0.0.1:8081", never a bind address such as 0.0.0.0.
func (j *JobManager) RESTURL() string { return j.restURL }

// logReach says at start-up whether the endpoints can be reached from
// other hosts.
func (j *JobManager) logReach() {
	var local, all []string
	for _, e := range []struct{ name, addr, key string }{
		{"rpc", j.rpc.Addr(), config.JobManagerBindHost.Key()},
		{"blob", j.blobs.Addr(), config.JobManagerBindHost.Key()},
		{"rest", j.rest.Addr(), config.RestBindAddress.Key()},
	} {
		switch scope(e.addr) {
		case scopeLoopback:
			local = append(local, e.name+" ("+e.key+")")
		case scopeAll:
			all = append(all, e.name)
		}
	}
	switch {
	case len(local) == 3:
		j.log.Info("listening on loopback only; set " + config.RestBindAddress.Key() + " / " + config.JobManagerBindHost.Key() +
			" / " + config.TaskManagerBindHost.Key() + " to 0.0.0.0 to listen on all interfaces")
	case len(local) > 0:
		j.log.Info("listening on loopback only for some endpoints; set their key to 0.0.0.0 to listen on all interfaces",
			"endpoints", strings.Join(local, ", "))
	}
	if len(all) > 0 {
		j.log.Warn("listening on all interfaces: anyone who reaches this host's ports reaches these endpoints",
			"endpoints", strings.Join(all, ", "))
	}
}

// Run starts the JobManager and serves until ctx is done.
func (j *JobManager) Run(ctx context.Context) (err error) {
	c := j.conf
	var e error
	get := func(f func() error) {
		if e == nil {
			e = f()
		}
	}
	var rpcHost, bindHost, restBind, restHost, driver string
	var rpcPort, restPort, blobPort, slots int
	var hbTimeout, tmTimeout, slotTimeout time.Duration
	get(func() (x error) { rpcHost, x = config.Get(c, config.JobManagerRPCAddress); return })
	get(func() (x error) { rpcPort, x = config.Get(c, config.JobManagerRPCPort); return })
	get(func() (x error) { bindHost, x = config.Get(c, config.JobManagerBindHost); return })
	get(func() (x error) { restHost, x = config.Get(c, config.RestAddress); return })
	get(func() (x error) { restPort, x = config.Get(c, config.RestPort); return })
	get(func() (x error) { restBind, x = config.Get(c, config.RestBindAddress); return })
	get(func() (x error) { blobPort, x = config.Get(c, config.BlobServerPort); return })
	get(func() (x error) { driver, x = config.Get(c, config.ResourceManagerDriver); return })
	get(func() (x error) { slots, x = config.Get(c, config.NumTaskSlots); return })
	get(func() (x error) { j.hbInt, x = config.Get(c, config.HeartbeatInterval); return })
	get(func() (x error) { hbTimeout, x = config.Get(c, config.HeartbeatTimeout); return })
	get(func() (x error) { tmTimeout, x = config.Get(c, config.TaskManagerTimeout); return })
	get(func() (x error) { slotTimeout, x = config.Get(c, config.SlotRequestTimeout); return })
	if e != nil {
		return e
	}
	work := j.opts.WorkDir
	if work == "" {
		if work, err = os.MkdirTemp("", "runnel-jobmanager-"); err != nil {
			return fmt.Errorf("jobmanager: %w", err)
		}
		defer os.RemoveAll(work)
	}

	haType, err := config.Get(c, config.HighAvailabilityType)
	if err != nil {
		return err
	}
	haType = strings.ToUpper(haType)
	haSvc, err := ha.New(c, j.log)
	if err != nil {
		return fmt.Errorf("jobmanager: %w", err)
	}
	defer haSvc.Close()

	// The RPC endpoint and the BlobServer listen on jobmanager.bind-host,
	// by default where they are reached: jobmanager.rpc.address.
	if bindHost == "" {
		bindHost = rpcHost
	}
	rpcAddr := net.JoinHostPort(bindHost, strconv.Itoa(rpcPort))
	var drv rm.Driver
	switch driver {
	case "process":
		cmd := j.opts.TaskManagerCommand
		if len(cmd) == 0 {
			self, err := os.Executable()
			if err != nil {
				return fmt.Errorf("jobmanager: %s process: %w", config.ResourceManagerDriver, err)
			}
			cmd = []string{self, "taskmanager"}
		}
		// The TaskManagers reach this JobManager and inherit its heartbeat
		// settings; the RPC port is known once bound (set below).
		drv = &lateProcess{cmd: cmd, logDir: filepath.Join(work, "taskmanagers"), conf: c}
	default:
		drv = standalone.New()
	}
	rmCfg := rm.Config{SlotsPerWorker: slots, HeartbeatTimeout: hbTimeout, TaskManagerTimeout: tmTimeout, SlotRequestTimeout: slotTimeout}
	d := newDispatcher(j.opts.Clock, j.log, j.internal, j.tlsClient)
	d.builtins = slices.Clone(j.opts.Builtins)
	if len(d.builtins) == 0 {
		j.log.Info("no builtin jobs configured: builtin submissions are refused")
	}
	j.rm, err = NewService(rmCfg, drv, d, j.opts.Clock, j.log)
	if err != nil {
		return fmt.Errorf("jobmanager: %w", err)
	}

	j.rpc = rpc.NewServer(j.log)
	// With high availability the TaskManagers' calls are fenced: they must
	// carry the session of this JobManager's ResourceManager leadership,
	// and none is served before it leads.
	var rmSession atomic.Pointer[string]
	if haType != "NONE" {
		d.fence = func() string {
			if p := rmSession.Load(); p != nil {
				return *p
			}
			return ""
		}
	}
	rpc.HandleFenced(j.rpc, rpc.MethodRegisterTaskManager, d.fence, func(ctx context.Context, r *rpc.RegisterTaskManager) (*rpc.Registered, error) {
		if err := j.rm.RegisterTaskManager(ctx, rm.WorkerID(r.ID), r.Address, r.Slots); err != nil {
			return nil, rpc.Errorf(rpc.CodeBadRequest, "%v", err)
		}
		return &rpc.Registered{HeartbeatIntervalMillis: j.hbInt.Milliseconds()}, nil
	})
	rpc.HandleFenced(j.rpc, rpc.MethodHeartbeat, d.fence, func(ctx context.Context, r *rpc.Heartbeat) (*rpc.HeartbeatAck, error) {
		if err := j.rm.Heartbeat(ctx, rm.WorkerID(r.ID)); err != nil {
			return nil, rpc.Errorf(rpc.CodeNotFound, "%v", err)
		}
		return &rpc.HeartbeatAck{}, nil
	})
	d.handle(j.rpc)
	if err := j.rpc.Listen(rpcAddr, j.tlsServer); err != nil {
		return fmt.Errorf("jobmanager: %s: %w", config.JobManagerRPCPort, err)
	}
	defer j.shutdown(j.rpc.Close)
	// What the TaskManagers and JobMasters are told: the advertised
	// address, never a bind address such as 0.0.0.0.
	j.rpcAdv = advertise(rpcHost, j.rpc.Addr())
	if lp, ok := drv.(*lateProcess); ok {
		lp.jobManager = j.rpcAdv
	}

	if j.blobs, err = blob.NewServer(filepath.Join(work, "blobs"), 0, j.log); err != nil {
		return err
	}
	if err := j.blobs.Listen(net.JoinHostPort(bindHost, strconv.Itoa(blobPort)), j.tlsServer); err != nil {
		return fmt.Errorf("jobmanager: %s: %w", config.BlobServerPort, err)
	}
	defer j.shutdown(j.blobs.Close)

	j.blobAdv = advertise(rpcHost, j.blobs.Addr())
	advHost, _, _ := net.SplitHostPort(j.rpcAdv)
	d.rm, d.blobs, d.blobAddr, d.rpcAddr, d.host, d.bindHost = j.rm, j.blobs, j.blobAdv, j.rpcAdv, advHost, bindHost
	d.workDir, d.clusterConf, d.hbInterval, d.hbTimeout = work, c.Map(), j.hbInt, hbTimeout
	if d.self = j.opts.Self; d.self == "" {
		if d.self, err = os.Executable(); err != nil {
			return fmt.Errorf("jobmanager: %w", err)
		}
	}
	d.ctx, d.jobStore = ctx, haSvc.Jobs()
	defer d.stop()
	// The Dispatcher (and with it the ResourceManager) leads once elected:
	// at once without high availability.
	lead, err := haSvc.Elect(ctx, ha.Dispatcher, j.rpcAdv)
	if err != nil {
		return fmt.Errorf("jobmanager: %w", err)
	}
	// The ResourceManager is elected while the Dispatcher leads, and not
	// a moment after it stopped.
	ectx, stopElect := context.WithCancel(ctx)
	go func() {
		select {
		case <-lead.Lost():
			stopElect()
		case <-ectx.Done():
		}
	}()
	rmLead, err := haSvc.Elect(ectx, ha.ResourceManager, j.rpcAdv)
	stopElect()
	if err != nil {
		_ = lead.Resign()
		if lost(lead) {
			return ErrLeadershipLost
		}
		return fmt.Errorf("jobmanager: %w", err)
	}
	// On the way out the Dispatcher stops its JobMasters before the
	// leadership goes, so that a standby's never run beside them.
	defer func() {
		d.stop()
		_ = rmLead.Resign()
		_ = lead.Resign()
	}()
	session := rmLead.Session()
	rmSession.Store(&session)
	j.log.Info("leading", "dispatcher-session", lead.Session(), "resourcemanager-session", session)
	// A JobManager that loses its leadership stops, and its supervisor
	// restarts it as a standby: it must not act as a leader a moment
	// longer, and a fresh process holds no state of the old leadership.
	ctx, lose := context.WithCancelCause(ctx)
	defer lose(nil)
	go func() {
		select {
		case <-lead.Lost():
		case <-rmLead.Lost():
		case <-ctx.Done():
			return
		}
		rmSession.Store(nil) // no call is served under the old session
		lose(ErrLeadershipLost)
	}()

	restOpts, restTLS, err := rest.ServerConfig(c)
	if err != nil {
		return fmt.Errorf("jobmanager: %w", err)
	}
	j.rest = rest.NewServer(backend{j, d}, version.String(), j.log, restOpts)
	if err := j.rest.Listen(net.JoinHostPort(restBind, strconv.Itoa(restPort)), restTLS); err != nil {
		return fmt.Errorf("jobmanager: %s: %w", config.RestPort, err)
	}
	defer j.shutdown(j.rest.Close)

	if restHost == "" {
		restHost = rpcHost
	}
	j.restURL = advertiseURL(j.rest.URL(), restHost, j.rest.Addr())
	j.log.Info("jobmanager listening", "rpc", j.rpcAdv, "rest", j.restURL, "blob", j.blobAdv, "driver", driver,
		"bind", bindHost, "rest-bind", restBind)
	j.logReach()
	close(j.ready)
	err = j.rm.Run(ctx)
	if cause := context.Cause(ctx); errors.Is(cause, ErrLeadershipLost) {
		j.log.Error("the leadership was lost; stopping")
		return cause
	}
	return err
}

// lost reports whether l has ended.
func lost(l ha.Leadership) bool {
	select {
	case <-l.Lost():
		return true
	default:
		return false
	}
}

func (j *JobManager) shutdown(close func(context.Context) error) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := close(ctx); err != nil && !errors.Is(err, context.Canceled) {
		j.log.Warn("jobmanager: shutting down", "error", err)
	}
}

// backend is what the REST API shows of the JobManager: its TaskManagers,
// its configuration and the Dispatcher's jobs.
type backend struct {
	j *JobManager
	*Dispatcher
}

func (b backend) TaskManagers(ctx context.Context) ([]rest.TaskManager, error) {
	tms, err := b.j.rm.TaskManagers(ctx)
	if err != nil {
		return nil, err
	}
	now := b.j.opts.Clock.Now().UnixMilli()
	list := make([]rest.TaskManager, 0, len(tms))
	for _, tm := range tms {
		free := 0
		for _, job := range tm.Slots {
			if job == "" {
				free++
			}
		}
		list = append(list, rest.TaskManager{ID: string(tm.ID), Path: tm.Address, SlotsNumber: len(tm.Slots),
			FreeSlots: free, TimeSinceLastHeartbeat: now - tm.LastHeartbeat})
	}
	return list, nil
}

func (b backend) Config() map[string]string { return b.j.conf.Map() }

// lateProcess is the process driver, created at Start, when the
// JobManager's RPC address (which the TaskManagers need) is known.
type lateProcess struct {
	cmd        []string
	logDir     string
	conf       *config.Configuration
	jobManager string
	*process.Driver
}

func (l *lateProcess) Start(ctx context.Context, events rm.WorkerEvents) error {
	host, port, _ := net.SplitHostPort(l.jobManager)
	cmd := append([]string(nil), l.cmd...)
	cmd = append(cmd, "-D"+config.JobManagerRPCAddress.Key()+"="+host, "-D"+config.JobManagerRPCPort.Key()+"="+port)
	// They share its internal TLS settings: without them they could not
	// register.
	for _, k := range []string{config.HeartbeatInterval.Key(), config.HeartbeatTimeout.Key(),
		config.SSLInternalEnabled.Key(), config.SSLInternalCert.Key(), config.SSLInternalKey.Key(), config.SSLInternalTrust.Key()} {
		if v, ok := l.conf.Map()[k]; ok {
			cmd = append(cmd, "-D"+k+"="+v)
		}
	}
	d, err := process.New(process.Config{Command: cmd, LogDir: l.logDir})
	if err != nil {
		return err
	}
	l.Driver = d
	return d.Start(ctx, events)
}

func (l *lateProcess) CanStartWorkers() bool { return true }

func (l *lateProcess) Close() error {
	if l.Driver == nil {
		return nil
	}
	return l.Driver.Close()
}
