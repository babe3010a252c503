package blob

import (
	"context"
	"crypto/sha256"
	"crypto/tls"
	"encoding/hex"
	"encoding/json"
	"errors"
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

// ServeHTTP implements http.Handler.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	key, hasKey := strings.CutPrefix(r.URL.Path, "/blobs/")
	switch {
	case r.URL.Path == "/blobs" && (r.Method == http.MethodPut || r.Method == http.MethodPost):
		s.put(w, r)
	case hasKey && r.Method == http.MethodGet:
		if !Key(key).Valid() {
			http.Error(w, "blob: malformed key", http.StatusBadRequest)
			return
		}
		http.ServeFile(w, r, s.Path(Key(key)))
	case hasKey && r.Method == http.MethodDelete:
		if !Key(key).Valid() {
			http.Error(w, "blob: malformed key", http.StatusBadRequest)
			return
		}
		if err := os.Remove(s.Path(Key(key))); err != nil && !errors.Is(err, os.ErrNotExist) {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		w.WriteHeader(http.StatusNoContent)
	case r.URL.Path == "/blobs":
		w.Header().Set("Allow", "PUT, POST")
		http.Error(w, "blob: method not allowed", http.StatusMethodNotAllowed)
	case hasKey:
		w.Header().Set("Allow", "GET, DELETE")
		http.Error(w, "blob: method not allowed", http.StatusMethodNotAllowed)
	default:
		http.Error(w, "blob: no such resource", http.StatusNotFound)
	}
}

// Path is the file that holds blob k on the server's host.
func (s *Server) Path(k Key) string { return filepath.Join(s.dir, string(k)) }

func (s *Server) put(w http.ResponseWriter, r *http.Request) {
	key, err := s.store(r.Body)
	var tooLarge *http.MaxBytesError
	switch {
	case errors.As(err, &tooLarge):
		http.Error(w, fmt.Sprintf("blob: larger than the limit of %d bytes", s.maxSize), http.StatusRequestEntityTooLarge)
		return
	case err != nil:
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusCreated)
	_ = json.NewEncoder(w).Encode(map[string]string{"key": string(key)})
}

// Put stores the content of r and returns its key.
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
