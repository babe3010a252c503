package taskmanager

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"time"

	"github.com/runnel-io/runnel/cluster/blob"
	"github.com/runnel-io/runnel/cluster/program"
	"github.com/runnel-io/runnel/cluster/rpc"
	"github.com/runnel-io/runnel/cluster/security"
	"github.com/runnel-io/runnel/internal/httpserve"
	"github.com/runnel-io/runnel/internal/procgroup"
)

// reportTimeout bounds the WorkerExited call to a JobMaster.
const reportTimeout = 5 * time.Second

// The tail of a worker's log that WorkerExited carries.
const (
	tailLines = 10
	tailBytes = 4 << 10
)

// worker is the worker process of one job, from the StartWorker that
// creates it to the end of its process.
type worker struct {
	job       string
	jobMaster string
	cancel    context.CancelFunc // stops the process: SIGTERM, then SIGKILL after the grace period

	started chan struct{} // closed once the start succeeded or failed
	err     error         // why the start failed; set before started is closed
	done    chan struct{} // closed once the process is reaped, or the start failed

	// Set by start before started is closed; read by watch.
	cmd      *exec.Cmd
	logPath  string
	logStart int64 // where this process's output begins in its log

	stopping bool // StopWorker asked for it; guarded by TaskManager.mu
}

// startWorker serves StartWorker: it starts the job's worker process
// unless one runs, and returns once it started.
func (t *TaskManager) startWorker(ctx context.Context, req *rpc.StartWorker) (*rpc.Empty, error) {
	if err := checkStart(req); err != nil {
		return nil, rpc.Errorf(rpc.CodeBadRequest, "taskmanager: StartWorker: %v", err)
	}
	req, err := t.authorize(ctx, req)
	if err != nil {
		t.log.Warn("worker refused", "job", req.JobID, "jobmaster", req.JobMaster, "error", err)
		return nil, err
	}
	t.mu.Lock()
	if t.closed {
		t.mu.Unlock()
		return nil, fmt.Errorf("taskmanager: worker of job %s not started: the TaskManager is stopping", req.JobID)
	}
	if w := t.workers[req.JobID]; w != nil {
		t.mu.Unlock()
		select {
		case <-w.started:
		case <-ctx.Done():
			return nil, fmt.Errorf("taskmanager: worker of job %s: %w", req.JobID, ctx.Err())
		}
		if w.err != nil {
			return nil, w.err
		}
		return &rpc.Empty{}, nil
	}
	life, cancel := context.WithCancel(t.life)
	w := &worker{job: req.JobID, jobMaster: req.JobMaster, cancel: cancel,
		started: make(chan struct{}), done: make(chan struct{})}
	t.workers[req.JobID] = w
	t.wg.Add(1)
	t.mu.Unlock()

	if err := t.start(ctx, life, w, req); err != nil {
		cancel()
		w.err = err
		t.forget(w)
		close(w.started)
		close(w.done)
		t.wg.Done()
		t.log.Warn("worker not started", "job", w.job, "error", err)
		return nil, err
	}
	t.log.Info("worker started", "job", w.job, "pid", w.cmd.Process.Pid, "program", w.cmd.Path, "log", w.logPath)
	close(w.started)
	go t.watch(w)
	return &rpc.Empty{}, nil
}

// checkStart rejects a StartWorker the TaskManager cannot act on.
func checkStart(req *rpc.StartWorker) error {
	if err := checkJobID(req.JobID); err != nil {
		return err
	}
	if req.JobMaster == "" {
		return fmt.Errorf("job %s: no JobMaster address", req.JobID)
	}
	if name, _, ok := strings.Cut(req.Env, "="); !ok || name != program.EnvVar {
		return fmt.Errorf("job %s: environment entry %q is not the worker's %s entry", req.JobID, req.Env, program.EnvVar)
	}
	if !req.Builtin {
		if !blob.Key(req.Program).Valid() {
			return fmt.Errorf("job %s: program %q is not a blob key", req.JobID, req.Program)
		}
		if req.BlobAddress == "" {
			return fmt.Errorf("job %s: no BlobServer address", req.JobID)
		}
	}
	return nil
}

// checkTimeout bounds the CheckWorker call to the JobManager.
const checkTimeout = 30 * time.Second

