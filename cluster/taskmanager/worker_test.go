//go:build unix

package taskmanager

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/runnel-io/runnel/cluster/blob"
	"github.com/runnel-io/runnel/cluster/program"
	"github.com/runnel-io/runnel/cluster/rpc"
	"github.com/runnel-io/runnel/cluster/security"
)

// The test binary is its own worker program: started with
// -test.run=^TestHelperProcess$ and helperEnv set, or a worker's
// program.EnvVar (StartWorker.Env) whose configuration has helperModeKey,
// it runs TestHelperProcess, which prints a line
//
//	pid=<pid> mode=<mode> argv0=<os.Args[0]> args=<args after "--", comma-separated> cwd=<dir>
//
// and then behaves as its mode says:
//
//	sleep     waits for SIGTERM, prints "terminated" and exits 0
//	internal  prints "internal=<its security.EnvInternal>", then waits for
//	          SIGTERM and exits 0
//	exit      prints "failing on purpose" and exits 3
//	stubborn  ignores SIGTERM and starts a child (in its process group)
//	          that ignores it too and prints its own pid= line; only
//	          SIGKILL stops them
//	child     the stubborn worker's child
//	taskmanager  runs a TaskManager (helperTaskManager)
//
// What the TaskManager starts is thus a real process, and no program
// has to be built.
func TestHelperProcess(t *testing.T) {
	mode := os.Getenv(helperEnv)
	if p, err := program.FromEnv(); mode == "" && err == nil && p != nil {
		mode = p.Config[helperModeKey]
	}
	if mode == "" {
		return
	}
	// The signals are set up before the pid line tells the test that
	// the worker runs.
	terms := make(chan os.Signal, 1)
	switch mode {
	case "sleep", "internal":
		signal.Notify(terms, syscall.SIGTERM)
	case "stubborn", "child":
		signal.Ignore(syscall.SIGTERM)
	}
	args := os.Args[slices.Index(os.Args, "--")+1:]
	cwd, _ := os.Getwd()
	fmt.Printf("pid=%d mode=%s argv0=%s args=%s cwd=%s\n", os.Getpid(), mode, os.Args[0], strings.Join(args, ","), cwd)
	switch mode {
	case "internal":
		fmt.Printf("internal=%s\n", os.Getenv(security.EnvInternal))
		<-terms
		os.Exit(0)
	case "sleep":
		<-terms
		fmt.Println("terminated")
		os.Exit(0)
	case "exit":
		fmt.Println("failing on purpose")
		os.Exit(3)
	case "stubborn":
		child := exec.Command(os.Args[0], "-test.run=^TestHelperProcess$")
		child.Env = append(os.Environ(), helperEnv+"=child")
		child.Stdout, child.Stderr = os.Stdout, os.Stderr
		if err := child.Start(); err != nil {
			fmt.Println("child:", err)
			os.Exit(4)
		}
	case "child":
	case "taskmanager":
		helperTaskManager()
	default:
		fmt.Println("unknown mode")
		os.Exit(5)
	}
	for {
		time.Sleep(time.Hour)
	}
}

// helperDirEnv is the work directory of a TaskManager run by
// TestHelperProcess in mode taskmanager.
const helperDirEnv = "RUNNEL_TASKMANAGER_TEST_DIR"

// helperModeKey is the key of a worker's configuration that gives the
// helper its mode.
const helperModeKey = "test.helper.mode"

// helperTaskManager runs a TaskManager in this process, with the work
// directory helperDirEnv and a JobManager that lets it start every
// worker, and prints "addr=<its RPC endpoint>" once it listens.
func helperTaskManager() {
	jm := rpc.NewServer(nil)
	rpc.Handle(jm, rpc.MethodCheckWorker, func(context.Context, *rpc.CheckWorker) (*rpc.WorkerGrant, error) {
		return &rpc.WorkerGrant{Builtin: true}, nil
	})
	if err := jm.Listen("127.0.0.1:0", nil); err != nil {
		fmt.Println(err)
		os.Exit(6)
	}
	tm, err := New(Config{ID: "tm-child", JobManager: jm.Addr(), Host: "127.0.0.1", Slots: 1,
		HeartbeatInterval: time.Second, HeartbeatTimeout: 2 * time.Second,
		WorkDir: os.Getenv(helperDirEnv), Self: self()}, nil, nil)
	if err != nil {
		fmt.Println(err)
		os.Exit(6)
	}
	go func() {
		if err := tm.Run(context.Background()); err != nil {
			fmt.Println(err)
			os.Exit(7)
		}
	}()
	<-tm.Ready()
	fmt.Printf("addr=%s\n", tm.Addr())
}

