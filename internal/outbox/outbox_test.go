package outbox

import (
	"context"
	"errors"
	"slices"
	"testing"
)

func TestOrderAndBatches(t *testing.T) {
	o := New[int](100)
	for i := range 10 {
		o.Add(i)
	}
	o.Close()
	var got []int
	batches := 0
	if err := o.Run(context.Background(), func(_ context.Context, b []int) error {
		batches++
		got = append(got, b...)
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(got, []int{0, 1, 2, 3, 4, 5, 6, 7, 8, 9}) || batches != 1 {
		t.Errorf("sent %v in %d batches, want 0..9 in one", got, batches)
	}
	if o.Add(10) {
		t.Error("Add after Close succeeded")
	}
}

func TestLimitFails(t *testing.T) {
	o := New[int](2)
	o.Add(1)
	o.Add(2)
	if o.Add(3) {
		t.Fatal("a third message fit an outbox of two")
	}
	err := o.Run(context.Background(), func(context.Context, []int) error { return nil })
	if !errors.Is(err, ErrFull) {
		t.Errorf("Run = %v, want ErrFull", err)
	}
}

func TestSendFailureStops(t *testing.T) {
	o := New[int](10)
	o.Add(1)
	boom := errors.New("boom")
	if err := o.Run(context.Background(), func(context.Context, []int) error { return boom }); !errors.Is(err, boom) {
		t.Fatalf("Run = %v", err)
	}
	if o.Add(2) {
		t.Error("Add after a failure succeeded")
	}
}

func TestRunStopsWithContext(t *testing.T) {
	o := New[int](10)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := o.Run(ctx, func(context.Context, []int) error { return nil }); !errors.Is(err, context.Canceled) {
		t.Errorf("Run = %v", err)
	}
}
