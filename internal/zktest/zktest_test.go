package zktest

import (
	"os"
	"testing"
	"time"
)

// TestEnsemble: three servers serve, one of them leading; with one
// stopped the other two still form a quorum; with two stopped the last
// does not serve; started again, they all serve.
func TestEnsemble(t *testing.T) {
	if testing.Short() {
		t.Skip("runs ZooKeeper")
	}
	e, err := StartEnsemble(t.TempDir(), 3, os.Stderr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := e.Close(); err != nil {
			t.Error(err)
		}
	})
	modes := func() map[string]int {
		m := map[string]int{}
		for i := range e.Size() {
			mode, _ := e.Mode(i)
			m[mode]++
		}
		return m
	}
	if m := modes(); m["leader"] != 1 || m["follower"] != 2 {
		t.Fatalf("modes %v, want one leader and two followers", m)
	}
	if err := e.Stop(0); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "a quorum of two", func() bool { m := modes(); return m["leader"] == 1 && m["follower"] == 1 })
	if err := e.Stop(1); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the last server to stop serving", func() bool { mode, _ := e.Mode(2); return mode == "" })
	for _, i := range []int{0, 1} {
		if err := e.Start(i); err != nil {
			t.Fatal(err)
		}
	}
	if err := e.WaitServing(); err != nil {
		t.Fatal(err)
	}
	if m := modes(); m["leader"] != 1 || m["follower"] != 2 {
		t.Errorf("after the restart: modes %v, want one leader and two followers", m)
	}
}

// TestStandalone: one server serves standalone, and Jars fetched nothing
// the second time (the cache is complete).
func TestStandalone(t *testing.T) {
	if testing.Short() {
		t.Skip("runs ZooKeeper")
	}
	e, err := StartEnsemble(t.TempDir(), 1, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	if mode, err := e.Mode(0); mode != "standalone" {
		t.Errorf("mode %q (%v), want standalone", mode, err)
	}
	start := time.Now()
	if _, err := Jars(); err != nil {
		t.Fatal(err)
	}
	t.Logf("Jars, cached: %v", time.Since(start))
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(time.Minute)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("no %s after a minute", what)
		}
		time.Sleep(50 * time.Millisecond)
	}
}
