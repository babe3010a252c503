package exactlyonce

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/runnel-io/runnel/stream"
)

// readOutput reads the lines of the finished part files under dir
// (hidden files are in progress or pending, not output).
func readOutput(t *testing.T, dir string) []string {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		t.Fatal(err)
	}
	var lines []string
	for _, e := range entries {
		if e.IsDir() || strings.HasPrefix(e.Name(), ".") {
			continue
		}
		f, err := os.Open(filepath.Join(dir, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		sc := bufio.NewScanner(f)
		for sc.Scan() {
			lines = append(lines, sc.Text())
		}
		f.Close()
		if err := sc.Err(); err != nil {
			t.Fatal(err)
		}
	}
	return lines
}

// checkExactlyOnce checks that lines hold "key,seq,count" for every event
// of the stream exactly once, with count = seq+1, and nothing else.
func checkExactlyOnce(t *testing.T, lines []string, events, keys int64) {
	t.Helper()
	seen := make([]bool, events)
	bad := 0
	for _, l := range lines {
		f := strings.Split(l, ",")
		var v [3]int64
		ok := len(f) == 3
		for i := 0; ok && i < 3; i++ {
			var err error
			v[i], err = strconv.ParseInt(f[i], 10, 64)
			ok = err == nil
		}
		i := v[1]*keys + v[0]
		switch {
		case !ok || v[0] < 0 || v[0] >= keys || v[1] < 0 || i >= events:
			t.Errorf("line %q is no event of the stream", l)
		case v[2] != v[1]+1:
			t.Errorf("line %q: count %d, want seq+1 = %d", l, v[2], v[1]+1)
		case seen[i]:
			t.Errorf("line %q is written twice", l)
		default:
			seen[i] = true
			continue
		}
		if bad++; bad > 20 {
			t.Fatal("too many bad lines")
		}
	}
	missing := 0
	for i, s := range seen {
		if !s {
			if missing < 10 {
				t.Errorf("event %d (key %d, seq %d) is missing", i, int64(i)%keys, int64(i)/keys)
			}
			missing++
		}
	}
	if missing > 0 {
		t.Errorf("%d of %d events missing", missing, events)
	}
}

// run starts the job of o and returns its client.
func run(t *testing.T, o Options) *stream.JobClient {
	t.Helper()
	env := stream.NewEnvironment()
	if err := Build(env, o); err != nil {
		t.Fatal(err)
	}
	return start(t, env)
}

// start starts env's job, named after the test or benchmark, and returns
// its client. The cleanup cancels the job and waits for it, so that one
// that stops half-way (Fatal) leaves no job running into the next.
func start(tb testing.TB, env *stream.Environment) *stream.JobClient {
	tb.Helper()
	c, err := env.ExecuteAsync(context.Background(), tb.Name())
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() {
		c.Cancel()
		_ = c.Wait()
	})
	return c
}

// TestExactlyOnceWithFailures injects failures into the job and checks
// every line of its output.
func TestExactlyOnceWithFailures(t *testing.T) {
	for _, p := range []int{1, 4} {
		t.Run(fmt.Sprintf("p=%d", p), func(t *testing.T) {
			dir := t.TempDir()
			const events, keys = 24000, 37
			o := Options{
				Events: events, Keys: keys, Output: filepath.Join(dir, "out"), Parallelism: p,
				CheckpointInterval: 10 * time.Millisecond, CheckpointDir: filepath.Join(dir, "checkpoints"),
				RestartAttempts: -1, FailEvery: int64(events / p / 4),
				// Slow enough for checkpoints to complete between failures:
				// the failures then resume from checkpoints, not from the start.
				Rate: float64(40000 / p),
			}
			c := run(t, o)
			if err := c.Wait(); err != nil {
				t.Fatal(err)
			}
			// Each subtask fails at each of its failure points, every one in
			// an attempt of its own (a failure ends the attempt before a
			// checkpoint can cover it). Failures of different subtasks may
			// end the same attempt, so the restarts are at least the points
			// of one subtask, however the subtasks' failures interleave.
			if points := int(events / int64(p) / o.FailEvery); c.Restarts() < points {
				t.Errorf("the job restarted %d times, want at least %d (the failure points of a subtask)", c.Restarts(), points)
			}
			checkExactlyOnce(t, readOutput(t, o.Output), events, keys)
		})
	}
}

// TestExactlyOnceWithoutCheckpoints: the sink commits at the end of input.
func TestExactlyOnceWithoutCheckpoints(t *testing.T) {
	dir := t.TempDir()
	o := Options{Events: 5000, Keys: 7, Output: filepath.Join(dir, "out"), Parallelism: 3, RestartAttempts: -1}
	if err := run(t, o).Wait(); err != nil {
		t.Fatal(err)
	}
	checkExactlyOnce(t, readOutput(t, o.Output), 5000, 7)
}

// TestRescaleFromSavepoints stops the job with a savepoint at parallelism
// 4, resumes it at 2, stops it again and finishes it at 3: the keys keep
// their counts and the source its positions.
func TestRescaleFromSavepoints(t *testing.T) {
	dir := t.TempDir()
	const events, keys = 30000, 53
	out := filepath.Join(dir, "out")
	savepoint := ""
	for i, p := range []int{4, 2, 3} {
		o := Options{
			Events: events, Keys: keys, Output: out, Parallelism: p,
			CheckpointInterval: 10 * time.Millisecond, CheckpointDir: filepath.Join(dir, "checkpoints"),
			RestartAttempts: -1, FromSavepoint: savepoint,
		}
		last := i == 2
		if !last {
			o.Rate = float64(events / 4 / p) // a few seconds: time to stop it midway
		}
		c := run(t, o)
		if last {
			if err := c.Wait(); err != nil {
				t.Fatal(err)
			}
			break
		}
		before := len(readOutput(t, out))
		// Stop once the run has committed something of its own.
		for len(readOutput(t, out)) == before {
			time.Sleep(5 * time.Millisecond)
		}
		var err error
		if savepoint, err = c.StopWithSavepoint(context.Background(), filepath.Join(dir, "savepoints"), false); err != nil {
			t.Fatal(err)
		}
		if err := c.Wait(); err != nil {
			t.Fatalf("run at parallelism %d after the stop: %v", p, err)
		}
		n := len(readOutput(t, out))
		if n >= events {
			t.Fatalf("the run at parallelism %d wrote all %d lines before it was stopped", p, n)
		}
		t.Logf("parallelism %d: stopped with %d lines written, savepoint %s", p, n, savepoint)
	}
	checkExactlyOnce(t, readOutput(t, out), events, keys)
}
