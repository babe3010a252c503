package window

import (
	"errors"
	"math"
	"math/big"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/runnel-io/runnel/codec"
)

// randomTimestamp returns a timestamp from anywhere in int64, biased to
// small values and to the extremes.
func randomTimestamp(rng *rand.Rand) int64 {
	switch rng.IntN(4) {
	case 0:
		return rng.Int64N(200_000) - 100_000
	case 1:
		return math.MinInt64 + rng.Int64N(100_000)
	case 2:
		return math.MaxInt64 - rng.Int64N(100_000)
	}
	return int64(rng.Uint64())
}

// TestWindowStartIsFloor proves invariant 1's arithmetic: windowStart is
// ts - floormod(ts - offset, size), computed without overflow, and reports
// a start below math.MinInt64 instead of wrapping.
func TestWindowStartIsFloor(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	for range 100_000 {
		size := 1 + rng.Int64N(1_000_000)
		if rng.IntN(10) == 0 {
			size = 1 + rng.Int64N(math.MaxInt64/2)
		}
		offset := rng.Int64N(2*size-1) - (size - 1)
		ts := randomTimestamp(rng)
		// want = ts - ((ts - offset) mod size), in big integers.
		bts, boff, bsize := big.NewInt(ts), big.NewInt(offset), big.NewInt(size)
		mod := new(big.Int).Sub(bts, boff)
		mod.Mod(mod, bsize) // Euclidean: 0 <= mod < size
		want := new(big.Int).Sub(bts, mod)
		got, ok := windowStart(ts, offset, size)
		if want.IsInt64() != ok || (ok && got != want.Int64()) {
			t.Fatalf("windowStart(%d, %d, %d) = %d, %t; want %v", ts, offset, size, got, ok, want)
		}
	}
}

// TestAssignersContainTimestamp proves invariant 1: every window assigned
// to a timestamp contains it and is aligned; tumbling assigns exactly one;
// sliding assigns exactly the aligned windows that contain it, latest start
// first; sessions assign [ts, ts+gap).
func TestAssignersContainTimestamp(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	var ws []TimeWindow
	for range 20_000 {
		slide := 1 + rng.Int64N(1000)
		size := 1 + rng.Int64N(3000)
		offset := rng.Int64N(2*slide-1) - (slide - 1)
		ts := randomTimestamp(rng)
		ms := func(n int64) time.Duration { return time.Duration(n) * time.Millisecond }

		var err error
		ws, err = TumblingEventTimeWindows[int](ms(size), ms(offset%size)).AssignWindows(ws[:0], 0, ts, nil)
		if errors.Is(err, ErrTimestampOutOfRange) {
			if ts > math.MinInt64+size && ts < math.MaxInt64-size {
				t.Fatalf("tumbling size %d offset %d ts %d: %v", size, offset%size, ts, err)
			}
		} else if err != nil {
			t.Fatal(err)
		} else if len(ws) != 1 || !contains(ws[0], ts) || ws[0].End-ws[0].Start != size || !aligned(ws[0].Start, offset%size, size) {
			t.Fatalf("tumbling size %d offset %d ts %d: %v", size, offset%size, ts, ws)
		}

		ws, err = SlidingEventTimeWindows[int](ms(size), ms(slide), ms(offset)).AssignWindows(ws[:0], 0, ts, nil)
		if errors.Is(err, ErrTimestampOutOfRange) {
			if ts > math.MinInt64+size+slide && ts < math.MaxInt64-size-slide {
				t.Fatalf("sliding size %d slide %d offset %d ts %d: %v", size, slide, offset, ts, err)
			}
			continue
		} else if err != nil {
			t.Fatal(err)
		}
		// Exactly the aligned starts in (ts-size, ts], decreasing.
		for i, w := range ws {
			if !contains(w, ts) || w.End-w.Start != size || !aligned(w.Start, offset, slide) || (i > 0 && w.Start != ws[i-1].Start-slide) {
				t.Fatalf("sliding size %d slide %d offset %d ts %d: %v", size, slide, offset, ts, ws)
			}
		}
		latest, _ := windowStart(ts, offset, slide)
		wantN := int64(0)
		if ts-latest < size {
			wantN = (size-(ts-latest)-1)/slide + 1
		}
		if int64(len(ws)) != wantN || (wantN > 0 && ws[0].Start != latest) {
			t.Fatalf("sliding size %d slide %d offset %d ts %d: %v, want %d windows from %d", size, slide, offset, ts, ws, wantN, latest)
		}

		ws, err = EventTimeSessionWindows[int](ms(size)).AssignWindows(ws[:0], 0, ts, nil)
		if err == nil && (len(ws) != 1 || ws[0] != (TimeWindow{ts, ts + size})) {
			t.Fatalf("session gap %d ts %d: %v", size, ts, ws)
		}
	}
}

