package s3test

import (
	"bytes"
	"context"
	"flag"
	"io"
	"os"
	"testing"
	"time"

	"github.com/minio/minio-go/v7"
)

// server is the one the package's tests share.
var server *Server

func TestMain(m *testing.M) {
	flag.Parse()
	if !testing.Short() {
		dir, err := os.MkdirTemp("", "s3test")
		if err != nil {
			panic(err)
		}
		start := time.Now()
		server, err = Start(dir, os.Stderr)
		if err != nil {
			os.RemoveAll(dir)
			panic(err)
		}
		println("s3test: S3Proxy serves at", server.Endpoint(), "after", time.Since(start).Round(time.Millisecond).String())
	}
	code := m.Run()
	if server != nil {
		if err := server.Close(); err != nil {
			println("s3test:", err.Error())
			code = 1
		}
	}
	os.Exit(code)
}

// bucket returns a client and a new bucket of the test's own.
func bucket(t *testing.T, name string) (*minio.Client, string) {
	t.Helper()
	if testing.Short() {
		t.Skip("runs S3Proxy")
	}
	if err := server.CreateBucket(name); err != nil {
		t.Fatal(err)
	}
	c, err := server.Client()
	if err != nil {
		t.Fatal(err)
	}
	return c, name
}

func ctx(t *testing.T) context.Context {
	c, cancel := context.WithTimeout(context.Background(), time.Minute)
	t.Cleanup(cancel)
	return c
}

// TestObjects: objects are put, listed by prefix, read back and deleted.
func TestObjects(t *testing.T) {
	c, b := bucket(t, "objects")
	ctx := ctx(t)
	for _, k := range []string{"chk/1/a", "chk/1/b", "chk/2/a", "other"} {
		if _, err := c.PutObject(ctx, b, k, bytes.NewReader([]byte(k)), int64(len(k)), minio.PutObjectOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	var keys []string
	for o := range c.ListObjects(ctx, b, minio.ListObjectsOptions{Prefix: "chk/1/", Recursive: true}) {
		if o.Err != nil {
			t.Fatal(o.Err)
		}
		keys = append(keys, o.Key)
	}
	if len(keys) != 2 || keys[0] != "chk/1/a" || keys[1] != "chk/1/b" {
		t.Errorf("listed %v under chk/1/, want [chk/1/a chk/1/b]", keys)
	}
	if got := get(t, c, b, "chk/2/a"); string(got) != "chk/2/a" {
		t.Errorf("got %q, want %q", got, "chk/2/a")
	}
	if err := c.RemoveObject(ctx, b, "chk/2/a", minio.RemoveObjectOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.StatObject(ctx, b, "chk/2/a", minio.StatObjectOptions{}); minio.ToErrorResponse(err).Code != "NoSuchKey" {
		t.Errorf("stat of a deleted object: %v, want NoSuchKey", err)
	}
}

// TestMultipart: an object uploaded in three parts (two of 5 MiB and a
// last smaller one) reads back whole; an aborted upload leaves no object
// behind and cannot be completed.
func TestMultipart(t *testing.T) {
	c, b := bucket(t, "multipart")
	core := minio.Core{Client: c}
	ctx := ctx(t)
	const part = 5 << 20
	parts := [][]byte{
		bytes.Repeat([]byte{'a'}, part),
		bytes.Repeat([]byte{'b'}, part),
		[]byte("the end"),
	}
	id, err := core.NewMultipartUpload(ctx, b, "big", minio.PutObjectOptions{})
	if err != nil {
		t.Fatal(err)
	}
	var done []minio.CompletePart
	for i, p := range parts {
		op, err := core.PutObjectPart(ctx, b, "big", id, i+1, bytes.NewReader(p), int64(len(p)), minio.PutObjectPartOptions{})
		if err != nil {
			t.Fatal(err)
		}
		done = append(done, minio.CompletePart{PartNumber: op.PartNumber, ETag: op.ETag})
	}
	if _, err := core.CompleteMultipartUpload(ctx, b, "big", id, done, minio.PutObjectOptions{}); err != nil {
		t.Fatal(err)
	}
	if got, want := get(t, c, b, "big"), bytes.Join(parts, nil); !bytes.Equal(got, want) {
		t.Errorf("read back %d bytes, want the %d uploaded", len(got), len(want))
	}

	id, err = core.NewMultipartUpload(ctx, b, "aborted", minio.PutObjectOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := core.PutObjectPart(ctx, b, "aborted", id, 1, bytes.NewReader(parts[0]), part, minio.PutObjectPartOptions{}); err != nil {
		t.Fatal(err)
	}
	if err := core.AbortMultipartUpload(ctx, b, "aborted", id); err != nil {
		t.Fatal(err)
	}
	if _, err := c.StatObject(ctx, b, "aborted", minio.StatObjectOptions{}); minio.ToErrorResponse(err).Code != "NoSuchKey" {
		t.Errorf("stat of an aborted upload's object: %v, want NoSuchKey", err)
	}
	if _, err := core.CompleteMultipartUpload(ctx, b, "aborted", id, []minio.CompletePart{{PartNumber: 1}}, minio.PutObjectOptions{}); err == nil {
		t.Error("an aborted upload completed")
	}
	var keys []string
	for o := range c.ListObjects(ctx, b, minio.ListObjectsOptions{Recursive: true}) {
		if o.Err != nil {
			t.Fatal(o.Err)
		}
		keys = append(keys, o.Key)
	}
	if len(keys) != 1 || keys[0] != "big" {
		t.Errorf("listed %v, want [big]", keys)
	}
}

func get(t *testing.T, c *minio.Client, b, key string) []byte {
	t.Helper()
	o, err := c.GetObject(context.Background(), b, key, minio.GetObjectOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer o.Close()
	data, err := io.ReadAll(o)
	if err != nil {
		t.Fatal(err)
	}
	return data
}
