package hdfstest

import (
	"bytes"
	"errors"
	"flag"
	"io"
	"io/fs"
	"os"
	"path"
	"sort"
	"testing"
	"time"

	"github.com/colinmarc/hdfs/v2"
)

// cluster is the one the package's tests share.
var cluster *Cluster

func TestMain(m *testing.M) {
	flag.Parse()
	if !testing.Short() {
		dir, err := os.MkdirTemp("", "hdfstest")
		if err != nil {
			panic(err)
		}
		start := time.Now()
		cluster, err = Start(dir, os.Stderr)
		if err != nil {
			os.RemoveAll(dir)
			panic(err)
		}
		println("hdfstest: HDFS serves at", cluster.URI(), "after", time.Since(start).Round(time.Millisecond).String())
	}
	code := m.Run()
	if cluster != nil {
		if err := cluster.Close(); err != nil {
			println("hdfstest:", err.Error())
			code = 1
		}
	}
	os.Exit(code)
}

func client(t *testing.T) *hdfs.Client {
	t.Helper()
	if testing.Short() {
		t.Skip("runs HDFS")
	}
	c, err := hdfs.NewClient(hdfs.ClientOptions{Addresses: []string{cluster.NameNodeAddr()}, User: "runnel"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// TestFiles: with the Go client, a file is written, renamed, read back,
// listed and deleted.
func TestFiles(t *testing.T) {
	c := client(t)
	dir := "/TestFiles"
	if err := c.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	data := bytes.Repeat([]byte("runnel "), 300_000) // 2.1 MB: more than one packet
	w, err := c.Create(path.Join(dir, "part.inprogress"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.Write(data); err != nil {
		t.Fatal(err)
	}
	if err := closeFile(w); err != nil {
		t.Fatal(err)
	}
	if err := c.Rename(path.Join(dir, "part.inprogress"), path.Join(dir, "part-0")); err != nil {
		t.Fatal(err)
	}
	if err := writeFile(c, path.Join(dir, "part-1"), []byte("one")); err != nil {
		t.Fatal(err)
	}
	got, err := c.ReadFile(path.Join(dir, "part-0"))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, data) {
		t.Errorf("read %d bytes back, want the %d written", len(got), len(data))
	}
	infos, err := c.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, fi := range infos {
		names = append(names, fi.Name())
	}
	sort.Strings(names)
	if len(names) != 2 || names[0] != "part-0" || names[1] != "part-1" {
		t.Errorf("listed %v, want [part-0 part-1]", names)
	}
	if err := c.Remove(path.Join(dir, "part-0")); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Stat(path.Join(dir, "part-0")); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("stat of a deleted file: %v, want it not to exist", err)
	}
	if err := c.RemoveAll(dir); err != nil {
		t.Fatal(err)
	}
}

// TestAppend: a file closed and opened again for append holds both
// writes.
func TestAppend(t *testing.T) {
	c := client(t)
	p := "/TestAppend"
	if err := writeFile(c, p, []byte("first ")); err != nil {
		t.Fatal(err)
	}
	w, err := c.Append(p)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.WriteString(w, "second"); err != nil {
		t.Fatal(err)
	}
	if err := closeFile(w); err != nil {
		t.Fatal(err)
	}
	got, err := c.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	if string(got) != "first second" {
		t.Errorf("read %q, want %q", got, "first second")
	}
}

// TestNameNodeRestart: with the NameNode stopped the client's calls fail;
// started again, it serves what was written before.
func TestNameNodeRestart(t *testing.T) {
	c := client(t)
	p := "/TestNameNodeRestart"
	if err := writeFile(c, p, []byte("kept")); err != nil {
		t.Fatal(err)
	}
	if err := cluster.StopNameNode(); err != nil {
		t.Fatal(err)
	}
	down, err := hdfs.NewClient(hdfs.ClientOptions{Addresses: []string{cluster.NameNodeAddr()}, User: "runnel"})
	if err == nil {
		_, err = down.Stat(p)
		down.Close()
	}
	if err == nil {
		t.Error("stat with the NameNode stopped succeeded")
	}
	start := time.Now()
	if err := cluster.StartNameNode(); err != nil {
		t.Fatal(err)
	}
	t.Logf("NameNode restarted in %v", time.Since(start))
	again, err := hdfs.NewClient(hdfs.ClientOptions{Addresses: []string{cluster.NameNodeAddr()}, User: "runnel"})
	if err != nil {
		t.Fatal(err)
	}
	defer again.Close()
	got, err := again.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	if string(got) != "kept" {
		t.Errorf("read %q after the restart, want %q", got, "kept")
	}
}

func writeFile(c *hdfs.Client, name string, data []byte) error {
	w, err := c.Create(name)
	if err != nil {
		return err
	}
	if _, err := w.Write(data); err != nil {
		w.Close()
		return err
	}
	return closeFile(w)
}

// closeFile closes w, again while the NameNode answers that the last
// block is still replicating: it has yet to hear from the DataNode that
// the block is complete (the Java client waits the same way).
func closeFile(w *hdfs.FileWriter) error {
	deadline := time.Now().Add(30 * time.Second)
	for {
		err := w.Close()
		if !errors.Is(err, hdfs.ErrReplicating) || time.Now().After(deadline) {
			return err
		}
		time.Sleep(100 * time.Millisecond)
	}
}
