package security_test

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/runnel-io/runnel/cluster/security"
	"github.com/runnel-io/runnel/config"
	"github.com/runnel-io/runnel/internal/tlstest"
)

// handshake connects a client with conf to a server with serverConf and
// returns the errors of the server's and the client's handshakes, and
// whether the server read the byte the client wrote after its own.
func handshake(t *testing.T, serverConf, conf *tls.Config) (serverErr, clientErr error, read bool) {
	t.Helper()
	ln, err := tls.Listen("tcp", "127.0.0.1:0", serverConf)
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	type result struct {
		err  error
		read bool
	}
	served := make(chan result, 1)
	go func() {
		conn, err := ln.Accept()
		if err != nil {
			served <- result{err: err}
			return
		}
		defer conn.Close()
		if err := conn.(*tls.Conn).HandshakeContext(context.Background()); err != nil {
			served <- result{err: err}
			return
		}
		var b [1]byte
		_, err = io.ReadFull(conn, b[:])
		served <- result{read: err == nil && b[0] == 'x'}
	}()
	conn, err := tls.Dial("tcp", ln.Addr().String(), conf)
	if err == nil {
		// TLS 1.3: the client's handshake is over before the server has
		// checked its certificate; the server's verdict comes after.
		_, _ = conn.Write([]byte("x"))
		_, err = conn.Read(make([]byte, 1))
		if errors.Is(err, io.EOF) {
			err = nil // the server read and hung up: no refusal
		}
		conn.Close()
	}
	r := <-served
	return r.err, err, r.read
}

// TestInternalRefusesStrangers: a server configured by Internal refuses
// a client without a certificate and one whose certificate chains to
// another CA during the handshake, before it reads a byte; it accepts a
// client of the cluster. A client refuses a server that is not of the
// cluster.
func TestInternalRefusesStrangers(t *testing.T) {
	certs := tlstest.New(t)
	server := tlstest.Server(t, certs.Cluster)
	if server.MinVersion != tls.VersionTLS13 || server.ClientAuth != tls.RequireAndVerifyClientCert {
		t.Errorf("server: MinVersion %x, ClientAuth %v", server.MinVersion, server.ClientAuth)
	}

	for name, conf := range map[string]*tls.Config{
		"no certificate":      tlstest.Anonymous(),
		"foreign certificate": tlstest.Client(t, certs.Foreign),
	} {
		t.Run(name, func(t *testing.T) {
			serverErr, clientErr, read := handshake(t, server, conf)
			if serverErr == nil || read {
				t.Errorf("the server accepted the stranger: handshake error %v, read %v", serverErr, read)
			}
			if clientErr == nil {
				t.Errorf("the stranger was not told")
			}
		})
	}
	t.Run("cluster certificate", func(t *testing.T) {
		serverErr, clientErr, read := handshake(t, server, tlstest.Client(t, certs.Cluster))
		if serverErr != nil || clientErr != nil || !read {
			t.Errorf("server %v, client %v, read %v", serverErr, clientErr, read)
		}
	})
	t.Run("foreign server", func(t *testing.T) {
		// The stranger's server trusts the cluster, but its certificate
		// does not chain to the cluster's CA.
		serverErr, clientErr, read := handshake(t, tlstest.Server(t, certs.Foreign), tlstest.Client(t, certs.Cluster))
		if clientErr == nil || read {
			t.Errorf("the cluster's client accepted a foreign server: %v, read %v (server: %v)", clientErr, read, serverErr)
		}
	})
	t.Run("TLS 1.2", func(t *testing.T) {
		conf := tlstest.Client(t, certs.Cluster)
		conf.MinVersion, conf.MaxVersion = tls.VersionTLS12, tls.VersionTLS12
		if serverErr, _, read := handshake(t, server, conf); serverErr == nil || read {
			t.Errorf("the server accepted TLS 1.2: %v, read %v", serverErr, read)
		}
	})
}

