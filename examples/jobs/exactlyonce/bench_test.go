package exactlyonce

import (
	"context"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/runnel-io/runnel/state"
	"github.com/runnel-io/runnel/stream"
)

// BenchmarkExactlyOnce measures the job's throughput (events per second,
// generator to finished part files) at parallelism 2, without checkpoints
// and with one every second:
//
//	go test -run='^$' -bench=ExactlyOnce -benchtime=2000000x ./examples/jobs/exactlyonce/
func BenchmarkExactlyOnce(b *testing.B) {
	for _, interval := range []time.Duration{0, time.Second} {
		name := "checkpoints=off"
		if interval > 0 {
			name = "checkpoint-interval=" + interval.String()
		}
		b.Run(name, func(b *testing.B) {
			dir := b.TempDir()
			o := Options{Events: int64(b.N), Keys: 10000, Output: filepath.Join(dir, "out"), Parallelism: 2,
				CheckpointInterval: interval, CheckpointDir: filepath.Join(dir, "checkpoints"), RestartAttempts: 0}
			env := stream.NewEnvironment()
			if err := Build(env, o); err != nil {
				b.Fatal(err)
			}
			b.ResetTimer()
			start := time.Now()
			if err := env.Execute(context.Background(), "bench"); err != nil {
				b.Fatal(err)
			}
			b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "events/s")
		})
	}
}

// BenchmarkCheckpoint1GiB measures a checkpoint of about 1 GiB of keyed
// heap state (8 Mi keys with a 120-byte value each, 2 subtasks) from
// trigger to completion, with the file storage on the local disk:
//
//	go test -run='^$' -bench=Checkpoint1GiB -benchtime=1x ./examples/jobs/exactlyonce/
//
// The state is built by the job itself; the measured checkpoint is the
// final one, taken once every record is in the state. It reports the
// checkpoint's duration and the size of what it wrote.
func BenchmarkCheckpoint1GiB(b *testing.B) {
	const keys = 8 << 20
	for range b.N {
		dir := b.TempDir()
		env := stream.NewEnvironment().SetParallelism(2).EnableCheckpointing(time.Hour)
		env.CheckpointConfig().Dir = filepath.Join(dir, "checkpoints")
		env.CheckpointConfig().Timeout = time.Hour
		src := stream.Generate(env, keys, func(i int64) (int64, error) { return i, nil })
		stream.KeyedProcessEach(stream.KeyBy(src, func(k int64) int64 { return k }), func() stream.KeyedProcessFunction[int64, int64, struct{}] {
			return &filler{}
		}).Discard()
		c := start(b, env)
		if err := c.Wait(); err != nil {
			b.Fatal(err)
		}
		st, err := c.CheckpointStats(context.Background())
		if err != nil {
			b.Fatal(err)
		}
		if st.Completed < 1 {
			b.Fatal("no checkpoint completed")
		}
		b.ReportMetric(st.LastCompletedDuration.Seconds(), "checkpoint-s")
	}
}

// filler stores a 120-byte value per key.
type filler struct {
	v state.ValueState[string]
}

func (f *filler) Open(_ context.Context, rc *stream.KeyedRuntimeContext[int64]) error {
	var err error
	f.v, err = stream.GetValueState(rc, state.Value[string]("v"))
	return err
}

func (f *filler) ProcessElement(_ *stream.KeyedContext[int64], k int64, _ stream.Collector[struct{}]) error {
	v := strconv.FormatInt(k, 10)
	for len(v) < 120 {
		v += "-" + v
	}
	return f.v.Update(v[:120])
}