// authorize asks the JobManager this TaskManager registered with whether
// it assigned slots here to the job of req, whose JobMaster is the one
// req names, and returns what to start: the program, arguments and
// working directory of the job as it was submitted, which req must
// match, and the worker's environment entry, built from the job's grant
// (its configuration, fingerprint and heartbeats) and this TaskManager's
// hosts. The entry req carries must describe this job's worker on this
// TaskManager reporting to that JobMaster; nothing else of it is used.
// Nothing in req is trusted otherwise: whoever reaches the RPC endpoint
// could send it. A refusal is a CodeForbidden error, which names no
// value of the job's submission.
func (t *TaskManager) authorize(ctx context.Context, req *rpc.StartWorker) (*rpc.StartWorker, error) {
	refuse := func(format string, args ...any) error {
		return rpc.Errorf(rpc.CodeForbidden, "taskmanager: worker of job %s not started: %s", req.JobID, fmt.Sprintf(format, args...))
	}
	l, _ := t.leader.current()
	if l.Address == "" {
		return req, refuse("no JobManager leads, which must confirm it")
	}
	cctx, cancel := context.WithTimeout(l.calls(ctx), checkTimeout)
	defer cancel()
	grant, err := rpc.Call[rpc.CheckWorker, rpc.WorkerGrant](cctx, t.client, l.Address, rpc.MethodCheckWorker,
		&rpc.CheckWorker{TaskManager: t.cfg.ID, JobID: req.JobID, JobMaster: req.JobMaster})
	var re *rpc.Error
	switch {
	case errors.As(err, &re) && re.Code == rpc.CodeForbidden:
		return req, refuse("the JobManager at %s says: %s", l.Address, re.Message)
	case err != nil:
		return req, refuse("the JobManager at %s, which must confirm it, did not: %v", l.Address, err)
	}
	// The values a request may hold and the job does not are not echoed:
	// the caller may be anyone who reached this port.
	switch {
	case req.Builtin != grant.Builtin, req.Program != grant.Program:
		return req, refuse("its program does not match the job's submission")
	case !slices.Equal(req.Args, grant.Args):
		return req, refuse("its arguments do not match the job's submission")
	case req.WorkingDir != grant.WorkingDir:
		return req, refuse("its working directory does not match the job's submission")
	}
	_, value, _ := strings.Cut(req.Env, "=")
	var asked program.Process
	if err := json.Unmarshal([]byte(value), &asked); err != nil {
		return req, rpc.Errorf(rpc.CodeBadRequest, "taskmanager: worker of job %s: %s: %v", req.JobID, program.EnvVar, err)
	}
	switch {
	case asked.Role != program.RoleWorker:
		return req, refuse("%s gives the role %q, not %q", program.EnvVar, asked.Role, program.RoleWorker)
	case asked.JobID != req.JobID || asked.JobMaster != req.JobMaster || asked.TaskManager != t.cfg.ID:
		return req, refuse("%s describes the worker of job %s on TaskManager %s for the JobMaster at %s, not this one's (job %s, TaskManager %s, JobMaster %s)",
			program.EnvVar, asked.JobID, asked.TaskManager, asked.JobMaster, req.JobID, t.cfg.ID, req.JobMaster)
	}
	// The worker's role is built from the job's grant and this
	// TaskManager's own values, not from the request: its configuration
	// (checkpoint storage above all) and heartbeats are the job's, it
	// listens where this TaskManager does and is reached at its host.
	p := program.Process{Role: program.RoleWorker, JobID: req.JobID, TaskManager: t.cfg.ID, JobMaster: req.JobMaster,
		Config: grant.Config, Fingerprint: grant.Fingerprint, WorkingDir: grant.WorkingDir,
		HeartbeatInterval: time.Duration(grant.HeartbeatIntervalMillis) * time.Millisecond,
		HeartbeatTimeout:  time.Duration(grant.HeartbeatTimeoutMillis) * time.Millisecond,
		Host:              t.host, BindHost: t.bind}
	checked := *req
	checked.BlobAddress = grant.BlobAddress
	checked.Env = p.Env()
	return &checked, nil
}

// checkJobID rejects job IDs that cannot name a log file.
func checkJobID(id string) error {
	if id == "" || id == "." || id == ".." || strings.ContainsAny(id, "/\\\x00") {
		return fmt.Errorf("invalid job ID %q", id)
	}
	return nil
}

