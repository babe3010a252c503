package state

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"hash/crc32"

	"github.com/runnel-io/runnel/state/keygroup"
)

// Snapshots are canonical: their bytes depend only on the state's content,
// never on how a backend stores it or on the history that led to it, so
// that a snapshot of a restored backend equals the snapshot it was restored
// from, and a future on-disk backend can write and read the same bytes.
//
// # Notation
//
// varint is an unsigned LEB128 varint of minimal length
// (binary.AppendUvarint); blob(x) is varint(len(x)) followed by the bytes
// x; int64(v) is 8 bytes, big-endian, of v with its sign bit flipped, so
// that the byte order of encodings is the numeric order of values. key,
// ns, value, element, user key and user value stand for the top-level
// encodings (Codec.Append) of the backend's key codec, codec.For of the
// namespace type, and the codecs the state's descriptor resolved.
//
// # Key group data
//
// KeyGroupData.Data holds one section per state, or per timer queue, that
// has entries in the key group, in increasing byte order of the names
// (which are distinct):
//
//	section = blob(name) kind flags varint(len(body)) body
//	kind    = 1 value | 2 list | 3 map | 4 reducing | 5 aggregating | 6 timers   (one byte)
//	flags   = 1 if the state has TTL, else 0                                       (one byte; 0 for timers)
//	body    = varint(n) entry₁ … entryₙ                                            (n ≥ 1)
//
// An entry is one key and namespace of a state, or one timer:
//
//	value, reducing, aggregating:  blob(key) blob(ns) [ts] blob(value)
//	list:    blob(key) blob(ns) varint(m) { blob(element) [ts] }×m
//	map:     blob(key) blob(ns) varint(m) { blob(user key) blob(user value) [ts] }×m
//	timers:  blob(key) blob(ns) int64(time)
//
// where [ts] is int64 of the time of the value's last access, in Unix
// nanoseconds, present only if the state has TTL (flags 1). A list's
// elements are in list order and a map's entries in increasing byte order
// of the user keys' encodings; neither is ever empty (m ≥ 1). Entries are
// in increasing byte order of the key's encoding, then of the namespace's,
// and timers of one key and namespace in increasing order of time. The
// aggregating state's value is its accumulator; the reducing state's, its
// reduced value.
//
// The entries are not self-describing: a state restored with other types
// than it was snapshotted with fails to decode (ErrIncompatibleState) or,
// if the encodings happen to fit, restores different values.
//
// # Files
//
// MarshalBinary frames a snapshot for a file. All integers are varints
// unless noted:
//
//	keyed    = "RNKS" version maxParallelism start end g { group blob(data) }×g crc
//	operator = "RNOS" version s { blob(name) distribution m { blob(element) }×m }×s crc
//
// where version is the byte 1, start and end bound the key group range
// (inclusive), groups increase strictly, distribution is one byte (the
// Distribution's value) and crc is the CRC-32C (Castagnoli) of every byte
// before it, 4 bytes little-endian. A broadcast state's element is
// blob(user key) followed by the user value; a list state's is the
// element's encoding.

// stateKind is the kind byte of a keyed snapshot section.
type stateKind uint8

const (
	kindValue stateKind = iota + 1
	kindList
	kindMap
	kindReducing
	kindAggregating
	kindTimers
)

func (k stateKind) String() string {
	switch k {
	case kindValue:
		return "ValueState"
	case kindList:
		return "ListState"
	case kindMap:
		return "MapState"
	case kindReducing:
		return "ReducingState"
	case kindAggregating:
		return "AggregatingState"
	case kindTimers:
		return "timer queue"
	}
	return fmt.Sprintf("kind %d", uint8(k))
}

// KeyedSnapshot is the canonical snapshot of one subtask's keyed state: the
// entries of every state (and every registered timer queue), key group by
// key group, encoded with the states' codecs and independent of how the
// backend stores them. A restore takes any set of snapshots whose key
// groups cover its own range, which is how key groups move when a job is
// rescaled.
//
// A snapshot is immutable once made: KeyedBackend.Snapshot returns one
// that shares no memory with the backend, and KeyedBackend.Restore keeps
// references into the ones it is given, so neither may be modified
// afterwards. It may then be read by any number of goroutines.
type KeyedSnapshot struct {
	// MaxParallelism is the number of key groups of the job.
	MaxParallelism int
	// KeyGroups is the range of the backend that took the snapshot.
	KeyGroups keygroup.Range
	// Groups holds the data of each key group of KeyGroups that has any,
	// in increasing order of Group.
	Groups []KeyGroupData
}