// self is the command that makes the test binary a builtin worker.
func self() []string { return []string{os.Args[0], "-test.run=^TestHelperProcess$", "--"} }

// fixture is a running TaskManager with a fake JobManager, which it
// registers with and which lets it start the workers of the jobs in
// grants (what start adds, as if the ResourceManager had given the job
// slots on it), and a fake JobMaster, which records WorkerExited.
type fixture struct {
	tm        *TaskManager
	jobMaster string
	exits     chan rpc.WorkerExited
	addrs     chan string // the addresses the TaskManager registered
	checks    chan rpc.CheckWorker

	grantsMu sync.Mutex
	grants   map[string]grant // by job ID

	mu      sync.Mutex
	stopped bool
	runErr  error
	cancel  context.CancelFunc
	done    chan error
}

func newFixture(t *testing.T, cfg Config) *fixture {
	t.Helper()
	checkNoLeaks(t)
	f := &fixture{exits: make(chan rpc.WorkerExited, 100), addrs: make(chan string, 100),
		checks: make(chan rpc.CheckWorker, 100), grants: map[string]grant{}}
	jm := rpc.NewServer(nil)
	rpc.Handle(jm, rpc.MethodRegisterTaskManager, func(_ context.Context, r *rpc.RegisterTaskManager) (*rpc.Registered, error) {
		select {
		case f.addrs <- r.Address:
		default:
		}
		return &rpc.Registered{}, nil
	})
	rpc.Handle(jm, rpc.MethodHeartbeat, func(context.Context, *rpc.Heartbeat) (*rpc.HeartbeatAck, error) {
		return &rpc.HeartbeatAck{}, nil
	})
	rpc.Handle(jm, rpc.MethodCheckWorker, func(_ context.Context, r *rpc.CheckWorker) (*rpc.WorkerGrant, error) {
		select {
		case f.checks <- *r:
		default:
		}
		f.grantsMu.Lock()
		g, ok := f.grants[r.JobID]
		f.grantsMu.Unlock()
		switch {
		case !ok || r.TaskManager != "tm-test":
			return nil, rpc.Errorf(rpc.CodeForbidden, "job %s holds no slots on TaskManager %s", r.JobID, r.TaskManager)
		case r.JobMaster != g.master:
			return nil, rpc.Errorf(rpc.CodeForbidden, "the JobMaster of job %s is not at %s", r.JobID, r.JobMaster)
		}
		return &g.WorkerGrant, nil
	})
	master := rpc.NewServer(nil)
	rpc.Handle(master, rpc.MethodWorkerExited, func(_ context.Context, r *rpc.WorkerExited) (*rpc.Empty, error) {
		f.exits <- *r
		return &rpc.Empty{}, nil
	})
	for _, s := range []*rpc.Server{jm, master} {
		if err := s.Listen("127.0.0.1:0", nil); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = s.Close(context.Background()) })
	}
	f.jobMaster = master.Addr()

	cfg.ID = "tm-test"
	cfg.JobManager = jm.Addr()
	cfg.Host = "127.0.0.1"
	cfg.Slots = 2
	cfg.HeartbeatInterval, cfg.HeartbeatTimeout = 50*time.Millisecond, 10*time.Second
	if cfg.Self == nil {
		cfg.Self = self()
	}
	tm, err := New(cfg, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	f.tm = tm
	ctx, cancel := context.WithCancel(context.Background())
	f.cancel, f.done = cancel, make(chan error, 1)
	go func() { f.done <- tm.Run(ctx) }()
	select {
	case <-tm.Ready():
	case err := <-f.done:
		t.Fatalf("Run: %v", err)
	}
	t.Cleanup(func() {
		if err := f.stop(); err != nil {
			t.Errorf("Run: %v", err)
		}
	})
	return f
}

