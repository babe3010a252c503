package zookeeper

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"os"
	"path/filepath"
	"strings"

	"github.com/runnel-io/runnel/config"
)

// Storage keeps the data that the stores' ZooKeeper nodes point to: the
// file system under high-availability.storageDir (Flink's
// FileSystemStateStorageHelper). Files are written once and never
// changed: a new version is a new file. Its methods are safe for
// concurrent use; the caller owns the slices it passes and gets.
type Storage interface {
	// Write stores data in a new file whose name begins with name and
	// returns its pointer, what the node holds; once it returns, the data
	// is durable.
	Write(ctx context.Context, name string, data []byte) (pointer string, err error)
	// Read returns the data a pointer Write returned points to.
	Read(ctx context.Context, pointer string) ([]byte, error)
	// Delete deletes the file a pointer points to; deleting one that does
	// not exist does nothing.
	Delete(ctx context.Context, pointer string) error
}

// FileStorage is Storage in a directory of the local file system (or of
// a mount every JobManager shares). Its pointers are file:// URIs.
type FileStorage struct{ dir string }

var _ Storage = (*FileStorage)(nil)

// NewFileStorage returns the storage in dir, a path or a file:// URI,
// which it creates if need be. Its errors name high-availability.storageDir.
func NewFileStorage(dir string) (*FileStorage, error) {
	if u, err := url.Parse(dir); err == nil && u.Scheme != "" && len(u.Scheme) > 1 { // not a Windows drive letter
		if u.Scheme != "file" {
			return nil, fmt.Errorf("zookeeper: %s %s: scheme %s is not supported; use a path or a file:// URI", config.HighAvailabilityStorageDir, dir, u.Scheme)
		}
		dir = u.Path
	}
	abs, err := filepath.Abs(dir)
	if err != nil {
		return nil, fmt.Errorf("zookeeper: %s %s: %w", config.HighAvailabilityStorageDir, dir, err)
	}
	if err := os.MkdirAll(abs, 0o700); err != nil {
		return nil, fmt.Errorf("zookeeper: %s: %w", config.HighAvailabilityStorageDir, err)
	}
	return &FileStorage{dir: abs}, nil
}

// Write writes the file by a temporary name, syncs it and renames it, so
// that a pointer never points to a partial file.
func (f *FileStorage) Write(_ context.Context, name string, data []byte) (string, error) {
	final := filepath.Join(f.dir, name+"-"+strings.ToLower(rand.Text()))
	tmp, err := os.CreateTemp(f.dir, ".tmp-*")
	if err != nil {
		return "", fmt.Errorf("zookeeper: storage: %w", err)
	}
	_, err = tmp.Write(data)
	if err == nil {
		err = tmp.Sync()
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp.Name(), final)
	}
	if err != nil {
		_ = os.Remove(tmp.Name())
		return "", fmt.Errorf("zookeeper: storage: %w", err)
	}
	if d, err := os.Open(f.dir); err == nil { // make the rename durable
		_ = d.Sync()
		_ = d.Close()
	}
	return (&url.URL{Scheme: "file", Path: final}).String(), nil
}

// path is the file a pointer points to; it must be in the directory, so
// that a node changed by someone else cannot make the stores read or
// delete other files.
func (f *FileStorage) path(pointer string) (string, error) {
	u, err := url.Parse(pointer)
	if err != nil || u.Scheme != "file" || filepath.Dir(filepath.Clean(u.Path)) != f.dir {
		return "", fmt.Errorf("zookeeper: storage: pointer %q is not a file of %s", pointer, f.dir)
	}
	return filepath.Clean(u.Path), nil
}

// Read reads the file.
func (f *FileStorage) Read(_ context.Context, pointer string) ([]byte, error) {
	p, err := f.path(pointer)
	if err != nil {
		return nil, err
	}
	b, err := os.ReadFile(p)
	if err != nil {
		return nil, fmt.Errorf("zookeeper: storage: %w", err)
	}
	return b, nil
}

// Delete removes the file.
func (f *FileStorage) Delete(_ context.Context, pointer string) error {
	p, err := f.path(pointer)
	if err != nil {
		return err
	}
	if err := os.Remove(p); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("zookeeper: storage: %w", err)
	}
	return nil
}
