package stream

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"
)

// The metamorphic test runs one keyed job under many configurations
// (parallelism, chaining, network buffer sizes, operator parallelism that
// differs from the job's, key groups) and requires the same multiset of
// results from each, equal to a plain-Go computation of the job.
//
// The job's results must not depend on the order in which records of one
// key meet (that order does depend on the parallelism of the generator),
// so every output below is order-independent by construction:
//
//   - the rolling reduce counts the records it folded (N), and the multiset
//     of (key, N) it emits is {(k, 1), ..., (k, n_k)} whatever the order;
//   - the filter keeps records by key and by N only;
//   - the final operator keeps, per second key, the count and the sum of N
//     of the records it sees, and the largest rolling sum, which is the
//     total of a first key because the values are positive and the last
//     record of every key passes the filter (checked by the reference).

const (
	metaRecords = 20_000
	metaKeys    = 97
	metaGroups  = 13
)

// metaIn is a generated record.
type metaIn struct {
	Key   int64
	Value int64
}

// metaAcc is the rolling state of a key: the sum of the values folded, how
// many were folded and the largest of them.
type metaAcc struct {
	Key int64
	Sum int64
	N   int64
	Max int64
}

// metaOut is what the last operator emits per second key when its input
// ends.
type metaOut struct {
	Group  int64
	Count  int64 // records seen
	SumN   int64 // sum of their N
	MaxSum int64 // largest rolling sum seen
	MaxMax int64 // largest value seen
}

// metaSeen is the (key, N) of a rolling result, for the side output.
type metaSeen struct {
	Key, N int64
}

func metaKeep(a metaAcc) bool { return a.Key%7 != 3 && a.N%5 != 3 }

// metaMax is the ProcessFunction at the end of the job, one per subtask
// (ProcessEach): per-key state, emitted on Finish.
type metaMax struct {
	owners  *metaOwners
	subtask int
	state   map[int64]*metaOut
}

// metaOwners records which subtask saw each key: a key belongs to one.
type metaOwners struct {
	mu    sync.Mutex
	owner map[int64]int
}

func (o *metaOwners) claim(key int64, subtask int) error {
	o.mu.Lock()
	defer o.mu.Unlock()
	if s, ok := o.owner[key]; ok && s != subtask {
		return fmt.Errorf("key %d reached subtasks %d and %d; a key belongs to one", key, s, subtask)
	}
	o.owner[key] = subtask
	return nil
}

func (m *metaMax) Open(_ context.Context, rc *RuntimeContext) error {
	if rc.Parallelism < 1 || rc.Subtask < 0 || rc.Subtask >= rc.Parallelism {
		return fmt.Errorf("bad runtime context %+v", rc)
	}
	if m.state != nil {
		return fmt.Errorf("subtask %d: function opened twice or shared", rc.Subtask)
	}
	m.subtask, m.state = rc.Subtask, map[int64]*metaOut{}
	return nil
}

func (m *metaMax) ProcessElement(ctx *Context, a metaAcc, _ Collector[metaOut]) error {
	if sub := ctx.Runtime().Subtask; sub != m.subtask {
		return fmt.Errorf("function of subtask %d called by subtask %d", m.subtask, sub)
	}
	g := a.Key % metaGroups
	o, ok := m.state[g]
	if !ok {
		if err := m.owners.claim(g, m.subtask); err != nil {
			return err
		}
		o = &metaOut{Group: g}
		m.state[g] = o
	}
	o.Count++
	o.SumN += a.N
	o.MaxSum = max(o.MaxSum, a.Sum)
	o.MaxMax = max(o.MaxMax, a.Max)
	return nil
}

func (m *metaMax) Finish(out Collector[metaOut]) error {
	for _, o := range m.state {
		out.Collect(*o)
	}
	return nil
}

