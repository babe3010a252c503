package security

import (
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"strings"

	"github.com/runnel-io/runnel/config"
)

// Internal is the TLS of the cluster's internal connections. The zero
// value is disabled: plain TCP. It travels to a cluster's child processes
// (JobMasters, workers) in the environment entry EnvInternal.
type Internal struct {
	Enabled bool   `json:"enabled"`
	Cert    string `json:"cert,omitempty"`
	Key     string `json:"key,omitempty"`
	Trust   string `json:"trust,omitempty"`
}

// EnvInternal is the environment variable that hands a child process the
// internal TLS settings of its parent (Internal as JSON): the Dispatcher
// sets it for JobMasters, a TaskManager for its workers, each with its own
// files.
const EnvInternal = "RUNNEL_INTERNAL_TLS"

// InternalFrom reads security.ssl.internal.* and, if enabled, checks that
// the files load.
func InternalFrom(c *config.Configuration) (Internal, error) {
	var in Internal
	var err error
	get := func(f func() error) {
		if err == nil {
			err = f()
		}
	}
	get(func() (e error) { in.Enabled, e = config.Get(c, config.SSLInternalEnabled); return })
	get(func() (e error) { in.Cert, e = config.Get(c, config.SSLInternalCert); return })
	get(func() (e error) { in.Key, e = config.Get(c, config.SSLInternalKey); return })
	get(func() (e error) { in.Trust, e = config.Get(c, config.SSLInternalTrust); return })
	if err != nil {
		return Internal{}, err
	}
	if err := in.Check(); err != nil {
		return Internal{}, err
	}
	return in, nil
}

// Check reports what is wrong with enabled settings: a missing key, or a
// file that does not load. Disabled settings are fine.
func (in Internal) Check() error {
	if !in.Enabled {
		return nil
	}
	if _, err := in.load(); err != nil {
		return err
	}
	return nil
}

// Env is the environment entry (NAME=value) that hands in to a child
// process.
func (in Internal) Env() string {
	b, _ := json.Marshal(in) // plain data
	return EnvInternal + "=" + string(b)
}

// InternalFromEnv reads EnvInternal: disabled if it is not set.
func InternalFromEnv() (Internal, error) {
	v := os.Getenv(EnvInternal)
	if v == "" {
		return Internal{}, nil
	}
	var in Internal
	if err := json.Unmarshal([]byte(v), &in); err != nil {
		return Internal{}, fmt.Errorf("security: %s: %w", EnvInternal, err)
	}
	return in, in.Check()
}

type material struct {
	cert  tls.Certificate
	trust *x509.CertPool
}

func (in Internal) load() (material, error) {
	for _, k := range []struct {
		key   *config.Option[string]
		value string
	}{{config.SSLInternalCert, in.Cert}, {config.SSLInternalKey, in.Key}, {config.SSLInternalTrust, in.Trust}} {
		if k.value == "" {
			return material{}, fmt.Errorf("security: %s is true but %s is not set", config.SSLInternalEnabled.Key(), k.key.Key())
		}
	}
	cert, err := loadPair(config.SSLInternalCert, in.Cert, config.SSLInternalKey, in.Key)
	if err != nil {
		return material{}, err
	}
	trust, err := loadPool(config.SSLInternalTrust, in.Trust)
	if err != nil {
		return material{}, err
	}
	return material{cert, trust}, nil
}

// Server is the TLS configuration of an internal server: nil if disabled.
// It requires a client certificate that chains to the trust.
func (in Internal) Server() (*tls.Config, error) {
	if !in.Enabled {
		return nil, nil
	}
	m, err := in.load()
	if err != nil {
		return nil, err
	}
	return &tls.Config{
		MinVersion:   tls.VersionTLS13,
		Certificates: []tls.Certificate{m.cert},
		ClientAuth:   tls.RequireAndVerifyClientCert,
		ClientCAs:    m.trust,
	}, nil
}

// Client is the TLS configuration of an internal client: nil if disabled.
// It presents the certificate and accepts a server whose certificate
// chains to the trust, whatever host name it was dialled by.
func (in Internal) Client() (*tls.Config, error) {
	if !in.Enabled {
		return nil, nil
	}
	m, err := in.load()
	if err != nil {
		return nil, err
	}
	return &tls.Config{
		MinVersion:   tls.VersionTLS13,
		Certificates: []tls.Certificate{m.cert},
		// The chain is verified below, without a host name: internal
		// certificates name the cluster, not a host (see the package doc).
		InsecureSkipVerify: true,
		VerifyConnection:   verifyChain(m.trust),
	}, nil
}

// verifyChain accepts a connection whose peer's certificate chains to
// trust, for any use, without checking its host name.
func verifyChain(trust *x509.CertPool) func(tls.ConnectionState) error {
	return func(cs tls.ConnectionState) error {
		if len(cs.PeerCertificates) == 0 {
			return errors.New("security: the peer presented no certificate")
		}
		inter := x509.NewCertPool()
		for _, c := range cs.PeerCertificates[1:] {
			inter.AddCert(c)
		}
		_, err := cs.PeerCertificates[0].Verify(x509.VerifyOptions{Roots: trust, Intermediates: inter,
			KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageAny}})
		if err != nil {
			return fmt.Errorf("security: the peer's certificate is not trusted: %w", err)
		}
		return nil
	}
}

// REST is the TLS and authentication of the REST API, for its server and
// its clients. The zero value is plain HTTP without authentication.
type REST struct {
	Enabled    bool   `json:"enabled"`
	Cert       string `json:"cert,omitempty"`
	Key        string `json:"key,omitempty"`
	Trust      string `json:"trust,omitempty"`
	ClientAuth bool   `json:"clientAuth,omitempty"`
	TokenFile  string `json:"tokenFile,omitempty"`
}