// KeyGroupData is the encoded content of one key group: the sections of
// its states, in the format described at the top of snapshot.go.
type KeyGroupData struct {
	Group int
	Data  []byte
}

// OperatorSnapshot is the canonical snapshot of one subtask's operator
// state. It is immutable once made, as KeyedSnapshot is.
type OperatorSnapshot struct {
	States []OperatorStateData
}

// OperatorStateData is the snapshot of one operator state: its elements,
// each encoded on its own so that they can be redistributed without
// knowing their type.
type OperatorStateData struct {
	Name         string
	Distribution Distribution
	// Elements are a list state's elements, or a broadcast state's entries.
	Elements [][]byte
}

const formatVersion = 1

var (
	keyedMagic    = []byte("RNKS")
	operatorMagic = []byte("RNOS")
	castagnoli    = crc32.MakeTable(crc32.Castagnoli)
)

// validate checks s: its parallelism and ranges, the order of its groups
// and the framing of their sections (not the entries, which only the
// states can decode).
func (s *KeyedSnapshot) validate() error {
	switch {
	case s.MaxParallelism < 1 || s.MaxParallelism > keygroup.UpperBound:
		return fmt.Errorf("%w: max parallelism %d is outside [1, %d]", ErrCorruptSnapshot, s.MaxParallelism, keygroup.UpperBound)
	case s.KeyGroups.Start < 0 || s.KeyGroups.End >= s.MaxParallelism || s.KeyGroups.Len() < 1:
		return fmt.Errorf("%w: %v is not a non-empty range within [0, %d)", ErrCorruptSnapshot, s.KeyGroups, s.MaxParallelism)
	}
	prev := -1
	kinds := make(map[string]section) // the first section of each name
	for _, g := range s.Groups {
		if g.Group <= prev || !s.KeyGroups.Contains(g.Group) {
			return fmt.Errorf("%w: key group %d out of order or outside the snapshot's %v", ErrCorruptSnapshot, g.Group, s.KeyGroups)
		}
		prev = g.Group
		err := parseSections(g.Group, g.Data, func(sec section) error {
			first, ok := kinds[sec.name]
			if !ok {
				sec.body = nil
				kinds[sec.name] = sec
				return nil
			}
			return checkSameKind(first, sec, g.Group)
		})
		if err != nil {
			return err
		}
	}
	return nil
}

// checkSameKind checks that sections of one name, the second of key group
// g, agree on the kind of state.
func checkSameKind(first, sec section, g int) error {
	if first.kind != sec.kind || first.ttl != sec.ttl {
		return fmt.Errorf("%w: %q is a %s in one key group and a %s in key group %d",
			ErrCorruptSnapshot, sec.name, describeKind(first.kind, first.ttl), describeKind(sec.kind, sec.ttl), g)
	}
	return nil
}

// section is one state's part of a key group's data.
type section struct {
	name string
	kind stateKind
	ttl  bool
	body []byte // varint(n) and the entries, a sub-slice of the data
}

