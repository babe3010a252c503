package main

import (
	"context"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/runnel-io/runnel/cluster/rest"
	"github.com/runnel-io/runnel/cluster/security"
	"github.com/runnel-io/runnel/internal/clustertest"
)

// tlsFiles are the certificates of a test: ca.pem and localhost's, and a
// foreign CA's.
type tlsFiles struct {
	ca, cert, key string
	foreignCA     string
}

func newTLSFiles(t *testing.T) tlsFiles {
	t.Helper()
	certs, err := security.CreateCertificates(t.TempDir(), []string{"localhost"})
	if err != nil {
		t.Fatal(err)
	}
	foreign, err := security.CreateCertificates(t.TempDir(), []string{"localhost"})
	if err != nil {
		t.Fatal(err)
	}
	return tlsFiles{ca: certs.CA, cert: certs.Hosts[0].Cert, key: certs.Hosts[0].Key, foreignCA: foreign.CA}
}

// localhost is addr ("127.0.0.1:port") by the name its certificate holds.
func localhost(addr string) string {
	_, port, _ := net.SplitHostPort(addr)
	return net.JoinHostPort("localhost", port)
}

func TestListOverTLSWithClientCertificates(t *testing.T) {
	f := newTLSFiles(t)
	conf, err := security.REST{Enabled: true, Cert: f.cert, Key: f.key, Trust: f.ca, ClientAuth: true}.Server()
	if err != nil {
		t.Fatal(err)
	}
	addr := localhost(restServerWith(t, newJobsBackend(), rest.Options{}, conf))
	want := "19.11.2023 ... : run : wordcount (RUNNING)"
	check := func(stdout string) {
		t.Helper()
		if !strings.Contains(stdout, ": run : wordcount (RUNNING)") {
			t.Errorf("runnel list said %q, want %q", stdout, want)
		}
	}

	enabled := []string{"-D", "security.ssl.rest.enabled=true"}
	withTrust := append(enabled[:2:2], "-D", "security.ssl.rest.trust="+f.ca)
	withCert := append(withTrust[:4:4], "-D", "security.ssl.rest.cert="+f.cert, "-D", "security.ssl.rest.key="+f.key)
	check(executeOK(t, append([]string{"list", "--jobmanager", addr}, withCert...)...))

	// The same by a configuration file, and by an https:// address.
	file := filepath.Join(t.TempDir(), "conf.yaml")
	yaml := fmt.Sprintf("security.ssl.rest:\n  trust: %s\n  cert: %s\n  key: %s\n", f.ca, f.cert, f.key)
	if err := os.WriteFile(file, []byte(yaml), 0o644); err != nil {
		t.Fatal(err)
	}
	check(executeOK(t, "list", "--jobmanager", "https://"+addr, "--config", file))

	for _, c := range []struct {
		name string
		args []string
		want string
	}{
		{"without a client certificate", withTrust,
			"runnel list: rest: GET /jobs/overview: the JobManager requires a client certificate (security.ssl.rest.authentication-enabled): set security.ssl.rest.cert and security.ssl.rest.key"},
		{"without trusting the CA", append(enabled[:2:2], "-D", "security.ssl.rest.cert="+f.cert, "-D", "security.ssl.rest.key="+f.key),
			"the JobManager's certificate is not trusted: set security.ssl.rest.trust to the CA certificate that signed it"},
		{"trusting another CA", append(enabled[:2:2], "-D", "security.ssl.rest.trust="+f.foreignCA, "-D", "security.ssl.rest.cert="+f.cert, "-D", "security.ssl.rest.key="+f.key),
			"the JobManager's certificate is not trusted"},
		{"over plain HTTP", nil, "runnel list: rest: GET /jobs/overview: 400"},
		{"a missing trust file", append(enabled[:2:2], "-D", "security.ssl.rest.trust=/nonexistent/ca.pem"),
			"runnel list: rest: security: security.ssl.rest.trust: open /nonexistent/ca.pem"},
	} {
		_, _, err := execute(t, append([]string{"list", "--jobmanager", addr}, c.args...)...)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: %v, want an error with %q", c.name, err, c.want)
		}
	}
}

