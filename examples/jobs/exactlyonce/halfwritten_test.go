package exactlyonce

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/runnel-io/runnel/connectors/filesink"
	"github.com/runnel-io/runnel/runtime/checkpoint"
	"github.com/runnel-io/runnel/runtime/checkpoint/storage"
	"github.com/runnel-io/runnel/runtime/restart"
	"github.com/runnel-io/runnel/stream"
)

// crashingStorage is a file storage whose checkpoints from id from on
// crash while they are written (a state file is left half-written, or the
// _metadata is cut short) until the job has failed: those begun before
// failed was set. Once checkpoint to has crashed, armed is set.
type crashingStorage struct {
	storage.Storage
	from, to int64
	armed    atomic.Bool
	failed   atomic.Bool

	mu   sync.Mutex
	read map[string]bool // locations state was read from
}

type crashingLocation struct {
	storage.Location
	s     *crashingStorage
	id    int64
	crash bool
}

func (s *crashingStorage) Begin(ctx context.Context, job string, id int64, o checkpoint.Options) (storage.Location, error) {
	l, err := s.Storage.Begin(ctx, job, id, o)
	if err != nil {
		return nil, err
	}
	return crashingLocation{Location: l, s: s, id: id, crash: id >= s.from && !s.failed.Load()}, nil
}

func (s *crashingStorage) ReadState(ctx context.Context, location string, h checkpoint.StateHandle) ([]byte, error) {
	s.mu.Lock()
	s.read[location] = true
	s.mu.Unlock()
	return s.Storage.ReadState(ctx, location, h)
}

func (l crashingLocation) WriteState(ctx context.Context, name string, data []byte) (checkpoint.StateHandle, error) {
	if l.crash && l.id%2 == 1 {
		// The upload dies halfway: half the bytes under the final name.
		_ = os.WriteFile(filepath.Join(localPath(l.Path()), name), data[:len(data)/2], 0o644)
		return checkpoint.StateHandle{}, errors.New("crash during upload")
	}
	return l.Location.WriteState(ctx, name, data)
}

func (l crashingLocation) Commit(ctx context.Context, md *checkpoint.Metadata) error {
	if !l.crash {
		return l.Location.Commit(ctx, md)
	}
	if l.id%2 == 0 {
		// The metadata write dies halfway.
		b, err := storage.EncodeMetadata(md)
		if err == nil {
			_ = os.WriteFile(filepath.Join(localPath(l.Path()), storage.MetadataFile), b[:len(b)/2], 0o644)
		}
	}
	if l.id >= l.s.to {
		l.s.armed.Store(true)
	}
	return errors.New("crash during upload")
}

func localPath(p string) string { return strings.TrimPrefix(p, "file://") }

// failOnce fails once, at its first record after armed is set.
type failOnce struct {
	armed, failed *atomic.Bool
}

func (f *failOnce) ProcessElement(_ *stream.Context, e Event, out stream.Collector[Event]) error {
	if f.armed.Load() && f.failed.CompareAndSwap(false, true) {
		return ErrInjected
	}
	out.Collect(e)
	return nil
}

// TestHalfWrittenCheckpointsAreNeverRestored makes the checkpoints from 3
// on crash while they are written (half-written state files, cut-short
// metadata), then, after at least four of them, fails the job: it restores
// from checkpoint 2, the latest complete one, and the output still holds
// every line exactly once.
func TestHalfWrittenCheckpointsAreNeverRestored(t *testing.T) {
	dir := t.TempDir()
	base, err := storage.Open(filepath.Join(dir, "checkpoints"), "")
	if err != nil {
		t.Fatal(err)
	}
	st := &crashingStorage{Storage: base, from: 3, to: 6, read: map[string]bool{}}
	const events, keys = 16000, 19
	env := stream.NewEnvironment().SetParallelism(2).EnableCheckpointing(10 * time.Millisecond)
	cc := env.CheckpointConfig()
	cc.Storage, cc.TolerableFailures = st, 100
	env.SetRestartStrategy(restart.Config{Type: restart.FixedDelay, FixedDelay: restart.FixedDelayConfig{Attempts: 1}})
	out := filepath.Join(dir, "out")
	events0 := stream.FromSplitSource(env, &source{events: events, keys: keys, rate: 4000}, stream.NoWatermarks[Event](), "Events")
	passed := stream.ProcessEach(events0, func() stream.ProcessFunction[Event, Event] { return &failOnce{armed: &st.armed, failed: &st.failed} })
	counted := stream.KeyedProcessEach(stream.KeyBy(passed, func(e Event) int64 { return e.Key }),
		func() stream.KeyedProcessFunction[int64, Event, string] { return &counter{} })
	stream.SinkToTwoPhase(counted, filesink.New[string](out, filesink.WithBucketAssigner[string](filesink.BasePathBucketAssigner[string]{})), "sink")
	c := start(t, env)
	if err := c.Wait(); err != nil {
		t.Fatal(err)
	}
	if !st.failed.Load() || c.Restarts() != 1 {
		t.Fatalf("failed %v, restarts %d; want one failure after the crashed checkpoints", st.failed.Load(), c.Restarts())
	}
	if len(st.read) != 1 {
		t.Fatalf("state read from %v, want one location", st.read)
	}
	for loc := range st.read {
		if filepath.Base(localPath(loc)) != "chk-2" {
			t.Fatalf("restored from %s, want chk-2, the latest complete checkpoint", loc)
		}
	}
	checkExactlyOnce(t, readOutput(t, out), events, keys)
}
