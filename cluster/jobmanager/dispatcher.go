package jobmanager

import (
	"bufio"
	"context"
	"crypto/rand"
	"crypto/tls"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/runnel-io/runnel/cluster/blob"
	"github.com/runnel-io/runnel/cluster/ha"
	"github.com/runnel-io/runnel/cluster/program"
	rm "github.com/runnel-io/runnel/cluster/resourcemanager"
	"github.com/runnel-io/runnel/cluster/rest"
	"github.com/runnel-io/runnel/cluster/rpc"
	"github.com/runnel-io/runnel/cluster/security"
	"github.com/runnel-io/runnel/config"
	"github.com/runnel-io/runnel/internal/outbox"
	"github.com/runnel-io/runnel/internal/procgroup"
	"github.com/runnel-io/runnel/runtime/clock"
)

// maxExceptions bounds the exception history kept per job.
const maxExceptions = 32

// Dispatcher takes jobs (rest.JobBackend): it stores a job's program with
// the BlobServer, starts the job's JobMaster in a process of the program,
// relays the ResourceManager's slot decisions to it, keeps the job's
// status and history for the REST API, and passes the REST API's
// operations (cancel, savepoints, checkpoints) on to it.
//
// A JobMaster runs in its own process because the job's code — how it
// builds its graph, its operator coordinators such as split enumerators —
// lives in the job's binary, and a Go process cannot load another's code.
type Dispatcher struct {
	log    *slog.Logger
	clk    clock.Clock
	client *rpc.Client
	// internal is the JobManager's internal TLS, which its JobMasters
	// use too.
	internal security.Internal

	// Set by the JobManager before it serves.
	rm          *Service
	blobs       *blob.Server
	blobAddr    string
	rpcAddr     string
	host        string // the JobMasters' advertised host
	bindHost    string // and the one they listen on
	workDir     string
	self        string   // the runnel binary, for builtin jobs
	builtins    []string // the jobs of self a builtin submission may name
	clusterConf map[string]string
	hbInterval  time.Duration
	hbTimeout   time.Duration
	grace       time.Duration

	// fence, if not nil, is the ResourceManager's leader session, which
	// the TaskManagers' calls must carry (high availability).
	fence func() string

	ctx      context.Context // the JobManager's
	jobStore ha.JobStore     // the jobs to recover after a failover
	wg       sync.WaitGroup

	mu       sync.Mutex
	stopping bool // stop has begun: JobMasters end with the Dispatcher
	jobs     map[string]*jobRecord
	order    []string // job IDs, oldest first
}

// jobRecord is what the Dispatcher knows of one job.
type jobRecord struct {
	id, name    string
	state       string
	start, end  int64
	timestamps  map[string]int64
	vertices    []rpc.Vertex
	exceptions  []rest.Exception // newest first
	truncated   bool
	checkpoints *rpc.CheckpointStats
	jobMaster   string          // its RPC address once registered
	grant       rpc.WorkerGrant // what its workers run, as submitted
	notices     *outbox.Outbox[notice]
	proc        *os.Process
	exited      chan struct{}
}

// notice is a message for a JobMaster.
type notice struct {
	method string
	body   any
}

// newDispatcher returns a Dispatcher that calls JobMasters with a client
// of TLS configuration conf (nil: plain HTTP) and hands its JobMasters
// the internal TLS settings in.
func newDispatcher(clk clock.Clock, log *slog.Logger, in security.Internal, conf *tls.Config) *Dispatcher {
	return &Dispatcher{log: log, clk: clk, client: rpc.NewClient(conf), internal: in, jobs: map[string]*jobRecord{}, grace: 10 * time.Second}
}

func (d *Dispatcher) now() int64 { return d.clk.Now().UnixMilli() }

// jobDefault reports whether a job whose submission does not set key k
// takes the cluster's value of it: k must be a job's own key
// (config.IsJobKey, what stream.Environment.Configure takes), and not
// one that shapes the job's graph. The client built the graph with its own
// parallelism.default and pipeline.max-parallelism and submitted its
// fingerprint, which the JobMaster's graph must match.
func jobDefault(k string) bool {
	return config.IsJobKey(k) && k != config.DefaultParallelism.Key() && k != config.MaxParallelism.Key()
}

