package main

import (
	"bytes"
	"cmp"
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/runnel-io/runnel/cluster/rest"
	"github.com/runnel-io/runnel/examples/jobs"
)

// jobsBackend is a cluster with a running job (run), a finished one
// (done) and a failed one (oops); savepoints and checkpoints succeed for
// run only.
type jobsBackend struct {
	mu        sync.Mutex
	jobs      []rest.Job
	cancelled []string
	stops     []string // "dir drain"
}

const (
	runStart  = 1_700_000_000_000
	doneStart = 1_600_000_000_000
	oopsStart = 1_650_000_000_000
)

func newJobsBackend() *jobsBackend {
	return &jobsBackend{jobs: []rest.Job{
		{ID: "run", Name: "wordcount", State: rest.StateRunning, StartTime: runStart, EndTime: -1, Duration: 65_400},
		{ID: "oops", Name: "failing", State: rest.StateFailed, StartTime: oopsStart, EndTime: oopsStart + 1000, Duration: 1000},
		{ID: "done", Name: "batch", State: rest.StateFinished, StartTime: doneStart, EndTime: doneStart + 500, Duration: 500},
	}}
}

func (b *jobsBackend) TaskManagers(context.Context) ([]rest.TaskManager, error) { return nil, nil }
func (b *jobsBackend) Config() map[string]string                                { return nil }

func (b *jobsBackend) Jobs(context.Context) ([]rest.Job, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return append([]rest.Job(nil), b.jobs...), nil
}

func (b *jobsBackend) find(jobID string) (rest.Job, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	for _, j := range b.jobs {
		if j.ID == jobID {
			return j, nil
		}
	}
	return rest.Job{}, fmt.Errorf("%w: no job %s", rest.ErrNotFound, jobID)
}

func (b *jobsBackend) Job(_ context.Context, jobID string) (rest.JobDetails, error) {
	j, err := b.find(jobID)
	if err != nil {
		return rest.JobDetails{}, err
	}
	d := rest.JobDetails{ID: j.ID, Name: j.Name, State: j.State, StartTime: j.StartTime, EndTime: j.EndTime, Duration: j.Duration}
	if j.ID == "run" {
		d.Vertices = []rest.JobVertex{
			{ID: "v1", Name: "Source: lines", Parallelism: 2, MaxParallelism: 128, Status: rest.StateRunning},
			{ID: "v2", Name: "count -> Sink: print", Parallelism: 4, MaxParallelism: 128, Status: rest.StateRunning},
		}
	}
	return d, nil
}

func (b *jobsBackend) JobExceptions(_ context.Context, jobID string) (rest.JobExceptions, error) {
	if _, err := b.find(jobID); err != nil {
		return rest.JobExceptions{}, err
	}
	if jobID != "oops" {
		return rest.JobExceptions{}, nil
	}
	return rest.JobExceptions{ExceptionHistory: rest.ExceptionHistory{Entries: []rest.Exception{
		{ExceptionName: "task failed", Stacktrace: "count (1/4): division by zero\ngoroutine 7 [running]:", Timestamp: oopsStart + 900},
		{ExceptionName: "task failed", Stacktrace: "an older failure", Timestamp: oopsStart + 100},
	}}}, nil
}

func (b *jobsBackend) JobMetrics(context.Context, string) ([]rest.Metric, error) { return nil, nil }

func (b *jobsBackend) JobCheckpoints(_ context.Context, jobID string) (rest.Checkpoints, error) {
	if _, err := b.find(jobID); err != nil {
		return rest.Checkpoints{}, err
	}
	if jobID != "run" {
		return rest.Checkpoints{}, nil
	}
	return rest.Checkpoints{
		Counts: rest.CheckpointCounts{Total: 12, Completed: 12},
		Latest: rest.LatestCheckpoints{
			Completed: &rest.CompletedCheckpoint{ID: 12, Status: "COMPLETED", ExternalPath: "/ck/run/chk-12"},
			Savepoint: &rest.CompletedCheckpoint{ID: 9, Status: "COMPLETED", IsSavepoint: true, ExternalPath: "/sp/savepoint-9"},
		},
	}, nil
}

func (b *jobsBackend) Result(_ context.Context, jobID string) (*rest.JobResult, error) {
	j, err := b.find(jobID)
	if err != nil || !rest.Terminal(j.State) {
		return nil, err
	}
	return &rest.JobResult{ID: jobID, ApplicationStatus: "SUCCEEDED"}, nil
}

func (b *jobsBackend) Submit(context.Context, rest.Submission, io.Reader) (string, error) {
	return "", errors.New("not supported")
}