// start gets the program of w and starts its process, bound to life.
// ctx bounds the fetch of the program.
func (t *TaskManager) start(ctx, life context.Context, w *worker, req *rpc.StartWorker) error {
	ctx, stop := t.bound(ctx)
	defer stop()
	program, extra, err := t.program(ctx, req)
	if err != nil {
		return err
	}
	argv := append(append([]string{program}, extra...), req.Args...)
	env := slices.DeleteFunc(os.Environ(), func(e string) bool {
		return strings.HasPrefix(e, security.EnvInternal+"=")
	})
	if req.Env != "" {
		env = append(env, req.Env)
	}
	// The worker's internal TLS is the TaskManager's, whatever the
	// TaskManager inherited.
	env = append(env, t.cfg.Internal.Env())
	dir := ""
	if req.WorkingDir != "" {
		if fi, err := os.Stat(req.WorkingDir); err == nil && fi.IsDir() {
			dir = req.WorkingDir
		} else {
			t.log.Info("the worker's working directory is missing; using the TaskManager's", "job", w.job, "dir", req.WorkingDir)
		}
	}

	w.logPath = filepath.Join(t.workDir, w.job+".log")
	logf, err := os.OpenFile(w.logPath, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o644)
	if err != nil {
		return fmt.Errorf("taskmanager: worker of job %s: log: %w", w.job, err)
	}
	defer logf.Close() // the process has its own descriptor
	if fi, err := logf.Stat(); err == nil {
		w.logStart = fi.Size()
	}
	for attempt := 1; ; attempt++ {
		cmd := exec.CommandContext(life, program)
		cmd.Args = argv
		cmd.Env, cmd.Dir = env, dir
		cmd.Stdout, cmd.Stderr = logf, logf
		cmd.SysProcAttr = procgroup.Attr(true)
		cmd.Cancel = func() error { return terminate(cmd.Process) }
		cmd.WaitDelay = t.cfg.StopGracePeriod
		err = cmd.Start()
		if err == nil {
			w.cmd = cmd
			return nil
		}
		// A program just written may still be open for writing in a
		// child forked meanwhile that has not exec'd yet (Go issue 22315).
		if !errors.Is(err, syscall.ETXTBSY) || attempt == 10 {
			return fmt.Errorf("taskmanager: worker of job %s: starting %s: %w", w.job, program, err)
		}
		select {
		case <-time.After(time.Duration(attempt) * 10 * time.Millisecond):
		case <-ctx.Done():
			return fmt.Errorf("taskmanager: worker of job %s: starting %s: %w", w.job, program, ctx.Err())
		}
	}
}

// bound returns ctx, also cancelled when Run's life ends.
func (t *TaskManager) bound(ctx context.Context) (context.Context, context.CancelFunc) {
	ctx, cancel := context.WithCancel(ctx)
	stop := context.AfterFunc(t.life, cancel)
	return ctx, func() { stop(); cancel() }
}

// program returns the path of the program req runs, and the arguments
// that go before Args: the TaskManager's own for a builtin job, else
// the job's binary fetched from the BlobServer into the blobs directory,
// once per key.
func (t *TaskManager) program(ctx context.Context, req *rpc.StartWorker) (string, []string, error) {
	if req.Builtin {
		if len(t.cfg.Self) > 0 {
			return t.cfg.Self[0], t.cfg.Self[1:], nil
		}
		self, err := os.Executable()
		if err != nil {
			return "", nil, fmt.Errorf("taskmanager: worker of job %s: the TaskManager's own program: %w", req.JobID, err)
		}
		return self, nil, nil
	}
	key := blob.Key(req.Program)
	path := filepath.Join(t.workDir, "blobs", string(key))
	release, err := t.lockProgram(ctx, key)
	if err != nil {
		return "", nil, fmt.Errorf("taskmanager: worker of job %s: program %s: %w", req.JobID, key, err)
	}
	defer release()
	if fi, err := os.Stat(path); err == nil && fi.Mode().IsRegular() {
		return path, nil, nil
	}
	// The BlobServer speaks the cluster's internal TLS, like everything
	// else: the scheme is the TaskManager's to choose.
	base := req.BlobAddress
	if _, rest, ok := strings.Cut(base, "://"); ok {
		base = rest
	}
	c := &blob.Client{Base: httpserve.Scheme(t.tlsClient) + "://" + base, HTTP: t.blobHTTP}
	if err := c.Fetch(ctx, key, path, 0o755); err != nil {
		return "", nil, fmt.Errorf("taskmanager: worker of job %s: program %s: %w", req.JobID, key, err)
	}
	t.log.Info("fetched a program", "job", req.JobID, "key", key, "from", req.BlobAddress)
	return path, nil, nil
}

