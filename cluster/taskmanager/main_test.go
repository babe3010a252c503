package taskmanager

import (
	"fmt"
	"net/http"
	"os"
	"testing"

	"go.uber.org/goleak"
)

// helperEnv, in its environment, makes the test binary a worker process
// (see TestHelperProcess); its value is the worker's behaviour.
const helperEnv = "RUNNEL_TASKMANAGER_TEST_WORKER"

// TestMain fails the tests if a goroutine outlives them: a TaskManager's
// Run must stop everything it started. Idle HTTP connections of the
// default client are not the TaskManager's.
func TestMain(m *testing.M) {
	// A race-enabled binary sleeps a second on exit unless told not to;
	// the worker processes inherit this.
	os.Setenv("GORACE", "atexit_sleep_ms=0")
	code := m.Run()
	if code == 0 && os.Getenv(helperEnv) == "" {
		http.DefaultClient.CloseIdleConnections()
		if err := goleak.Find(
			goleak.IgnoreAnyFunction("net/http.(*persistConn).readLoop"),
			goleak.IgnoreAnyFunction("net/http.(*persistConn).writeLoop"),
		); err != nil {
			fmt.Fprintln(os.Stderr, "goroutines outlived the tests:", err)
			code = 1
		}
	}
	os.Exit(code)
}