// running fails unless the job runs.
func (b *jobsBackend) running(jobID string) error {
	j, err := b.find(jobID)
	if err == nil && j.State != rest.StateRunning {
		err = fmt.Errorf("%w: job %s is %s", rest.ErrConflict, jobID, j.State)
	}
	return err
}

func (b *jobsBackend) Cancel(_ context.Context, jobID string) error {
	if err := b.running(jobID); err != nil {
		return err
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	b.cancelled = append(b.cancelled, jobID)
	return nil
}

func (b *jobsBackend) TriggerSavepoint(_ context.Context, jobID, dir string, _ bool) (string, error) {
	if err := b.running(jobID); err != nil {
		return "", err
	}
	return strings.TrimSuffix(cmp.Or(dir, "/default"), "/") + "/savepoint-" + jobID, nil
}

func (b *jobsBackend) StopWithSavepoint(_ context.Context, jobID, dir string, drain bool) (string, error) {
	if err := b.running(jobID); err != nil {
		return "", err
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	b.stops = append(b.stops, fmt.Sprint(dir, " ", drain))
	return cmp.Or(dir, "/default") + "/savepoint-stop", nil
}

func (b *jobsBackend) TriggerCheckpoint(_ context.Context, jobID string) (int64, error) {
	if err := b.running(jobID); err != nil {
		return 0, err
	}
	return 13, nil
}

// restServer serves backend on a free port; it is closed, and checked to
// leave no goroutine behind, when the test ends.
func restServer(t *testing.T, backend *jobsBackend) string {
	t.Helper()
	return restServerWith(t, backend, rest.Options{AnySavepointDirectory: true}, nil)
}

// restServerWith is restServer with opts, over TLS if conf is not nil.
func restServerWith(t *testing.T, backend rest.Backend, opts rest.Options, conf *tls.Config) string {
	t.Helper()
	ignore := goleak.IgnoreCurrent()
	s := rest.NewServer(backend, "test", nil, opts)
	if err := s.Listen("127.0.0.1:0", conf); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := s.Close(ctx); err != nil {
			t.Errorf("closing the REST server: %v", err)
		}
		goleak.VerifyNone(t, ignore)
	})
	return s.Addr()
}

// executeOK runs the command line and fails the test if it fails.
func executeOK(t *testing.T, args ...string) string {
	t.Helper()
	stdout, stderr, err := execute(t, args...)
	if err != nil {
		t.Fatalf("runnel %s: %v (stderr %q)", strings.Join(args, " "), err, stderr)
	}
	return stdout
}

// decode decodes the JSON that a command printed.
func decode(t *testing.T, stdout string) any {
	t.Helper()
	var v any
	if err := json.Unmarshal([]byte(stdout), &v); err != nil {
		t.Fatalf("output %q is not JSON: %v", stdout, err)
	}
	return v
}

func at(ms int64) string { return time.UnixMilli(ms).Format("02.01.2006 15:04:05") }

func TestListJobs(t *testing.T) {
	addr := restServer(t, newJobsBackend())
	want := "------------------ Running/Restarting Jobs -------------------\n" +
		at(runStart) + " : run : wordcount (RUNNING)\n" +
		"--------------------------------------------------------------\n"
	if got := executeOK(t, "list", "-m", addr); got != want {
		t.Errorf("runnel list printed\n%s\nwant\n%s", got, want)
	}
	want += "---------------------- Terminated Jobs -----------------------\n" +
		at(doneStart) + " : done : batch (FINISHED)\n" +
		at(oopsStart) + " : oops : failing (FAILED)\n" +
		"--------------------------------------------------------------\n"
	if got := executeOK(t, "list", "--all", "--jobmanager", addr); got != want {
		t.Errorf("runnel list --all printed\n%s\nwant\n%s", got, want)
	}
	v := decode(t, executeOK(t, "list", "-m", addr, "-o", "json"))
	if want := fmt.Sprint([]any{map[string]any{"jid": "run", "name": "wordcount", "state": "RUNNING", "start-time": 1.7e12, "end-time": -1.0, "duration": 65400.0}}); fmt.Sprint(v) != want {
		t.Errorf("runnel list -o json printed %v, want %s", v, want)
	}
	v = decode(t, executeOK(t, "list", "-a", "-m", addr, "--output=json"))
	var ids []string
	for _, j := range v.([]any) {
		ids = append(ids, j.(map[string]any)["jid"].(string))
	}
	if strings.Join(ids, " ") != "done oops run" {
		t.Errorf("runnel list -a -o json listed %q, want done, oops and run by start time", ids)
	}
}

