package clock

import (
	"testing"
	"time"
)

func TestManualAfterFunc(t *testing.T) {
	m := NewManual(time.Unix(100, 0))
	var fired []int
	m.AfterFunc(3*time.Second, func() { fired = append(fired, 3) })
	m.AfterFunc(1*time.Second, func() { fired = append(fired, 1) })
	stopped := m.AfterFunc(2*time.Second, func() { fired = append(fired, 2) })
	if !stopped.Stop() || stopped.Stop() {
		t.Fatal("Stop should succeed once")
	}
	m.Advance(500 * time.Millisecond)
	if len(fired) != 0 {
		t.Fatalf("fired %v before its time", fired)
	}
	m.Advance(5 * time.Second)
	if len(fired) != 2 || fired[0] != 1 || fired[1] != 3 {
		t.Fatalf("fired %v, want [1 3]", fired)
	}
	m.AfterFunc(0, func() { fired = append(fired, 0) })
	if len(fired) != 3 {
		t.Fatal("a timer that is due at once did not fire")
	}
}
