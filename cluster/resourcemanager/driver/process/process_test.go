//go:build unix

package process_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
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

	rm "github.com/runnel-io/runnel/cluster/resourcemanager"
	"github.com/runnel-io/runnel/cluster/resourcemanager/driver/process"
)

// The test binary is its own TaskManager: started with
// -test.run=^TestHelperProcess$ and RUNNEL_TEST_HELPER=1 it runs
// TestHelperProcess, which plays a TaskManager chosen by its worker ID:
//
//	ok-*        prints its pid, arguments and worker ID, and exits 0 on SIGTERM
//	fail-*      exits 3 at once
//	stubborn-*  ignores SIGTERM and starts a child (in its process group)
//	            that ignores it too; only SIGKILL stops them
//
// No fake binary is needed, and what the driver starts is a real process.
const helperEnv = "RUNNEL_TEST_HELPER"

func TestHelperProcess(t *testing.T) {
	switch os.Getenv(helperEnv) {
	case "1":
	case "child":
		signal.Ignore(syscall.SIGTERM)
		fmt.Printf("child pid=%d\n", os.Getpid())
		for {
			time.Sleep(time.Hour)
		}
	default:
		return
	}
	id := os.Getenv(process.EnvWorkerID)
	args := os.Args[slices.Index(os.Args, "--")+1:]
	switch {
	case strings.HasPrefix(id, "fail-"):
		fmt.Println("failing")
		os.Exit(3)
	case strings.HasPrefix(id, "stubborn-"):
		signal.Ignore(syscall.SIGTERM)
		child := exec.Command(os.Args[0], "-test.run=^TestHelperProcess$")
		child.Env = append(os.Environ(), helperEnv+"=child")
		child.Stdout, child.Stderr = os.Stdout, os.Stderr
		if err := child.Start(); err != nil {
			fmt.Println("child:", err)
			os.Exit(4)
		}
		fmt.Printf("pid=%d worker=%s args=%s\n", os.Getpid(), id, strings.Join(args, " "))
		for {
			time.Sleep(time.Hour)
		}
	}
	terms := make(chan os.Signal, 1)
	signal.Notify(terms, syscall.SIGTERM)
	fmt.Printf("pid=%d worker=%s args=%s\n", os.Getpid(), id, strings.Join(args, " "))
	<-terms
	fmt.Println("terminated")
	os.Exit(0)
}

// events records what the driver reports; it never blocks.
type events struct {
	mu  sync.Mutex
	log []string
	ch  chan string
}

func newEvents() *events { return &events{ch: make(chan string, 100)} }

func (e *events) WorkerStarted(id rm.WorkerID) { e.add("started " + string(id)) }
func (e *events) WorkerFailed(id rm.WorkerID, err error) {
	if err == nil || !errors.Is(err, process.ErrExited) {
		err = fmt.Errorf("BAD ERROR %v", err)
	}
	e.add(fmt.Sprintf("failed %s: %v", id, err))
}

func (e *events) add(s string) {
	e.mu.Lock()
	e.log = append(e.log, s)
	e.mu.Unlock()
	select {
	case e.ch <- s:
	default:
	}
}

func (e *events) all() []string {
	e.mu.Lock()
	defer e.mu.Unlock()
	return slices.Clone(e.log)
}

// next waits for the next event.
func (e *events) next(t *testing.T) string {
	t.Helper()
	select {
	case s := <-e.ch:
		return s
	case <-time.After(30 * time.Second):
		t.Fatalf("no event; so far: %q", e.all())
		return ""
	}
}

func newDriver(t *testing.T, grace time.Duration) (*process.Driver, *events, string) {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "logs")
	d, err := process.New(process.Config{
		Command: []string{os.Args[0], "-test.run=^TestHelperProcess$", "--", "taskmanager", "-Djobmanager.rpc.address=localhost:6123"},
		// A race-enabled binary sleeps a second on exit unless told not to.
		Env:         []string{helperEnv + "=1", "GORACE=atexit_sleep_ms=0"},
		LogDir:      dir,
		GracePeriod: grace,
	})
	if err != nil {
		t.Fatal(err)
	}
	ev := newEvents()
	if err := d.Start(context.Background(), ev); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { d.Close() })
	return d, ev, dir
}

var pidRE = regexp.MustCompile(`(?m)pid=(\d+)`)