// lockProgram waits until no other call fetches key and returns what
// lets the next one go.
func (t *TaskManager) lockProgram(ctx context.Context, key blob.Key) (release func(), err error) {
	t.mu.Lock()
	sem := t.fetching[key]
	if sem == nil {
		sem = make(chan struct{}, 1)
		t.fetching[key] = sem
	}
	t.mu.Unlock()
	select {
	case sem <- struct{}{}:
		return func() { <-sem }, nil
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// forget removes w from the workers, if it is still there.
func (t *TaskManager) forget(w *worker) {
	t.mu.Lock()
	if t.workers[w.job] == w {
		delete(t.workers, w.job)
	}
	t.mu.Unlock()
}

// watch waits for the process of w to end and reaps it. Unless it was
// asked to stop, or Run is returning, it tells the JobMaster.
func (t *TaskManager) watch(w *worker) {
	defer t.wg.Done()
	err := procgroup.Reap(w.cmd)
	w.cancel()
	t.forget(w)
	t.mu.Lock()
	stopping := w.stopping
	t.mu.Unlock()
	close(w.done)

	var status string
	switch {
	case w.cmd.ProcessState != nil:
		status = w.cmd.ProcessState.String() // "exit status 3", "signal: killed"
	case err != nil:
		status = err.Error()
	}
	if stopping || t.life.Err() != nil {
		t.log.Info("worker stopped", "job", w.job, "status", status)
		return
	}
	msg := status
	if tail := tail(w.logPath, w.logStart); tail != "" {
		msg += ": " + tail
	}
	t.log.Warn("worker exited", "job", w.job, "status", status)
	ctx, cancel := context.WithTimeout(t.life, reportTimeout)
	defer cancel()
	_, err = rpc.Call[rpc.WorkerExited, rpc.Empty](ctx, t.client, w.jobMaster, rpc.MethodWorkerExited,
		&rpc.WorkerExited{JobID: w.job, TaskManager: t.cfg.ID, Error: msg})
	if err != nil {
		t.log.Warn("could not tell the JobMaster that the worker exited", "job", w.job, "jobmaster", w.jobMaster, "error", err)
	}
}

// tail returns the last lines that were written to the log at path from
// offset from on, at most tailLines and about tailBytes.
func tail(path string, from int64) string {
	f, err := os.Open(path)
	if err != nil {
		return ""
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return ""
	}
	start := max(from, fi.Size()-tailBytes)
	if start >= fi.Size() {
		return ""
	}
	buf := make([]byte, fi.Size()-start)
	n, _ := f.ReadAt(buf, start)
	text := string(buf[:n])
	if start > from {
		// Drop the partial first line.
		if _, rest, ok := strings.Cut(text, "\n"); ok {
			text = rest
		}
	}
	lines := strings.Split(strings.TrimSpace(strings.ToValidUTF8(text, "\uFFFD")), "\n")
	if len(lines) > tailLines {
		lines = lines[len(lines)-tailLines:]
	}
	return strings.Join(lines, "\n")
}

// stopWorker serves StopWorker: it stops the job's worker process, if
// one runs, and returns once it is gone.
func (t *TaskManager) stopWorker(ctx context.Context, req *rpc.StopWorker) (*rpc.Empty, error) {
	t.mu.Lock()
	w := t.workers[req.JobID]
	if w != nil {
		w.stopping = true
	}
	t.mu.Unlock()
	if w == nil {
		return &rpc.Empty{}, nil
	}
	t.log.Info("stopping worker", "job", w.job)
	w.cancel()
	select {
	case <-w.done:
		return &rpc.Empty{}, nil
	case <-ctx.Done():
		return nil, fmt.Errorf("taskmanager: stopping the worker of job %s: %w", w.job, ctx.Err())
	}
}