// stop ends Run and returns its error; later calls return it again.
func (f *fixture) stop() error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if !f.stopped {
		f.stopped = true
		f.cancel()
		f.runErr = <-f.done
	}
	return f.runErr
}

// grant has the fake JobManager confirm workers of job that report to
// jobMaster and run g.
func (f *fixture) grant(job, jobMaster string, g rpc.WorkerGrant) {
	f.grantsMu.Lock()
	defer f.grantsMu.Unlock()
	f.grants[job] = grant{g, jobMaster}
}

// start grants the job of req what req asks for, its Env's configuration
// included, and asks the TaskManager to start its worker. An empty Env,
// or helperEnv=MODE, becomes the worker's program.EnvVar with that mode.
func (f *fixture) start(req *rpc.StartWorker) error {
	if req.JobMaster == "" {
		req.JobMaster = f.jobMaster
	}
	g := rpc.WorkerGrant{Builtin: req.Builtin, Program: req.Program, BlobAddress: req.BlobAddress,
		Args: req.Args, WorkingDir: req.WorkingDir}
	if mode, ok := strings.CutPrefix(req.Env, helperEnv+"="); ok || req.Env == "" {
		req.Env = workerEnv(req.JobID, "tm-test", req.JobMaster, mode)
	}
	// The job's configuration, which the worker gets, is the one its
	// entry asks for: the helper's mode.
	var p program.Process
	if value, ok := strings.CutPrefix(req.Env, program.EnvVar+"="); ok && json.Unmarshal([]byte(value), &p) == nil {
		g.Config = p.Config
	}
	f.grant(req.JobID, req.JobMaster, g)
	return f.call(req)
}

// call sends req as it is.
func (f *fixture) call(req *rpc.StartWorker) error {
	_, err := rpc.Call[rpc.StartWorker, rpc.Empty](context.Background(), &rpc.Client{}, f.tm.Addr(), rpc.MethodStartWorker, req)
	return err
}

// grant is what the fake JobManager confirms for a job, and the address
// of its JobMaster.
type grant struct {
	rpc.WorkerGrant
	master string
}

// workerEnv is the environment entry of the worker of job on tm, with
// the helper's mode.
func workerEnv(job, tm, jobMaster, mode string) string {
	p := &program.Process{Role: program.RoleWorker, JobID: job, TaskManager: tm, JobMaster: jobMaster}
	if mode != "" {
		p.Config = map[string]string{helperModeKey: mode}
	}
	return p.Env()
}

func (f *fixture) stopWorker(job string) error {
	_, err := rpc.Call[rpc.StopWorker, rpc.Empty](context.Background(), &rpc.Client{}, f.tm.Addr(), rpc.MethodStopWorker, &rpc.StopWorker{JobID: job})
	return err
}

// nextExit waits for the next WorkerExited.
func (f *fixture) nextExit(t *testing.T) rpc.WorkerExited {
	t.Helper()
	select {
	case e := <-f.exits:
		return e
	case <-time.After(30 * time.Second):
		t.Fatal("no WorkerExited")
		return rpc.WorkerExited{}
	}
}

// running returns the pid of job's worker process, 0 if it has none.
func (f *fixture) running(job string) int {
	f.tm.mu.Lock()
	w := f.tm.workers[job]
	f.tm.mu.Unlock()
	if w == nil {
		return 0
	}
	<-w.started
	if w.cmd == nil {
		return 0
	}
	return w.cmd.Process.Pid
}

var pidRE = regexp.MustCompile(`(?m)^pid=(\d+) `)