// parseSections checks the framing of the data of key group g and calls
// fn, if not nil, with each section, stopping at its first error. Its own
// errors wrap ErrCorruptSnapshot.
func parseSections(g int, data []byte, fn func(section) error) error {
	r := reader{b: data}
	if len(data) == 0 {
		r.fail("no sections")
	}
	var prev []byte
	for r.err == nil && len(r.b) > 0 {
		name := r.blob()
		kind := stateKind(r.byte())
		flags := r.byte()
		body := r.blob()
		if r.err != nil {
			break
		}
		br := reader{b: body}
		n := br.count(1)
		switch {
		case len(name) == 0:
			r.fail("a section without a name")
		case prev != nil && bytes.Compare(prev, name) >= 0:
			r.fail("section %q is not after %q", name, prev)
		case kind < kindValue || kind > kindTimers:
			r.fail("section %q has unknown kind %d", name, kind)
		case flags > 1 || flags == 1 && kind == kindTimers:
			r.fail("section %q (%v) has flags %#x", name, kind, flags)
		case br.err != nil:
			r.fail("section %q: %v", name, br.err)
		case n == 0:
			r.fail("section %q has no entries", name)
		}
		prev = name
		if r.err == nil && fn != nil {
			if err := fn(section{name: string(name), kind: kind, ttl: flags == 1, body: body}); err != nil {
				return err
			}
		}
	}
	if r.err != nil {
		return fmt.Errorf("%w: key group %d: %v", ErrCorruptSnapshot, g, r.err)
	}
	return nil
}

// MarshalBinary encodes s for a file, in the format described at the top
// of snapshot.go. It returns an error wrapping ErrCorruptSnapshot if s is
// not a valid snapshot.
func (s *KeyedSnapshot) MarshalBinary() ([]byte, error) {
	if err := s.validate(); err != nil {
		return nil, err
	}
	n := len(keyedMagic) + 1 + 4*binary.MaxVarintLen64 + crc32.Size
	for _, g := range s.Groups {
		n += 2*binary.MaxVarintLen64 + len(g.Data)
	}
	b := make([]byte, 0, n)
	b = append(b, keyedMagic...)
	b = append(b, formatVersion)
	b = binary.AppendUvarint(b, uint64(s.MaxParallelism))
	b = binary.AppendUvarint(b, uint64(s.KeyGroups.Start))
	b = binary.AppendUvarint(b, uint64(s.KeyGroups.End))
	b = binary.AppendUvarint(b, uint64(len(s.Groups)))
	for _, g := range s.Groups {
		b = binary.AppendUvarint(b, uint64(g.Group))
		b = appendBytesBlob(b, g.Data)
	}
	return binary.LittleEndian.AppendUint32(b, crc32.Checksum(b, castagnoli)), nil
}

// UnmarshalBinary decodes what MarshalBinary wrote, into s. It copies data
// (once; the groups share the copy). Any other input is an error wrapping
// ErrCorruptSnapshot, and leaves s unchanged; it never allocates more than
// a small multiple of len(data).
func (s *KeyedSnapshot) UnmarshalBinary(data []byte) error {
	body, err := checkFrame(data, keyedMagic, "keyed")
	if err != nil {
		return err
	}
	r := reader{b: bytes.Clone(body)}
	var out KeyedSnapshot
	maxP := r.uvarint()
	start := r.uvarint()
	end := r.uvarint()
	if r.err == nil && (maxP > keygroup.UpperBound || start > end || end >= maxP) {
		r.fail("max parallelism %d and key groups [%d, %d] are out of bounds", maxP, start, end)
	}
	out.MaxParallelism, out.KeyGroups = int(maxP), keygroup.Range{Start: int(start), End: int(end)}
	n := r.count(2)
	if n > 0 {
		out.Groups = make([]KeyGroupData, n)
	}
	for i := range out.Groups {
		g := r.uvarint()
		d := r.blob()
		if r.err != nil {
			break
		}
		if g > end {
			r.fail("key group %d is outside [%d, %d]", g, start, end)
			break
		}
		out.Groups[i] = KeyGroupData{Group: int(g), Data: d}
	}
	r.done()
	if r.err != nil {
		return fmt.Errorf("%w: keyed snapshot: %v", ErrCorruptSnapshot, r.err)
	}
	if err := out.validate(); err != nil {
		return err
	}
	*s = out
	return nil
}

// checkFrame checks the magic, version and checksum of a file and returns
// what is between them.
func checkFrame(data, magic []byte, what string) ([]byte, error) {
	if len(data) < len(magic)+1+crc32.Size || !bytes.Equal(data[:len(magic)], magic) {
		return nil, fmt.Errorf("%w: not a %s snapshot", ErrCorruptSnapshot, what)
	}
	if v := data[len(magic)]; v != formatVersion {
		return nil, fmt.Errorf("%w: %s snapshot format version %d, want %d", ErrCorruptSnapshot, what, v, formatVersion)
	}
	end := len(data) - crc32.Size
	if got, want := crc32.Checksum(data[:end], castagnoli), binary.LittleEndian.Uint32(data[end:]); got != want {
		return nil, fmt.Errorf("%w: %s snapshot checksum %#08x, want %#08x", ErrCorruptSnapshot, what, got, want)
	}
	return data[len(magic)+1 : end], nil
}