func TestListNoJobs(t *testing.T) {
	b := newJobsBackend()
	b.jobs = nil
	addr := restServer(t, b)
	if got := executeOK(t, "list", "-m", addr); got != "No running jobs.\n" {
		t.Errorf("runnel list printed %q", got)
	}
	if got := executeOK(t, "list", "-a", "-m", addr); got != "No running jobs.\nNo terminated jobs.\n" {
		t.Errorf("runnel list -a printed %q", got)
	}
	if got := executeOK(t, "list", "-m", addr, "-o", "json"); got != "[]\n" {
		t.Errorf("runnel list -o json printed %q, want []", got)
	}
}

func TestInfo(t *testing.T) {
	addr := restServer(t, newJobsBackend())
	got := executeOK(t, "info", "-m", addr, "run")
	want := "Job:               wordcount (run)\n" +
		"State:             RUNNING\n" +
		"Started:           " + time.UnixMilli(runStart).Format(time.DateTime) + "\n" +
		"Duration:          1m5s\n" +
		"Latest checkpoint: 12 at /ck/run/chk-12\n" +
		"Latest savepoint:  9 at /sp/savepoint-9\n" +
		"Last exception:    none\n" +
		"Tasks:\n" +
		"  PARALLELISM  STATUS   NAME\n" +
		"  2            RUNNING  Source: lines\n" +
		"  4            RUNNING  count -> Sink: print\n"
	if got != want {
		t.Errorf("runnel info run printed\n%s\nwant\n%s", got, want)
	}
	got = executeOK(t, "info", "-m", addr, "oops")
	for _, line := range []string{
		"State:             FAILED\n",
		"Ended:             " + time.UnixMilli(oopsStart+1000).Format(time.DateTime) + "\n",
		"Duration:          1s\n",
		"Latest checkpoint: none\n",
		"Last exception:    count (1/4): division by zero (" + time.UnixMilli(oopsStart+900).Format(time.DateTime) + ")\n",
		"Tasks:             none\n",
	} {
		if !strings.Contains(got, line) {
			t.Errorf("runnel info oops printed\n%s\nwithout %q", got, line)
		}
	}

	v := decode(t, executeOK(t, "info", "-m", addr, "-o", "json", "oops")).(map[string]any)
	if v["jid"] != "oops" || v["state"] != "FAILED" {
		t.Errorf("runnel info -o json: %v", v)
	}
	ex, _ := v["exceptions"].(map[string]any)["exceptionHistory"].(map[string]any)["entries"].([]any)
	if len(ex) != 2 {
		t.Errorf("runnel info -o json: exceptions %v", v["exceptions"])
	}
	if cp, _ := v["checkpoints"].(map[string]any); cp["counts"] == nil || cp["latest"] == nil {
		t.Errorf("runnel info -o json: checkpoints %v", v["checkpoints"])
	}
}

func TestCancel(t *testing.T) {
	b := newJobsBackend()
	addr := restServer(t, b)
	if got := executeOK(t, "cancel", "-m", addr, "run"); got != "Cancelling job run.\n" {
		t.Errorf("runnel cancel printed %q", got)
	}
	if got := executeOK(t, "cancel", "-m", addr, "-o", "json", "run"); got != "{\n  \"jobid\": \"run\",\n  \"status\": \"CANCELLING\"\n}\n" {
		t.Errorf("runnel cancel -o json printed %q", got)
	}
	b.mu.Lock()
	cancelled := b.cancelled
	b.mu.Unlock()
	if len(cancelled) != 2 {
		t.Errorf("cancelled %q", cancelled)
	}
	_, _, err := execute(t, "cancel", "-m", addr, "done")
	if err == nil || err.Error() != "runnel cancel: rest: PATCH /jobs/done?mode=cancel: 409: rest: conflict: job done is FINISHED" {
		t.Errorf("cancelling a finished job: %v", err)
	}
}