// waitLog waits until the log of job holds n pid lines and returns the
// pids and the log.
func waitLog(t *testing.T, dir, job string, n int) ([]int, string) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		data, _ := os.ReadFile(filepath.Join(dir, job+".log"))
		if m := pidRE.FindAllSubmatch(data, -1); len(m) >= n {
			var pids []int
			for _, s := range m {
				pid, _ := strconv.Atoi(string(s[1]))
				pids = append(pids, pid)
			}
			return pids, string(data)
		}
		if time.Now().After(deadline) {
			t.Fatalf("job %s logged %q, want %d pids", job, data, n)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// waitFor polls cond until it holds, failing after 30 seconds.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// alive reports whether pid runs: a zombie, which a parent that does not
// reap may leave, does not.
func alive(pid int) bool {
	if errors.Is(syscall.Kill(pid, 0), syscall.ESRCH) {
		return false
	}
	stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		_, noProc := os.Stat("/proc/self")
		return !os.IsNotExist(err) || noProc != nil
	}
	i := bytes.LastIndexByte(stat, ')')
	return i < 0 || i+2 >= len(stat) || stat[i+2] != 'Z'
}

// assertGone fails unless every pid has ended. A SIGKILL takes effect
// asynchronously, and an orphan is reaped by init, so it waits.
func assertGone(t *testing.T, pids ...int) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for _, pid := range pids {
		for alive(pid) {
			if time.Now().After(deadline) {
				t.Errorf("process %d still runs", pid)
				_ = syscall.Kill(pid, syscall.SIGKILL)
				break
			}
			time.Sleep(10 * time.Millisecond)
		}
	}
}

// TestStartWorker: a builtin worker runs the TaskManager's program with
// the request's arguments, environment entry and working directory, its
// output in <work dir>/<job>.log; a second StartWorker does not start
// another; StopWorker stops it with SIGTERM and is idempotent.
func TestStartWorker(t *testing.T) {
	work := t.TempDir()
	f := newFixture(t, Config{WorkDir: work})
	select {
	case got := <-f.addrs:
		if got != f.tm.Addr() {
			t.Errorf("registered address %q, want the RPC endpoint's %q", got, f.tm.Addr())
		}
	case <-time.After(30 * time.Second):
		t.Fatal("no registration")
	}
	if host, port, _ := net.SplitHostPort(f.tm.Addr()); host != "127.0.0.1" || port == "0" {
		t.Errorf("address %q, want 127.0.0.1 and the bound port", f.tm.Addr())
	}
	cwd := t.TempDir()
	req := &rpc.StartWorker{JobID: "job1", Builtin: true, Args: []string{"a", "b c"},
		Env: helperEnv + "=sleep", WorkingDir: cwd}
	if err := f.start(req); err != nil {
		t.Fatal(err)
	}
	pid := f.running("job1")
	pids, log := waitLog(t, work, "job1", 1)
	if pids[0] != pid {
		t.Fatalf("log names pid %d, the TaskManager runs %d", pids[0], pid)
	}
	if want := fmt.Sprintf("pid=%d mode=sleep argv0=%s args=a,b c cwd=%s\n", pid, os.Args[0], cwd); !strings.HasPrefix(log, want) {
		t.Errorf("log %q, want it to begin with %q", log, want)
	}
	if err := f.start(req); err != nil {
		t.Fatalf("second StartWorker: %v", err)
	}
	if got := f.running("job1"); got != pid {
		t.Fatalf("second StartWorker: the job's worker is %d, was %d", got, pid)
	}
	if err := f.stopWorker("job1"); err != nil {
		t.Fatal(err)
	}
	if alive(pid) {
		t.Errorf("worker %d runs after StopWorker returned", pid)
	}
	if f.running("job1") != 0 {
		t.Error("the job still has a worker after StopWorker")
	}
	if _, log := waitLog(t, work, "job1", 1); !strings.Contains(log, "terminated") {
		t.Errorf("the worker did not see SIGTERM: %q", log)
	}
	if err := f.stopWorker("job1"); err != nil {
		t.Errorf("StopWorker of a stopped worker: %v", err)
	}
	if err := f.stopWorker("nobody"); err != nil {
		t.Errorf("StopWorker of an unknown job: %v", err)
	}
	if err := f.stop(); err != nil {
		t.Fatal(err)
	}
	if n := len(f.exits); n != 0 {
		t.Errorf("%d WorkerExited for a worker that was stopped", n)
	}
	if _, err := os.Stat(filepath.Join(work, "job1.log")); err != nil {
		t.Errorf("a given work directory is kept: %v", err)
	}
}

