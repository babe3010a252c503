package jobmanager

import (
	"bytes"
	"encoding/binary"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/runnel-io/runnel/cluster/rest"
	"github.com/runnel-io/runnel/config"
	"github.com/runnel-io/runnel/internal/clustertest"
)

// startJobManager runs a JobManager on loopback with free ports and
// builtins, and returns it once it listens.
func startJobManager(t *testing.T, builtins ...string) *JobManager {
	t.Helper()
	c := &config.Configuration{}
	for k, v := range map[string]string{
		"jobmanager.rpc.address": "127.0.0.1", "jobmanager.rpc.port": "0", "rest.port": "0",
		"heartbeat.interval": "50ms", "heartbeat.timeout": "1s",
	} {
		c.Set(k, v)
	}
	jm, err := New(c, Options{WorkDir: t.TempDir(), Builtins: builtins})
	if err != nil {
		t.Fatal(err)
	}
	_, done := clustertest.Go(t, jm.Run)
	select {
	case <-jm.Ready():
	case err := <-done:
		t.Fatalf("Run: %v", err)
	}
	return jm
}

// refused submits s (with program, unless nil) and returns the message of
// the 400 it must get; it fails the test if any job was created.
func refused(t *testing.T, jm *JobManager, s rest.Submission, program []byte) string {
	t.Helper()
	c := &rest.Client{Address: jm.rest.URL()}
	var body io.Reader
	if program != nil {
		body = bytes.NewReader(program)
	}
	_, err := c.Submit(t.Context(), s, body)
	var se *rest.StatusError
	if !errors.As(err, &se) || se.Code != http.StatusBadRequest {
		t.Fatalf("submission %+v: got %v, want a 400", s, err)
	}
	jobs, err := c.Jobs(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if len(jobs) != 0 {
		t.Errorf("a refused submission created jobs %v", jobs)
	}
	return se.Message
}

// TestSubmitRefusesScripts: an uploaded program that is not a compiled
// binary of this platform is refused with 400 before it is stored or run;
// the script would have created a marker file.
func TestSubmitRefusesScripts(t *testing.T) {
	jm := startJobManager(t, "wordcount")
	marker := filepath.Join(t.TempDir(), "ran")
	script := []byte("#!/bin/sh\ntouch " + marker + "\n")
	msg := refused(t, jm, rest.Submission{Name: "evil", WorkingDir: t.TempDir()}, script)
	if !strings.Contains(msg, "a job program must be a compiled runnel job binary") || !strings.Contains(msg, `"evil"`) {
		t.Errorf("the refusal says %q; want it to name the job and say what a job program must be", msg)
	}
	if _, err := os.Stat(marker); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("the uploaded script ran: %s exists (%v)", marker, err)
	}
	if entries, _ := os.ReadDir(filepath.Join(jm.opts.WorkDir, "blobs")); len(entries) != 0 {
		t.Errorf("a refused program was stored: %v", entries)
	}
	refused(t, jm, rest.Submission{Name: "empty"}, []byte{})
}

// TestCheckExecutable: this test binary passes; other files, ELF files
// that are no executables and executables of another machine do not.
func TestCheckExecutable(t *testing.T) {
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(self)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	head := make([]byte, headerSize)
	if _, err := f.ReadAt(head, 0); err != nil {
		t.Fatal(err)
	}
	if err := checkExecutable(head); err != nil {
		t.Fatalf("the test binary: %v", err)
	}
	if string(head[:4]) != "\x7fELF" {
		t.Skip("not an ELF platform")
	}
	object := append([]byte(nil), head...)
	binary.LittleEndian.PutUint16(object[16:], 1) // ET_REL
	other := append([]byte(nil), head...)
	binary.LittleEndian.PutUint16(other[18:], 0x1234)
	for name, h := range map[string][]byte{
		"script": []byte("#!/bin/sh\necho hi\n"), "empty": nil, "short": []byte("\x7fEL"),
		"object": object, "other machine": other,
	} {
		if err := checkExecutable(h); !errors.Is(err, errNotProgram) {
			t.Errorf("%s: got %v, want errNotProgram", name, err)
		}
	}
}