func TestStopWithSavepoint(t *testing.T) {
	b := newJobsBackend()
	addr := restServer(t, b)
	if got := executeOK(t, "stop", "-m", addr, "--savepointPath", "/sp", "--drain", "run"); got != "Savepoint completed. Path: /sp/savepoint-stop\n" {
		t.Errorf("runnel stop printed %q", got)
	}
	v := decode(t, executeOK(t, "stop", "-m", addr, "-o", "json", "run"))
	if fmt.Sprint(v) != "map[jobid:run location:/default/savepoint-stop]" {
		t.Errorf("runnel stop -o json printed %v", v)
	}
	b.mu.Lock()
	stops := b.stops
	b.mu.Unlock()
	if strings.Join(stops, ",") != "/sp true, false" {
		t.Errorf("stops %q", stops)
	}
	_, _, err := execute(t, "stop", "-m", addr, "oops")
	var oe *rest.OperationError
	if !errors.As(err, &oe) || err.Error() != "runnel stop: rest: stop of job oops failed: rest: conflict: job oops is FAILED" {
		t.Errorf("stopping a failed job: %v", err)
	}
}

func TestSavepoint(t *testing.T) {
	addr := restServer(t, newJobsBackend())
	if got := executeOK(t, "savepoint", "-m", addr, "run", "/sp/"); got != "Savepoint completed. Path: /sp/savepoint-run\n" {
		t.Errorf("runnel savepoint printed %q", got)
	}
	v := decode(t, executeOK(t, "savepoint", "run", "-m", addr, "-o", "json"))
	if fmt.Sprint(v) != "map[jobid:run location:/default/savepoint-run]" {
		t.Errorf("runnel savepoint -o json printed %v", v)
	}
	if _, _, err := execute(t, "savepoint", "-m", addr, "run", "/a", "/b"); !errors.As(err, new(jobs.UsageError)) {
		t.Errorf("runnel savepoint with three arguments: %v, want a usage error", err)
	}
}

func TestCheckpoint(t *testing.T) {
	addr := restServer(t, newJobsBackend())
	if got := executeOK(t, "checkpoint", "-m", addr, "run"); got != "Checkpoint 13 for job run completed.\n" {
		t.Errorf("runnel checkpoint printed %q", got)
	}
	v := decode(t, executeOK(t, "checkpoint", "-m", addr, "-o", "json", "run"))
	if fmt.Sprint(v) != "map[checkpointId:13 jobid:run]" {
		t.Errorf("runnel checkpoint -o json printed %v", v)
	}
}

func TestJobsCommandsUnknownJob(t *testing.T) {
	addr := restServer(t, newJobsBackend())
	for _, args := range [][]string{
		{"info", "nope"}, {"cancel", "nope"}, {"stop", "nope"}, {"savepoint", "nope"}, {"checkpoint", "nope"},
		{"info", "-o", "json", "nope"},
	} {
		stdout, _, err := execute(t, append(args, "-m", addr)...)
		var se *rest.StatusError
		if !errors.As(err, &se) || se.Code != 404 || !strings.HasPrefix(err.Error(), "runnel "+args[0]+": rest: ") ||
			!strings.HasSuffix(err.Error(), ": 404: rest: not found: no job nope") {
			t.Errorf("runnel %q: %v, want a 404 prefixed with the command", args, err)
		}
		if stdout != "" {
			t.Errorf("runnel %q printed %q", args, stdout)
		}
		var stderr bytes.Buffer
		if code := jobs.ExitCode(err, &stderr); code != 1 || !strings.Contains(stderr.String(), "runnel "+args[0]+": ") {
			t.Errorf("runnel %q: exit code %d, stderr %q", args, code, stderr.String())
		}
	}
}

func TestJobsCommandsUsageErrors(t *testing.T) {
	for _, args := range [][]string{
		{"list", "-o", "yaml"},
		{"info", "--output", "xml", "run"},
		{"info"},
		{"cancel", "a", "b"},
		{"stop", "--no-such-flag", "run"},
		{"checkpoint"},
	} {
		_, _, err := execute(t, append(args, "-m", "127.0.0.1:1")...)
		if !errors.As(err, new(jobs.UsageError)) {
			t.Errorf("runnel %q: %v, want a usage error", args, err)
			continue
		}
		if len(args) > 2 && (args[1] == "-o" || args[1] == "--output") {
			if want := fmt.Sprintf("runnel %s: --output %q: must be text or json", args[0], args[2]); err.Error() != want {
				t.Errorf("runnel %q: %q, want %q", args, err, want)
			}
		}
		if code := jobs.ExitCode(err, io.Discard); code != 2 {
			t.Errorf("runnel %q: exit code %d, want 2", args, code)
		}
	}
}

func TestJobsCommandsWithoutJobManager(t *testing.T) {
	_, _, err := execute(t, "list", "-m", "127.0.0.1:1")
	if err == nil || !strings.HasPrefix(err.Error(), "runnel list: rest: GET /jobs/overview: ") {
		t.Errorf("runnel list without a JobManager: %v", err)
	}
}
