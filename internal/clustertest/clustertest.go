package clustertest

import (
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// Build builds the command of package pkg into a temporary directory and
// returns its path; with the race detector if the test binary has it.
func Build(t testing.TB, pkg string) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), filepath.Base(pkg))
	args := []string{"build", "-o", bin}
	if raceEnabled {
		args = append(args, "-race")
		// A race ends the process that has it at once, and so fails the
		// test, whichever process it is.
		t.Setenv("GORACE", "halt_on_error=1")
	}
	if out, err := exec.Command("go", append(args, pkg)...).CombinedOutput(); err != nil {
		t.Fatalf("go build %s: %v\n%s", pkg, err, out)
	}
	return bin
}

// Start starts a process whose output goes to the file log; it dies
// with the test binary and is stopped when the test ends. Its temporary
// directory (TMPDIR) is one of the test's, so that what it leaves there
// when it is killed goes with the test.
func Start(t testing.TB, log string, bin string, args ...string) *exec.Cmd {
	t.Helper()
	cmd := Command(bin, args...)
	cmd.Env = append(os.Environ(), "TMPDIR="+t.TempDir())
	f, err := os.Create(log)
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stdout, cmd.Stderr = f, f
	if err := cmd.Start(); err != nil {
		f.Close()
		t.Fatal(err)
	}
	t.Cleanup(func() {
		defer f.Close()
		if cmd.ProcessState != nil {
			return // the test waited for it
		}
		// SIGTERM first, so that the process removes what it made and
		// stops its own children; SIGKILL if it has not ended soon.
		_ = cmd.Process.Signal(syscall.SIGTERM)
		exited := make(chan struct{})
		go func() {
			_ = cmd.Wait()
			close(exited)
		}()
		select {
		case <-exited:
		case <-time.After(15 * time.Second):
			_ = cmd.Process.Kill()
			<-exited
		}
	})
	return cmd
}

// Go runs run in a goroutine, with a context that cancel cancels, and
// returns the channel that receives run's error once it returns. The
// test's cleanup cancels the context and waits for run to return, so that
// a test that stops half-way (t.Fatal) leaves nothing running into the
// next: for a component of a cluster (a JobManager, a TaskManager, a
// worker, a job) that a test runs in its own process.
func Go(t testing.TB, run func(ctx context.Context) error) (cancel context.CancelFunc, done <-chan error) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	result := make(chan error, 1)
	over := make(chan struct{})
	go func() {
		defer close(over)
		result <- run(ctx)
	}()
	t.Cleanup(func() {
		cancel()
		<-over
	})
	return cancel, result
}