// TestSubmitBuiltinNamesABuiltin: a builtin submission must run one of
// the configured jobs as "run JOB [-- ARGS]"; anything else, such as
// "run /bin/sh", is refused with 400 naming what it asked for, and a
// JobManager with no builtins configured refuses every one.
func TestSubmitBuiltinNamesABuiltin(t *testing.T) {
	jm := startJobManager(t, "wordcount", "windowcount")
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"run", "/bin/sh", "--", "-c", "touch /tmp/x"}, `"/bin/sh" is not a builtin job; the builtin jobs are wordcount, windowcount`},
		{[]string{"run", "--jobmanager", "h:1", "wordcount"}, `"--jobmanager" is not a builtin job`},
		{[]string{"run", "wordcount", "-p", "2"}, "builtin job wordcount: its arguments must follow"},
		{[]string{"/bin/sh", "-c", "x"}, `"run JOB [-- ARGS]"`},
		{[]string{"run"}, `"run JOB [-- ARGS]"`},
		{nil, `"run JOB [-- ARGS]"`},
	} {
		msg := refused(t, jm, rest.Submission{Name: "b", Builtin: true, Args: tc.args}, nil)
		if !strings.Contains(msg, tc.want) {
			t.Errorf("args %q: refused with %q, want it to say %q", tc.args, msg, tc.want)
		}
	}

	none := startJobManager(t)
	msg := refused(t, none, rest.Submission{Name: "b", Builtin: true, Args: []string{"run", "wordcount", "--"}}, nil)
	if !strings.Contains(msg, "runs no builtin jobs") {
		t.Errorf("with no builtins: refused with %q", msg)
	}
}

// TestListensOnLoopbackByDefault: with no address configured (only free
// ports), every endpoint listens on loopback, the log says so and how to
// change it, and the "jobmanager listening" line gives addresses and a
// URL that reach the endpoints.
func TestListensOnLoopbackByDefault(t *testing.T) {
	c := &config.Configuration{}
	for k, v := range map[string]string{"jobmanager.rpc.port": "0", "rest.port": "0"} {
		c.Set(k, v)
	}
	var logs clustertest.Buffer
	jm, err := New(c, Options{WorkDir: t.TempDir(), Logger: slog.New(slog.NewTextHandler(&logs, nil))})
	if err != nil {
		t.Fatal(err)
	}
	_, done := clustertest.Go(t, jm.Run)
	select {
	case <-jm.Ready():
	case err := <-done:
		t.Fatalf("Run: %v", err)
	}
	for name, addr := range map[string]string{"rpc": jm.RPCAddr(), "rest": jm.RESTAddr(), "blob": jm.BlobAddr()} {
		host, _, _ := net.SplitHostPort(addr)
		if ip := net.ParseIP(host); ip == nil || !ip.IsLoopback() {
			t.Errorf("the %s endpoint listens on %s, want loopback", name, addr)
		}
	}
	log := logs.String()
	if !strings.Contains(log, "listening on loopback only; set rest.bind-address / jobmanager.bind-host / taskmanager.bind-host to 0.0.0.0") {
		t.Errorf("the log does not say that the JobManager listens on loopback only:\n%s", log)
	}
	m := regexp.MustCompile(`"jobmanager listening" rpc=(\S+) rest=(\S+) blob=(\S+)`).FindStringSubmatch(log)
	if m == nil {
		t.Fatalf("no listening line in\n%s", log)
	}
	_, rpcPort, _ := net.SplitHostPort(jm.RPCAddr())
	if m[1] != "localhost:"+rpcPort {
		t.Errorf("rpc=%s, want jobmanager.rpc.address and the bound port: localhost:%s", m[1], rpcPort)
	}
	if want := "http://" + jm.RESTAddr(); m[2] != want || jm.RESTURL() != want {
		t.Errorf("rest=%s, RESTURL %s; want %s", m[2], jm.RESTURL(), want)
	}
	res, err := http.Get(m[2] + "/overview")
	if err != nil {
		t.Fatalf("the logged REST URL does not reach the REST API: %v", err)
	}
	res.Body.Close()
	for _, addr := range []string{m[1], m[3]} {
		conn, err := net.Dial("tcp", addr)
		if err != nil {
			t.Errorf("the logged address %s does not reach the JobManager: %v", addr, err)
			continue
		}
		conn.Close()
	}
}

// TestAdvertise: a server bound to all interfaces is advertised at the
// configured host, or at loopback without one; its URL too.
func TestAdvertise(t *testing.T) {
	for _, tc := range []struct{ host, bound, want string }{
		{"jm.example", "[::]:6123", "jm.example:6123"},
		{"", "[::]:6123", "[::1]:6123"},
		{"0.0.0.0", "0.0.0.0:6123", "127.0.0.1:6123"},
		{"localhost", "127.0.0.1:6123", "localhost:6123"},
	} {
		if got := advertise(tc.host, tc.bound); got != tc.want {
			t.Errorf("advertise(%q, %q) = %q, want %q", tc.host, tc.bound, got, tc.want)
		}
	}
	if got := advertiseURL("http://127.0.0.1:8081", "jm.example", "0.0.0.0:8081"); got != "http://jm.example:8081" {
		t.Errorf("all interfaces: %s", got)
	}
	if got := advertiseURL("https://127.0.0.1:8081", "jm.example", "127.0.0.1:8081"); got != "https://127.0.0.1:8081" {
		t.Errorf("loopback: %s", got)
	}
}
