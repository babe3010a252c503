package blob

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
)

// ErrCorrupt is returned when a fetched blob does not hash to its key.
var ErrCorrupt = errors.New("blob: content does not match its key")

// Client talks to a BlobServer at a base URL ("http://host:port").
type Client struct {
	Base string
	HTTP *http.Client // http.DefaultClient if nil
}

func (c *Client) http() *http.Client {
	if c.HTTP != nil {
		return c.HTTP
	}
	return http.DefaultClient
}

// Fetch downloads blob k into the file path (created with mode), verifying
// its hash: the file appears, renamed into place, only if the content is
// right.
func (c *Client) Fetch(ctx context.Context, k Key, path string, mode os.FileMode) error {
	if !k.Valid() {
		return fmt.Errorf("blob: malformed key %q", k)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, c.Base+"/blobs/"+string(k), nil)
	if err != nil {
		return fmt.Errorf("blob: %w", err)
	}
	resp, err := c.http().Do(req)
	if err != nil {
		return fmt.Errorf("blob: fetch %s from %s: %w", k, c.Base, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("blob: fetch %s from %s: %s", k, c.Base, resp.Status)
	}
	f, err := os.CreateTemp(filepath.Dir(path), ".fetch-*")
	if err != nil {
		return fmt.Errorf("blob: %w", err)
	}
	tmp := f.Name()
	defer os.Remove(tmp)
	h := sha256.New()
	_, err = io.Copy(io.MultiWriter(f, h), resp.Body)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("blob: fetch %s from %s: %w", k, c.Base, err)
	}
	if hex.EncodeToString(h.Sum(nil)) != string(k) {
		return fmt.Errorf("%w: %s from %s", ErrCorrupt, k, c.Base)
	}
	if err := os.Chmod(tmp, mode); err != nil {
		return fmt.Errorf("blob: %w", err)
	}
	if err := os.Rename(tmp, path); err != nil {
		return fmt.Errorf("blob: %w", err)
	}
	return nil
}
