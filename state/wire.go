package state

import (
	"encoding/binary"
	"errors"
	"fmt"
	"runtime"

	"github.com/runnel-io/runnel/codec"
)

// This file has the primitives of the snapshot formats that snapshot.go
// documents: varints, blobs (length-prefixed bytes) and order-preserving
// int64s, and a reader that decodes them strictly.

// appendBlob appends v encoded by c as a blob: the length of the encoding
// as a varint, then the encoding. It does not allocate when dst has room.
func appendBlob[T any](dst []byte, c codec.Codec[T], v T) []byte {
	start := len(dst)
	dst = append(dst, 0) // room for a one-byte length, the common case
	dst = c.Append(dst, v)
	n := len(dst) - start - 1
	if n < 0x80 {
		dst[start] = byte(n)
		return dst
	}
	l := uvarintLen(uint64(n))
	var pad [binary.MaxVarintLen64]byte
	dst = append(dst, pad[:l-1]...)
	copy(dst[start+l:], dst[start+1:start+1+n])
	binary.PutUvarint(dst[start:], uint64(n))
	return dst
}

// appendBytesBlob appends b as a blob.
func appendBytesBlob(dst, b []byte) []byte {
	dst = binary.AppendUvarint(dst, uint64(len(b)))
	return append(dst, b...)
}

// blobContent returns the offset of the content of the blob that starts at
// buf[start], which must be a valid blob.
func blobContent(buf []byte, start int) int {
	_, n := binary.Uvarint(buf[start:])
	return start + n
}

// appendInt64 appends v in 8 bytes, big-endian, with its sign bit flipped,
// so that the byte order of encodings is the numeric order of values.
func appendInt64(dst []byte, v int64) []byte {
	return binary.BigEndian.AppendUint64(dst, uint64(v)^(1<<63))
}

func uvarintLen(x uint64) int {
	n := 1
	for x >= 0x80 {
		x >>= 7
		n++
	}
	return n
}

// reader decodes the primitives of the snapshot formats. It is strict, so
// that an accepted input re-encodes to itself: varints must be minimal,
// and counts and lengths must fit in what is left of the input, which is
// checked before anything is allocated for them. The first error sticks:
// later reads return zero values, and err says what was wrong.
type reader struct {
	b   []byte
	err error
}

func (r *reader) fail(format string, args ...any) {
	if r.err == nil {
		r.err = fmt.Errorf(format, args...)
	}
	r.b = nil
}

func (r *reader) uvarint() uint64 {
	v, n := binary.Uvarint(r.b)
	switch {
	case n == 0:
		r.fail("truncated varint")
		return 0
	case n < 0:
		r.fail("varint overflows 64 bits")
		return 0
	case n > 1 && r.b[n-1] == 0:
		r.fail("non-minimal varint")
		return 0
	}
	r.b = r.b[n:]
	return v
}

// count reads a count of items of at least minSize bytes each, and fails if
// the rest of the input cannot hold that many.
func (r *reader) count(minSize int) int {
	v := r.uvarint()
	if r.err == nil && v > uint64(len(r.b)/minSize) {
		r.fail("count %d exceeds what the remaining %d bytes can hold", v, len(r.b))
		return 0
	}
	return int(v)
}

// blob reads a blob and returns its content, a sub-slice of the input.
func (r *reader) blob() []byte {
	n := r.uvarint()
	if r.err == nil && n > uint64(len(r.b)) {
		r.fail("length %d exceeds the remaining %d bytes", n, len(r.b))
	}
	if r.err != nil {
		return nil
	}
	b := r.b[:n:n]
	r.b = r.b[n:]
	return b
}

func (r *reader) byte() byte {
	if len(r.b) < 1 {
		r.fail("truncated")
		return 0
	}
	c := r.b[0]
	r.b = r.b[1:]
	return c
}

func (r *reader) int64() int64 {
	if len(r.b) < 8 {
		r.fail("truncated int64")
		return 0
	}
	v := int64(binary.BigEndian.Uint64(r.b) ^ (1 << 63))
	r.b = r.b[8:]
	return v
}

// done fails if input is left over.
func (r *reader) done() {
	if r.err == nil && len(r.b) != 0 {
		r.fail("%d trailing bytes", len(r.b))
	}
}

// codecPanic returns a recovered panic value if it is an error that a
// codec raised (an encoding failure that Append had no other way to
// report), and nil if it is anything else, such as a runtime error (a bug).
func codecPanic(p any) error {
	err, ok := p.(error)
	if !ok {
		return nil
	}
	var re runtime.Error
	if errors.As(err, &re) {
		return nil
	}
	return err
}
