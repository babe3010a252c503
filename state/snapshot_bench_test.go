package state

import (
	"testing"

	"github.com/runnel-io/runnel/codec"
	"github.com/runnel-io/runnel/runtime/clock"
	"github.com/runnel-io/runnel/state/keygroup"
)

// The snapshot benchmarks snapshot and restore a backend of 1M int64 keys
// with an int64 value state (over all 128 key groups), and report the cost
// per entry and the size of the snapshot.

const benchEntries = 1 << 20

func benchSnapshotBackend(b *testing.B) *KeyedBackend[int64] {
	kb := NewKeyedBackend(codec.Int64(), 128, keygroup.Range{Start: 0, End: 127}, clock.System{})
	s, err := GetValueState[VoidNamespace](kb, Value[int64]("count"))
	if err != nil {
		b.Fatal(err)
	}
	for k := range int64(benchEntries) {
		kb.SetCurrentKey(k * 7919)
		if err := s.Update(k); err != nil {
			b.Fatal(err)
		}
	}
	return kb
}

func snapshotSize(s *KeyedSnapshot) int {
	n := 0
	for _, g := range s.Groups {
		n += len(g.Data)
	}
	return n
}

func BenchmarkKeyedSnapshot(b *testing.B) {
	kb := benchSnapshotBackend(b)
	b.ReportAllocs()
	var s *KeyedSnapshot
	for b.Loop() {
		var err error
		if s, err = kb.Snapshot(); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/benchEntries, "ns/entry")
	b.ReportMetric(float64(snapshotSize(s))/benchEntries, "bytes/entry")
}

func BenchmarkKeyedRestore(b *testing.B) {
	snap, err := benchSnapshotBackend(b).Snapshot()
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		kb := NewKeyedBackend(codec.Int64(), 128, keygroup.Range{Start: 0, End: 127}, clock.System{})
		if err := kb.Restore([]*KeyedSnapshot{snap}); err != nil {
			b.Fatal(err)
		}
		if _, err := GetValueState[VoidNamespace](kb, Value[int64]("count")); err != nil {
			b.Fatal(err)
		}
		if kb.NumEntries() != benchEntries {
			b.Fatalf("restored %d entries", kb.NumEntries())
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/benchEntries, "ns/entry")
}