func TestCreateCertificates(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "certs")
	c, err := security.CreateCertificates(dir, []string{"localhost", "10.1.2.3", "tm.example"})
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]fs.FileMode{"ca.pem": 0o644, "ca-key.pem": 0o600}
	for _, h := range []string{"localhost", "10.1.2.3", "tm.example"} {
		want[h+".pem"], want[h+"-key.pem"] = 0o644, 0o600
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) != len(want) {
		t.Errorf("%d files, want %d", len(entries), len(want))
	}
	for name, mode := range want {
		fi, err := os.Stat(filepath.Join(dir, name))
		if err != nil {
			t.Error(err)
			continue
		}
		// The umask may take permissions away, never add any.
		if got := fi.Mode().Perm(); got&^mode != 0 || (mode == 0o600 && got != 0o600) {
			t.Errorf("%s: mode %v, want %v", name, got, mode)
		}
	}
	if c.CA != filepath.Join(dir, "ca.pem") || len(c.Hosts) != 3 || c.Hosts[1].Key != filepath.Join(dir, "10.1.2.3-key.pem") {
		t.Errorf("certificates %+v", c)
	}

	roots := x509.NewCertPool()
	caPEM, _ := os.ReadFile(c.CA)
	if !roots.AppendCertsFromPEM(caPEM) {
		t.Fatal("ca.pem holds no certificate")
	}
	for _, tc := range []struct{ file, name string }{
		{"localhost.pem", "127.0.0.1"}, {"localhost.pem", "::1"}, {"localhost.pem", "localhost"},
		{"10.1.2.3.pem", "10.1.2.3"}, {"tm.example.pem", "tm.example"},
	} {
		cert := readCert(t, filepath.Join(dir, tc.file))
		if _, err := cert.Verify(x509.VerifyOptions{Roots: roots, DNSName: tc.name,
			KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth}}); err != nil {
			t.Errorf("%s for %s: %v", tc.file, tc.name, err)
		}
	}
	if _, err := readCert(t, filepath.Join(dir, "tm.example.pem")).Verify(x509.VerifyOptions{Roots: roots, DNSName: "127.0.0.1"}); err == nil {
		t.Error("tm.example.pem covers 127.0.0.1")
	}

	// Each pair loads.
	for _, h := range c.Hosts {
		in := security.Internal{Enabled: true, Cert: h.Cert, Key: h.Key, Trust: c.CA}
		if err := in.Check(); err != nil {
			t.Errorf("%s: %v", h.Host, err)
		}
	}

	before, _ := os.ReadFile(c.CA)
	if _, err := security.CreateCertificates(dir, []string{"other"}); err == nil || !errors.Is(err, fs.ErrExist) {
		t.Errorf("writing over a CA: %v", err)
	}
	if after, _ := os.ReadFile(c.CA); string(after) != string(before) {
		t.Error("ca.pem was overwritten")
	}
	for _, hosts := range [][]string{nil, {""}, {"a/b"}, {"ca"}, {"x", "x"}, {".."}} {
		if _, err := security.CreateCertificates(t.TempDir(), hosts); err == nil {
			t.Errorf("hosts %q: no error", hosts)
		}
	}
}