// metaReference computes the job's results in plain Go, folding each key's
// records in the order of their index.
func metaReference(t *testing.T) (final []metaOut, seen []metaSeen) {
	acc := map[int64]*metaAcc{}
	outs := map[int64]*metaOut{}
	for i := range int64(metaRecords) {
		in := metaIn{Key: i % metaKeys, Value: i}
		v := metaAcc{Key: in.Key, Sum: 2*in.Value + 1, N: 1, Max: in.Value} // the Map
		a, ok := acc[v.Key]
		if !ok {
			a = &metaAcc{Key: v.Key}
			acc[v.Key] = a
		}
		a.Sum += v.Sum
		a.N += v.N
		a.Max = max(a.Max, v.Max)
		seen = append(seen, metaSeen{a.Key, a.N})
		if !metaKeep(*a) {
			continue
		}
		g := a.Key % metaGroups
		o, ok := outs[g]
		if !ok {
			o = &metaOut{Group: g}
			outs[g] = o
		}
		o.Count++
		o.SumN += a.N
		o.MaxSum = max(o.MaxSum, a.Sum)
		o.MaxMax = max(o.MaxMax, a.Max)
	}
	// The results are order-independent only if the last record of every
	// kept key passes the filter: check the premise.
	for _, a := range acc {
		if a.Key%7 != 3 && !metaKeep(*a) {
			t.Fatalf("reference: the final record of key %d does not pass the filter; the job's output would depend on record order", a.Key)
		}
	}
	for _, o := range outs {
		final = append(final, *o)
	}
	return sortMeta(final), sortSeen(seen)
}

func sortMeta(s []metaOut) []metaOut {
	slices.SortFunc(s, func(a, b metaOut) int { return cmp.Compare(a.Group, b.Group) })
	return s
}

func sortSeen(s []metaSeen) []metaSeen {
	slices.SortFunc(s, func(a, b metaSeen) int {
		return cmp.Or(cmp.Compare(a.Key, b.Key), cmp.Compare(a.N, b.N))
	})
	return s
}

type metaConfig struct {
	parallelism int
	noChaining  bool
	perChannel  int // 0: default
	segmentSize int // 0: default
	mixed       bool
	maxP        int // 0: default
}

func (c metaConfig) String() string {
	s := fmt.Sprintf("p=%d", c.parallelism)
	if c.noChaining {
		s += "/unchained"
	}
	if c.segmentSize > 0 {
		s += fmt.Sprintf("/buffers=%dx%dB", c.perChannel, c.segmentSize)
	}
	if c.mixed {
		s += "/mixed"
	}
	if c.maxP > 0 {
		s += fmt.Sprintf("/maxp=%d", c.maxP)
	}
	return s
}

// runMeta builds and runs the job under c.
func runMeta(t *testing.T, c metaConfig) ([]metaOut, []metaSeen) {
	checkNoLeaks(t)
	env := NewEnvironment().SetParallelism(c.parallelism)
	if c.noChaining {
		env.DisableOperatorChaining()
	}
	if c.segmentSize > 0 {
		env.SetNetworkBuffers(c.perChannel, c.segmentSize)
	}
	if c.maxP > 0 {
		env.SetMaxParallelism(c.maxP)
	}
	src := Generate(env, metaRecords, func(i int64) (metaIn, error) {
		return metaIn{Key: i % metaKeys, Value: i}, nil
	})
	mapped := Map(src, func(in metaIn) (metaAcc, error) {
		return metaAcc{Key: in.Key, Sum: 2*in.Value + 1, N: 1, Max: in.Value}, nil
	})
	rolled := KeyBy(mapped, func(a metaAcc) int64 { return a.Key }).Reduce(func(acc, v metaAcc) (metaAcc, error) {
		if acc.Key != v.Key {
			return acc, fmt.Errorf("reduce: key %d folded into key %d", v.Key, acc.Key)
		}
		acc.Sum += v.Sum
		acc.N += v.N
		acc.Max = max(acc.Max, v.Max)
		return acc, nil
	})
	seen := Map(rolled, func(a metaAcc) (metaSeen, error) { return metaSeen{a.Key, a.N}, nil }).Collect()
	kept := rolled.Filter(func(a metaAcc) (bool, error) { return metaKeep(a), nil })
	owners := &metaOwners{owner: map[int64]int{}}
	byGroup := KeyBy(kept, func(a metaAcc) int64 { return a.Key % metaGroups })
	final := ProcessEach(byGroup.DataStream, func() ProcessFunction[metaAcc, metaOut] { return &metaMax{owners: owners} })
	if c.mixed {
		// Operators at parallelism other than the job's: rebalancing and
		// keyed edges between different numbers of subtasks.
		mapped.SetParallelism(c.parallelism%3 + 1)
		rolled.SetParallelism(c.parallelism + 1)
		kept.SetParallelism(max(1, c.parallelism-1))
		final.SetParallelism(c.parallelism%4 + 2)
	}
	res := final.Collect()

	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	if err := env.Execute(ctx, "metamorphic "+c.String()); err != nil {
		t.Fatalf("%v: %v", c, err)
	}
	return sortMeta(res.Values()), sortSeen(seen.Values())
}

