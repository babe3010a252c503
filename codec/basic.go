package codec

import (
	"bytes"
	"time"
)

// nested is implemented by this package's codecs. Besides the top-level form
// of Codec (which may rely on the caller's framing for its length), they have
// a self-delimiting nested form used for fields, elements, keys and values.
type nested[T any] interface {
	Codec[T]
	// appendNested appends the self-delimiting encoding of v.
	appendNested(dst []byte, v T) []byte
	// decodeNested decodes one self-delimiting encoding from the start of
	// src and returns the number of bytes it used.
	decodeNested(src []byte) (T, int, error)
	// minSize is a lower bound on the length of a nested encoding. It is 0
	// only for zero-size types, whose encoding is always empty.
	minSize() int
}

// Bool returns the codec for bool: one byte, 0 or 1.
func Bool() Codec[bool] { return boolCodec{} }

// Int returns the codec for int: a zigzag varint of its 64-bit value, so an
// int encodes the same on 32- and 64-bit machines.
func Int() Codec[int] { return signedCodec[int]{} }

// Int8 returns the codec for int8: one byte, two's complement.
func Int8() Codec[int8] { return byteCodec[int8]{} }

// Int16 returns the codec for int16: a zigzag varint.
func Int16() Codec[int16] { return signedCodec[int16]{} }

// Int32 returns the codec for int32: a zigzag varint.
func Int32() Codec[int32] { return signedCodec[int32]{} }

// Int64 returns the codec for int64: a zigzag varint.
func Int64() Codec[int64] { return signedCodec[int64]{} }

// Uint returns the codec for uint: a varint of its 64-bit value.
func Uint() Codec[uint] { return unsignedCodec[uint]{} }

// Uint8 returns the codec for uint8 (byte): the byte itself.
func Uint8() Codec[uint8] { return byteCodec[uint8]{} }

// Uint16 returns the codec for uint16: a varint.
func Uint16() Codec[uint16] { return unsignedCodec[uint16]{} }

// Uint32 returns the codec for uint32: a varint.
func Uint32() Codec[uint32] { return unsignedCodec[uint32]{} }

// Uint64 returns the codec for uint64: a varint.
func Uint64() Codec[uint64] { return unsignedCodec[uint64]{} }

// Float32 returns the codec for float32: its IEEE 754 bits, 4 bytes
// little-endian. Negative zero is written as positive zero (they are ==);
// NaN payloads are kept.
func Float32() Codec[float32] { return float32Codec{} }

// Float64 returns the codec for float64: its IEEE 754 bits, 8 bytes
// little-endian. Negative zero is written as positive zero (they are ==);
// NaN payloads are kept.
func Float64() Codec[float64] { return float64Codec{} }

// String returns the codec for string: the raw bytes at top level, prefixed
// by their length as a uvarint when nested.
func String() Codec[string] { return stringCodec{} }

// Bytes returns the codec for []byte: the raw bytes at top level (nil and
// empty both encode to nothing and decode as nil). Nested, it is a uvarint
// that is 0 for nil and len+1 otherwise, followed by the bytes, so nil and
// empty are told apart.
func Bytes() Codec[[]byte] { return bytesCodec{} }

// Time returns the codec for time.Time. It encodes the instant only: Unix
// seconds as a zigzag varint, then nanoseconds within the second as a
// varint. Location and monotonic clock reading are dropped, decoded times
// are in UTC, and times for which Equal reports true encode identically.
func Time() Codec[time.Time] { return timeCodec{} }

// Duration returns the codec for time.Duration: a zigzag varint of its
// nanoseconds.
func Duration() Codec[time.Duration] { return signedCodec[time.Duration]{} }

type boolCodec struct{}

func (boolCodec) Append(dst []byte, v bool) []byte       { return appendBool(dst, v) }
func (boolCodec) appendNested(dst []byte, v bool) []byte { return appendBool(dst, v) }
func (boolCodec) minSize() int                           { return 1 }
func (boolCodec) decodeNested(src []byte) (bool, int, error) {
	return decodeBool(src)
}
func (boolCodec) Decode(src []byte) (bool, error) {
	v, n, err := decodeBool(src)
	return finish(v, n, err, len(src))
}

type byteCodec[T ~int8 | ~uint8] struct{}

func (byteCodec[T]) Append(dst []byte, v T) []byte       { return append(dst, byte(v)) }
func (byteCodec[T]) appendNested(dst []byte, v T) []byte { return append(dst, byte(v)) }
func (byteCodec[T]) minSize() int                        { return 1 }
func (byteCodec[T]) decodeNested(src []byte) (T, int, error) {
	if len(src) == 0 {
		return 0, 0, errTruncated
	}
	return T(src[0]), 1, nil
}
func (c byteCodec[T]) Decode(src []byte) (T, error) {
	v, n, err := c.decodeNested(src)
	return finish(v, n, err, len(src))
}

