package serial

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/runnel-io/runnel/runtime/clock"
)

func TestLoopRunsInOrderAndSteps(t *testing.T) {
	l := New()
	clk := clock.NewManual(time.UnixMilli(0))
	var got []int
	steps := make(chan int64, 100)
	for i := range 3 {
		l.Do(func() { got = append(got, i) })
	}
	ctx, cancel := context.WithCancel(context.Background())
	go l.Run(ctx, clk, func() (int64, bool) {
		steps <- clk.Now().UnixMilli()
		return 1000, clk.Now().UnixMilli() < 1000
	})
	var n int
	if err := l.Call(context.Background(), func() { n = len(got) }); err != nil {
		t.Fatal(err)
	}
	if n != 3 || got[0] != 0 || got[2] != 2 {
		t.Fatalf("ran %v, want 0 1 2 in order", got)
	}
	<-steps
	clk.Advance(time.Second) // the deadline wakes the loop
	for at := range steps {
		if at >= 1000 {
			break
		}
	}
	cancel()
	<-l.Stopped()
	if err := l.Call(context.Background(), func() {}); !errors.Is(err, ErrStopped) {
		t.Fatalf("call after stop: %v, want ErrStopped", err)
	}
}
