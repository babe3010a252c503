package stream_test

import (
	"testing"

	"go.uber.org/goleak"
)

// TestMain fails the package's tests, internal and external, if any
// goroutine outlives them: every job must stop everything it started,
// whether it succeeded, failed or was cancelled.
func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}
