package security

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"io/fs"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/runnel-io/runnel/internal/privdir"
)

// CertificateValidity is how long the certificates CreateCertificates
// writes are valid.
const CertificateValidity = 365 * 24 * time.Hour

// Files are the PEM files CreateCertificates wrote for one host.
type Files struct {
	Host string
	Cert string // the host's certificate, for server and client use
	Key  string // its private key, readable by its owner only
}

// Certificates is what CreateCertificates wrote.
type Certificates struct {
	CA    string // the CA's certificate: the trust of every key
	CAKey string // the CA's private key, for adding hosts later
	Hosts []Files
}

// CreateCertificates writes a new CA and, for each host, a certificate
// signed by it for both server and client use, as PEM files in dir
// (created if missing): ca.pem and ca-key.pem, HOST.pem and HOST-key.pem.
// A host is a DNS name or an IP address; "localhost" also covers
// 127.0.0.1 and ::1. Private keys are written with mode 0600. It refuses
// to overwrite a file (an error wrapping fs.ErrExist), and then writes
// nothing.
func CreateCertificates(dir string, hosts []string) (Certificates, error) {
	if len(hosts) == 0 {
		return Certificates{}, errors.New("security: no host to create a certificate for")
	}
	seen := map[string]bool{}
	for _, h := range hosts {
		if h == "" || strings.ContainsAny(h, "/\\ \x00") || h == "." || h == ".." || h == "ca" || h == "ca-key" {
			return Certificates{}, fmt.Errorf("security: %q is not a host name or address", h)
		}
		if seen[h] {
			return Certificates{}, fmt.Errorf("security: host %s is named twice", h)
		}
		seen[h] = true
	}
	// In a directory another user may write to, that user could replace
	// ca.pem with a CA of their own, which the cluster would then trust.
	if err := privdir.Check(dir); err != nil {
		return Certificates{}, fmt.Errorf("security: %w", err)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return Certificates{}, fmt.Errorf("security: %w", err)
	}
	// Nothing is written if any file exists: no half-made set.
	names := []string{"ca.pem", "ca-key.pem"}
	for _, h := range hosts {
		names = append(names, h+".pem", h+"-key.pem")
	}
	for _, n := range names {
		if _, err := os.Lstat(filepath.Join(dir, n)); err == nil {
			return Certificates{}, fmt.Errorf("security: %s: %w: certificates are never overwritten; choose another directory", filepath.Join(dir, n), fs.ErrExist)
		}
	}
	now := time.Now()
	caKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return Certificates{}, fmt.Errorf("security: %w", err)
	}
	caTmpl := &x509.Certificate{
		SerialNumber:          serial(),
		Subject:               pkix.Name{CommonName: "runnel cluster CA", Organization: []string{"runnel"}},
		NotBefore:             now.Add(-time.Hour),
		NotAfter:              now.Add(CertificateValidity),
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign,
		BasicConstraintsValid: true,
		IsCA:                  true,
		MaxPathLenZero:        true,
	}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	if err != nil {
		return Certificates{}, fmt.Errorf("security: %w", err)
	}
	ca, err := x509.ParseCertificate(caDER)
	if err != nil {
		return Certificates{}, fmt.Errorf("security: %w", err)
	}
	out := Certificates{CA: filepath.Join(dir, "ca.pem"), CAKey: filepath.Join(dir, "ca-key.pem")}
	if err := writeCert(out.CA, caDER); err != nil {
		return Certificates{}, err
	}
	if err := writeKey(out.CAKey, caKey); err != nil {
		return Certificates{}, err
	}
	for _, h := range hosts {
		key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		if err != nil {
			return Certificates{}, fmt.Errorf("security: %w", err)
		}
		tmpl := &x509.Certificate{
			SerialNumber: serial(),
			Subject:      pkix.Name{CommonName: h, Organization: []string{"runnel"}},
			NotBefore:    now.Add(-time.Hour),
			NotAfter:     now.Add(CertificateValidity),
			KeyUsage:     x509.KeyUsageDigitalSignature,
			ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth},
		}
		if ip := net.ParseIP(h); ip != nil {
			tmpl.IPAddresses = []net.IP{ip}
		} else {
			tmpl.DNSNames = []string{h}
		}
		if h == "localhost" {
			tmpl.IPAddresses = []net.IP{net.IPv4(127, 0, 0, 1), net.IPv6loopback}
		}
		der, err := x509.CreateCertificate(rand.Reader, tmpl, ca, &key.PublicKey, caKey)
		if err != nil {
			return Certificates{}, fmt.Errorf("security: %w", err)
		}
		f := Files{Host: h, Cert: filepath.Join(dir, h+".pem"), Key: filepath.Join(dir, h+"-key.pem")}
		if err := writeCert(f.Cert, der); err != nil {
			return Certificates{}, err
		}
		if err := writeKey(f.Key, key); err != nil {
			return Certificates{}, err
		}
		out.Hosts = append(out.Hosts, f)
	}
	return out, nil
}

func serial() *big.Int {
	n, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 127))
	if err != nil {
		panic("security: no randomness: " + err.Error())
	}
	return n
}

func writeCert(path string, der []byte) error {
	return writeNew(path, 0o644, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}))
}

func writeKey(path string, key *ecdsa.PrivateKey) error {
	der, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return fmt.Errorf("security: %w", err)
	}
	return writeNew(path, 0o600, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}))
}

// writeNew writes a file that must not exist yet.
func writeNew(path string, mode os.FileMode, data []byte) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, mode)
	if err != nil {
		return fmt.Errorf("security: %w", err)
	}
	_, err = f.Write(data)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("security: %w", err)
	}
	return nil
}
