package blob

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func newServer(t *testing.T, maxSize int64) (*Server, *Client) {
	t.Helper()
	s, err := NewServer(t.TempDir(), maxSize, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Listen("127.0.0.1:0", nil); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close(context.Background()) })
	return s, &Client{Base: "http://" + s.Addr()}
}

func TestPutIsAtomicAndContentAddressed(t *testing.T) {
	s, c := newServer(t, 0)
	data := bytes.Repeat([]byte("runnel"), 10000)
	k, err := s.Put(bytes.NewReader(data))
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(data)
	if string(k) != hex.EncodeToString(sum[:]) {
		t.Fatalf("key %s is not the content's SHA-256", k)
	}
	entries, _ := os.ReadDir(s.dir)
	if len(entries) != 1 || entries[0].Name() != string(k) {
		t.Fatalf("server directory holds %v, want just the blob", entries)
	}
	dst := filepath.Join(t.TempDir(), "job")
	if err := c.Fetch(context.Background(), k, dst, 0o755); err != nil {
		t.Fatal(err)
	}
	got, _ := os.ReadFile(dst)
	if !bytes.Equal(got, data) {
		t.Fatal("fetched content differs")
	}
	if fi, _ := os.Stat(dst); fi.Mode().Perm() != 0o755 {
		t.Fatalf("mode %v, want 0755", fi.Mode().Perm())
	}
}

func TestGetVerifiesTheHash(t *testing.T) {
	// A server that answers with the wrong content for a key.
	bad := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { _, _ = w.Write([]byte("not it")) }))
	defer bad.Close()
	c := &Client{Base: bad.URL}
	sum := sha256.Sum256([]byte("the binary"))
	dst := filepath.Join(t.TempDir(), "job")
	err := c.Fetch(context.Background(), Key(hex.EncodeToString(sum[:])), dst, 0o755)
	if !errors.Is(err, ErrCorrupt) {
		t.Fatalf("error %v, want ErrCorrupt", err)
	}
	if _, err := os.Stat(dst); !errors.Is(err, os.ErrNotExist) {
		t.Fatal("a corrupt blob was left at the destination")
	}
	if err := c.Fetch(context.Background(), "../../etc/passwd", dst, 0o755); err == nil {
		t.Fatal("a malformed key was fetched")
	}
}

func TestPutRefusesOversizedBlobs(t *testing.T) {
	s, _ := newServer(t, 100)
	_, err := s.Put(strings.NewReader(strings.Repeat("x", 101)))
	if tooLarge := new(http.MaxBytesError); !errors.As(err, &tooLarge) {
		t.Fatalf("error %v, want an *http.MaxBytesError", err)
	}
	if entries, _ := os.ReadDir(s.dir); len(entries) != 0 {
		t.Fatalf("the refused upload left %v", entries)
	}
	if _, err := s.Put(strings.NewReader(strings.Repeat("x", 100))); err != nil {
		t.Fatalf("a blob at the limit: %v", err)
	}
}

// TestNetworkCannotWrite: no request stores, overwrites or deletes a
// blob; other methods are 405 with Allow, malformed keys 400.
func TestNetworkCannotWrite(t *testing.T) {
	s, c := newServer(t, 0)
	k, err := s.Put(strings.NewReader("the binary"))
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range []struct{ method, path string }{
		{http.MethodPut, "/blobs"}, {http.MethodPost, "/blobs"}, {http.MethodPut, "/blobs/" + string(k)},
		{http.MethodPost, "/blobs/" + string(k)}, {http.MethodDelete, "/blobs/" + string(k)},
	} {
		req, _ := http.NewRequest(r.method, c.Base+r.path, strings.NewReader("evil"))
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		want := http.StatusMethodNotAllowed
		if r.path == "/blobs" {
			want = http.StatusNotFound
		}
		if resp.StatusCode != want || (want == http.StatusMethodNotAllowed && resp.Header.Get("Allow") != "GET, HEAD") {
			t.Errorf("%s %s: %s, Allow %q; want %d", r.method, r.path, resp.Status, resp.Header.Get("Allow"), want)
		}
	}
	entries, _ := os.ReadDir(s.dir)
	if b, err := os.ReadFile(s.Path(k)); err != nil || string(b) != "the binary" || len(entries) != 1 {
		t.Errorf("after the refused requests: %q, %v, %d files; want the blob alone, untouched", b, err, len(entries))
	}
	resp, err := http.Get(c.Base + "/blobs/..%2f..%2fetc")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusBadRequest {
		t.Fatalf("malformed key: %s, want 400", resp.Status)
	}
}
