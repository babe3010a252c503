package stream_test

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/runnel-io/runnel/stream"
)

// deadline bounds every job of these tests, so that a hang fails the test
// that caused it instead of the whole run. It is generous on purpose: it is
// a guard, never an assertion about speed.
const deadline = 30 * time.Second

// newEnv returns an environment with the given default parallelism, so that
// no test depends on the machine's number of CPUs.
func newEnv(p int) *stream.Environment {
	return stream.NewEnvironment().SetParallelism(p)
}

// checkNoLeaks fails the test if a goroutine that did not run when it was
// called still runs once the test and its other cleanups are over: every
// job must stop everything it started, whether it succeeded, failed or
// was cancelled. The check is the test's own, so that a leak fails the
// test that caused it and no other. Call it first.
func checkNoLeaks(t *testing.T) {
	t.Helper()
	ignore := goleak.IgnoreCurrent()
	t.Cleanup(func() { goleak.VerifyNone(t, ignore) })
}

// execute runs env's job under the deadline and returns Execute's error. A
// job still running at the deadline fails the test, and a goroutine of the
// job that outlives the test fails it too (checkNoLeaks).
func execute(t *testing.T, env *stream.Environment) error {
	t.Helper()
	checkNoLeaks(t)
	ctx, cancel := context.WithTimeout(context.Background(), deadline)
	defer cancel()
	err := env.Execute(ctx, t.Name())
	if errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("job did not end within %v: %v", deadline, err)
	}
	return err
}

// startJob starts env's job, named after the test. The test's cleanup
// cancels it and waits for it, so that a test that stops half-way
// (t.Fatal) leaves no job running into the next; goroutines it leaves
// behind fail the test (checkNoLeaks).
func startJob(t *testing.T, env *stream.Environment) *stream.JobClient {
	t.Helper()
	checkNoLeaks(t)
	c, err := env.ExecuteAsync(context.Background(), t.Name())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		c.Cancel()
		_ = c.Wait()
	})
	return c
}

// mustExecute runs env's job and fails the test if it fails.
func mustExecute(t *testing.T, env *stream.Environment) {
	t.Helper()
	if err := execute(t, env); err != nil {
		t.Fatalf("Execute: %v", err)
	}
}

// executeErr runs env's job, which must fail, and returns its error.
func executeErr(t *testing.T, env *stream.Environment) error {
	t.Helper()
	err := execute(t, env)
	if err == nil {
		t.Fatal("Execute succeeded, want an error")
	}
	return err
}

// wantErrorContains fails the test unless err's text contains every one of
// parts.
func wantErrorContains(t *testing.T, err error, parts ...string) {
	t.Helper()
	for _, p := range parts {
		if !strings.Contains(err.Error(), p) {
			t.Errorf("error %q does not contain %q", err, p)
		}
	}
}

// wantSubtaskFailure fails the test unless err's text names a subtask of
// the operator or task called name, of the given parallelism, the way
// Flink does: "name (i/parallelism): ".
func wantSubtaskFailure(t *testing.T, err error, name string, parallelism int) {
	t.Helper()
	for i := 1; i <= parallelism; i++ {
		if strings.Contains(err.Error(), fmt.Sprintf("%s (%d/%d): ", name, i, parallelism)) {
			return
		}
	}
	t.Errorf("error %q does not name a subtask of %q: want %q (i of %d)", err, name, name+" (i/n): ", parallelism)
}

// At is a record tagged with the subtask that received it.
type At[T any] struct {
	Subtask int
	V       T
}

// tagSubtask adds an operator that tags each record with the index of the
// subtask it reaches.
func tagSubtask[T any](s stream.DataStream[T]) stream.DataStream[At[T]] {
	return stream.Process(s, stream.ProcessFunc[T, At[T]](func(ctx *stream.Context, v T, out stream.Collector[At[T]]) error {
		out.Collect(At[T]{Subtask: ctx.Runtime().Subtask, V: v})
		return nil
	}))
}

// ints returns 0, 1, ..., n-1.
func ints(n int) []int {
	s := make([]int, n)
	for i := range s {
		s[i] = i
	}
	return s
}

// sorted returns a sorted copy of s.
func sorted[T cmp.Ordered](s []T) []T {
	s = slices.Clone(s)
	slices.Sort(s)
	return s
}

// wantSameElements fails the test unless got and want hold the same
// elements the same number of times, in any order.
func wantSameElements[T cmp.Ordered](t *testing.T, got, want []T) {
	t.Helper()
	g, w := sorted(got), sorted(want)
	if !slices.Equal(g, w) {
		if len(g) != len(w) {
			t.Fatalf("got %d records, want %d (got %v, want %v)", len(g), len(w), clip(g), clip(w))
		}
		for i := range g {
			if g[i] != w[i] {
				t.Fatalf("records differ at sorted position %d: got %v, want %v", i, g[i], w[i])
			}
		}
	}
}

// clip shortens a slice for a failure message.
func clip[T any](s []T) []T {
	if len(s) > 20 {
		return s[:20]
	}
	return s
}

// values returns the V of every tagged record.
func values[T any](tagged []At[T]) []T {
	vs := make([]T, len(tagged))
	for i, a := range tagged {
		vs[i] = a.V
	}
	return vs
}

// lifecycle counts the calls of the lifecycle hooks of a user function.
// Open is counted per subtask; Close and Finish, which do not say which
// subtask they are called for, in total. It is safe for concurrent use.
type lifecycle struct {
	mu       sync.Mutex
	opens    map[int]int
	closes   int
	finishes int
	// misordered records hooks called out of order (more Closes or
	// Finishes than Opens so far).
	misordered []string
}

func newLifecycle() *lifecycle {
	return &lifecycle{opens: map[int]int{}}
}

func (l *lifecycle) open(sub int) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.opens[sub]++
}

func (l *lifecycle) opened() int {
	n := 0
	for _, c := range l.opens {
		n += c
	}
	return n
}

func (l *lifecycle) finish() {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.finishes >= l.opened() {
		l.misordered = append(l.misordered, "more Finishes than Opens")
	}
	l.finishes++
}

func (l *lifecycle) close() {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.closes >= l.opened() {
		l.misordered = append(l.misordered, "Close without an Open")
	}
	l.closes++
}

func (l *lifecycle) finished() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.finishes
}

// wantOpenedAndClosedOnce fails the test unless each of the p subtasks was
// opened once and p Closes followed.
func (l *lifecycle) wantOpenedAndClosedOnce(t *testing.T, p int) {
	t.Helper()
	l.mu.Lock()
	defer l.mu.Unlock()
	for s := range p {
		if l.opens[s] != 1 {
			t.Errorf("subtask %d: Open called %d times, want once", s, l.opens[s])
		}
	}
	if len(l.opens) != p {
		t.Errorf("Open called for subtasks %v, want 0..%d", l.opens, p-1)
	}
	if l.closes != p {
		t.Errorf("Close called %d times for %d subtasks, want once each", l.closes, p)
	}
	if len(l.misordered) > 0 {
		t.Errorf("hooks out of order: %v", l.misordered)
	}
}
