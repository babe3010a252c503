package state

import (
	"fmt"
	"testing"
	"time"

	"github.com/runnel-io/runnel/codec"
	"github.com/runnel-io/runnel/runtime/clock"
	"github.com/runnel-io/runnel/state/keygroup"
)

// The benchmarks touch 1024 existing keys round robin, as a keyed operator
// does with a working set of keys; each iteration is one record: set its key
// and access its state. BenchmarkSetCurrentKey measures the first half
// alone. All of them should report 0 allocs/op.

const benchKeys = 1024

func benchBackend[K comparable](c codec.Codec[K], mk func(i int) K) (*KeyedBackend[K], []K) {
	b := NewKeyedBackend(c, 128, keygroup.Range{Start: 0, End: 127}, clock.System{})
	keys := make([]K, benchKeys)
	for i := range keys {
		keys[i] = mk(i)
	}
	return b, keys
}

func stringKeys() (*KeyedBackend[string], []string) {
	return benchBackend(codec.String(), func(i int) string { return fmt.Sprintf("user-%06d", i) })
}

func int64Keys() (*KeyedBackend[int64], []int64) {
	return benchBackend(codec.Int64(), func(i int) int64 { return int64(i) * 7919 })
}

func BenchmarkSetCurrentKey(b *testing.B) {
	b.Run("string", func(b *testing.B) { benchSetCurrentKey(b, stringKeys) })
	b.Run("int64", func(b *testing.B) { benchSetCurrentKey(b, int64Keys) })
}

func benchSetCurrentKey[K comparable](b *testing.B, setup func() (*KeyedBackend[K], []K)) {
	kb, keys := setup()
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		kb.SetCurrentKey(keys[i%benchKeys])
		i++
	}
}

func BenchmarkValueStateUpdate(b *testing.B) {
	b.Run("string", func(b *testing.B) { benchValueUpdate(b, stringKeys, nil) })
	b.Run("int64", func(b *testing.B) { benchValueUpdate(b, int64Keys, nil) })
	b.Run("int64/ttl", func(b *testing.B) {
		benchValueUpdate(b, int64Keys, &TTLConfig{TTL: time.Hour, Update: OnReadAndWrite, CleanupIncrementally: 1})
	})
}

func benchValueUpdate[K comparable](b *testing.B, setup func() (*KeyedBackend[K], []K), ttl *TTLConfig) {
	kb, keys := setup()
	d := Value[int64]("count")
	if ttl != nil {
		d = d.WithTTL(*ttl)
	}
	s, err := GetValueState[VoidNamespace](kb, d)
	if err != nil {
		b.Fatal(err)
	}
	for _, k := range keys {
		kb.SetCurrentKey(k)
		if err := s.Update(0); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		kb.SetCurrentKey(keys[i%benchKeys])
		if err := s.Update(int64(i)); err != nil {
			b.Fatal(err)
		}
		i++
	}
}

func BenchmarkValueStateValue(b *testing.B) {
	kb, keys := int64Keys()
	s, _ := GetValueState[VoidNamespace](kb, Value[int64]("count"))
	for _, k := range keys {
		kb.SetCurrentKey(k)
		_ = s.Update(1)
	}
	b.ReportAllocs()
	i, total := 0, int64(0)
	for b.Loop() {
		kb.SetCurrentKey(keys[i%benchKeys])
		v, _, err := s.Value()
		if err != nil {
			b.Fatal(err)
		}
		total += v
		i++
	}
	if total == 0 {
		b.Fatal("read nothing")
	}
}

func BenchmarkReducingAdd(b *testing.B) {
	b.Run("string", func(b *testing.B) { benchReducingAdd(b, stringKeys) })
	b.Run("int64", func(b *testing.B) { benchReducingAdd(b, int64Keys) })
}

func benchReducingAdd[K comparable](b *testing.B, setup func() (*KeyedBackend[K], []K)) {
	kb, keys := setup()
	s, err := GetReducingState[VoidNamespace](kb, Reducing("sum", func(a, b int64) (int64, error) { return a + b, nil }))
	if err != nil {
		b.Fatal(err)
	}
	for _, k := range keys {
		kb.SetCurrentKey(k)
		if err := s.Add(1); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		kb.SetCurrentKey(keys[i%benchKeys])
		if err := s.Add(1); err != nil {
			b.Fatal(err)
		}
		i++
	}
}

func BenchmarkListAddGetClear(b *testing.B) {
	kb, keys := int64Keys()
	s, _ := GetListState[int](kb, List[int64]("buf"))
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		kb.SetCurrentKey(keys[i%benchKeys])
		s.SetNamespace(i / benchKeys % 4) // a few windows per key
		_ = s.Add(int64(i))
		if i%8 == 7 { // a window fires
			if _, err := s.Get(); err != nil {
				b.Fatal(err)
			}
			_ = s.Clear()
		}
		i++
	}
}