// validate checks s: every state has a name, distinct from the others, and
// a known distribution, and a broadcast state's elements start with a
// blob.
func (s *OperatorSnapshot) validate() error {
	seen := make(map[string]bool, len(s.States))
	for _, st := range s.States {
		switch {
		case st.Name == "":
			return fmt.Errorf("%w: an operator state without a name", ErrCorruptSnapshot)
		case seen[st.Name]:
			return fmt.Errorf("%w: operator state %q appears twice", ErrCorruptSnapshot, st.Name)
		case st.Distribution < DistributeSplit || st.Distribution > DistributeBroadcast:
			return fmt.Errorf("%w: operator state %q has unknown distribution %v", ErrCorruptSnapshot, st.Name, st.Distribution)
		}
		seen[st.Name] = true
		if st.Distribution == DistributeBroadcast {
			for _, e := range st.Elements {
				r := reader{b: e}
				r.blob()
				if r.err != nil {
					return fmt.Errorf("%w: broadcast state %q: an entry's key: %v", ErrCorruptSnapshot, st.Name, r.err)
				}
			}
		}
	}
	return nil
}

// MarshalBinary encodes s for a file, in the format described at the top
// of snapshot.go. It returns an error wrapping ErrCorruptSnapshot if s is
// not a valid snapshot.
func (s *OperatorSnapshot) MarshalBinary() ([]byte, error) {
	if err := s.validate(); err != nil {
		return nil, err
	}
	n := len(operatorMagic) + 1 + binary.MaxVarintLen64 + crc32.Size
	for _, st := range s.States {
		n += 2*binary.MaxVarintLen64 + len(st.Name) + 1
		for _, e := range st.Elements {
			n += binary.MaxVarintLen64 + len(e)
		}
	}
	b := make([]byte, 0, n)
	b = append(b, operatorMagic...)
	b = append(b, formatVersion)
	b = binary.AppendUvarint(b, uint64(len(s.States)))
	for _, st := range s.States {
		b = binary.AppendUvarint(b, uint64(len(st.Name)))
		b = append(b, st.Name...)
		b = append(b, byte(st.Distribution))
		b = binary.AppendUvarint(b, uint64(len(st.Elements)))
		for _, e := range st.Elements {
			b = appendBytesBlob(b, e)
		}
	}
	return binary.LittleEndian.AppendUint32(b, crc32.Checksum(b, castagnoli)), nil
}

// UnmarshalBinary decodes what MarshalBinary wrote, into s. It copies data
// (once; the elements share the copy). Any other input is an error wrapping
// ErrCorruptSnapshot, and leaves s unchanged; it never allocates more than
// a small multiple of len(data).
func (s *OperatorSnapshot) UnmarshalBinary(data []byte) error {
	body, err := checkFrame(data, operatorMagic, "operator")
	if err != nil {
		return err
	}
	r := reader{b: bytes.Clone(body)}
	var out OperatorSnapshot
	n := r.count(3)
	if n > 0 {
		out.States = make([]OperatorStateData, n)
	}
	for i := range out.States {
		name := r.blob()
		dist := Distribution(r.byte())
		m := r.count(1)
		if r.err != nil {
			break
		}
		st := OperatorStateData{Name: string(name), Distribution: dist}
		if m > 0 {
			st.Elements = make([][]byte, m)
		}
		for j := range st.Elements {
			st.Elements[j] = r.blob()
		}
		out.States[i] = st
	}
	r.done()
	if r.err != nil {
		return fmt.Errorf("%w: operator snapshot: %v", ErrCorruptSnapshot, r.err)
	}
	if err := out.validate(); err != nil {
		return err
	}
	*s = out
	return nil
}
