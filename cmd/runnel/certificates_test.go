package main

import (
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"os"
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