// Command is exec.Command for a process that dies with the test binary,
// even if a timeout kills it.
func Command(bin string, args ...string) *exec.Cmd {
	cmd := exec.Command(bin, args...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	return cmd
}

// Cluster is a JobManager and the TaskManagers a test starts, each a
// runnel process on loopback.
type Cluster struct {
	t      testing.TB
	runnel string
	// JobManager is the JobManager's process.
	JobManager *exec.Cmd
	// RPCPort is the JobManager's RPC port, REST the REST API's address
	// (host:port, from the URL the JobManager logs).
	RPCPort, REST string
	// Logs is the directory of every process's log.
	Logs     string
	settings []string
}

// Defaults are the settings every process of a Cluster starts with,
// before the test's own: loopback addresses, free ports, two slots per
// TaskManager and heartbeats that notice a lost process within seconds.
var Defaults = []string{"-Djobmanager.rpc.address=127.0.0.1", "-Djobmanager.rpc.port=0", "-Drest.port=0",
	"-Drest.bind-address=127.0.0.1", "-Dblob.server.port=0", "-Dtaskmanager.numberOfTaskSlots=2",
	"-Dheartbeat.interval=100ms", "-Dheartbeat.timeout=2s"}

// New starts a JobManager of the runnel binary with Defaults and then
// settings (-Dkey=value, which win), which its TaskManagers get too, and
// returns once it listens.
func New(t testing.TB, runnel string, settings ...string) *Cluster {
	t.Helper()
	c := &Cluster{t: t, runnel: runnel, Logs: t.TempDir(), settings: append(append([]string{}, Defaults...), settings...)}
	log := filepath.Join(c.Logs, "jobmanager.log")
	c.JobManager = Start(t, log, runnel, append([]string{"jobmanager"}, c.settings...)...)
	listening := regexp.MustCompile(`"jobmanager listening" rpc=(\S+) rest=(\S+)`)
	deadline := time.Now().Add(time.Minute)
	for c.REST == "" {
		if time.Now().After(deadline) {
			t.Fatalf("the JobManager did not say where it listens:\n%s", readFile(log))
		}
		time.Sleep(20 * time.Millisecond)
		if m := listening.FindStringSubmatch(readFile(log)); m != nil {
			_, c.RPCPort, _ = net.SplitHostPort(m[1])
			u, err := url.Parse(m[2])
			if err != nil || u.Host == "" {
				t.Fatalf("the JobManager's REST API is at %q, not a URL", m[2])
			}
			c.REST = u.Host
		}
	}
	t.Cleanup(func() {
		if t.Failed() {
			c.dumpLogs()
		}
	})
	return c
}

// Attach returns the Cluster of a JobManager started otherwise (by
// `runnel cluster start`, say), whose REST API is at rest: for its
// REST and CLI methods; it has no JobManager process and starts no
// TaskManagers.
func Attach(t testing.TB, runnel, rest string) *Cluster {
	return &Cluster{t: t, runnel: runnel, REST: rest, Logs: t.TempDir()}
}

// TaskManager starts a TaskManager with resource ID id, the cluster's
// settings and then settings.
func (c *Cluster) TaskManager(id string, settings ...string) *exec.Cmd {
	args := append([]string{"taskmanager"}, c.settings...)
	args = append(args, "-Djobmanager.rpc.port="+c.RPCPort, "-Dtaskmanager.resource-id="+id,
		"-Dprocess.taskmanager.working-dir="+filepath.Join(c.Logs, id))
	return Start(c.t, filepath.Join(c.Logs, id+".log"), c.runnel, append(args, settings...)...)
}

// dumpLogs prints the logs of every process of the cluster.
func (c *Cluster) dumpLogs() {
	_ = filepath.Walk(c.Logs, func(path string, info os.FileInfo, err error) error {
		if err == nil && !info.IsDir() && filepath.Ext(path) == ".log" {
			c.t.Logf("==== %s\n%s", path, readFile(path))
		}
		return nil
	})
}

func readFile(path string) string {
	b, _ := os.ReadFile(path)
	return string(b)
}

// Get decodes the JSON answer of a path of the REST API into v.
func (c *Cluster) Get(path string, v any) {
	c.t.Helper()
	res, err := http.Get("http://" + c.REST + path)
	if err != nil {
		c.t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	if res.StatusCode != http.StatusOK {
		c.t.Fatalf("GET %s: %s: %s", path, res.Status, b)
	}
	if err := json.Unmarshal(b, v); err != nil {
		c.t.Fatalf("GET %s: %v: %s", path, err, b)
	}
}

// Until polls cond until it holds, failing the test after two minutes.
func (c *Cluster) Until(what string, cond func() bool) {
	c.t.Helper()
	deadline := time.Now().Add(2 * time.Minute)
	for !cond() {
		if time.Now().After(deadline) {
			c.t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// TaskManagers are the IDs and slot counts of the registered
// TaskManagers.
func (c *Cluster) TaskManagers() map[string]int {
	c.t.Helper()
	var body struct {
		TaskManagers []struct {
			ID          string `json:"id"`
			SlotsNumber int    `json:"slotsNumber"`
		} `json:"taskmanagers"`
	}
	c.Get("/taskmanagers", &body)
	tms := map[string]int{}
	for _, tm := range body.TaskManagers {
		tms[tm.ID] = tm.SlotsNumber
	}
	return tms
}

// CLI runs a runnel command (its name first) against the cluster's REST
// API and returns its output; it fails the test if the command fails.
func (c *Cluster) CLI(args ...string) string {
	c.t.Helper()
	cmd := Command(c.runnel, append(args[:1:1], append([]string{"--jobmanager", c.REST}, args[1:]...)...)...)
	out, err := cmd.CombinedOutput()
	if err != nil {
		c.t.Fatalf("runnel %v: %v\n%s", args, err, out)
	}
	return string(out)
}

// Submit runs `runnel run --jobmanager ... --detached ARGS` and returns
// the job's ID.
func (c *Cluster) Submit(args ...string) string {
	c.t.Helper()
	out := c.CLI(append([]string{"run", "--detached"}, args...)...)
	m := regexp.MustCompile(`JobID ([0-9a-f]+)`).FindStringSubmatch(out)
	if m == nil {
		c.t.Fatalf("runnel run said %q", out)
	}
	return m[1]
}

// Result waits for the job's end and returns its application status
// (SUCCEEDED, FAILED, CANCELED) and failure cause.
func (c *Cluster) Result(id string) (status, cause string) {
	c.t.Helper()
	var res struct {
		Status struct {
			ID string `json:"id"`
		} `json:"status"`
		Result struct {
			Status string `json:"application-status"`
			Cause  struct {
				StackTrace string `json:"stack-trace"`
			} `json:"failure-cause"`
		} `json:"job-execution-result"`
	}
	c.Until("the job's end", func() bool {
		c.Get("/jobs/"+id+"/execution-result", &res)
		return res.Status.ID == "COMPLETED"
	})
	return res.Result.Status, res.Result.Cause.StackTrace
}

// State is the job's state now (RUNNING, FINISHED, ...).
func (c *Cluster) State(id string) string {
	c.t.Helper()
	var job struct {
		State string `json:"state"`
	}
	c.Get("/jobs/"+id, &job)
	return job.State
}

// Buffer is a log destination safe for concurrent use: what a component
// under test logs to while the test reads it.
type Buffer struct {
	mu sync.Mutex
	b  strings.Builder
}

func (b *Buffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Write(p)
}

// String is what was written so far.
func (b *Buffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
}
