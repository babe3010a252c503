package stream

import (
	"context"
	"testing"

	"go.uber.org/goleak"
)

// checkNoLeaks fails the test if a goroutine that did not run when it was
// called still runs once the test and its other cleanups are over: every
// job must stop everything it started, whether it succeeded, failed or
// was cancelled. The check is the test's own, so that a leak fails the
// test that caused it and no other. Call it before the test starts a job.
func checkNoLeaks(t *testing.T) {
	t.Helper()
	ignore := goleak.IgnoreCurrent()
	t.Cleanup(func() { goleak.VerifyNone(t, ignore) })
}

// startJob starts env's job called name. The test's cleanup cancels it and
// waits for it, so that a test that stops half-way (t.Fatal) leaves no job
// running into the next; goroutines it leaves behind fail the test
// (checkNoLeaks).
func startJob(t *testing.T, env *Environment, name string) *JobClient {
	t.Helper()
	checkNoLeaks(t)
	c, err := env.ExecuteAsync(context.Background(), name)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		c.Cancel()
		_ = c.Wait()
	})
	return c
}

// ended returns a channel that receives the result of c's job once it
// ends (startJob's cleanup makes sure it does).
func ended(c *JobClient) <-chan error {
	done := make(chan error, 1)
	go func() { done <- c.Wait() }()
	return done
}
