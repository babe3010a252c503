package main

import (
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/runnel-io/runnel/examples/jobs"
)

func TestCreateCertificates(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "certs")
	out, _, err := execute(t, "security", "create-certificates", "--dir", dir, "--hosts", "localhost, node-1,10.0.0.5")
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"ca.pem", "security.ssl.internal.enabled: true", "security.ssl.rest.trust: " + filepath.Join(dir, "ca.pem")} {
		if !strings.Contains(out, want) {
			t.Errorf("output does not mention %q:\n%s", want, out)
		}
	}
	roots := x509.NewCertPool()
	caPEM, err := os.ReadFile(filepath.Join(dir, "ca.pem"))
	if err != nil {
		t.Fatal(err)
	}
	roots.AppendCertsFromPEM(caPEM)
	for _, h := range []string{"localhost", "node-1", "10.0.0.5"} {
		pair, err := tls.LoadX509KeyPair(filepath.Join(dir, h+".pem"), filepath.Join(dir, h+"-key.pem"))
		if err != nil {
			t.Fatalf("%s: %v", h, err)
		}
		leaf, err := x509.ParseCertificate(pair.Certificate[0])
		if err != nil {
			t.Fatal(err)
		}
		for _, usage := range []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth} {
			if _, err := leaf.Verify(x509.VerifyOptions{DNSName: h, Roots: roots, KeyUsages: []x509.ExtKeyUsage{usage}}); err != nil {
				t.Errorf("%s, usage %v: %v", h, usage, err)
			}
		}
		fi, err := os.Stat(filepath.Join(dir, h+"-key.pem"))
		if err != nil {
			t.Fatal(err)
		}
		if fi.Mode().Perm() != 0o600 {
			t.Errorf("%s's key has mode %v, want 0600", h, fi.Mode().Perm())
		}
	}
	// localhost covers the loopback addresses.
	b, _ := os.ReadFile(filepath.Join(dir, "localhost.pem"))
	blk, _ := pem.Decode(b)
	leaf, _ := x509.ParseCertificate(blk.Bytes)
	if _, err := leaf.Verify(x509.VerifyOptions{DNSName: "127.0.0.1", Roots: roots}); err != nil {
		t.Errorf("localhost's certificate does not cover 127.0.0.1: %v", err)
	}

	// A second run never overwrites, and writes nothing.
	_, _, err = execute(t, "security", "create-certificates", "--dir", dir, "--hosts", "node-2")
	if err == nil || !strings.Contains(err.Error(), "never overwritten") {
		t.Errorf("second run into %s = %v, want a refusal", dir, err)
	}
	if _, err := os.Stat(filepath.Join(dir, "node-2.pem")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("a refused run wrote node-2.pem (%v)", err)
	}
}

func TestCreateCertificatesUsage(t *testing.T) {
	for _, args := range [][]string{
		{"security", "create-certificates", "--hosts", "localhost"},
		{"security", "create-certificates", "--dir", t.TempDir(), "--hosts", " , "},
	} {
		if _, _, err := execute(t, args...); !errors.As(err, new(jobs.UsageError)) {
			t.Errorf("runnel %s = %v, want a usage error", strings.Join(args, " "), err)
		}
	}
	if _, _, err := execute(t, "security", "create-certificates", "--dir", t.TempDir(), "--hosts", "a/b"); err == nil || !strings.Contains(err.Error(), `"a/b"`) {
		t.Errorf("a host with a slash = %v, want an error naming it", err)
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