func testMetamorphic(t *testing.T, configs []metaConfig) {
	wantFinal, wantSeen := metaReference(t)
	if len(wantFinal) != metaGroups || len(wantSeen) != metaRecords {
		t.Fatalf("reference: %d groups and %d rolling results", len(wantFinal), len(wantSeen))
	}
	for _, c := range configs {
		t.Run(c.String(), func(t *testing.T) {
			final, seen := runMeta(t, c)
			if !slices.Equal(final, wantFinal) {
				t.Errorf("final results differ from the reference:\n got %v\nwant %v", final, wantFinal)
			}
			if !slices.Equal(seen, wantSeen) {
				t.Errorf("rolling results: %d, want %d; first difference at %d", len(seen), len(wantSeen), firstDiff(seen, wantSeen))
			}
		})
	}
}

func firstDiff[T comparable](a, b []T) int {
	for i := range min(len(a), len(b)) {
		if a[i] != b[i] {
			return i
		}
	}
	return min(len(a), len(b))
}

// The configurations are split over several tests to keep each short under
// the race detector.

// withParallelisms returns base at each of ps.
func withParallelisms(base metaConfig, ps ...int) []metaConfig {
	var cs []metaConfig
	for _, p := range ps {
		base.parallelism = p
		cs = append(cs, base)
	}
	return cs
}

// Every parallelism from 1 to 8 with the defaults; the other dimensions at
// a sample of them, to keep each test short under the race detector.

func TestMetamorphicParallelism(t *testing.T) {
	testMetamorphic(t, withParallelisms(metaConfig{}, 1, 2, 3, 4, 5, 6, 7, 8))
}

func TestMetamorphicUnchained(t *testing.T) {
	testMetamorphic(t, withParallelisms(metaConfig{noChaining: true}, 1, 2, 3, 5, 8))
}

func TestMetamorphicTinyBuffers(t *testing.T) {
	testMetamorphic(t, withParallelisms(metaConfig{perChannel: 1, segmentSize: 64}, 1, 2, 4, 6, 8))
}

func TestMetamorphicTinyBuffersUnchained(t *testing.T) {
	// The slowest combination: a segment per few records on every edge.
	testMetamorphic(t, withParallelisms(metaConfig{perChannel: 1, segmentSize: 64, noChaining: true}, 1, 3, 7))
}

func TestMetamorphicMixed(t *testing.T) {
	testMetamorphic(t, []metaConfig{
		{parallelism: 1, mixed: true},
		{parallelism: 4, mixed: true},
		{parallelism: 6, mixed: true, noChaining: true, maxP: 16},
		{parallelism: 3, mixed: true, perChannel: 3, segmentSize: 100, maxP: 7},
	})
}
