package pace

import "testing"

func TestAllowNeverExceedsTheRate(t *testing.T) {
	// At 1 record per hour only the first record is due at once, whatever
	// the machine's speed.
	p := New(1.0 / 3600)
	defer p.Stop()
	if n := p.Allow(10); n != 1 {
		t.Fatalf("Allow(10) = %d, want 1", n)
	}
	p.Emitted(1)
	if n := p.Allow(10); n != 0 {
		t.Fatalf("Allow after the first record = %d, want 0", n)
	}
	select {
	case <-p.Ready():
		t.Fatal("Ready before the next record is due")
	default:
	}
}