// RESTFrom reads security.ssl.rest.* and rest.authentication.token-file.
// It checks only what every user of them needs: that a token file, if
// set, holds a token. Server and Client check the rest.
func RESTFrom(c *config.Configuration) (REST, error) {
	var r REST
	var err error
	get := func(f func() error) {
		if err == nil {
			err = f()
		}
	}
	get(func() (e error) { r.Enabled, e = config.Get(c, config.SSLRESTEnabled); return })
	get(func() (e error) { r.Cert, e = config.Get(c, config.SSLRESTCert); return })
	get(func() (e error) { r.Key, e = config.Get(c, config.SSLRESTKey); return })
	get(func() (e error) { r.Trust, e = config.Get(c, config.SSLRESTTrust); return })
	get(func() (e error) { r.ClientAuth, e = config.Get(c, config.SSLRESTAuthentication); return })
	get(func() (e error) { r.TokenFile, e = config.Get(c, config.RESTTokenFile); return })
	if err != nil {
		return REST{}, err
	}
	if r.TokenFile != "" {
		if _, err := r.Token(); err != nil {
			return REST{}, err
		}
	}
	return r, nil
}

// Scheme is the REST API's URL scheme: https if enabled.
func (r REST) Scheme() string {
	if r.Enabled {
		return "https"
	}
	return "http"
}

// Server is the TLS configuration of the REST server: nil if disabled.
// With ClientAuth it requires a client certificate chaining to Trust.
func (r REST) Server() (*tls.Config, error) {
	if !r.Enabled {
		if r.ClientAuth {
			return nil, fmt.Errorf("security: %s needs %s", config.SSLRESTAuthentication.Key(), config.SSLRESTEnabled.Key())
		}
		return nil, nil
	}
	if r.Cert == "" || r.Key == "" {
		return nil, fmt.Errorf("security: %s is true but %s or %s is not set", config.SSLRESTEnabled.Key(), config.SSLRESTCert.Key(), config.SSLRESTKey.Key())
	}
	cert, err := loadPair(config.SSLRESTCert, r.Cert, config.SSLRESTKey, r.Key)
	if err != nil {
		return nil, err
	}
	conf := &tls.Config{MinVersion: tls.VersionTLS13, Certificates: []tls.Certificate{cert}}
	if r.ClientAuth {
		if r.Trust == "" {
			return nil, fmt.Errorf("security: %s is true but %s is not set", config.SSLRESTAuthentication.Key(), config.SSLRESTTrust.Key())
		}
		if conf.ClientCAs, err = loadPool(config.SSLRESTTrust, r.Trust); err != nil {
			return nil, err
		}
		conf.ClientAuth = tls.RequireAndVerifyClientCert
	}
	return conf, nil
}

// Client is the TLS configuration of a REST client: nil if disabled. It
// trusts Trust (the system's CAs if unset) and checks the server's host
// name; it presents Cert, if set, when the server asks for a certificate.
func (r REST) Client() (*tls.Config, error) {
	if !r.Enabled {
		return nil, nil
	}
	conf := &tls.Config{MinVersion: tls.VersionTLS13}
	var err error
	if r.Trust != "" {
		if conf.RootCAs, err = loadPool(config.SSLRESTTrust, r.Trust); err != nil {
			return nil, err
		}
	}
	if r.Cert != "" || r.Key != "" {
		cert, err := loadPair(config.SSLRESTCert, r.Cert, config.SSLRESTKey, r.Key)
		if err != nil {
			return nil, err
		}
		conf.Certificates = []tls.Certificate{cert}
	}
	return conf, nil
}

// Token is the bearer token of TokenFile: "" if none is set. The file
// must hold one non-empty line.
func (r REST) Token() (string, error) {
	if r.TokenFile == "" {
		return "", nil
	}
	b, err := os.ReadFile(r.TokenFile)
	if err != nil {
		return "", fmt.Errorf("security: %s: %w", config.RESTTokenFile.Key(), err)
	}
	tok := strings.TrimSpace(string(b))
	if tok == "" || strings.ContainsAny(tok, " \t\r\n") {
		return "", fmt.Errorf("security: %s: %s must hold one token, on one line", config.RESTTokenFile.Key(), r.TokenFile)
	}
	return tok, nil
}

func loadPair(certKey *config.Option[string], certFile string, keyKey *config.Option[string], keyFile string) (tls.Certificate, error) {
	if certFile == "" || keyFile == "" {
		return tls.Certificate{}, fmt.Errorf("security: %s and %s must be set together", certKey.Key(), keyKey.Key())
	}
	certPEM, err := os.ReadFile(certFile)
	if err != nil {
		return tls.Certificate{}, fmt.Errorf("security: %s: %w", certKey.Key(), err)
	}
	keyPEM, err := os.ReadFile(keyFile)
	if err != nil {
		return tls.Certificate{}, fmt.Errorf("security: %s: %w", keyKey.Key(), err)
	}
	cert, err := tls.X509KeyPair(certPEM, keyPEM)
	if err != nil {
		// The error of X509KeyPair names no content, only what is wrong.
		return tls.Certificate{}, fmt.Errorf("security: %s (%s) and %s (%s): %w", certKey.Key(), certFile, keyKey.Key(), keyFile, err)
	}
	return cert, nil
}

func loadPool(key *config.Option[string], file string) (*x509.CertPool, error) {
	b, err := os.ReadFile(file)
	if err != nil {
		return nil, fmt.Errorf("security: %s: %w", key.Key(), err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(b) {
		return nil, fmt.Errorf("security: %s: %s holds no PEM certificate", key.Key(), file)
	}
	return pool, nil
}
