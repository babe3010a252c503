package state

import (
	"iter"
	"maps"
	"reflect"

	"github.com/runnel-io/runnel/codec"
)

type mapState[K, N comparable, UK comparable, UV any] struct {
	base[K, N, map[UK]ttlValue[UV]]
	keyCodec   codec.Codec[UK]
	valueCodec codec.Codec[UV]
}

// GetMapState returns the backend's map state declared by d, in namespaces
// of type N, registering it on first use; see GetValueState for what a
// second call returns and for the errors.
//
// Each key and namespace has its own Go map of user entries: Get and Put
// cost one lookup in the state's table and one in that map (Put allocates
// the map for a new key and namespace).
func GetMapState[N, K comparable, UK comparable, UV any](b *KeyedBackend[K], d MapDescriptor[UK, UV]) (NamespacedMapState[N, UK, UV], error) {
	kind := kindName[N]("MapState", reflect.TypeFor[UK](), reflect.TypeFor[UV]())
	return getOrRegister(b, d.core, kindMap, kind,
		func(m stateMeta) (*mapState[K, N, UK, UV], error) {
			bs, err := newBase[K, N, map[UK]ttlValue[UV]](b, m, d.core)
			if err != nil {
				return nil, err
			}
			kc, err := resolveCodec(d.keyCodec, m.name, "map key")
			if err != nil {
				return nil, err
			}
			vc, err := resolveCodec(d.valueCodec, m.name, "map value")
			if err != nil {
				return nil, err
			}
			s := &mapState[K, N, UK, UV]{base: bs, keyCodec: kc, valueCodec: vc}
			if s.ttl != nil {
				s.keep = s.dropExpired
			}
			return s, nil
		})
}

// dropExpired deletes the expired entries of *e and reports whether any are
// left.
func (s *mapState[K, N, UK, UV]) dropExpired(e *map[UK]ttlValue[UV], now int64) bool {
	maps.DeleteFunc(*e, func(_ UK, v ttlValue[UV]) bool { return s.ttl.expired(v.ts, now) })
	return len(*e) > 0
}

// entries returns the current key's map in the current namespace and its
// position, or nil and -1.
func (s *mapState[K, N, UK, UV]) entries() (map[UK]ttlValue[UV], int) {
	i, e := s.t.find(s.b.kgi, s.key(s.ns))
	if e == nil {
		return nil, -1
	}
	return *e, i
}

// removeIfEmpty removes the current entry (at position i) if its map is
// empty: maps are never stored empty.
func (s *mapState[K, N, UK, UV]) removeIfEmpty(m map[UK]ttlValue[UV], i int) {
	if len(m) == 0 {
		s.t.removeAt(s.b.kgi, i)
	}
}

// Get implements MapState.
func (s *mapState[K, N, UK, UV]) Get(uk UK) (UV, bool, error) {
	var zero UV
	now, err := s.begin()
	if err != nil {
		return zero, false, err
	}
	m, i := s.entries()
	ev, ok := m[uk]
	if !ok {
		return zero, false, nil
	}
	if s.ttl == nil {
		return ev.v, true, nil
	}
	if s.ttl.expired(ev.ts, now) {
		delete(m, uk)
		s.removeIfEmpty(m, i)
		if s.ttl.returnExpired {
			return ev.v, true, nil
		}
		return zero, false, nil
	}
	if s.ttl.updateOnRead {
		m[uk] = ttlValue[UV]{v: ev.v, ts: now}
	}
	return ev.v, true, nil
}

// Contains implements MapState.
func (s *mapState[K, N, UK, UV]) Contains(uk UK) (bool, error) {
	_, ok, err := s.Get(uk)
	return ok, err
}

// Put implements MapState.
func (s *mapState[K, N, UK, UV]) Put(uk UK, uv UV) error {
	now, err := s.begin()
	if err != nil {
		return err
	}
	s.mapForWrite()[uk] = ttlValue[UV]{v: uv, ts: now}
	return nil
}

// PutAll implements MapState.
func (s *mapState[K, N, UK, UV]) PutAll(entries map[UK]UV) error {
	now, err := s.begin()
	if err != nil || len(entries) == 0 {
		return err
	}
	m := s.mapForWrite()
	for uk, uv := range entries {
		m[uk] = ttlValue[UV]{v: uv, ts: now}
	}
	return nil
}

// mapForWrite returns the current entry's map, creating the entry if needed.
// The caller must put at least one entry into it.
func (s *mapState[K, N, UK, UV]) mapForWrite() map[UK]ttlValue[UV] {
	m, _ := s.entries()
	if m == nil {
		m = make(map[UK]ttlValue[UV])
		s.t.insert(s.b.kgi, s.key(s.ns), m)
	}
	return m
}

// Remove implements MapState.
func (s *mapState[K, N, UK, UV]) Remove(uk UK) error {
	if _, err := s.begin(); err != nil {
		return err
	}
	m, i := s.entries()
	if _, ok := m[uk]; ok {
		delete(m, uk)
		s.removeIfEmpty(m, i)
	}
	return nil
}

// All implements MapState.
func (s *mapState[K, N, UK, UV]) All() iter.Seq2[UK, UV] {
	if s.b.kgi < 0 {
		return func(func(UK, UV) bool) {}
	}
	g, k := s.b.kgi, s.key(s.ns)
	return func(yield func(UK, UV) bool) {
		var now int64
		if s.ttl != nil {
			now = s.ttl.now()
			if s.ttl.cleanup > 0 {
				s.t.cleanup(s.ttl.cleanup, now, s.keep)
			}
		}
		_, e := s.t.find(g, k)
		if e == nil {
			return
		}
		m := *e
		defer func() {
			if len(m) == 0 {
				s.t.remove(g, k)
			}
		}()
		for uk, ev := range m {
			if s.ttl != nil {
				if s.ttl.expired(ev.ts, now) {
					delete(m, uk) // deleting during range is allowed
					if !s.ttl.returnExpired {
						continue
					}
				} else if s.ttl.updateOnRead {
					m[uk] = ttlValue[UV]{v: ev.v, ts: now} // an existing key: allowed during range
				}
			}
			if !yield(uk, ev.v) {
				return
			}
		}
	}
}

// Len implements MapState.
func (s *mapState[K, N, UK, UV]) Len() (int, error) {
	now, err := s.begin()
	if err != nil {
		return 0, err
	}
	m, i := s.entries()
	if m == nil || s.ttl == nil {
		return len(m), nil
	}
	n := len(m)
	s.dropExpired(&m, now)
	s.removeIfEmpty(m, i)
	if s.ttl.returnExpired {
		return n, nil
	}
	return len(m), nil
}

// IsEmpty implements MapState.
func (s *mapState[K, N, UK, UV]) IsEmpty() (bool, error) {
	n, err := s.Len()
	return n == 0, err
}