type signedCodec[T ~int | ~int16 | ~int32 | ~int64] struct{}

func (signedCodec[T]) Append(dst []byte, v T) []byte       { return appendVarint(dst, int64(v)) }
func (signedCodec[T]) appendNested(dst []byte, v T) []byte { return appendVarint(dst, int64(v)) }
func (signedCodec[T]) minSize() int                        { return 1 }
func (signedCodec[T]) decodeNested(src []byte) (T, int, error) {
	x, n, err := varint(src)
	if err != nil {
		return 0, 0, err
	}
	if int64(T(x)) != x {
		return 0, 0, errRange
	}
	return T(x), n, nil
}
func (c signedCodec[T]) Decode(src []byte) (T, error) {
	v, n, err := c.decodeNested(src)
	return finish(v, n, err, len(src))
}

type unsignedCodec[T ~uint | ~uint16 | ~uint32 | ~uint64] struct{}

func (unsignedCodec[T]) Append(dst []byte, v T) []byte       { return appendUvarint(dst, uint64(v)) }
func (unsignedCodec[T]) appendNested(dst []byte, v T) []byte { return appendUvarint(dst, uint64(v)) }
func (unsignedCodec[T]) minSize() int                        { return 1 }
func (unsignedCodec[T]) decodeNested(src []byte) (T, int, error) {
	x, n, err := uvarint(src)
	if err != nil {
		return 0, 0, err
	}
	if uint64(T(x)) != x {
		return 0, 0, errRange
	}
	return T(x), n, nil
}
func (c unsignedCodec[T]) Decode(src []byte) (T, error) {
	v, n, err := c.decodeNested(src)
	return finish(v, n, err, len(src))
}

type float32Codec struct{}

func (float32Codec) Append(dst []byte, v float32) []byte       { return appendFloat32(dst, v) }
func (float32Codec) appendNested(dst []byte, v float32) []byte { return appendFloat32(dst, v) }
func (float32Codec) minSize() int                              { return 4 }
func (float32Codec) decodeNested(src []byte) (float32, int, error) {
	return decodeFloat32(src)
}
func (float32Codec) Decode(src []byte) (float32, error) {
	v, n, err := decodeFloat32(src)
	return finish(v, n, err, len(src))
}

type float64Codec struct{}

func (float64Codec) Append(dst []byte, v float64) []byte       { return appendFloat64(dst, v) }
func (float64Codec) appendNested(dst []byte, v float64) []byte { return appendFloat64(dst, v) }
func (float64Codec) minSize() int                              { return 8 }
func (float64Codec) decodeNested(src []byte) (float64, int, error) {
	return decodeFloat64(src)
}
func (float64Codec) Decode(src []byte) (float64, error) {
	v, n, err := decodeFloat64(src)
	return finish(v, n, err, len(src))
}

type stringCodec struct{}

func (stringCodec) Append(dst []byte, v string) []byte       { return append(dst, v...) }
func (stringCodec) Decode(src []byte) (string, error)        { return string(src), nil }
func (stringCodec) appendNested(dst []byte, v string) []byte { return appendStringNested(dst, v) }
func (stringCodec) minSize() int                             { return 1 }
func (stringCodec) decodeNested(src []byte) (string, int, error) {
	return decodeStringNested(src)
}

type bytesCodec struct{}

func (bytesCodec) Append(dst []byte, v []byte) []byte       { return append(dst, v...) }
func (bytesCodec) appendNested(dst []byte, v []byte) []byte { return appendBytesNested(dst, v) }
func (bytesCodec) minSize() int                             { return 1 }
func (bytesCodec) decodeNested(src []byte) ([]byte, int, error) {
	return decodeBytesNested(src)
}
func (bytesCodec) Decode(src []byte) ([]byte, error) {
	if len(src) == 0 {
		return nil, nil
	}
	return bytes.Clone(src), nil
}

type timeCodec struct{}

func (timeCodec) Append(dst []byte, v time.Time) []byte       { return appendTime(dst, v) }
func (timeCodec) appendNested(dst []byte, v time.Time) []byte { return appendTime(dst, v) }
func (timeCodec) minSize() int                                { return 2 }
func (timeCodec) decodeNested(src []byte) (time.Time, int, error) {
	return decodeTime(src)
}
func (timeCodec) Decode(src []byte) (time.Time, error) {
	v, n, err := decodeTime(src)
	return finish(v, n, err, len(src))
}
