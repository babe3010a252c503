package codec

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"math"
	"slices"
	"sync"
	"time"
)

// Decoding errors. They are static so that rejecting garbage does not
// allocate; each wraps ErrCorrupt.
var (
	errTruncated = corrupt("unexpected end of input")
	errVarint    = corrupt("malformed or non-minimal varint")
	errTrailing  = corrupt("trailing bytes after value")
	errBool      = corrupt("bool byte is neither 0 nor 1")
	errRange     = corrupt("integer out of range for its type")
	errNegZero   = corrupt("negative zero (encoders write +0)")
	errLength    = corrupt("length prefix exceeds input")
	errCount     = corrupt("element count exceeds input")
	errMapOrder  = corrupt("map entries not sorted by encoding")
	errMapDup    = corrupt("duplicate map key")
	errPtrTag    = corrupt("pointer tag is neither 0 nor 1")
	errNanos     = corrupt("nanoseconds out of range")
)

func corrupt(msg string) error { return fmt.Errorf("%w: %s", ErrCorrupt, msg) }

// finish turns the result of a nested decode into the result of a whole-input
// Decode: the value must have used every byte of src.
func finish[T any](v T, n int, err error, total int) (T, error) {
	if err == nil && n != total {
		err = errTrailing
	}
	if err != nil {
		var zero T
		return zero, err
	}
	return v, nil
}

// uvarint reads a minimal (canonical) unsigned LEB128 varint, at most 10
// bytes, and returns it with the number of bytes read.
func uvarint(b []byte) (uint64, int, error) {
	if len(b) > 0 && b[0] < 0x80 {
		return uint64(b[0]), 1, nil
	}
	var x uint64
	var s uint
	for i, c := range b {
		if c < 0x80 {
			// i >= 1 here. A final 0 byte is a non-minimal encoding and
			// the tenth byte may carry only the top bit of the value.
			if c == 0 || i == 9 && c > 1 {
				return 0, 0, errVarint
			}
			return x | uint64(c)<<s, i + 1, nil
		}
		if i == 9 {
			return 0, 0, errVarint
		}
		x |= uint64(c&0x7f) << s
		s += 7
	}
	return 0, 0, errTruncated
}

// varint reads a zigzag-encoded signed varint.
func varint(b []byte) (int64, int, error) {
	u, n, err := uvarint(b)
	return int64(u>>1) ^ -int64(u&1), n, err
}

// appendUvarint and appendVarint write the formats read by uvarint and varint
// (binary.AppendVarint is zigzag encoding).
func appendUvarint(dst []byte, x uint64) []byte { return binary.AppendUvarint(dst, x) }
func appendVarint(dst []byte, x int64) []byte   { return binary.AppendVarint(dst, x) }

func uvarintLen(x uint64) int {
	n := 1
	for x >= 0x80 {
		x >>= 7
		n++
	}
	return n
}

// prefix reads a uvarint length L and checks that L bytes follow it. It
// returns the header size and L.
func prefix(b []byte) (int, int, error) {
	l, n, err := uvarint(b)
	if err != nil {
		return 0, 0, err
	}
	if l > uint64(len(b)-n) {
		return 0, 0, errLength
	}
	return n, int(l), nil
}

// count reads the uvarint that starts a slice or map: 0 for nil, n+1 for n
// elements. It rejects counts that the rest of the input cannot hold given
// that every element takes at least min bytes. min is 0 only for zero-size
// element types, which take neither input nor memory; their counts are
// capped at MaxInt32 so that they fit an int everywhere.
func count(b []byte, min int) (cnt int, isNil bool, hdr int, err error) {
	u, n, err := uvarint(b)
	if err != nil {
		return 0, false, 0, err
	}
	if u == 0 {
		return 0, true, n, nil
	}
	u--
	if min > 0 {
		if u > uint64((len(b)-n)/min) {
			return 0, false, 0, errCount
		}
	} else if u > math.MaxInt32 {
		return 0, false, 0, errCount
	}
	return int(u), false, n, nil
}

// zeros is the source of the bytes insertLength grows dst by.
var zeros [binary.MaxVarintLen64]byte

// insertLength turns dst[start:] into a uvarint length prefix followed by
// those bytes. It allocates only if dst has no room for the prefix.
func insertLength(dst []byte, start int) []byte {
	n := len(dst) - start
	k := uvarintLen(uint64(n))
	dst = append(dst, zeros[:k]...)
	copy(dst[start+k:], dst[start:start+n])
	binary.PutUvarint(dst[start:], uint64(n))
	return dst
}