// TestStartWorkerFromBlob: a job's program is fetched from the
// BlobServer once into <work dir>/blobs/<key>, executable, and shared by
// the workers of every job with that program, started concurrently or
// later. A working directory that does not exist is the TaskManager's.
func TestStartWorkerFromBlob(t *testing.T) {
	checkNoLeaks(t)
	blobs, err := blob.NewServer(t.TempDir(), 0, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := blobs.Listen("127.0.0.1:0", nil); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = blobs.Close(context.Background()) })
	bin, err := os.Open(os.Args[0])
	if err != nil {
		t.Fatal(err)
	}
	key, err := blobs.Put(bin)
	bin.Close()
	if err != nil {
		t.Fatal(err)
	}

	work := t.TempDir()
	// Self would not run a worker: only the blob does.
	f := newFixture(t, Config{WorkDir: work, Self: []string{filepath.Join(t.TempDir(), "missing")}})
	req := func(job string) *rpc.StartWorker {
		return &rpc.StartWorker{JobID: job, Program: string(key), BlobAddress: blobs.Addr(),
			Args: []string{"-test.run=^TestHelperProcess$", "--", job}, Env: helperEnv + "=sleep",
			WorkingDir: filepath.Join(t.TempDir(), "missing")}
	}
	errs := make(chan error, 2)
	for _, job := range []string{"a", "b"} {
		go func() { errs <- f.start(req(job)) }()
	}
	for range 2 {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
	cwd, _ := os.Getwd()
	for _, job := range []string{"a", "b"} {
		_, log := waitLog(t, work, job, 1)
		if want := fmt.Sprintf("argv0=%s args=%s cwd=%s\n", filepath.Join(work, "blobs", string(key)), job, cwd); !strings.Contains(log, want) {
			t.Errorf("log of %s %q lacks %q", job, log, want)
		}
	}
	path := filepath.Join(work, "blobs", string(key))
	fetched, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if fetched.Mode().Perm() != 0o755 {
		t.Errorf("program mode %v, want 0755", fetched.Mode().Perm())
	}
	if entries, _ := os.ReadDir(filepath.Join(work, "blobs")); len(entries) != 1 {
		t.Errorf("blobs directory holds %d entries, want the program only", len(entries))
	}
	if err := f.start(req("c")); err != nil {
		t.Fatal(err)
	}
	waitLog(t, work, "c", 1)
	if again, err := os.Stat(path); err != nil || !os.SameFile(fetched, again) {
		t.Errorf("the program was fetched again (%v)", err)
	}
	if err := f.stop(); err != nil {
		t.Fatal(err)
	}
	if n := len(f.exits); n != 0 {
		t.Errorf("%d WorkerExited for workers stopped with the TaskManager", n)
	}
}

// TestWorkerExitIsReported: a worker that exits on its own is reported
// to its JobMaster with its exit status and the end of its own output,
// and the job's next StartWorker starts a new one.
func TestWorkerExitIsReported(t *testing.T) {
	work := t.TempDir()
	f := newFixture(t, Config{WorkDir: work})
	req := &rpc.StartWorker{JobID: "job1", Builtin: true, Args: []string{"first"}, Env: helperEnv + "=exit"}
	if err := f.start(req); err != nil {
		t.Fatal(err)
	}
	e := f.nextExit(t)
	if e.JobID != "job1" || e.TaskManager != "tm-test" {
		t.Errorf("WorkerExited %+v, want job1 on tm-test", e)
	}
	if !strings.HasPrefix(e.Error, "exit status 3: ") || !strings.Contains(e.Error, "failing on purpose") ||
		!strings.Contains(e.Error, "args=first") {
		t.Errorf("WorkerExited error %q, want the exit status and the log's end", e.Error)
	}
	req.Args = []string{"second"}
	if err := f.start(req); err != nil {
		t.Fatal(err)
	}
	e = f.nextExit(t)
	if !strings.Contains(e.Error, "args=second") || strings.Contains(e.Error, "args=first") {
		t.Errorf("second WorkerExited error %q, want the second worker's output only", e.Error)
	}
	if pids, _ := waitLog(t, work, "job1", 2); pids[0] == pids[1] {
		t.Errorf("the second StartWorker did not start a new process: pids %v", pids)
	}
}