// handle registers the Dispatcher's RPC methods.
func (d *Dispatcher) handle(s *rpc.Server) {
	rpc.Handle(s, rpc.MethodRegisterJobMaster, func(_ context.Context, r *rpc.RegisterJobMaster) (*rpc.Empty, error) {
		d.mu.Lock()
		defer d.mu.Unlock()
		j := d.jobs[r.JobID]
		if j == nil {
			return nil, rpc.Errorf(rpc.CodeNotFound, "no job %s", r.JobID)
		}
		if j.jobMaster != "" {
			return nil, rpc.Errorf(rpc.CodeConflict, "job %s already has a JobMaster at %s", r.JobID, j.jobMaster)
		}
		j.jobMaster, j.name, j.vertices = r.Address, r.Name, r.Vertices
		j.notices = outbox.New[notice](1 << 12)
		d.wg.Add(1)
		go func() {
			defer d.wg.Done()
			err := j.notices.Run(d.ctx, func(ctx context.Context, batch []notice) error {
				for _, n := range batch {
					cctx, cancel := context.WithTimeout(ctx, 30*time.Second)
					_, err := rpc.Call[any, rpc.Empty](cctx, d.client, r.Address, n.method, &n.body)
					cancel()
					if err != nil {
						return err
					}
				}
				return nil
			})
			if err != nil && d.ctx.Err() == nil {
				d.log.Warn("the JobMaster is unreachable", "job", r.JobID, "error", err)
			}
		}()
		d.log.Info("JobMaster registered", "job", r.JobID, "name", r.Name, "address", r.Address)
		return &rpc.Empty{}, nil
	})
	rpc.Handle(s, rpc.MethodJobStatus, func(_ context.Context, r *rpc.JobStatus) (*rpc.Empty, error) {
		d.mu.Lock()
		defer d.mu.Unlock()
		j := d.jobs[r.JobID]
		if j == nil {
			return nil, rpc.Errorf(rpc.CodeNotFound, "no job %s", r.JobID)
		}
		d.update(j, r)
		return &rpc.Empty{}, nil
	})
	rpc.Handle(s, rpc.MethodRequestSlots, func(_ context.Context, r *rpc.RequestSlots) (*rpc.Empty, error) {
		if _, err := d.record(r.JobID); err != nil {
			return nil, rpc.Errorf(rpc.CodeNotFound, "%v", err)
		}
		d.rm.RequestSlots(rm.JobID(r.JobID), r.Slots)
		return &rpc.Empty{}, nil
	})
	rpc.Handle(s, rpc.MethodReleaseSlots, func(_ context.Context, r *rpc.ReleaseSlots) (*rpc.Empty, error) {
		d.rm.ReleaseSlots(rm.JobID(r.JobID))
		return &rpc.Empty{}, nil
	})
	rpc.HandleFenced(s, rpc.MethodCheckWorker, d.fence, d.checkWorker)
	rpc.Handle(s, rpc.MethodTaskManagerUnreachable, func(_ context.Context, r *rpc.TaskManagerUnreachable) (*rpc.Empty, error) {
		d.log.Warn("a JobMaster cannot reach a TaskManager", "job", r.JobID, "taskmanager", r.TaskManager, "reason", r.Reason)
		d.rm.TaskManagerLost(rm.WorkerID(r.TaskManager))
		return &rpc.Empty{}, nil
	})
}

