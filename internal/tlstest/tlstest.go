// Package tlstest makes the certificates of internal TLS for tests: a
// cluster's, and a stranger's that chains to another CA.
package tlstest

import (
	"crypto/tls"
	"path/filepath"
	"testing"

	"github.com/runnel-io/runnel/cluster/security"
)

// Certs are the settings of internal TLS in a test's temporary directory.
type Certs struct {
	// Cluster is enabled with a certificate for localhost (and 127.0.0.1)
	// that chains to its trust.
	Cluster security.Internal
	// Foreign trusts the cluster's CA but presents a certificate of
	// another CA: what a stranger who knows the cluster's CA has.
	Foreign security.Internal
	// Dir holds the cluster's files: ca.pem, localhost.pem, ...
	Dir string
}

// New writes a cluster CA and a foreign one, each with a certificate for
// localhost.
func New(t testing.TB) Certs {
	t.Helper()
	dir := t.TempDir()
	ours, err := security.CreateCertificates(filepath.Join(dir, "cluster"), []string{"localhost"})
	if err != nil {
		t.Fatal(err)
	}
	theirs, err := security.CreateCertificates(filepath.Join(dir, "foreign"), []string{"localhost"})
	if err != nil {
		t.Fatal(err)
	}
	return Certs{
		Cluster: security.Internal{Enabled: true, Cert: ours.Hosts[0].Cert, Key: ours.Hosts[0].Key, Trust: ours.CA},
		Foreign: security.Internal{Enabled: true, Cert: theirs.Hosts[0].Cert, Key: theirs.Hosts[0].Key, Trust: ours.CA},
		Dir:     filepath.Join(dir, "cluster"),
	}
}

// Flags are the command-line overrides (-Dkey=value) that configure in.
func Flags(in security.Internal) []string {
	return []string{
		"-Dsecurity.ssl.internal.enabled=true",
		"-Dsecurity.ssl.internal.cert=" + in.Cert,
		"-Dsecurity.ssl.internal.key=" + in.Key,
		"-Dsecurity.ssl.internal.trust=" + in.Trust,
	}
}

// Server is in.Server, failing the test on an error.
func Server(t testing.TB, in security.Internal) *tls.Config {
	t.Helper()
	c, err := in.Server()
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// Client is in.Client, failing the test on an error.
func Client(t testing.TB, in security.Internal) *tls.Config {
	t.Helper()
	c, err := in.Client()
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// Anonymous is a TLS 1.3 client that presents no certificate and accepts
// any server's: a peer that speaks TLS but has no key of the cluster.
func Anonymous() *tls.Config {
	return &tls.Config{MinVersion: tls.VersionTLS13, InsecureSkipVerify: true} //nolint:gosec // a test's stranger
}