// TestWorkerExitWithUnreachableJobMaster: a JobMaster that cannot be told
// does not stop the TaskManager, and the job can get a new worker.
func TestWorkerExitWithUnreachableJobMaster(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	gone := ln.Addr().String()
	ln.Close()
	f := newFixture(t, Config{WorkDir: t.TempDir()})
	req := &rpc.StartWorker{JobID: "job1", Builtin: true, Env: helperEnv + "=exit", JobMaster: gone}
	if err := f.start(req); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the worker's end", func() bool { return f.running("job1") == 0 })
	req.Env = helperEnv + "=sleep"
	if err := f.start(req); err != nil {
		t.Fatal(err)
	}
	if f.running("job1") == 0 {
		t.Error("no new worker")
	}
}

// TestStopWorkerKillsStubbornWorker: a worker that ignores SIGTERM is
// killed after the grace period, with what it started; StopWorker
// returns once they are gone.
func TestStopWorkerKillsStubbornWorker(t *testing.T) {
	work := t.TempDir()
	f := newFixture(t, Config{WorkDir: work, StopGracePeriod: 100 * time.Millisecond})
	if err := f.start(&rpc.StartWorker{JobID: "job1", Builtin: true, Env: helperEnv + "=stubborn"}); err != nil {
		t.Fatal(err)
	}
	pids, _ := waitLog(t, work, "job1", 2)
	if err := f.stopWorker("job1"); err != nil {
		t.Fatal(err)
	}
	if alive(pids[0]) {
		t.Errorf("worker %d runs after StopWorker returned", pids[0])
	}
	assertGone(t, pids...)
	if err := f.stop(); err != nil {
		t.Fatal(err)
	}
	if n := len(f.exits); n != 0 {
		t.Errorf("%d WorkerExited for a worker that was stopped", n)
	}
}

// TestRunStopsEveryWorker: when Run's context ends, every worker is
// stopped, the stubborn ones and their children included, none is
// reported as exited, the RPC endpoint is closed and a temporary work
// directory removed before Run returns.
func TestRunStopsEveryWorker(t *testing.T) {
	f := newFixture(t, Config{StopGracePeriod: 100 * time.Millisecond})
	work := f.tm.workDir
	jobs := map[string]string{"j1": "sleep", "j2": "stubborn", "j3": "sleep"}
	for job, mode := range jobs {
		if err := f.start(&rpc.StartWorker{JobID: job, Builtin: true, Env: helperEnv + "=" + mode}); err != nil {
			t.Fatal(err)
		}
	}
	var pids []int
	for job, mode := range jobs {
		n := 1
		if mode == "stubborn" {
			n = 2
		}
		p, _ := waitLog(t, work, job, n)
		pids = append(pids, p...)
	}
	for _, pid := range pids {
		if !alive(pid) {
			t.Fatalf("process %d does not run before Run ends", pid)
		}
	}
	if err := f.stop(); err != nil {
		t.Fatal(err)
	}
	assertGone(t, pids...)
	if n := len(f.exits); n != 0 {
		t.Errorf("%d WorkerExited for workers stopped with the TaskManager", n)
	}
	if conn, err := net.Dial("tcp", f.tm.Addr()); err == nil {
		conn.Close()
		t.Errorf("%s still listening after Run returned", f.tm.Addr())
	}
	if _, err := os.Stat(work); !os.IsNotExist(err) {
		t.Errorf("temporary work directory %s not removed: %v", work, err)
	}
}