// checkWorker answers a TaskManager that was asked to start a worker:
// it may if the job runs, its JobMaster is the one registered for it,
// and the ResourceManager has given it slots on that TaskManager. The
// answer is what the worker runs, as the job was submitted.
//
// A JobMaster starts workers only on the slots it heard of in
// SlotsAllocated, which the ResourceManager sends after its slot table
// says so; the check sees them. A start that crosses a release of the
// slots is refused, as it should be.
func (d *Dispatcher) checkWorker(ctx context.Context, r *rpc.CheckWorker) (*rpc.WorkerGrant, error) {
	d.mu.Lock()
	j := d.jobs[r.JobID]
	var jm, state string
	var grant rpc.WorkerGrant
	if j != nil {
		jm, state, grant = j.jobMaster, j.state, j.grant
	}
	d.mu.Unlock()
	switch {
	case j == nil:
		return nil, rpc.Errorf(rpc.CodeForbidden, "no job %s", r.JobID)
	case rest.Terminal(state):
		return nil, rpc.Errorf(rpc.CodeForbidden, "job %s is %s", r.JobID, state)
	case jm == "":
		return nil, rpc.Errorf(rpc.CodeForbidden, "job %s has no JobMaster yet", r.JobID)
	case jm != r.JobMaster:
		// Not where it is: the answer tells a caller nothing it lacks.
		return nil, rpc.Errorf(rpc.CodeForbidden, "the JobMaster of job %s is not at %s", r.JobID, r.JobMaster)
	}
	n, err := d.rm.SlotsOf(ctx, rm.WorkerID(r.TaskManager), rm.JobID(r.JobID))
	if err != nil {
		return nil, fmt.Errorf("jobmanager: job %s: %w", r.JobID, err)
	}
	if n == 0 {
		return nil, rpc.Errorf(rpc.CodeForbidden, "job %s holds no slots on TaskManager %s", r.JobID, r.TaskManager)
	}
	grant.Args, grant.Config = slices.Clone(grant.Args), maps.Clone(grant.Config)
	return &grant, nil
}

// update applies a JobMaster's status report; d.mu is held.
func (d *Dispatcher) update(j *jobRecord, r *rpc.JobStatus) {
	if rest.Terminal(j.state) {
		return
	}
	if r.State != "" && r.State != j.state {
		j.state = r.State
		j.timestamps[r.State] = r.Timestamp
		if rest.Terminal(r.State) {
			j.end = r.Timestamp
			if err := d.jobStore.Remove(context.Background(), j.id); err != nil {
				d.log.Warn("forgetting the ended job", "job", j.id, "error", err)
			}
		}
	}
	if r.Exception != nil {
		j.exceptions = append([]rest.Exception{{ExceptionName: r.Exception.Name, Stacktrace: r.Exception.Message,
			Timestamp: r.Exception.Timestamp, FailureLabels: r.Exception.Labels}}, j.exceptions...)
		if len(j.exceptions) > maxExceptions {
			j.exceptions, j.truncated = j.exceptions[:maxExceptions], true
		}
	}
	if r.Checkpoints != nil {
		j.checkpoints = r.Checkpoints
	}
}

func (d *Dispatcher) record(id string) (*jobRecord, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	j := d.jobs[id]
	if j == nil {
		return nil, fmt.Errorf("%w: no job %s", rest.ErrNotFound, id)
	}
	return j, nil
}

// notify queues a message for the JobMaster of job.
func (d *Dispatcher) notify(job rm.JobID, method string, body any) {
	d.mu.Lock()
	j := d.jobs[string(job)]
	d.mu.Unlock()
	if j == nil || j.notices == nil {
		return
	}
	j.notices.Add(notice{method, body})
}

// The ResourceManager's decisions (Listener), relayed to the JobMasters.

func (d *Dispatcher) SlotsAllocated(a rm.AllocateSlots) {
	msg := &rpc.SlotsAllocated{JobID: string(a.Job)}
	for _, s := range a.Slots {
		msg.Slots = append(msg.Slots, rpc.Slot{TaskManager: string(s.TaskManager), Index: s.Index, Address: a.Addresses[s.TaskManager]})
	}
	d.notify(a.Job, rpc.MethodSlotsAllocated, msg)
}

func (d *Dispatcher) SlotsLost(l rm.JobSlotsLost) {
	msg := &rpc.SlotsLost{JobID: string(l.Job), TaskManager: string(l.TaskManager), Reason: l.Reason.Error()}
	for _, s := range l.Slots {
		msg.Slots = append(msg.Slots, rpc.Slot{TaskManager: string(s.TaskManager), Index: s.Index})
	}
	d.notify(l.Job, rpc.MethodSlotsLost, msg)
}

func (d *Dispatcher) RequestFailed(f rm.RequestFailed) {
	d.notify(f.Job, rpc.MethodSlotRequestFailed, &rpc.SlotRequestFailed{JobID: string(f.Job), Slots: f.Slots, Reason: f.Reason.Error()})
}