func readCert(t *testing.T, path string) *x509.Certificate {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	block, _ := pem.Decode(b)
	if block == nil {
		t.Fatalf("%s: no PEM", path)
	}
	cert, err := x509.ParseCertificate(block.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	return cert
}

// TestInternalConfigErrors: what is wrong with enabled settings is an
// error naming the key; disabled settings need no file.
func TestInternalConfigErrors(t *testing.T) {
	certs := tlstest.New(t)
	ok := certs.Cluster
	garbage := filepath.Join(t.TempDir(), "garbage.pem")
	if err := os.WriteFile(garbage, []byte("not a certificate"), 0o600); err != nil {
		t.Fatal(err)
	}
	missing := filepath.Join(t.TempDir(), "missing.pem")
	conf := func(kv ...string) *config.Configuration {
		c := &config.Configuration{}
		c.Set("security.ssl.internal.enabled", "true")
		c.Set("security.ssl.internal.cert", ok.Cert)
		c.Set("security.ssl.internal.key", ok.Key)
		c.Set("security.ssl.internal.trust", ok.Trust)
		for i := 0; i < len(kv); i += 2 {
			c.Set(kv[i], kv[i+1])
		}
		return c
	}
	for _, tc := range []struct {
		kv   []string
		want string
	}{
		{[]string{"security.ssl.internal.cert", missing}, "security.ssl.internal.cert: open " + missing},
		{[]string{"security.ssl.internal.key", missing}, "security.ssl.internal.key: open " + missing},
		{[]string{"security.ssl.internal.trust", missing}, "security.ssl.internal.trust: open " + missing},
		{[]string{"security.ssl.internal.trust", garbage}, "security.ssl.internal.trust: " + garbage + " holds no PEM certificate"},
		{[]string{"security.ssl.internal.cert", garbage}, "security.ssl.internal.cert (" + garbage + ")"},
		{[]string{"security.ssl.internal.key", certs.Foreign.Key}, "security.ssl.internal.key"},
		{[]string{"security.ssl.internal.cert", ""}, "security.ssl.internal.enabled is true but security.ssl.internal.cert is not set"},
		{[]string{"security.ssl.internal.trust", ""}, "security.ssl.internal.trust is not set"},
		{[]string{"security.ssl.internal.enabled", "yes please"}, "security.ssl.internal.enabled"},
	} {
		_, err := security.InternalFrom(conf(tc.kv...))
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%q: error %v, want one containing %q", tc.kv, err, tc.want)
		}
	}
	in, err := security.InternalFrom(conf())
	if err != nil || in != ok {
		t.Errorf("InternalFrom = %+v, %v; want %+v", in, err, ok)
	}
	off, err := security.InternalFrom(conf("security.ssl.internal.enabled", "false", "security.ssl.internal.cert", missing))
	if err != nil || off.Enabled {
		t.Errorf("disabled: %+v, %v", off, err)
	}
	if s, err := off.Server(); s != nil || err != nil {
		t.Errorf("disabled Server = %v, %v", s, err)
	}
}

// TestInternalEnv: the settings reach a child process through
// EnvInternal, and a broken entry is an error naming it.
func TestInternalEnv(t *testing.T) {
	certs := tlstest.New(t)
	name, value, _ := strings.Cut(certs.Cluster.Env(), "=")
	if name != security.EnvInternal {
		t.Fatalf("Env names %s", name)
	}
	t.Setenv(security.EnvInternal, value)
	if in, err := security.InternalFromEnv(); err != nil || in != certs.Cluster {
		t.Errorf("InternalFromEnv = %+v, %v", in, err)
	}
	t.Setenv(security.EnvInternal, "{")
	if _, err := security.InternalFromEnv(); err == nil || !strings.Contains(err.Error(), security.EnvInternal) {
		t.Errorf("a broken entry: %v", err)
	}
	t.Setenv(security.EnvInternal, "")
	if in, err := security.InternalFromEnv(); err != nil || in.Enabled {
		t.Errorf("unset: %+v, %v", in, err)
	}
}

// TestCreateCertificatesRefusesSharedDirectory: in a directory that
// other users may write to, one of them could replace ca.pem.
func TestCreateCertificatesRefusesSharedDirectory(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("no Unix permissions")
	}
	dir := t.TempDir()
	if err := os.Chmod(dir, 0o777); err != nil {
		t.Fatal(err)
	}
	if _, err := security.CreateCertificates(dir, []string{"localhost"}); err == nil || !strings.Contains(err.Error(), "may be written by other users") {
		t.Errorf("a world-writable directory: %v, want a refusal", err)
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 0 {
		t.Errorf("the refused call wrote %v", entries)
	}
}
