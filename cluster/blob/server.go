package blob

import (
	"context"
	"crypto/sha256"
	"crypto/tls"
	"encoding/hex"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strings"

	"github.com/runnel-io/runnel/internal/httpserve"
)

// DefaultMaxSize is the largest blob a server accepts by default: 1 GiB.
const DefaultMaxSize = 1 << 30

// Key names a blob: the hex SHA-256 of its content.
type Key string

// Valid reports whether k has the form of a key.
func (k Key) Valid() bool {
	if len(k) != 64 {
		return false
	}
	_, err := hex.DecodeString(string(k))
	return err == nil && strings.ToLower(string(k)) == string(k)
}

// Server stores blobs in a directory and serves them. It is safe for
// concurrent use.
type Server struct {
	dir     string
	maxSize int64
	log     *slog.Logger
	http    *httpserve.Server
}

// NewServer returns a server storing blobs in dir (created if missing),
// accepting blobs up to maxSize bytes (DefaultMaxSize if 0).
func NewServer(dir string, maxSize int64, log *slog.Logger) (*Server, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("blob: %w", err)
	}
	if maxSize <= 0 {
		maxSize = DefaultMaxSize
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Server{dir: dir, maxSize: maxSize, log: log}, nil
}

// Listen binds the server to addr ("host:port"; port 0 picks a free one)
// and serves until Close, over TLS if conf is not nil; Addr then reports
// the bound address.
func (s *Server) Listen(addr string, conf *tls.Config) (err error) {
	s.http, err = httpserve.Listen("blob", addr, s, conf, s.log)
	return err
}

// Addr is the address the server listens on.
func (s *Server) Addr() string { return s.http.Addr() }

// Close stops the server and waits for the requests in progress.
func (s *Server) Close(ctx context.Context) error { return s.http.Close(ctx) }

// ServeHTTP implements http.Handler: GET /blobs/<key> serves a blob.
// Blobs are stored only through Put, in the JobManager's process: the
// network can read them, never write or delete them.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	key, hasKey := strings.CutPrefix(r.URL.Path, "/blobs/")
	switch {
	case !hasKey:
		http.Error(w, "blob: no such resource", http.StatusNotFound)
	case r.Method != http.MethodGet && r.Method != http.MethodHead:
		w.Header().Set("Allow", "GET, HEAD")
		http.Error(w, "blob: method not allowed", http.StatusMethodNotAllowed)
	case !Key(key).Valid():
		http.Error(w, "blob: malformed key", http.StatusBadRequest)
	default:
		http.ServeFile(w, r, s.Path(Key(key)))
	}
}

// Path is the file that holds blob k on the server's host.
func (s *Server) Path(k Key) string { return filepath.Join(s.dir, string(k)) }

// Put stores the content of r and returns its key. Content over the
// server's size limit is refused (an error wrapping *http.MaxBytesError)
// and not stored.
func (s *Server) Put(r io.Reader) (Key, error) { return s.store(r) }

func (s *Server) store(r io.Reader) (Key, error) {
	f, err := os.CreateTemp(s.dir, ".upload-*")
	if err != nil {
		return "", fmt.Errorf("blob: %w", err)
	}
	tmp := f.Name()
	defer os.Remove(tmp) // a no-op once renamed
	h := sha256.New()
	_, err = io.Copy(io.MultiWriter(f, h), http.MaxBytesReader(nil, io.NopCloser(r), s.maxSize))
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return "", fmt.Errorf("blob: store: %w", err)
	}
	key := Key(hex.EncodeToString(h.Sum(nil)))
	if err := os.Rename(tmp, s.Path(key)); err != nil {
		return "", fmt.Errorf("blob: store: %w", err)
	}
	return key, nil
}