// Submit stores the job's program and starts its JobMaster.
func (d *Dispatcher) Submit(_ context.Context, s rest.Submission, prog io.Reader) (string, error) {
	if d.ctx == nil || d.ctx.Err() != nil {
		return "", fmt.Errorf("%w: the JobManager is not running", rest.ErrConflict)
	}
	if s.Builtin {
		if err := d.checkBuiltin(s.Args); err != nil {
			return "", err
		}
	}
	if !s.Builtin && prog == nil {
		return "", fmt.Errorf("%w: the submission has no program", rest.ErrBadRequest)
	}
	exe, key := d.self, blob.Key("")
	if !s.Builtin {
		// Only a binary of this platform is stored and run: the head is
		// read before anything is kept.
		br := bufio.NewReaderSize(prog, headerSize)
		head, err := br.Peek(headerSize)
		if err != nil && !errors.Is(err, io.EOF) {
			return "", fmt.Errorf("jobmanager: read the job's program: %w", err)
		}
		if err := checkExecutable(head); err != nil {
			return "", fmt.Errorf("%w: job %q: %w", rest.ErrBadRequest, s.Name, err)
		}
		if key, err = d.blobs.Put(br); err != nil {
			return "", fmt.Errorf("jobmanager: store the job's program: %w", err)
		}
		exe = d.blobs.Path(key)
		if err := os.Chmod(exe, 0o755); err != nil {
			return "", fmt.Errorf("jobmanager: %w", err)
		}
	}
	conf := maps.Clone(s.Config)
	if conf == nil {
		conf = map[string]string{}
	}
	for k, v := range d.clusterConf {
		if _, ok := conf[k]; !ok && jobDefault(k) {
			conf[k] = v
		}
	}
	id := newJobID()
	p := &program.Process{Role: program.RoleJobMaster, Config: conf, JobID: id, Host: d.host, BindHost: d.bindHost,
		HeartbeatInterval: d.hbInterval, HeartbeatTimeout: d.hbTimeout, Dispatcher: d.rpcAddr,
		Program: string(key), BlobAddress: d.blobAddr, Args: s.Args, WorkingDir: s.WorkingDir, Fingerprint: s.Fingerprint}
	logDir := filepath.Join(d.workDir, "jobs")
	if err := os.MkdirAll(logDir, 0o755); err != nil {
		return "", fmt.Errorf("jobmanager: %w", err)
	}
	logPath := filepath.Join(logDir, id+".log")
	logFile, err := os.OpenFile(logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return "", fmt.Errorf("jobmanager: %w", err)
	}
	defer logFile.Close()
	cmd := exec.Command(exe, s.Args...)
	// The JobManager's own TLS settings, after any inherited ones: the
	// last entry of a name wins.
	cmd.Env = append(os.Environ(), p.Env(), d.internal.Env())
	if fi, err := os.Stat(s.WorkingDir); err == nil && fi.IsDir() {
		cmd.Dir = s.WorkingDir
	}
	cmd.Stdout, cmd.Stderr = logFile, logFile
	cmd.SysProcAttr = procgroup.Attr(true)

	now := d.now()
	j := &jobRecord{id: id, name: s.Name, state: rest.StateInitializing, start: now, end: -1,
		timestamps: map[string]int64{rest.StateInitializing: now}, exited: make(chan struct{}),
		grant: rpc.WorkerGrant{Builtin: s.Builtin, Program: string(key), BlobAddress: d.blobAddr,
			Args: slices.Clone(s.Args), WorkingDir: s.WorkingDir, Config: maps.Clone(conf), Fingerprint: s.Fingerprint,
			HeartbeatIntervalMillis: d.hbInterval.Milliseconds(), HeartbeatTimeoutMillis: d.hbTimeout.Milliseconds()}}
	d.mu.Lock()
	defer d.mu.Unlock()
	if err := cmd.Start(); err != nil {
		return "", fmt.Errorf("jobmanager: start the JobMaster of job %q (%s): %w", s.Name, exe, err)
	}
	j.proc = cmd.Process
	if rec, err := json.Marshal(struct {
		rest.Submission
		Program string `json:"program"`
	}{s, string(key)}); err == nil {
		if err := d.jobStore.Put(d.ctx, ha.JobRecord{ID: id, Submission: rec}); err != nil {
			d.log.Warn("keeping the job for recovery", "job", id, "error", err)
		}
	}
	d.jobs[id] = j
	d.order = append(d.order, id)
	d.wg.Add(1)
	go func() {
		defer d.wg.Done()
		err := procgroup.Reap(cmd)
		close(j.exited)
		d.mu.Lock()
		defer d.mu.Unlock()
		// A JobMaster the Dispatcher stops with itself leaves its job as it
		// is: not failed, and kept for the next leader to recover.
		if !rest.Terminal(j.state) && !d.stopping {
			msg := fmt.Sprintf("the JobMaster process ended (%v) before the job did; its log: %s", err, logPath)
			if tail := logTail(logPath, 5); tail != "" {
				msg += "\n" + tail
			}
			d.update(j, &rpc.JobStatus{State: rest.StateFailed, Timestamp: d.now(),
				Exception: &rpc.Exception{Name: "JobMasterLost", Message: msg, Timestamp: d.now()}})
		}
		if j.notices != nil {
			j.notices.Close()
		}
	}()
	d.log.Info("job submitted", "job", id, "name", s.Name, "builtin", s.Builtin, "program", exe)
	return id, nil
}

