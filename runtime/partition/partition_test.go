package partition

import (
	"fmt"
	"testing"

	"github.com/runnel-io/runnel/codec"
	"github.com/runnel-io/runnel/runtime/network"
	"github.com/runnel-io/runnel/state/keygroup"
)

func TestKeyedRoutesToOwner(t *testing.T) {
	key := func(s string) string { return s }
	p := ByKey(key, codec.String())
	for _, maxP := range []int{7, 128, 1000} {
		for _, n := range []int{1, 2, 3, 5} {
			sel := p.Selector(0, 1, n, maxP).(network.Selector[string])
			for i := range 500 {
				k := fmt.Sprintf("k%d", i)
				g := keygroup.Of([]byte(k), maxP)
				ch := sel.Select(k)
				if !keygroup.RangeFor(maxP, n, ch).Contains(g) {
					t.Fatalf("maxP=%d n=%d: key %q (group %d) sent to subtask %d, which owns %v", maxP, n, k, g, ch, keygroup.RangeFor(maxP, n, ch))
				}
			}
		}
	}
}

func TestSelectorsStayInRange(t *testing.T) {
	parts := []Partitioner{
		Of[int](Forward), Of[int](Rebalance), Of[int](Rescale), Of[int](Shuffle), Of[int](Broadcast), Of[int](Global),
		ByKey(func(v int) int { return v }, codec.Int()),
		ByKeyCustom(func(v int) int { return v }, func(k, n int) int { return k % n }),
	}
	for _, p := range parts {
		for _, producers := range []int{1, 2, 3, 4} {
			for _, n := range []int{1, 2, 3, 4, 7} {
				for idx := range producers {
					channels := n
					if p.Pointwise() {
						channels = 1
					}
					sel := p.Selector(idx, producers, channels, 128).(network.Selector[int])
					for v := range 100 {
						ch := sel.Select(v)
						if ch == network.Broadcast && p.Kind() == Broadcast {
							continue
						}
						if ch < 0 || ch >= channels {
							t.Fatalf("%v producer %d/%d to %d channels: record %d to channel %d", p.Kind(), idx, producers, channels, v, ch)
						}
					}
				}
			}
		}
	}
}

func TestRescaleCoversEveryConsumer(t *testing.T) {
	for _, c := range [][2]int{{2, 4}, {4, 2}, {3, 3}, {1, 3}, {3, 7}} {
		producers, channels := c[0], c[1]
		seen := make([]bool, channels)
		for idx := range producers {
			sel := Of[int](Rescale).Selector(idx, producers, channels, 128).(network.Selector[int])
			for v := range 2 * channels {
				seen[sel.Select(v)] = true
			}
		}
		for ch, ok := range seen {
			if !ok {
				t.Fatalf("rescale %d→%d: consumer %d gets nothing", producers, channels, ch)
			}
		}
	}
}
