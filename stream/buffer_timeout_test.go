package stream

import (
	"context"
	"fmt"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/runnel-io/runnel/codec"
	"github.com/runnel-io/runnel/runtime/clock"
	"github.com/runnel-io/runnel/state/keygroup"
)

// keysOnTwoSubtasks returns two int64 keys that KeyBy sends to different
// subtasks of an operator of parallelism 2 and 128 key groups.
func keysOnTwoSubtasks(t *testing.T) (busy, sparse int64) {
	t.Helper()
	kc, err := codec.For[int64]()
	if err != nil {
		t.Fatal(err)
	}
	subtask := func(k int64) int { return keygroup.OperatorIndex(128, 2, keygroup.Of(kc.Append(nil, k), 128)) }
	for k := int64(1); ; k++ {
		if subtask(k) != subtask(0) {
			return 0, k
		}
	}
}

// TestBufferTimeoutFlushesASparseChannel: a source that always has data
// (so its input never runs dry) sends every record to one keyed subtask but
// record sparseAt, which goes to the other; the source advances the tasks'
// manual clock by 1 ms a record. With a buffer timeout, the sparse record
// reaches its subtask before the source has emitted limit more records:
// the source waits for it there, and since a task that waits inside its
// source sends nothing, it arrives only if a flush sent it before. With
// -1 ms it leaves only at the end of the input.
func TestBufferTimeoutFlushesASparseChannel(t *testing.T) {
	checkNoLeaks(t)
	const (
		sparseAt = 10
		// limit is generous: the task flushes between two polls of its
		// source, which emits up to pollBatch records each.
		limit = sparseAt + 4*pollBatch
		count = limit + 1
	)
	busy, sparse := keysOnTwoSubtasks(t)
	for _, tc := range []struct {
		name    string
		timeout *time.Duration // nil: the default
	}{
		{"5ms", new(5 * time.Millisecond)},
		{"default", nil},
		{"0", new(time.Duration(0))},
		{"-1ms", new(-time.Millisecond)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			onlyWhenFull := tc.timeout != nil && *tc.timeout < 0
			clk := clock.NewManual(time.UnixMilli(0))
			env := NewEnvironment().SetParallelism(2).SetMaxParallelism(128).SetClock(clk)
			if tc.timeout != nil {
				env.SetBufferTimeout(*tc.timeout)
			}
			var emitted, arrivedAt atomic.Int64 // the last record generated; its value when the sparse one arrived
			arrived := make(chan struct{})
			src := Generate(env, count, func(i int64) (int64, error) {
				clk.Advance(time.Millisecond)
				if i == limit && !onlyWhenFull {
					select {
					case <-arrived:
					case <-time.After(time.Minute): // only against a hang
						return 0, fmt.Errorf("record %d has not reached its subtask by record %d", sparseAt, limit)
					}
				}
				emitted.Store(i)
				return i, nil
			}).SetParallelism(1)
			keyed := KeyBy(src, func(i int64) int64 {
				if i == sparseAt {
					return sparse
				}
				return busy
			})
			KeyedProcess(keyed, KeyedProcessFunc[int64, int64, int64](func(_ *KeyedContext[int64], v int64, _ Collector[int64]) error {
				if v == sparseAt {
					arrivedAt.Store(emitted.Load())
					close(arrived)
				}
				return nil
			})).Discard()
			if err := env.Execute(context.Background(), "sparse"); err != nil {
				t.Fatal(err)
			}
			at := arrivedAt.Load()
			switch {
			case onlyWhenFull && at != count-1:
				t.Errorf("record %d arrived when record %d was the last emitted, want %d: only at the end of input", sparseAt, at, count-1)
			case !onlyWhenFull && at >= limit:
				t.Errorf("record %d arrived when record %d was the last emitted, want one before %d", sparseAt, at, limit)
			}
			t.Logf("record %d arrived when record %d was the last emitted", sparseAt, at)
		})
	}
}

func TestSetBufferTimeout(t *testing.T) {
	for _, d := range []time.Duration{-time.Millisecond, 0, time.Microsecond, 100 * time.Millisecond} {
		env := NewEnvironment().SetBufferTimeout(d)
		if _, err := env.StreamGraph(); err != nil {
			t.Errorf("SetBufferTimeout(%v): %v", d, err)
		}
		if env.conf.BufferTimeout == nil || *env.conf.BufferTimeout != d {
			t.Errorf("SetBufferTimeout(%v) set %v", d, env.conf.BufferTimeout)
		}
	}
	for _, d := range []time.Duration{-2 * time.Millisecond, -time.Microsecond, -time.Second} {
		env := NewEnvironment().SetBufferTimeout(d)
		if _, err := env.StreamGraph(); err == nil || !strings.Contains(err.Error(), "SetBufferTimeout") {
			t.Errorf("SetBufferTimeout(%v): error %v", d, err)
		}
	}
}

func TestConfigureBufferTimeout(t *testing.T) {
	env := NewEnvironment()
	if env.conf.BufferTimeout != nil {
		t.Fatalf("a new environment has a buffer timeout of %v, want none (the runtime's default)", *env.conf.BufferTimeout)
	}
	// In this order: the last one is what a failed Configure must keep.
	for _, c := range []struct {
		raw  string
		want time.Duration
	}{{"-1", -time.Millisecond}, {"0", 0}, {"10 ms", 10 * time.Millisecond}} {
		raw, want := c.raw, c.want
		if err := env.Configure(map[string]string{"execution.buffer-timeout": raw}); err != nil {
			t.Fatal(err)
		}
		if got := env.conf.BufferTimeout; got == nil || *got != want {
			t.Errorf("%q configured %v, want %v", raw, got, want)
		}
	}
	err := env.Configure(map[string]string{"execution.buffer-timeout": "-2 ms"})
	if err == nil || !strings.Contains(err.Error(), "execution.buffer-timeout") {
		t.Errorf("-2 ms: error %v, want one naming the key", err)
	}
	if got := *env.conf.BufferTimeout; got != 10*time.Millisecond {
		t.Errorf("a failed Configure changed the buffer timeout to %v", got)
	}
}