// checkBuiltin refuses the arguments of a builtin submission unless they
// run one of the binary's own jobs: "run JOB", then nothing or "--" and
// the job's flags. The runnel binary runs anything else it is given a
// path to, so nothing else may reach it.
func (d *Dispatcher) checkBuiltin(args []string) error {
	if len(d.builtins) == 0 {
		return fmt.Errorf("%w: this JobManager runs no builtin jobs: submit the job's program", rest.ErrBadRequest)
	}
	known := strings.Join(d.builtins, ", ")
	if len(args) < 2 || args[0] != "run" {
		return fmt.Errorf("%w: a builtin job's arguments are \"run JOB [-- ARGS]\" with JOB one of %s; got %q",
			rest.ErrBadRequest, known, args)
	}
	if !slices.Contains(d.builtins, args[1]) {
		return fmt.Errorf("%w: %q is not a builtin job; the builtin jobs are %s", rest.ErrBadRequest, args[1], known)
	}
	if len(args) > 2 && args[2] != "--" {
		return fmt.Errorf("%w: builtin job %s: its arguments must follow \"--\"; got %q", rest.ErrBadRequest, args[1], args[2:])
	}
	return nil
}

// logTail returns the last n lines of a file.
func logTail(path string, n int) string {
	b, err := os.ReadFile(path)
	if err != nil {
		return ""
	}
	lines := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
	return strings.Join(lines[max(0, len(lines)-n):], "\n")
}

func newJobID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// stop stops every JobMaster process and waits for the Dispatcher's
// goroutines.
func (d *Dispatcher) stop() {
	d.mu.Lock()
	d.stopping = true
	var running []*jobRecord
	for _, j := range d.jobs {
		select {
		case <-j.exited:
		default:
			running = append(running, j)
		}
	}
	d.mu.Unlock()
	for _, j := range running {
		_ = j.proc.Signal(syscall.SIGTERM)
	}
	for _, j := range running {
		select {
		case <-j.exited:
		case <-time.After(d.grace):
			_ = j.proc.Kill()
			<-j.exited
		}
	}
	d.wg.Wait()
}

// Jobs lists the jobs, oldest first.
func (d *Dispatcher) Jobs(context.Context) ([]rest.Job, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	now := d.now()
	list := make([]rest.Job, 0, len(d.order))
	for _, id := range d.order {
		j := d.jobs[id]
		list = append(list, rest.Job{ID: j.id, Name: j.name, State: j.state, StartTime: j.start, EndTime: j.end, Duration: j.duration(now)})
	}
	return list, nil
}

func (j *jobRecord) duration(now int64) int64 {
	if j.end >= 0 {
		return j.end - j.start
	}
	return now - j.start
}