// TestStartWorkerErrors: malformed requests are bad requests; a program
// that cannot be fetched or run is an error naming it, and leaves the job
// without a worker.
func TestStartWorkerErrors(t *testing.T) {
	missing := filepath.Join(t.TempDir(), "missing")
	f := newFixture(t, Config{WorkDir: t.TempDir(), Self: []string{missing}})
	blobs, err := blob.NewServer(t.TempDir(), 0, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := blobs.Listen("127.0.0.1:0", nil); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = blobs.Close(context.Background()) })
	unknown := strings.Repeat("ab", 32)

	for _, req := range []*rpc.StartWorker{
		{JobID: "", Builtin: true},
		{JobID: "a/b", Builtin: true},
		{JobID: "..", Builtin: true},
		{JobID: "j", Builtin: true, Env: "novalue"},
		{JobID: "j", Program: "../../etc/passwd", BlobAddress: blobs.Addr()},
		{JobID: "j", Program: unknown},
	} {
		var re *rpc.Error
		if err := f.start(req); !errors.As(err, &re) || re.Code != rpc.CodeBadRequest || !strings.HasPrefix(re.Message, "taskmanager: ") {
			t.Errorf("StartWorker %+v: %v, want a bad request", req, err)
		}
	}
	for _, tc := range []struct {
		req  *rpc.StartWorker
		want []string
	}{
		{&rpc.StartWorker{JobID: "j", Builtin: true}, []string{missing, "no such file"}},
		{&rpc.StartWorker{JobID: "j", Program: unknown, BlobAddress: blobs.Addr()}, []string{unknown, "404"}},
	} {
		for range 2 { // the failure is not remembered
			err := f.start(tc.req)
			var re *rpc.Error
			if !errors.As(err, &re) || !strings.HasPrefix(re.Message, "taskmanager: ") {
				t.Errorf("StartWorker %+v: %v, want an error from the TaskManager", tc.req, err)
				continue
			}
			for _, w := range tc.want {
				if !strings.Contains(re.Message, w) {
					t.Errorf("StartWorker %+v: %q lacks %q", tc.req, re.Message, w)
				}
			}
			if f.running("j") != 0 {
				t.Error("a failed start left a worker")
			}
		}
	}
}

