package state

import (
	"bytes"
	"encoding/binary"
	"errors"
	"hash/crc32"
	"testing"

	"github.com/runnel-io/runnel/codec"
	"github.com/runnel-io/runnel/runtime/clock"
	"github.com/runnel-io/runnel/state/keygroup"
)

// The fuzz targets decode arbitrary bytes as snapshot files, and also as
// the content of a file with a valid header and checksum, so that the
// fuzzer gets past the checksum. Whatever decodes must re-encode to the
// same bytes and restore into a backend without panicking: registering
// states of every kind over it may fail, but only with the errors Restore
// documents, and the restored backend must snapshot again.

// frame wraps body in a valid header and checksum.
func frame(magic, body []byte) []byte {
	b := append(append(bytes.Clone(magic), formatVersion), body...)
	return binary.LittleEndian.AppendUint32(b, crc32.Checksum(b, castagnoli))
}

// unframe returns what frame wrapped.
func unframe(file []byte) []byte { return file[5 : len(file)-4] }

func FuzzKeyedSnapshot(f *testing.F) {
	b, clk := newBackend(f)
	fx := newFixture(f, b, clk)
	fx.fill(f, fixtureKeys(12))
	file := marshal(f, snapshot(f, b))
	f.Add(file)
	f.Add(unframe(file))
	f.Add(unframe(marshal(f, &KeyedSnapshot{MaxParallelism: 7, KeyGroups: keygroup.Range{Start: 2, End: 5}})))
	f.Fuzz(func(t *testing.T, data []byte) {
		for _, in := range [][]byte{data, frame(keyedMagic, data)} {
			var s KeyedSnapshot
			if err := s.UnmarshalBinary(in); err != nil {
				if !errors.Is(err, ErrCorruptSnapshot) {
					t.Fatalf("UnmarshalBinary: %v, want ErrCorruptSnapshot", err)
				}
				continue
			}
			if out, err := s.MarshalBinary(); err != nil || !bytes.Equal(out, in) {
				t.Fatalf("MarshalBinary of a decoded snapshot: %v, or other bytes", err)
			}
			restoreKeyedAll(t, &s)
		}
	})
}

// restoreKeyedAll restores s and registers the fixture's states over it,
// each with and without TTL, and its timer queues.
func restoreKeyedAll(t *testing.T, s *KeyedSnapshot) {
	b := NewKeyedBackend(codec.String(), s.MaxParallelism, s.KeyGroups, clock.NewManual(t0))
	if err := b.Restore([]*KeyedSnapshot{s}); err != nil {
		t.Fatalf("Restore of a valid snapshot: %v", err)
	}
	check := func(err error) {
		if err != nil && !errors.Is(err, ErrCorruptSnapshot) && !errors.Is(err, ErrIncompatibleState) {
			t.Fatalf("registering over a restored snapshot: %v", err)
		}
	}
	for _, ttl := range []bool{false, true} {
		with := func(c *descriptorCore) {
			if ttl {
				c.ttl, c.hasTTL = fixtureTTL, true
			}
		}
		vd, ld, md := Value[string]("value"), List[int]("list"), Map[string, int]("map")
		rd, ad := Reducing("reducing", sum), Aggregating[int, *avgAcc, float64]("aggregating", avg{})
		vt, lt, mt := Value[string]("value-ttl"), List[string]("list-ttl"), Map[int, string]("map-ttl")
		rt, at := Reducing("reducing-ttl", sum), Aggregating[int, *avgAcc, float64]("aggregating-ttl", avg{})
		for _, c := range []*descriptorCore{&vd.core, &ld.core, &md.core, &rd.core, &ad.core, &vt.core, &lt.core, &mt.core, &rt.core, &at.core} {
			with(c)
		}
		check(second(GetValueState[VoidNamespace](b, vd)))
		check(second(GetValueState[win](b, vt)))
		check(second(GetListState[int](b, ld)))
		check(second(GetListState[VoidNamespace](b, lt)))
		check(second(GetMapState[win](b, md)))
		check(second(GetMapState[VoidNamespace](b, mt)))
		check(second(GetReducingState[int](b, rd)))
		check(second(GetReducingState[VoidNamespace](b, rt)))
		check(second(GetAggregatingState[win](b, ad)))
		check(second(GetAggregatingState[VoidNamespace](b, at)))
	}
	check(RegisterTimers(b, "_timer_event", NewTimerQueue[string, win]()))
	check(RegisterTimers(b, "_timer_proc", NewTimerQueue[string, VoidNamespace]()))
	again, err := b.Snapshot()
	if err != nil {
		t.Fatalf("Snapshot of a restored backend: %v", err)
	}
	if _, err := again.MarshalBinary(); err != nil {
		t.Fatalf("the snapshot of a restored backend is invalid: %v", err)
	}
}

func FuzzOperatorSnapshot(f *testing.F) {
	b := NewOperatorBackend()
	split := must[ListState[string]](f)(GetOperatorListState(b, List[string]("split")))
	union := must[ListState[int]](f)(GetUnionListState(b, List[int]("union")))
	bc := must[MapState[string, []int]](f)(GetBroadcastState(b, Map[string, []int]("rules")))
	must[ListState[int]](f)(GetOperatorListState(b, List[int]("empty")))
	noErr(f, split.AddAll([]string{"a", "", "ccc"}))
	noErr(f, union.AddAll([]int{3, 1, 2}))
	noErr(f, bc.PutAll(map[string][]int{"x": {1}, "y": nil, "": {7, 8}}))
	s, err := b.Snapshot()
	noErr(f, err)
	file := marshal(f, s)
	f.Add(file)
	f.Add(unframe(file))
	f.Fuzz(func(t *testing.T, data []byte) {
		for _, in := range [][]byte{data, frame(operatorMagic, data)} {
			var s OperatorSnapshot
			if err := s.UnmarshalBinary(in); err != nil {
				if !errors.Is(err, ErrCorruptSnapshot) {
					t.Fatalf("UnmarshalBinary: %v, want ErrCorruptSnapshot", err)
				}
				continue
			}
			if out, err := s.MarshalBinary(); err != nil || !bytes.Equal(out, in) {
				t.Fatalf("MarshalBinary of a decoded snapshot: %v, or other bytes", err)
			}
			if _, err := RedistributeOperatorState([]*OperatorSnapshot{&s, nil, &s}, 2); err != nil {
				t.Fatalf("RedistributeOperatorState of a valid snapshot: %v", err)
			}
			b := NewOperatorBackend()
			if err := b.Restore(&s); err != nil {
				t.Fatalf("Restore of a valid snapshot: %v", err)
			}
			for _, err := range []error{
				second(GetOperatorListState(b, List[string]("split"))),
				second(GetUnionListState(b, List[int]("union"))),
				second(GetBroadcastState(b, Map[string, []int]("rules"))),
				second(GetOperatorListState(b, List[int]("empty"))),
			} {
				if err != nil && !errors.Is(err, ErrCorruptSnapshot) && !errors.Is(err, ErrIncompatibleState) {
					t.Fatalf("registering over a restored snapshot: %v", err)
				}
			}
			again, err := b.Snapshot()
			if err != nil {
				t.Fatalf("Snapshot of a restored backend: %v", err)
			}
			if _, err := again.MarshalBinary(); err != nil {
				t.Fatalf("the snapshot of a restored backend is invalid: %v", err)
			}
		}
	})
}
