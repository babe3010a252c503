// Package codec turns records into bytes and back.
//
// A [Codec] is used wherever a value leaves the task that produced it: when
// a record crosses a task boundary on an exchange (in process now, over the
// network later) and when operator state is written to or read from a
// snapshot. Keyed streams also use the key's encoding to pick the key's key
// group, which is a hash of those bytes.
//
// # Determinism
//
// Because key groups hash a key's encoding, and because a key may be
// encoded on one machine and looked up on another, every codec in this
// package is deterministic: values that are == encode to the same bytes in
// every process on every platform. Integers are varints of their 64-bit
// values (never of the platform's word size), fixed-size numbers are
// little-endian, map entries are sorted by their encoding rather than
// written in iteration order, pointers are followed rather than written,
// and negative zero is written as positive zero (because -0.0 == +0.0).
// Types that bring their own marshaling methods are only as deterministic
// as those methods.
//
// Decoding is strict: it accepts only the bytes the encoder would have
// written (minimal varints, bools 0 or 1, sorted map entries without
// duplicate keys, no negative zero, no trailing bytes), so that for the
// built-in formats every accepted input re-encodes to itself. Anything else
// is an error wrapping [ErrCorrupt]. Decoding never panics (short of a
// panic in a type's own UnmarshalBinary), and it rejects a length or count
// that the remaining input could not hold before allocating for it, so a
// hostile prefix such as a count of 2^60 costs nothing. What Decode
// allocates is bounded by a small multiple of the input length: every
// element needs at least one input byte, so the bound is set by how much
// memory a one-byte element can occupy, at most a few dozen bytes (a slice
// header, or a slot in a map of strings to slices). Types with their own
// marshaling methods are bounded only by those methods.
//
// # Allocation
//
// Append does not allocate when dst has room. Map encoding and types with
// marshaling methods borrow scratch memory from pools, and the methods
// themselves may allocate. Decode allocates only the memory of the value
// it returns: strings, byte slices, slice backing arrays, maps and
// pointees; values made of numbers, bools, times and arrays and structs of
// them decode without allocating.
//
// # Choosing a codec
//
// [For] returns the default codec of a type, resolved once by reflection;
// callers keep the result. Basic types get the built-in codec of the same
// name ([Int64], [String], …), and named types whose underlying type is
// basic (type Word string) encode like that type. A type T such that *T
// implements [encoding.BinaryUnmarshaler] and T or *T implements
// [encoding.BinaryAppender] (or failing that [encoding.BinaryMarshaler]) is
// encoded by those methods; this is how to give a type with unexported
// fields a codec, or to override the default format. Structs, arrays,
// slices, maps and pointers of supported types get a codec compiled from
// reflect once: a list of operations (kind and field offset) that encode
// and decode through unsafe pointers, so that records are processed
// without reflection or reflect.Value allocations. (Maps are the
// exception: they are iterated and built through reflect, still without
// allocating per entry, since nothing else can handle a map whose type is
// known only at run time.) Interfaces, channels, functions, unsafe
// pointers, uintptrs, unexported fields and recursive types are reported
// by For as errors naming the type and field; blank (_) fields and fields
// tagged `codec:"-"` are skipped (and decode as zero).
//
// [Tuple2Codec], [Tuple3Codec], [Slice], [Map] and [Pointer] build codecs
// from other codecs, including ones written outside this package.
//
// # Wire formats
//
// A codec has a top-level form, used when its value is the whole record,
// and a nested form, used for struct fields, tuple fields, elements, keys
// and values. The caller frames records, so the top-level form of a
// variable-length value need not record its length; the nested form is
// self-delimiting. Where the two are not listed separately they are the
// same.
//
//   - bool: one byte, 0 or 1.
//   - int8, uint8: one byte (two's complement for int8).
//   - int16, int32, int64, int: the value as int64, zigzag-encoded
//     ((x << 1) ^ (x >> 63)), as a minimal unsigned LEB128 varint (7 bits
//     per byte, least significant first, high bit set on all but the last
//     byte, at most 10 bytes).
//   - uint16, uint32, uint64, uint: the value as uint64, as a varint.
//   - float32, float64: the IEEE 754 bits, 4 or 8 bytes little-endian;
//     negative zero is written as positive zero and NaN payloads are kept.
//   - complex64, complex128: the real part, then the imaginary part, each
//     as the float of half the size.
//   - string: top level, its bytes; nested, its length as a varint and then
//     its bytes.
//   - []byte (and any slice of a 1-byte integer type): top level, its bytes
//     (nil and empty are the same, and decode as nil); nested, a varint that
//     is 0 for nil and len+1 otherwise, then the bytes.
//   - [N]byte (and any array of a 1-byte integer type): the N bytes.
//   - time.Time: the instant only, as Unix seconds (a zigzag varint) then
//     the nanosecond within the second (a varint, below 1e9). Location and
//     monotonic reading are dropped; decoded times are in UTC.
//   - time.Duration: an int64.
//   - structs, Tuple2, Tuple3: the nested encodings of the fields in
//     declaration order, with nothing between them (top level too).
//     Zero-size fields encode to nothing.
//   - arrays: the nested encodings of the elements, with no count.
//   - slices: a varint that is 0 for nil and len+1 otherwise, then the
//     nested encodings of the elements. Nil and empty slices are kept apart.
//   - maps: a varint that is 0 for nil and len+1 otherwise, then the
//     entries (nested key, then nested value) in increasing byte order.
//     Because nested encodings are prefix-free this is the order of the
//     keys' encodings. Nil and empty maps are kept apart.
//   - pointers: one byte, 0 for nil; otherwise 1 and then the nested
//     encoding of the pointee. Sharing and identity are not kept.
//   - types with marshaling methods: top level, the bytes of AppendBinary
//     (or MarshalBinary); nested, their length as a varint and then them.
//     Append has no way to return an error, so it panics if the method
//     fails; use a hand-written Codec for types whose encoding can fail.
//   - codecs from outside this package, nested by [Tuple2Codec] and the
//     like: the length of their top-level encoding as a varint, then it.
//
// The format is not self-describing and has no schema evolution: adding,
// removing or reordering struct fields changes it.
package codec
