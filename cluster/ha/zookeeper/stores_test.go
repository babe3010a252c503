package zookeeper

import (
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/go-zookeeper/zk"

	"github.com/runnel-io/runnel/cluster/ha"
	"github.com/runnel-io/runnel/config"
)

// TestStoresSurviveANewClient: what one process's stores keep, a new
// process of the same cluster reads: jobs oldest first with the latest
// submission, checkpoints by ascending ID, results, and the counter where
// it was. A replaced or removed job's file is deleted.
func TestStoresSurviveANewClient(t *testing.T) {
	c := testConfig(t)
	a := open(t, c)
	ctx := testContext(t)
	jobs := a.Jobs()
	for _, id := range []string{"a", "b", "c"} {
		if err := jobs.Put(ctx, ha.JobRecord{ID: id, Submission: []byte(id)}); err != nil {
			t.Fatal(err)
		}
	}
	if err := jobs.Remove(ctx, "b"); err != nil {
		t.Fatal(err)
	}
	if err := jobs.Remove(ctx, "never"); err != nil {
		t.Errorf("removing a job never put: %v", err)
	}
	if err := jobs.Put(ctx, ha.JobRecord{ID: "a", Submission: []byte("a2")}); err != nil {
		t.Fatal(err)
	}
	cps := a.Checkpoints("a")
	for _, id := range []int64{3, 1, 12, 2} {
		if err := cps.Add(ctx, id, fmt.Sprintf("file:///cp/chk-%d", id)); err != nil {
			t.Fatal(err)
		}
	}
	if err := cps.Remove(ctx, 2); err != nil {
		t.Fatal(err)
	}
	ids := a.CheckpointIDs("a")
	for want := int64(1); want <= 2; want++ {
		if id, err := ids.GetAndIncrement(ctx); err != nil || id != want {
			t.Fatalf("GetAndIncrement = %d, %v; want %d", id, err, want)
		}
	}
	if err := a.Results().Put(ctx, ha.JobResult{ID: "x", Result: []byte("FINISHED")}); err != nil {
		t.Fatal(err)
	}
	_ = a.Close()

	b := open(t, c)
	list, err := b.Jobs().List(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(list) != 2 || list[0].ID != "a" || string(list[0].Submission) != "a2" || list[1].ID != "c" || string(list[1].Submission) != "c" {
		t.Errorf("jobs = %+v, want a (a2) then c", list)
	}
	files, _ := filepath.Glob(filepath.Join(c.StorageDir, strings.Trim(c.ClusterID, "/"), "submittedJobGraph-*"))
	if len(files) != 2 {
		t.Errorf("files %v, want one per job stored", files)
	}
	all, err := b.Checkpoints("a").All(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if want := []ha.Checkpoint{{ID: 1, Location: "file:///cp/chk-1"}, {ID: 3, Location: "file:///cp/chk-3"}, {ID: 12, Location: "file:///cp/chk-12"}}; !slices.Equal(all, want) {
		t.Errorf("All = %v, want %v", all, want)
	}
	if cp, ok, err := b.Checkpoints("a").Latest(ctx); err != nil || !ok || cp.ID != 12 {
		t.Errorf("Latest = %+v %v %v, want 12", cp, ok, err)
	}
	if _, ok, _ := b.Checkpoints("other").Latest(ctx); ok {
		t.Error("a job without checkpoints has one")
	}
	if id, _ := b.CheckpointIDs("a").GetAndIncrement(ctx); id != 3 {
		t.Errorf("a new client's next ID is %d, want 3", id)
	}
	if err := b.CheckpointIDs("a").SetAtLeast(ctx, 10); err != nil {
		t.Fatal(err)
	}
	_ = b.CheckpointIDs("a").SetAtLeast(ctx, 5) // never lowers it
	if id, _ := b.CheckpointIDs("a").GetAndIncrement(ctx); id != 10 {
		t.Errorf("after SetAtLeast(10) the ID is %d, want 10", id)
	}
	if r, ok, err := b.Results().Get(ctx, "x"); err != nil || !ok || string(r.Result) != "FINISHED" {
		t.Errorf("result = %+v %v %v", r, ok, err)
	}
	if rs, _ := b.Results().List(ctx); len(rs) != 1 {
		t.Errorf("results = %+v", rs)
	}
	if _, ok, _ := b.Results().Get(ctx, "y"); ok {
		t.Error("a result of a job never put")
	}
	for _, p := range []string{"/jobgraphs/a", "/checkpoints/a/0000000000000000012", "/checkpoint-counter/a", "/job-results/x"} {
		if ok, _, _ := b.conn.Exists(b.base + p); !ok {
			t.Errorf("no node %s%s", b.base, p)
		}
	}
	if err := b.Jobs().Put(ctx, ha.JobRecord{ID: "a/b"}); err == nil {
		t.Error("a job ID with a slash was taken")
	}
}

// TestCounterConcurrentIncrements: increments from two processes at once
// hand out every ID once.
func TestCounterConcurrentIncrements(t *testing.T) {
	c := testConfig(t)
	procs := []*Services{open(t, c), open(t, c)}
	ctx := testContext(t)
	var mu sync.Mutex
	seen := map[int64]bool{}
	var wg sync.WaitGroup
	for g := range 6 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			counter := procs[g%2].CheckpointIDs("job")
			for range 10 {
				id, err := counter.GetAndIncrement(ctx)
				if err != nil {
					t.Error(err)
					return
				}
				mu.Lock()
				if seen[id] {
					t.Errorf("ID %d handed out twice", id)
				}
				seen[id] = true
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	for id := int64(1); id <= 60; id++ {
		if !seen[id] {
			t.Errorf("ID %d never handed out", id)
		}
	}
}

// TestCreatorACL: with the creator ACL the cluster's nodes are readable
// only by a client with the digest credentials.
func TestCreatorACL(t *testing.T) {
	c := testConfig(t)
	c.ACL, c.DigestCredentials = "creator", "runnel:secret"
	a := open(t, c)
	ctx := testContext(t)
	if err := a.Jobs().Put(ctx, ha.JobRecord{ID: "j", Submission: []byte("x")}); err != nil {
		t.Fatal(err)
	}
	b := open(t, c)
	if list, err := b.Jobs().List(ctx); err != nil || len(list) != 1 {
		t.Errorf("an authenticated client lists %+v, %v", list, err)
	}
	conn, _, err := zk.Connect([]string{ensemble.Connect()}, 10*time.Second, zk.WithLogInfo(false), zk.WithLogger(zkLogger{slog.New(slog.DiscardHandler)}))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	waitFor(t, "a session", func() bool { return conn.State() == zk.StateHasSession })
	if _, _, err := conn.Get(a.base + "/jobgraphs/j"); !errors.Is(err, zk.ErrNoAuth) {
		t.Errorf("a client without the credentials reads the job's node: %v", err)
	}
}

// TestBadInput: start-up fails naming the key that is wrong.
func TestBadInput(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	dead := ln.Addr().String()
	_ = ln.Close() // nothing listens there
	_, err = New(Config{Quorum: dead, StorageDir: t.TempDir(), ConnectionTimeout: 500 * time.Millisecond}, nil)
	if !errors.Is(err, ErrNoSession) || !strings.Contains(err.Error(), "high-availability.zookeeper.quorum") || !strings.Contains(err.Error(), dead) {
		t.Errorf("an unreachable quorum: %v", err)
	}
	for _, tc := range []struct {
		name, want string
		conf       map[string]string
	}{
		{"no quorum", "high-availability.zookeeper.quorum", map[string]string{"high-availability.storageDir": t.TempDir()}},
		{"no storage directory", "high-availability.storageDir", map[string]string{"high-availability.zookeeper.quorum": dead}},
		{"a scheme not supported", "high-availability.storageDir", map[string]string{"high-availability.zookeeper.quorum": dead, "high-availability.storageDir": "hdfs://nn/ha"}},
		{"creator without credentials", "high-availability.zookeeper.client.digest-credentials-file", map[string]string{
			"high-availability.zookeeper.quorum": dead, "high-availability.storageDir": t.TempDir(), "high-availability.zookeeper.client.acl": "creator"}},
	} {
		conf := config.FromMap(tc.conf)
		conf.Set("high-availability.type", "zookeeper")
		_, err := ha.New(conf, nil)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: %v, want an error naming %s", tc.name, err, tc.want)
		}
	}
}

// TestFileStoragePointers: the file storage reads and deletes only its
// own files, and takes file:// URIs.
func TestFileStoragePointers(t *testing.T) {
	dir := t.TempDir()
	fs, err := NewFileStorage("file://" + dir)
	if err != nil {
		t.Fatal(err)
	}
	ctx := testContext(t)
	p, err := fs.Write(ctx, "x", []byte("data"))
	if err != nil {
		t.Fatal(err)
	}
	if b, err := fs.Read(ctx, p); err != nil || string(b) != "data" {
		t.Errorf("Read = %q, %v", b, err)
	}
	other := filepath.Join(t.TempDir(), "other")
	_ = os.WriteFile(other, nil, 0o600)
	if err := fs.Delete(ctx, "file://"+other); err == nil {
		t.Error("deleted a file outside the storage")
	}
	if err := fs.Delete(ctx, p); err != nil {
		t.Fatal(err)
	}
	if err := fs.Delete(ctx, p); err != nil {
		t.Errorf("deleting twice: %v", err)
	}
}

func TestSortLatches(t *testing.T) {
	got := sortLatches([]string{"info", "_c_bb-latch-0000000010", "_c_aa-latch-0000000002", "_c_cc-latch-0000000007"})
	if want := []string{"_c_aa-latch-0000000002", "_c_cc-latch-0000000007", "_c_bb-latch-0000000010"}; !slices.Equal(got, want) {
		t.Errorf("sortLatches = %v, want %v", got, want)
	}
}
