package taskmanager

import (
	"net/http"
	"os"
	"testing"

	"go.uber.org/goleak"
)

// helperEnv, in its environment, makes the test binary a worker process
// (see TestHelperProcess); its value is the worker's behaviour.
const helperEnv = "RUNNEL_TASKMANAGER_TEST_WORKER"

// TestMain runs the tests. A race-enabled binary sleeps a second on exit
// unless told not to; the worker processes inherit this.
func TestMain(m *testing.M) {
	os.Setenv("GORACE", "atexit_sleep_ms=0")
	os.Exit(m.Run())
}

// checkNoLeaks fails the test if a goroutine that did not run when it was
// called still runs once the test and its other cleanups are over: a
// TaskManager's Run must stop everything it started. The check is the
// test's own, so that a leak fails the test that caused it and no other.
// Idle HTTP connections of the default client are not the TaskManager's.
func checkNoLeaks(t *testing.T) {
	t.Helper()
	ignore := goleak.IgnoreCurrent()
	t.Cleanup(func() {
		http.DefaultClient.CloseIdleConnections()
		goleak.VerifyNone(t, ignore,
			goleak.IgnoreAnyFunction("net/http.(*persistConn).readLoop"),
			goleak.IgnoreAnyFunction("net/http.(*persistConn).writeLoop"))
	})
}