func TestListWithBearerToken(t *testing.T) {
	const token = "tok-1234567890"
	file := filepath.Join(t.TempDir(), "token")
	if err := os.WriteFile(file, []byte(token+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	addr := restServerWith(t, newJobsBackend(), rest.Options{Token: token}, nil)
	out := executeOK(t, "list", "--jobmanager", addr, "-D", "rest.authentication.token-file="+file)
	if !strings.Contains(out, ": run : wordcount (RUNNING)") {
		t.Errorf("runnel list said %q", out)
	}
	_, _, err := execute(t, "list", "--jobmanager", addr)
	want := "runnel list: rest: GET /jobs/overview: 401: rest: no bearer token: this REST API requires the header Authorization: Bearer <token> (rest.authentication.token-file)"
	if err == nil || err.Error() != want {
		t.Errorf("without the token: %v, want %q", err, want)
	}
	other := filepath.Join(t.TempDir(), "other")
	if err := os.WriteFile(other, []byte("nope\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	_, _, err = execute(t, "cancel", "--jobmanager", addr, "-D", "rest.authentication.token-file="+other, "run")
	if err == nil || !strings.Contains(err.Error(), "401: rest: wrong bearer token (rest.authentication.token-file)") || strings.Contains(err.Error(), token) {
		t.Errorf("with a wrong token: %v, want a 401 saying so", err)
	}
	_, _, err = execute(t, "list", "--jobmanager", addr, "-D", "rest.authentication.token-file=/nonexistent")
	if err == nil || !strings.Contains(err.Error(), "rest.authentication.token-file: open /nonexistent") {
		t.Errorf("with a missing token file: %v", err)
	}
}

func TestSavepointDirectoryRefused(t *testing.T) {
	dir := t.TempDir()
	addr := restServerWith(t, newJobsBackend(), rest.Options{SavepointsDir: dir}, nil)
	out := executeOK(t, "savepoint", "--jobmanager", addr, "run", filepath.Join(dir, "mine"))
	if want := "Savepoint completed. Path: " + filepath.Join(dir, "mine") + "/savepoint-run\n"; out != want {
		t.Errorf("inside state.savepoints.dir: %q, want %q", out, want)
	}
	_, _, err := execute(t, "stop", "--jobmanager", addr, "--savepointPath", filepath.Join(dir, "..", "elsewhere"), "run")
	if err == nil || !strings.Contains(err.Error(), "403") || !strings.Contains(err.Error(), "rest.savepoint.allow-any-directory") {
		t.Errorf("outside state.savepoints.dir: %v, want a 403 naming rest.savepoint.allow-any-directory", err)
	}
}

// submitBackend accepts submissions and records them.
type submitBackend struct {
	*jobsBackend
	mu   sync.Mutex
	subs []rest.Submission
}

func (b *submitBackend) Submit(_ context.Context, s rest.Submission, program io.Reader) (string, error) {
	if program != nil {
		_, _ = io.Copy(io.Discard, program)
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	b.subs = append(b.subs, s)
	return fmt.Sprintf("%032x", len(b.subs)), nil
}

// TestRunSubmitsOverTLSWithToken runs `runnel run --jobmanager https://...`
// as a real command: its client process submits the job with the client
// certificate and the token of the command line's configuration.
func TestRunSubmitsOverTLSWithToken(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the binary")
	}
	bin := clustertest.Build(t, "github.com/runnel-io/runnel/cmd/runnel")
	f := newTLSFiles(t)
	conf, err := security.REST{Enabled: true, Cert: f.cert, Key: f.key, Trust: f.ca, ClientAuth: true}.Server()
	if err != nil {
		t.Fatal(err)
	}
	const token = "run-token-42"
	tokenFile := filepath.Join(t.TempDir(), "token")
	if err := os.WriteFile(tokenFile, []byte(token), 0o600); err != nil {
		t.Fatal(err)
	}
	backend := &submitBackend{jobsBackend: newJobsBackend()}
	addr := localhost(restServerWith(t, backend, rest.Options{Token: token}, conf))
	in := filepath.Join(t.TempDir(), "in.txt")
	if err := os.WriteFile(in, []byte("a b a\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	args := []string{"run", "--jobmanager", "https://" + addr, "--detached",
		"-D", "security.ssl.rest.trust=" + f.ca, "-D", "security.ssl.rest.cert=" + f.cert, "-D", "security.ssl.rest.key=" + f.key}
	job := []string{"wordcount", "--input", in, "--output", filepath.Join(t.TempDir(), "out")}
	out, err := clustertest.Command(bin, append(args, append([]string{"-D", "rest.authentication.token-file=" + tokenFile}, job...)...)...).CombinedOutput()
	if err != nil || !strings.Contains(string(out), "Job has been submitted with JobID "+fmt.Sprintf("%032x", 1)) {
		t.Fatalf("runnel run: %v\n%s", err, out)
	}
	backend.mu.Lock()
	subs := append([]rest.Submission(nil), backend.subs...)
	backend.mu.Unlock()
	if len(subs) != 1 || !subs[0].Builtin {
		t.Fatalf("submissions %+v, want the builtin wordcount", subs)
	}
	for k, v := range subs[0].Config {
		if strings.Contains(v, token) || strings.HasPrefix(k, "security.") || strings.HasPrefix(k, "rest.") {
			t.Errorf("the job's configuration holds %s=%s", k, v)
		}
	}

	// Without the token, the client process says why it failed.
	out, err = clustertest.Command(bin, append(args, job...)...).CombinedOutput()
	if err == nil || !strings.Contains(string(out), "401") || !strings.Contains(string(out), "rest.authentication.token-file") {
		t.Errorf("runnel run without the token: %v\n%s", err, out)
	}
}

// TestClusterRESTSecurity runs a JobManager whose REST API is served over
// HTTPS, asks for client certificates and a bearer token, and refuses
// cancellations: a job runs to its end through it, with the CLI
// configured by one file.
func TestClusterRESTSecurity(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the binary")
	}
	bin := clustertest.Build(t, "github.com/runnel-io/runnel/cmd/runnel")
	f := newTLSFiles(t)
	dir := t.TempDir()
	tokenFile := filepath.Join(dir, "token")
	if err := os.WriteFile(tokenFile, []byte("cluster-token\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(dir, "conf.yaml")
	yaml := fmt.Sprintf("security.ssl.rest.enabled: true\nsecurity.ssl.rest.trust: %s\nsecurity.ssl.rest.cert: %s\n"+
		"security.ssl.rest.key: %s\nrest.authentication.token-file: %s\n", f.ca, f.cert, f.key, tokenFile)
	if err := os.WriteFile(file, []byte(yaml), 0o644); err != nil {
		t.Fatal(err)
	}
	c := clustertest.New(t, bin, "--config", file, "-Dsecurity.ssl.rest.authentication-enabled=true", "-Dweb.cancel.enable=false")
	c.TaskManager("tm-1")
	jm := "https://" + localhost(c.REST)

	in := filepath.Join(dir, "in.txt")
	if err := os.WriteFile(in, []byte("a b a\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(dir, "out")
	run := clustertest.Command(bin, "run", "--jobmanager", jm, "--config", file, "-p", "1", "wordcount", "--input", in, "--output", out)
	if b, err := run.CombinedOutput(); err != nil {
		t.Fatalf("runnel run: %v\n%s", err, b)
	}
	if got := readCounts(t, out); len(got) != 2 || got["a"] != "2" || got["b"] != "1" {
		t.Errorf("counts %v", got)
	}
	list, err := clustertest.Command(bin, "list", "--all", "-o", "json", "--jobmanager", jm, "--config", file).CombinedOutput()
	if err != nil || !strings.Contains(string(list), `"FINISHED"`) {
		t.Fatalf("runnel list: %v\n%s", err, list)
	}
	var jobID string
	if _, after, ok := strings.Cut(string(list), `"jid": "`); ok {
		jobID, _, _ = strings.Cut(after, `"`)
	}
	b, err := clustertest.Command(bin, "cancel", "--jobmanager", jm, "--config", file, jobID).CombinedOutput()
	if err == nil || !strings.Contains(string(b), "403") || !strings.Contains(string(b), "web.cancel.enable") {
		t.Errorf("runnel cancel: %v\n%s, want a 403 naming web.cancel.enable", err, b)
	}
	b, err = clustertest.Command(bin, "list", "--jobmanager", jm, "-D", "security.ssl.rest.trust="+f.ca).CombinedOutput()
	if err == nil || !strings.Contains(string(b), "requires a client certificate") {
		t.Errorf("runnel list without a certificate: %v\n%s", err, b)
	}
	if code, ok := curlCode(t, "--cacert", f.ca, "--cert", f.cert, "--key", f.key, jm+"/overview"); ok && code != "401" {
		t.Errorf("curl with the certificate, without the token: %s, want 401", code)
	}
	if code, ok := curlCode(t, "--cacert", f.ca, "--cert", f.cert, "--key", f.key, "-H", "Authorization: Bearer cluster-token", jm+"/overview"); ok && code != "200" {
		t.Errorf("curl with the certificate and the token: %s, want 200", code)
	}
}

// curlCode runs curl, if installed, and returns the status code it got.
func curlCode(t *testing.T, args ...string) (code string, ok bool) {
	t.Helper()
	bin, err := exec.LookPath("curl")
	if err != nil {
		t.Log("no curl")
		return "", false
	}
	out, err := exec.CommandContext(t.Context(), bin, append([]string{"-s", "-o", "/dev/null", "-w", "%{http_code}"}, args...)...).Output()
	if err != nil {
		t.Fatalf("curl %q: %v (%s)", args, err, out)
	}
	return string(out), true
}