// Job describes a job in detail.
func (d *Dispatcher) Job(_ context.Context, id string) (rest.JobDetails, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	j := d.jobs[id]
	if j == nil {
		return rest.JobDetails{}, fmt.Errorf("%w: no job %s", rest.ErrNotFound, id)
	}
	now := d.now()
	det := rest.JobDetails{ID: j.id, Name: j.name, IsStoppable: !rest.Terminal(j.state), State: j.state, StartTime: j.start,
		EndTime: j.end, Duration: j.duration(now), Now: now, Timestamps: maps.Clone(j.timestamps), Vertices: []rest.JobVertex{}}
	for _, v := range j.vertices {
		det.Vertices = append(det.Vertices, rest.JobVertex{ID: v.ID, Name: v.Name, Parallelism: v.Parallelism, MaxParallelism: v.MaxParallelism, Status: j.state})
	}
	return det, nil
}

// JobExceptions lists a job's failures, newest first.
func (d *Dispatcher) JobExceptions(_ context.Context, id string) (rest.JobExceptions, error) {
	j, err := d.record(id)
	if err != nil {
		return rest.JobExceptions{}, err
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	return rest.JobExceptions{ExceptionHistory: rest.ExceptionHistory{Entries: append([]rest.Exception{}, j.exceptions...), Truncated: j.truncated}}, nil
}

// JobCheckpoints returns a job's checkpoint statistics: asked of its
// JobMaster while it runs, as last reported after.
func (d *Dispatcher) JobCheckpoints(ctx context.Context, id string) (rest.Checkpoints, error) {
	j, err := d.record(id)
	if err != nil {
		return rest.Checkpoints{}, err
	}
	d.mu.Lock()
	jm, stats, terminal := j.jobMaster, j.checkpoints, rest.Terminal(j.state)
	d.mu.Unlock()
	if jm != "" && !terminal {
		if res, err := d.control(ctx, id, &rpc.JobControl{Op: rpc.ControlDetails}); err == nil && res.Status != nil && res.Status.Checkpoints != nil {
			stats = res.Status.Checkpoints
		}
	}
	var c rest.Checkpoints
	if stats == nil {
		return c, nil
	}
	s := stats.Stats
	c.Counts = rest.CheckpointCounts{Total: s.Triggered, InProgress: int64(s.InProgress), Completed: s.Completed, Failed: s.Failed}
	if s.RestoredLocation != "" {
		c.Counts.Restored = 1
		c.Latest.Restored = &rest.RestoredCheckpoint{ID: s.RestoredID, ExternalPath: s.RestoredLocation, IsSavepoint: stats.RestoredIsSavepoint}
	}
	if s.LastCompletedLocation != "" {
		c.Latest.Completed = &rest.CompletedCheckpoint{ID: s.LastCompletedID, Status: "COMPLETED", ExternalPath: s.LastCompletedLocation,
			EndToEndDuration: s.LastCompletedDuration.Milliseconds()}
	}
	if stats.LastSavepointLocation != "" {
		c.Latest.Savepoint = &rest.CompletedCheckpoint{ID: stats.LastSavepointID, Status: "COMPLETED", IsSavepoint: true, ExternalPath: stats.LastSavepointLocation}
	}
	return c, nil
}

// JobMetrics are the network metrics of the job's workers, asked of its
// JobMaster; none once it has ended.
func (d *Dispatcher) JobMetrics(ctx context.Context, id string) ([]rest.Metric, error) {
	j, err := d.record(id)
	if err != nil {
		return nil, err
	}
	d.mu.Lock()
	jm, terminal := j.jobMaster, rest.Terminal(j.state)
	d.mu.Unlock()
	if jm == "" || terminal {
		return nil, nil
	}
	res, err := d.control(ctx, id, &rpc.JobControl{Op: rpc.ControlDetails})
	if err != nil {
		return nil, err
	}
	var list []rest.Metric
	for tm, m := range res.Metrics {
		for _, x := range []struct {
			name string
			v    int
		}{
			{"SegmentsInUse", m.SegmentsInUse}, {"MaxSegmentsInUse", m.MaxSegmentsInUse}, {"SegmentLimit", m.SegmentLimit},
			{"QueuedBuffers", m.QueuedBuffers}, {"BackPressuredChannels", m.BackPressuredChannels},
			{"RemoteOutputChannels", m.RemoteOutputChannels}, {"RemoteInputChannels", m.RemoteInputChannels},
		} {
			list = append(list, rest.Metric{ID: tm + ".Network." + x.name, Value: strconv.Itoa(x.v)})
		}
	}
	slices.SortFunc(list, func(a, b rest.Metric) int { return strings.Compare(a.ID, b.ID) })
	return list, nil
}

// Result is how the job ended; nil while it runs.
func (d *Dispatcher) Result(_ context.Context, id string) (*rest.JobResult, error) {
	j, err := d.record(id)
	if err != nil {
		return nil, err
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	if !rest.Terminal(j.state) {
		return nil, nil
	}
	r := &rest.JobResult{ID: j.id, NetRuntime: j.end - j.start}
	switch j.state {
	case rest.StateFinished:
		r.ApplicationStatus = "SUCCEEDED"
	case rest.StateCanceled:
		r.ApplicationStatus = "CANCELED"
	default:
		r.ApplicationStatus = "FAILED"
		if len(j.exceptions) > 0 {
			r.FailureCause = &rest.FailureCause{Class: j.exceptions[0].ExceptionName, StackTrace: j.exceptions[0].Stacktrace}
		}
	}
	return r, nil
}

// control passes an operation to the job's JobMaster.
func (d *Dispatcher) control(ctx context.Context, id string, c *rpc.JobControl) (*rpc.JobControlResult, error) {
	j, err := d.record(id)
	if err != nil {
		return nil, err
	}
	d.mu.Lock()
	jm, state := j.jobMaster, j.state
	d.mu.Unlock()
	if rest.Terminal(state) {
		return nil, fmt.Errorf("%w: job %s is %s", rest.ErrConflict, id, state)
	}
	if jm == "" {
		return nil, fmt.Errorf("%w: job %s is still starting", rest.ErrConflict, id)
	}
	c.JobID = id
	res, err := rpc.Call[rpc.JobControl, rpc.JobControlResult](ctx, d.client, jm, rpc.MethodJobControl, c)
	var re *rpc.Error
	if errors.As(err, &re) && re.Code == rpc.CodeConflict {
		return nil, fmt.Errorf("%w: %s", rest.ErrConflict, re.Message)
	}
	if err != nil {
		return nil, fmt.Errorf("jobmanager: job %s: %w", id, err)
	}
	return res, nil
}

// Cancel cancels a job.
func (d *Dispatcher) Cancel(ctx context.Context, id string) error {
	j, err := d.record(id)
	if err != nil {
		return err
	}
	d.mu.Lock()
	starting := j.jobMaster == "" && !rest.Terminal(j.state)
	if starting {
		// No JobMaster yet: end its process.
		d.update(j, &rpc.JobStatus{State: rest.StateCanceled, Timestamp: d.now()})
		_ = j.proc.Kill()
	}
	d.mu.Unlock()
	if starting {
		return nil
	}
	_, err = d.control(ctx, id, &rpc.JobControl{Op: rpc.ControlCancel})
	return err
}

// TriggerSavepoint takes a savepoint of a running job.
func (d *Dispatcher) TriggerSavepoint(ctx context.Context, id, dir string, cancelJob bool) (string, error) {
	res, err := d.control(ctx, id, &rpc.JobControl{Op: rpc.ControlSavepoint, Dir: dir, CancelJob: cancelJob})
	if err != nil {
		return "", err
	}
	return res.Location, nil
}

// StopWithSavepoint stops a job with a savepoint.
func (d *Dispatcher) StopWithSavepoint(ctx context.Context, id, dir string, drain bool) (string, error) {
	res, err := d.control(ctx, id, &rpc.JobControl{Op: rpc.ControlStop, Dir: dir, Drain: drain})
	if err != nil {
		return "", err
	}
	return res.Location, nil
}

// TriggerCheckpoint takes a checkpoint of a running job.
func (d *Dispatcher) TriggerCheckpoint(ctx context.Context, id string) (int64, error) {
	res, err := d.control(ctx, id, &rpc.JobControl{Op: rpc.ControlTriggerCheckpoint})
	if err != nil {
		return 0, err
	}
	return res.CheckpointID, nil
}