// waitLog waits until the worker's log holds n pids and returns them and
// the log.
func waitLog(t *testing.T, dir string, id rm.WorkerID, n int) ([]int, string) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		data, _ := os.ReadFile(filepath.Join(dir, string(id)+".log"))
		if m := pidRE.FindAllSubmatch(data, -1); len(m) >= n {
			var pids []int
			for _, s := range m {
				pid, _ := strconv.Atoi(string(s[1]))
				pids = append(pids, pid)
			}
			return pids, string(data)
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s logged %q, want %d pids", id, data, n)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// alive reports whether pid runs (a zombie waiting for a parent that
// does not reap it does not run).
func alive(pid int) bool {
	if syscall.Kill(pid, 0) != nil {
		return false
	}
	stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return !os.IsNotExist(err) || !dirExists("/proc/self")
	}
	i := bytes.LastIndexByte(stat, ')')
	return i < 0 || i+2 >= len(stat) || stat[i+2] != 'Z'
}

func dirExists(p string) bool {
	_, err := os.Stat(p)
	return err == nil
}

// assertGone fails unless every pid has ended; a SIGKILL takes effect
// asynchronously, so it waits a little.
func assertGone(t *testing.T, pids ...int) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for _, pid := range pids {
		for alive(pid) {
			if time.Now().After(deadline) {
				t.Errorf("process %d still runs", pid)
				syscall.Kill(pid, syscall.SIGKILL)
				break
			}
			time.Sleep(10 * time.Millisecond)
		}
	}
}

func TestWorkerLifecycle(t *testing.T) {
	d, ev, dir := newDriver(t, 10*time.Second)
	ctx := context.Background()
	if !d.CanStartWorkers() {
		t.Fatal("CanStartWorkers is false")
	}
	if err := d.RequestWorker(ctx, "ok-1", rm.WorkerSpec{Slots: 2}); err != nil {
		t.Fatal(err)
	}
	if got := ev.next(t); got != "started ok-1" {
		t.Fatalf("first event %q", got)
	}
	pids, log := waitLog(t, dir, "ok-1", 1)
	// The command line, then the worker's ID and slots as -D flags, and
	// the ID in the environment.
	want := fmt.Sprintf("worker=ok-1 args=taskmanager -Djobmanager.rpc.address=localhost:6123 -D%s=ok-1 -D%s=2",
		process.KeyResourceID, process.KeySlots)
	if !strings.Contains(log, want) {
		t.Errorf("log %q lacks %q", log, want)
	}
	if err := d.RequestWorker(ctx, "ok-1", rm.WorkerSpec{Slots: 2}); !errors.Is(err, rm.ErrDuplicateWorker) {
		t.Errorf("second RequestWorker: %v, want ErrDuplicateWorker", err)
	}
	if err := d.ReleaseWorker(ctx, "ok-1"); err != nil {
		t.Fatal(err)
	}
	if got := ev.next(t); got != "failed ok-1: resourcemanager: worker process exited: worker ok-1: exit status 0" {
		t.Fatalf("after release: %q", got)
	}
	assertGone(t, pids...)
	if _, log := waitLog(t, dir, "ok-1", 1); !strings.Contains(log, "terminated") {
		t.Errorf("the worker did not see SIGTERM: %q", log)
	}
	// Once reported, the worker is unknown, and its ID free again.
	if err := d.ReleaseWorker(ctx, "ok-1"); !errors.Is(err, rm.ErrUnknownWorker) {
		t.Errorf("ReleaseWorker of an ended worker: %v, want ErrUnknownWorker", err)
	}
	if err := d.Close(); err != nil {
		t.Fatal(err)
	}
	if got := ev.all(); len(got) != 2 {
		t.Errorf("events %q, want started and failed", got)
	}
}

func TestWorkerExitIsReported(t *testing.T) {
	d, ev, _ := newDriver(t, time.Second)
	if err := d.RequestWorker(context.Background(), "fail-1", rm.WorkerSpec{Slots: 1}); err != nil {
		t.Fatal(err)
	}
	if got := ev.next(t); got != "started fail-1" {
		t.Fatalf("first event %q", got)
	}
	if got := ev.next(t); got != "failed fail-1: resourcemanager: worker process exited: worker fail-1: exit status 3" {
		t.Fatalf("second event %q", got)
	}
	d.Close()
}