func appendBool(dst []byte, v bool) []byte {
	if v {
		return append(dst, 1)
	}
	return append(dst, 0)
}

func decodeBool(b []byte) (bool, int, error) {
	if len(b) == 0 {
		return false, 0, errTruncated
	}
	if b[0] > 1 {
		return false, 0, errBool
	}
	return b[0] == 1, 1, nil
}

// appendFloat32 and appendFloat64 write IEEE 754 bits little-endian, with
// negative zero written as positive zero because -0 == +0.
func appendFloat32(dst []byte, f float32) []byte {
	b := math.Float32bits(f)
	if b == 1<<31 {
		b = 0
	}
	return binary.LittleEndian.AppendUint32(dst, b)
}

func appendFloat64(dst []byte, f float64) []byte {
	b := math.Float64bits(f)
	if b == 1<<63 {
		b = 0
	}
	return binary.LittleEndian.AppendUint64(dst, b)
}

func decodeFloat32(b []byte) (float32, int, error) {
	if len(b) < 4 {
		return 0, 0, errTruncated
	}
	u := binary.LittleEndian.Uint32(b)
	if u == 1<<31 {
		return 0, 0, errNegZero
	}
	return math.Float32frombits(u), 4, nil
}

func decodeFloat64(b []byte) (float64, int, error) {
	if len(b) < 8 {
		return 0, 0, errTruncated
	}
	u := binary.LittleEndian.Uint64(b)
	if u == 1<<63 {
		return 0, 0, errNegZero
	}
	return math.Float64frombits(u), 8, nil
}

func appendStringNested(dst []byte, s string) []byte {
	dst = appendUvarint(dst, uint64(len(s)))
	return append(dst, s...)
}

func decodeStringNested(b []byte) (string, int, error) {
	h, l, err := prefix(b)
	if err != nil {
		return "", 0, err
	}
	return string(b[h : h+l]), h + l, nil
}

func appendBytesNested(dst, v []byte) []byte {
	if v == nil {
		return append(dst, 0)
	}
	dst = appendUvarint(dst, uint64(len(v))+1)
	return append(dst, v...)
}

func decodeBytesNested(b []byte) ([]byte, int, error) {
	n, isNil, h, err := count(b, 1)
	if err != nil || isNil {
		return nil, h, err
	}
	v := make([]byte, n)
	copy(v, b[h:])
	return v, h + n, nil
}

// appendTime writes the instant t denotes: Unix seconds as a zigzag varint,
// then the nanosecond within the second as a uvarint.
func appendTime(dst []byte, t time.Time) []byte {
	dst = appendVarint(dst, t.Unix())
	return appendUvarint(dst, uint64(t.Nanosecond()))
}

func decodeTime(b []byte) (time.Time, int, error) {
	sec, n, err := varint(b)
	if err != nil {
		return time.Time{}, 0, err
	}
	ns, m, err := uvarint(b[n:])
	if err != nil {
		return time.Time{}, 0, err
	}
	if ns >= 1e9 {
		return time.Time{}, 0, errNanos
	}
	return time.Unix(sec, int64(ns)).UTC(), n + m, nil
}

// span is one encoded map entry, dst[lo:hi].
type span struct{ lo, hi int }

// entryScratch is the reusable memory a map encoding sorts its entries with.
type entryScratch struct {
	spans []span
	buf   []byte
}

// maxPooledScratch bounds the memory a pooled entryScratch keeps.
const maxPooledScratch = 1 << 16

var entryPool = sync.Pool{New: func() any { return new(entryScratch) }}

func (s *entryScratch) release(p *sync.Pool) {
	if cap(s.buf) > maxPooledScratch || cap(s.spans) > maxPooledScratch/16 {
		return
	}
	s.spans = s.spans[:0]
	s.buf = s.buf[:0]
	p.Put(s)
}

// sortEntries reorders the map entries that s.spans locates in dst[start:]
// (and that tile it) into increasing byte order. Entries begin with their
// key's encoding, which is prefix-free, so byte order of entries is the order
// of their keys' encodings.
func (s *entryScratch) sortEntries(dst []byte, start int) {
	cmp := func(a, b span) int { return bytes.Compare(dst[a.lo:a.hi], dst[b.lo:b.hi]) }
	if len(s.spans) < 2 || slices.IsSortedFunc(s.spans, cmp) {
		return
	}
	slices.SortFunc(s.spans, cmp)
	s.buf = s.buf[:0]
	for _, e := range s.spans {
		s.buf = append(s.buf, dst[e.lo:e.hi]...)
	}
	copy(dst[start:], s.buf)
}