func contains(w TimeWindow, ts int64) bool { return w.Start <= ts && ts < w.End }

func aligned(start, offset, size int64) bool {
	m := (start%size - offset%size) % size
	return m == 0
}

// TestAssignDoesNotAllocate proves invariant 2: with a dst of sufficient
// capacity, AssignWindows allocates nothing.
func TestAssignDoesNotAllocate(t *testing.T) {
	var ctx AssignerContext = fakeClock{processing: 123_456}
	gap := func(int) time.Duration { return time.Second }
	for _, a := range []Assigner[int, TimeWindow]{
		TumblingEventTimeWindows[int](time.Minute, time.Second),
		TumblingProcessingTimeWindows[int](time.Minute, 0),
		SlidingEventTimeWindows[int](time.Minute, 10*time.Second, 0),
		SlidingProcessingTimeWindows[int](time.Minute, 10*time.Second, 0),
		EventTimeSessionWindows[int](time.Minute),
		ProcessingTimeSessionWindows[int](time.Minute),
		DynamicEventTimeSessionWindows(gap),
		DynamicProcessingTimeSessionWindows(gap),
	} {
		dst := make([]TimeWindow, 0, 16)
		ts := int64(1_000_000)
		allocs := testing.AllocsPerRun(100, func() {
			ts += 7919
			var err error
			dst, err = a.AssignWindows(dst[:0], 1, ts, ctx)
			if err != nil {
				t.Fatal(err)
			}
		})
		if allocs != 0 {
			t.Errorf("%v: %v allocations per call", a, allocs)
		}
	}
	g := GlobalWindows[int]()
	dst := make([]GlobalWindow, 0, 1)
	if allocs := testing.AllocsPerRun(100, func() { dst, _ = g.AssignWindows(dst[:0], 1, 5, nil) }); allocs != 0 {
		t.Errorf("%v: %v allocations per call", g, allocs)
	}
}

// TestValidate proves invariant 9: every invalid argument is reported by Validate
// with an error wrapping ErrInvalidConfig that names the component, and
// that valid components validate.
func TestValidate(t *testing.T) {
	ok := []any{
		TumblingEventTimeWindows[int](time.Second, -999*time.Millisecond),
		SlidingEventTimeWindows[int](time.Second, 3*time.Second, 2*time.Second),
		EventTimeSessionWindows[int](time.Millisecond),
		DynamicEventTimeSessionWindows(func(int) time.Duration { return 0 }),
		GlobalWindows[int](),
		EventTimeTrigger[int, TimeWindow](),
		CountTrigger[int, GlobalWindow](1),
		ContinuousEventTimeTrigger[int, GlobalWindow](time.Millisecond),
		PurgingTrigger(CountTrigger[int, GlobalWindow](5)),
		NeverTrigger[int, GlobalWindow](),
		CountEvictor[int, TimeWindow](0, false),
		TimeEvictor[int, TimeWindow](0, true),
		DeltaEvictor[int, TimeWindow](1, func(a, b int) float64 { return 0 }, false),
	}
	for _, v := range ok {
		if err := Validate(v); err != nil {
			t.Errorf("%v: %v", v, err)
		}
	}
	bad := map[string]any{
		"TumblingProcessingTimeWindows":   TumblingProcessingTimeWindows[int](time.Second, time.Second),
		"SlidingProcessingTimeWindows":    SlidingProcessingTimeWindows[int](time.Second, time.Second, -time.Second),
		"ProcessingTimeSessionWindows":    ProcessingTimeSessionWindows[int](-time.Second),
		"DynamicProcessingTimeSession":    DynamicProcessingTimeSessionWindows[int](nil),
		"CountTrigger":                    CountTrigger[int, TimeWindow](-5),
		"ContinuousProcessingTimeTrigger": ContinuousProcessingTimeTrigger[int, TimeWindow](-time.Second),
		"PurgingTrigger":                  PurgingTrigger[int, TimeWindow](nil),
		"CountEvictor":                    CountEvictor[int, TimeWindow](-1, true),
		"TimeEvictor":                     TimeEvictor[int, TimeWindow](time.Nanosecond, true),
		"DeltaEvictor":                    DeltaEvictor[int, TimeWindow](1, nil, true),
	}
	for name, v := range bad {
		err := Validate(v)
		if !errors.Is(err, ErrInvalidConfig) || !strings.Contains(err.Error(), name) {
			t.Errorf("%s: Validate = %v", name, err)
		}
	}
}

