package nexmark

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/runnel-io/runnel/stream"
)

var errInjected = errors.New("injected failure")

// TestCheckpointedRunIsExactlyOnce runs q0 and q5 at parallelism 2 through
// the harness with checkpoints every 10 ms, fails the job once midway
// (after a checkpoint completed), and checks that the results are exactly
// the reference's: nothing lost, nothing twice.
//
// The results go to a two-phase-commit sink (linesSink) instead of the
// harness's Sink, which writes as it goes and would show what the failed
// attempt wrote after its last checkpoint: the engine replays those
// results, and only a transactional sink makes the output exactly once.
// What the test proves is that the job, source included, resumes from its
// checkpoint: a source that started over would duplicate events, one that
// skipped would lose them, and either changes q0's rows and q5's counts.
// That the source resumed where its checkpoint was, and not from the
// start, shows in how many events went through the job twice.
func TestCheckpointedRunIsExactlyOnce(t *testing.T) {
	for _, c := range []struct {
		query     string
		eventRate float64
	}{
		{"q0", SuiteEventRate},
		// 40,000 events over 160 s of event time: about 80 windows.
		{"q5", 250},
	} {
		t.Run(c.query, func(t *testing.T) {
			t.Parallel()
			const events, failAfter = 40_000, 20_000
			q, _ := Lookup(c.query)
			cfg := DefaultConfig()
			cfg.Events, cfg.EventsPerSecond = events, c.eventRate
			checkNothingLate(t, cfg, 2)
			want := q.Reference(collect(newGen(t, cfg, 0, 1)))
			if len(want) == 0 {
				t.Fatal("the reference has no results: the test proves nothing")
			}

			out := newCommittedLines()
			var seen, failedAt atomic.Int64
			hooks := &runHooks{
				events: func(events stream.DataStream[Event]) stream.DataStream[Event] {
					return stream.Map(events, func(e Event) (Event, error) {
						n := seen.Add(1)
						if n >= failAfter && out.committed() > 0 && failedAt.CompareAndSwap(0, n) {
							return Event{}, errInjected
						}
						return e, nil
					}).Name("Injected Failure").WithCodec(EventCodec())
				},
				results: func(lines stream.DataStream[string]) {
					stream.SinkToTwoPhase(lines, linesSink{to: out}, "Committed Results")
				},
			}
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
			defer cancel()
			// Paced to take about a second, so that checkpoints complete
			// before the failure.
			rs, err := Run(ctx, RunOptions{Query: c.query, Events: events, EventRate: c.eventRate, Parallelism: 2,
				Rate: 40_000, CheckpointInterval: 10 * time.Millisecond, hooks: hooks})
			if err != nil {
				t.Fatal(err)
			}
			if failedAt.Load() == 0 {
				t.Fatal("the job did not fail: the test proves nothing")
			}
			compareLines(t, c.query, 2, out.lines(), want)
			if r := rs[0]; r.Checkpoints == nil || *r.Checkpoints == 0 || r.CheckpointSeconds == nil {
				t.Errorf("result %+v: no checkpoints counted", r)
			}
			// Events after the restored checkpoint and before the failure
			// went through twice; all of them would have, had the source
			// started over.
			replayed := seen.Load() - events
			if replayed >= failedAt.Load() {
				t.Errorf("%d events went through twice, the job failed after %d: the source started over", replayed, failedAt.Load())
			}
			t.Logf("failed after %d events, %d went through twice, %d results", failedAt.Load(), replayed, len(want))
		})
	}
}

// TestRunCheckpointFields checks that the JSON result line has the
// checkpoint fields when, and only when, the run checkpoints.
func TestRunCheckpointFields(t *testing.T) {
	ctx := context.Background()
	for _, interval := range []time.Duration{0, 10 * time.Millisecond} {
		dir := ""
		if interval > 0 {
			dir = t.TempDir()
		}
		rs, err := Run(ctx, RunOptions{Query: "q1", Events: 20_000, Parallelism: 2, Rate: 200_000,
			CheckpointInterval: interval, CheckpointDir: dir})
		if err != nil {
			t.Fatal(err)
		}
		b, err := json.Marshal(rs[0])
		if err != nil {
			t.Fatal(err)
		}
		line := string(b)
		has := strings.Contains(line, `"checkpoints":`) && strings.Contains(line, `"checkpoint_seconds":`)
		if has != (interval > 0) {
			t.Errorf("--checkpoint-interval %v: result line %s", interval, line)
		}
		if interval > 0 && *rs[0].Checkpoints == 0 {
			t.Errorf("--checkpoint-interval %v: no checkpoint completed in %s", interval, line)
		}
	}
}

func TestRunOptionsValidate(t *testing.T) {
	for _, c := range []struct {
		o    RunOptions
		flag string // in the error; "" for none
	}{
		{RunOptions{Query: "q0", Events: 1, CheckpointInterval: time.Second}, ""},
		{RunOptions{Query: "q0", Events: 1, CheckpointInterval: time.Second, CheckpointDir: "d"}, ""},
		{RunOptions{Query: "q0", Events: 1, CheckpointInterval: -time.Second}, "--checkpoint-interval"},
		{RunOptions{Query: "q0", Events: 1, CheckpointInterval: time.Millisecond}, "--checkpoint-interval"},
		{RunOptions{Query: "q0", Events: 1, CheckpointDir: "d"}, "--checkpoint-dir"},
		{RunOptions{Query: "q0", Events: 1, JobManager: "localhost:6123"}, "--jobmanager"},
	} {
		err := c.o.Validate()
		switch {
		case c.flag == "" && err != nil:
			t.Errorf("%+v: %v", c.o, err)
		case c.flag != "" && (err == nil || !strings.HasPrefix(err.Error(), "nexmark: "+c.flag)):
			t.Errorf("%+v: error %v, want one starting \"nexmark: %s\"", c.o, err, c.flag)
		}
	}
}
