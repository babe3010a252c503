package state

import (
	"fmt"
	"testing"
)

func TestTimerQueueOrderAndDeduplication(t *testing.T) {
	q := NewTimerQueue[string, int]()
	reg := func(ts int64, k string) bool { return q.Register(Timer[string, int]{Time: ts, Key: k}) }
	if !reg(30, "a") || !reg(10, "b") || !reg(20, "c") || !reg(10, "a") {
		t.Fatal("new timers not registered")
	}
	if reg(30, "a") {
		t.Fatal("a duplicate timer was registered")
	}
	if !q.Delete(Timer[string, int]{Time: 20, Key: "c"}) || q.Delete(Timer[string, int]{Time: 20, Key: "c"}) {
		t.Fatal("Delete should remove once")
	}
	if _, ok := q.PopUntil(9); ok {
		t.Fatal("popped a timer after its time")
	}
	var got []string
	for {
		tm, ok := q.PopUntil(100)
		if !ok {
			break
		}
		got = append(got, fmt.Sprintf("%d%s", tm.Time, tm.Key))
	}
	// Equal times fire in registration order: b before a at 10.
	if fmt.Sprint(got) != "[10b 10a 30a]" || q.Len() != 0 {
		t.Fatalf("fired %v, want [10b 10a 30a]", got)
	}
	if !reg(30, "a") {
		t.Fatal("a fired timer could not be registered again")
	}
}