// TestWindowCodecs proves invariant 8: both window types have a default
// codec, so that they can be state namespaces, and it round-trips.
func TestWindowCodecs(t *testing.T) {
	tc, err := codec.For[TimeWindow]()
	if err != nil {
		t.Fatal(err)
	}
	for _, w := range []TimeWindow{{0, 10}, {-10, 0}, {math.MinInt64, math.MaxInt64}} {
		got, err := tc.Decode(tc.Append(nil, w))
		if err != nil || got != w {
			t.Errorf("TimeWindow %v: decoded %v, %v", w, got, err)
		}
	}
	gc, err := codec.For[GlobalWindow]()
	if err != nil {
		t.Fatal(err)
	}
	if got, err := gc.Decode(gc.Append(nil, GlobalWindow{})); err != nil || got != (GlobalWindow{}) {
		t.Errorf("GlobalWindow: decoded %v, %v", got, err)
	}
}

// TestTimeWindowMethods checks the accessors against Flink's definitions.
func TestTimeWindowMethods(t *testing.T) {
	w := TimeWindow{0, 10}
	if w.MaxTimestamp() != 9 || w.String() != "[0, 10)" {
		t.Errorf("%v: MaxTimestamp %d", w, w.MaxTimestamp())
	}
	if (GlobalWindow{}).MaxTimestamp() != math.MaxInt64 {
		t.Error("GlobalWindow.MaxTimestamp")
	}
	for _, tc := range []struct {
		o    TimeWindow
		want bool
	}{{TimeWindow{10, 20}, true}, {TimeWindow{11, 20}, false}, {TimeWindow{-5, 0}, true}, {TimeWindow{-5, -1}, false}, {TimeWindow{3, 4}, true}} {
		if w.Intersects(tc.o) != tc.want || tc.o.Intersects(w) != tc.want {
			t.Errorf("%v.Intersects(%v) != %t", w, tc.o, tc.want)
		}
	}
	if got := w.Cover(TimeWindow{-5, 3}); got != (TimeWindow{-5, 10}) {
		t.Errorf("Cover: %v", got)
	}
}

// TestMergeTimeWindowsComponents proves invariant 3: MergeTimeWindows
// reports exactly the connected components of more than one distinct
// window under Intersects, each with its cover and its windows sorted, and
// allocates nothing.
func TestMergeTimeWindowsComponents(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 8))
	for range 5000 {
		n := rng.IntN(12)
		ws := make([]TimeWindow, n)
		for i := range ws {
			s := rng.Int64N(100) - 50
			ws[i] = TimeWindow{s, s + 1 + rng.Int64N(15)}
		}
		// Components by union-find over the distinct windows.
		distinct := slices.Clone(ws)
		slices.SortFunc(distinct, compareWindows)
		distinct = slices.Compact(distinct)
		parent := make([]int, len(distinct))
		for i := range parent {
			parent[i] = i
		}
		var find func(int) int
		find = func(i int) int {
			if parent[i] != i {
				parent[i] = find(parent[i])
			}
			return parent[i]
		}
		for i := range distinct {
			for j := range i {
				if distinct[i].Intersects(distinct[j]) {
					parent[find(i)] = find(j)
				}
			}
		}
		want := map[TimeWindow][]TimeWindow{}
		for i, w := range distinct {
			root := find(i)
			want[distinct[root]] = append(want[distinct[root]], w)
		}
		var wantMerges []string
		for _, group := range want {
			if len(group) < 2 {
				continue
			}
			cover := group[0]
			for _, w := range group {
				cover = cover.Cover(w)
			}
			wantMerges = append(wantMerges, cover.String()+" <- "+joinWindows(group))
		}
		slices.Sort(wantMerges)

		var got []string
		input := slices.Clone(ws)
		MergeTimeWindows(input, func(result TimeWindow, merged []TimeWindow) {
			got = append(got, result.String()+" <- "+joinWindows(merged))
		})
		slices.Sort(got)
		if !slices.Equal(got, wantMerges) {
			t.Fatalf("MergeTimeWindows(%v):\n got %v\nwant %v", ws, got, wantMerges)
		}
	}

	ws := make([]TimeWindow, 6)
	merges := 0
	count := func(TimeWindow, []TimeWindow) { merges++ }
	allocs := testing.AllocsPerRun(100, func() {
		copy(ws, []TimeWindow{{30, 40}, {0, 10}, {5, 15}, {35, 50}, {100, 110}, {0, 10}})
		MergeTimeWindows(ws, count)
	})
	if allocs != 0 {
		t.Errorf("MergeTimeWindows: %v allocations", allocs)
	}
}
