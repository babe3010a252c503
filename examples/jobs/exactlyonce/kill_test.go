package exactlyonce

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/runnel-io/runnel/internal/clustertest"
	"github.com/runnel-io/runnel/runtime/checkpoint/storage"
)

// TestKilledProcessResumesFromItsLatestCheckpoint runs the job as a
// program, kills it with SIGKILL once it has committed output, and starts
// it again from its latest retained checkpoint: the output holds every
// line exactly once.
func TestKilledProcessResumesFromItsLatestCheckpoint(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the program")
	}
	dir := t.TempDir()
	bin := clustertest.Build(t, "github.com/runnel-io/runnel/examples/exactlyonce")
	const events, keys = 60000, 41
	out, ck := filepath.Join(dir, "out"), filepath.Join(dir, "checkpoints")
	args := []string{"--events", "60000", "--keys", "41", "--output", out, "--parallelism", "3",
		"--checkpoint-interval", "20ms", "--checkpoint-dir", ck}

	first := clustertest.Command(bin, append(args, "--rate", "4000")...)
	first.Stderr = os.Stderr
	if err := first.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = first.Process.Kill()
		_ = first.Wait()
	})
	for len(readOutput(t, out)) < 5000 {
		time.Sleep(10 * time.Millisecond)
	}
	if err := first.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	_ = first.Wait()
	n := len(readOutput(t, out))
	if n >= events {
		t.Fatalf("the program wrote all %d lines before it was killed", n)
	}

	jobs, err := os.ReadDir(ck)
	if err != nil || len(jobs) != 1 {
		t.Fatalf("checkpoint directory: %v, %d jobs", err, len(jobs))
	}
	st, err := storage.Open(ck, "")
	if err != nil {
		t.Fatal(err)
	}
	_, latest, ok, err := st.LatestCheckpoint(context.Background(), jobs[0].Name())
	if err != nil || !ok {
		t.Fatalf("no completed checkpoint (%v)", err)
	}
	t.Logf("killed with %d lines written; resuming from %s", n, latest)

	second := clustertest.Command(bin, append(args, "--from-savepoint", latest)...)
	if b, err := second.CombinedOutput(); err != nil {
		t.Fatalf("resumed run: %v\n%s", err, b)
	}
	checkExactlyOnce(t, readOutput(t, out), events, keys)
	// The killed run's files in progress and pending are cleaned up.
	entries, err := os.ReadDir(out)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		if strings.HasPrefix(e.Name(), ".") {
			t.Errorf("left behind: %s", e.Name())
		}
	}
}