// TestCloseLeavesNoProcess: Close stops every worker, the ones that
// ignore SIGTERM and what they started included, and returns only once
// each end was reported.
func TestCloseLeavesNoProcess(t *testing.T) {
	d, ev, dir := newDriver(t, 300*time.Millisecond)
	ctx := context.Background()
	for _, id := range []rm.WorkerID{"ok-1", "stubborn-1", "ok-2"} {
		if err := d.RequestWorker(ctx, id, rm.WorkerSpec{Slots: 1}); err != nil {
			t.Fatal(err)
		}
	}
	var pids []int
	for _, w := range []struct {
		id rm.WorkerID
		n  int
	}{{"ok-1", 1}, {"stubborn-1", 2}, {"ok-2", 1}} {
		p, _ := waitLog(t, dir, w.id, w.n)
		pids = append(pids, p...)
	}
	for _, pid := range pids {
		if !alive(pid) {
			t.Fatalf("process %d is not running before Close", pid)
		}
	}
	start := time.Now()
	if err := d.Close(); err != nil {
		t.Fatal(err)
	}
	t.Logf("Close took %v", time.Since(start))
	got := ev.all()
	slices.Sort(got)
	want := []string{
		"failed ok-1: resourcemanager: worker process exited: worker ok-1: exit status 0",
		"failed ok-2: resourcemanager: worker process exited: worker ok-2: exit status 0",
		"failed stubborn-1: resourcemanager: worker process exited: worker stubborn-1: signal: killed",
		"started ok-1", "started ok-2", "started stubborn-1",
	}
	if !slices.Equal(got, want) {
		t.Errorf("events after Close:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	assertGone(t, pids...)
	if err := d.RequestWorker(ctx, "ok-3", rm.WorkerSpec{Slots: 1}); !errors.Is(err, rm.ErrDriverClosed) {
		t.Errorf("RequestWorker after Close: %v, want ErrDriverClosed", err)
	}
	if err := d.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
}

func TestRequestErrors(t *testing.T) {
	ctx := context.Background()
	if _, err := process.New(process.Config{LogDir: t.TempDir()}); err == nil {
		t.Error("New without a command")
	}
	if _, err := process.New(process.Config{Command: []string{"x"}}); err == nil {
		t.Error("New without a log directory")
	}
	d, err := process.New(process.Config{Command: []string{filepath.Join(t.TempDir(), "missing")}, LogDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	if err := d.RequestWorker(ctx, "w", rm.WorkerSpec{Slots: 1}); !errors.Is(err, rm.ErrDriverNotStarted) {
		t.Errorf("RequestWorker before Start: %v, want ErrDriverNotStarted", err)
	}
	ev := newEvents()
	if err := d.Start(ctx, ev); err != nil {
		t.Fatal(err)
	}
	// A command that cannot start is an error and no event.
	if err := d.RequestWorker(ctx, "w", rm.WorkerSpec{Slots: 1}); err == nil || !errors.Is(err, os.ErrNotExist) ||
		!strings.HasPrefix(err.Error(), "resourcemanager: ") {
		t.Errorf("RequestWorker of a missing program: %v", err)
	}
	for _, id := range []rm.WorkerID{"", "..", "a/b"} {
		if err := d.RequestWorker(ctx, id, rm.WorkerSpec{Slots: 1}); err == nil {
			t.Errorf("RequestWorker(%q) accepted", id)
		}
	}
	if err := d.RequestWorker(ctx, "w", rm.WorkerSpec{}); err == nil {
		t.Error("RequestWorker without slots accepted")
	}
	if err := d.ReleaseWorker(ctx, "nobody"); !errors.Is(err, rm.ErrUnknownWorker) {
		t.Errorf("ReleaseWorker of an unknown worker: %v, want ErrUnknownWorker", err)
	}
	d.Close()
	if got := ev.all(); len(got) != 0 {
		t.Errorf("events %q, want none", got)
	}
	cancelled, cancel := context.WithCancel(ctx)
	cancel()
	d2, _ := process.New(process.Config{Command: []string{"x"}, LogDir: t.TempDir()})
	if err := d2.Start(cancelled, ev); !errors.Is(err, context.Canceled) {
		t.Errorf("Start with a done context: %v", err)
	}
}
