package codec

import "errors"

// ErrCorrupt is returned (wrapped) by Decode when its input is not a valid
// encoding of the codec's type.
var ErrCorrupt = errors.New("codec: corrupt input")

// Codec turns values of T into bytes and back. The runtime uses a Codec
// wherever a record leaves its task: on an exchange between tasks (in
// process now, over the network later) and in state snapshots.
//
// Contract:
//   - Append appends the encoding of v to dst and returns the extended slice,
//     like strconv.AppendInt. It must not retain dst or anything reachable
//     from v after it returns, and it must not allocate when dst has room.
//   - The encoding is deterministic: equal values encode to equal bytes, in
//     every process and on every machine. Key groups are a hash of a key's
//     encoding, so a key's encoding must not depend on map iteration order,
//     pointer values or the platform's word size or byte order.
//   - Decode reads one value from exactly the bytes one Append wrote (the
//     caller frames records, so Decode always sees exactly one encoding). It
//     must not retain src: the caller reuses that memory as soon as Decode
//     returns, so strings and byte slices are copied out. On malformed input it
//     returns an error wrapping ErrCorrupt; it never panics and never
//     allocates more than a small multiple of len(src).
//   - A Codec holds no per-call state: one value may be used by many
//     goroutines at once.
type Codec[T any] interface {
	Append(dst []byte, v T) []byte
	Decode(src []byte) (T, error)
}