// TestStartWorkerRefusedUnlessAssigned: a TaskManager asks its JobManager
// before it starts a worker and starts nothing the JobManager does not
// confirm: a job with no slots on it (here a builtin "run /bin/sh" that
// would create a marker file), a JobMaster other than the job's, a
// program, arguments or working directory other than the submitted ones,
// or an environment entry that is not the worker's own. A confirmed
// start gets the TaskManager's hosts in the worker's environment.
func TestStartWorkerRefusedUnlessAssigned(t *testing.T) {
	work := t.TempDir()
	marker := filepath.Join(t.TempDir(), "ran")
	// Were it started, this worker would create the marker.
	f := newFixture(t, Config{WorkDir: work, Self: []string{"/bin/sh", "-c", "touch " + marker}})
	exploit := &rpc.StartWorker{JobID: "evil", Builtin: true, Args: []string{"run", "/bin/sh", "--", "-c", "touch " + marker},
		JobMaster: f.jobMaster, Env: workerEnv("evil", "tm-test", f.jobMaster, "")}
	forbidden := func(req *rpc.StartWorker, want string) {
		t.Helper()
		err := f.call(req)
		var re *rpc.Error
		if !errors.As(err, &re) || re.Code != rpc.CodeForbidden || !strings.Contains(re.Message, want) {
			t.Errorf("StartWorker %+v: %v, want a refusal saying %q", req, err, want)
		}
		if f.running(req.JobID) != 0 {
			t.Errorf("job %s: a refused StartWorker started a worker", req.JobID)
		}
		if _, err := os.Stat(filepath.Join(work, req.JobID+".log")); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("job %s: a refused StartWorker got as far as the worker's log (%v)", req.JobID, err)
		}
	}
	forbidden(exploit, "job evil holds no slots on TaskManager tm-test")
	select {
	case c := <-f.checks:
		if c != (rpc.CheckWorker{TaskManager: "tm-test", JobID: "evil", JobMaster: f.jobMaster}) {
			t.Errorf("the TaskManager asked %+v", c)
		}
	default:
		t.Error("the TaskManager did not ask the JobManager")
	}

	submitted := rpc.WorkerGrant{Builtin: true, Args: []string{"run", "wordcount", "--"}, WorkingDir: "/w"}
	f.grant("job1", f.jobMaster, submitted)
	req := func(change func(*rpc.StartWorker)) *rpc.StartWorker {
		r := &rpc.StartWorker{JobID: "job1", Builtin: true, Args: []string{"run", "wordcount", "--"}, WorkingDir: "/w",
			JobMaster: f.jobMaster, Env: workerEnv("job1", "tm-test", f.jobMaster, "")}
		change(r)
		return r
	}
	other := "127.0.0.1:1"
	forbidden(req(func(r *rpc.StartWorker) { r.JobMaster, r.Env = other, workerEnv("job1", "tm-test", other, "") }),
		"the JobMaster of job job1 is not at "+other)
	forbidden(req(func(r *rpc.StartWorker) { r.Args = exploit.Args }), "its arguments do not match the job's submission")
	forbidden(req(func(r *rpc.StartWorker) { r.WorkingDir = "/tmp" }), "its working directory does not match")
	forbidden(req(func(r *rpc.StartWorker) { r.Builtin, r.Program, r.BlobAddress = false, strings.Repeat("ab", 32), other }), "its program does not match")
	forbidden(req(func(r *rpc.StartWorker) { r.Env = workerEnv("job1", "tm-other", f.jobMaster, "") }), "on TaskManager tm-other")
	forbidden(req(func(r *rpc.StartWorker) { r.Env = workerEnv("job1", "tm-test", other, "") }), "for the JobMaster at "+other)
	forbidden(req(func(r *rpc.StartWorker) {
		r.Env = (&program.Process{Role: program.RoleLocal, JobID: "job1", TaskManager: "tm-test", JobMaster: f.jobMaster}).Env()
	}), `the role "local"`)
	var re *rpc.Error
	if err := f.call(req(func(r *rpc.StartWorker) { r.Env = "LD_PRELOAD=/tmp/evil.so" })); !errors.As(err, &re) || re.Code != rpc.CodeBadRequest {
		t.Errorf("an environment entry other than the worker's: %v, want a bad request", err)
	}

	// The worker's configuration is the job's: a request that points it
	// at other checkpoint storage, or other heartbeats, does not.
	submitted.Config = map[string]string{"state.checkpoints.dir": "file:///cluster/ck"}
	submitted.Fingerprint, submitted.HeartbeatIntervalMillis, submitted.HeartbeatTimeoutMillis = "fp", 1000, 5000
	f.grant("job1", f.jobMaster, submitted)
	evil := &program.Process{Role: program.RoleWorker, JobID: "job1", TaskManager: "tm-test", JobMaster: f.jobMaster,
		Config: map[string]string{"state.checkpoints.dir": "file:///attacker"}, Fingerprint: "other",
		HeartbeatInterval: time.Millisecond, HeartbeatTimeout: 2 * time.Millisecond, Host: "10.9.9.9", Dispatcher: other}
	checked, err := f.tm.authorize(t.Context(), req(func(r *rpc.StartWorker) { r.Env = evil.Env() }))
	if err != nil {
		t.Fatal(err)
	}
	var p program.Process
	if err := json.Unmarshal([]byte(strings.TrimPrefix(checked.Env, program.EnvVar+"=")), &p); err != nil {
		t.Fatal(err)
	}
	if p.Host != "127.0.0.1" || p.BindHost != "127.0.0.1" || p.JobID != "job1" || p.TaskManager != "tm-test" || p.Dispatcher != "" {
		t.Errorf("the worker's process %+v: want the job, this TaskManager and its hosts", p)
	}
	if p.Config["state.checkpoints.dir"] != "file:///cluster/ck" || len(p.Config) != 1 || p.Fingerprint != "fp" ||
		p.HeartbeatInterval != time.Second || p.HeartbeatTimeout != 5*time.Second {
		t.Errorf("the worker's process %+v: want the job's configuration, fingerprint and heartbeats", p)
	}
	if _, err := os.Stat(marker); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("a refused worker ran: %s exists", marker)
	}
}
