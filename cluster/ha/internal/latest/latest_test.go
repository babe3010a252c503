package latest

import "testing"

func TestLatestKeepsTheNewest(t *testing.T) {
	c := New[int]()
	for i := range 5 {
		c.Send(i)
	}
	if v := <-c.C(); v != 4 {
		t.Errorf("received %d, want the latest, 4", v)
	}
	c.Send(5)
	c.Close()
	if v, ok := <-c.C(); !ok || v != 5 {
		t.Errorf("after Close received %d, %v, want 5 and then the close", v, ok)
	}
	if _, ok := <-c.C(); ok {
		t.Error("the channel is not closed")
	}
}
