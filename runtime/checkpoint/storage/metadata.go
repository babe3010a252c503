package storage

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"hash/crc32"
	"math"

	"github.com/runnel-io/runnel/runtime/checkpoint"
)

// The _metadata file, format version 1. Fixed-size integers are
// little-endian; "uvarint" and "varint" are encoding/binary's unsigned and
// zig-zag signed varints, always in their shortest form; a "string" or
// "bytes" is a uvarint length followed by that many bytes.
//
//	offset  size  field
//	0       8     magic "RNLMETA\x00"
//	8       2     format version (uint16) = 1
//	10      4     body length N (uint32)
//	14      N     body
//	14+N    4     CRC-32C (Castagnoli, uint32) of bytes [0, 14+N)
//
// The body:
//
//	string   job ID
//	varint   checkpoint ID
//	varint   timestamp, milliseconds since the Unix epoch
//	byte     kind: 1 checkpoint, 2 savepoint
//	uvarint  number of operators, then for each operator:
//	  string   operator ID
//	  string   operator name
//	  uvarint  parallelism P
//	  uvarint  max parallelism
//	  byte     0: no coordinator state; 1: coordinator state follows
//	  bytes    coordinator state (only if the byte before is 1)
//	  P times, subtask by subtask:
//	    string   keyed state handle: path ("" for none)
//	    uvarint  keyed state handle: size in bytes
//	    varint   first key group
//	    varint   last key group
//	    string   operator state handle: path ("" for none)
//	    uvarint  operator state handle: size in bytes
//
// The frame (magic, version, length, checksum) is the same in every format
// version; a new version changes only the body. So a decoder checks the
// length and the checksum before the version, and tells a damaged file
// (ErrIncomplete, ErrCorrupt) from an intact one written by a newer build
// (ErrVersion).
//
// Decoding is strict: it accepts exactly the bytes EncodeMetadata writes, so
// every accepted input re-encodes to itself (FuzzDecodeMetadata checks it).
const (
	metadataMagic   = "RNLMETA\x00"
	metadataVersion = 1
	// headerLen is the magic, the version and the body length.
	headerLen  = len(metadataMagic) + 2 + 4
	trailerLen = 4
	// minOperatorLen and minSubtaskLen are the fewest bytes one operator
	// and one subtask can take: counts read from the input are bounded by
	// them before anything is allocated.
	minOperatorLen = 5
	minSubtaskLen  = 6
)

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// EncodeMetadata encodes md in the _metadata format (version 1). It fails
// if md breaks an invariant of checkpoint.Metadata that the format relies
// on: an unknown Kind, a negative parallelism, max parallelism or handle
// size, or an operator whose Subtasks do not number Parallelism.
func EncodeMetadata(md *checkpoint.Metadata) ([]byte, error) {
	if md == nil {
		return nil, fmt.Errorf("storage: encode metadata: nil metadata")
	}
	if err := checkEncodable(md); err != nil {
		return nil, err
	}
	b := make([]byte, headerLen, headerLen+64+64*len(md.Operators))
	copy(b, metadataMagic)
	binary.LittleEndian.PutUint16(b[len(metadataMagic):], metadataVersion)

	b = appendString(b, md.JobID)
	b = binary.AppendVarint(b, md.CheckpointID)
	b = binary.AppendVarint(b, md.Timestamp)
	b = append(b, byte(md.Kind))
	b = binary.AppendUvarint(b, uint64(len(md.Operators)))
	for i := range md.Operators {
		op := &md.Operators[i]
		b = appendString(b, op.ID)
		b = appendString(b, op.Name)
		b = binary.AppendUvarint(b, uint64(op.Parallelism))
		b = binary.AppendUvarint(b, uint64(op.MaxParallelism))
		if op.Coordinator == nil {
			b = append(b, 0)
		} else {
			b = append(b, 1)
			b = binary.AppendUvarint(b, uint64(len(op.Coordinator)))
			b = append(b, op.Coordinator...)
		}
		for j := range op.Subtasks {
			st := &op.Subtasks[j]
			b = appendString(b, st.Keyed.Path)
			b = binary.AppendUvarint(b, uint64(st.Keyed.Size))
			b = binary.AppendVarint(b, int64(st.KeyGroups.Start))
			b = binary.AppendVarint(b, int64(st.KeyGroups.End))
			b = appendString(b, st.Operator.Path)
			b = binary.AppendUvarint(b, uint64(st.Operator.Size))
		}
	}
	body := len(b) - headerLen
	if body > math.MaxUint32 {
		return nil, fmt.Errorf("storage: encode metadata: %d bytes is more than the format's 4 GiB", body)
	}
	binary.LittleEndian.PutUint32(b[len(metadataMagic)+2:], uint32(body))
	return binary.LittleEndian.AppendUint32(b, crc32.Checksum(b, castagnoli)), nil
}

func checkEncodable(md *checkpoint.Metadata) error {
	if md.Kind != checkpoint.KindCheckpoint && md.Kind != checkpoint.KindSavepoint {
		return fmt.Errorf("storage: encode metadata: unknown kind %v", md.Kind)
	}
	for i := range md.Operators {
		op := &md.Operators[i]
		switch {
		case op.Parallelism < 0 || op.MaxParallelism < 0:
			return fmt.Errorf("storage: encode metadata: operator %q: negative parallelism %d or max parallelism %d",
				op.Name, op.Parallelism, op.MaxParallelism)
		case len(op.Subtasks) != op.Parallelism:
			return fmt.Errorf("storage: encode metadata: operator %q: %d subtask states for parallelism %d",
				op.Name, len(op.Subtasks), op.Parallelism)
		}
		for j := range op.Subtasks {
			st := &op.Subtasks[j]
			if st.Keyed.Size < 0 || st.Operator.Size < 0 {
				return fmt.Errorf("storage: encode metadata: operator %q (%d/%d): negative state size", op.Name, j+1, len(op.Subtasks))
			}
		}
	}
	return nil
}

func appendString(b []byte, s string) []byte {
	b = binary.AppendUvarint(b, uint64(len(s)))
	return append(b, s...)
}

// DecodeMetadata decodes a _metadata file. An input that ends early is an
// error wrapping ErrIncomplete; one of an unknown format version wraps
// ErrVersion; any other malformed input (wrong magic, checksum mismatch, a
// bad field, trailing bytes) wraps ErrCorrupt. It never panics, and it
// allocates at most a small multiple of len(b).
func DecodeMetadata(b []byte) (*checkpoint.Metadata, error) {
	md, err := decodeMetadata(b)
	if err != nil {
		return nil, err.prefixed("")
	}
	return md, nil
}

// decodeError is a decoding failure before it is told which file it is in.
type decodeError struct {
	kind error
	msg  string
}

func (e *decodeError) prefixed(file string) error {
	if file != "" {
		return &kindError{kind: e.kind, msg: fmt.Sprintf("%s: %s: %s", e.kind, file, e.msg)}
	}
	return &kindError{kind: e.kind, msg: fmt.Sprintf("%s: %s", e.kind, e.msg)}
}

func corrupt(format string, args ...any) *decodeError {
	return &decodeError{kind: ErrCorrupt, msg: fmt.Sprintf(format, args...)}
}

func decodeMetadata(b []byte) (*checkpoint.Metadata, *decodeError) {
	if len(b) < len(metadataMagic) {
		if bytes.HasPrefix([]byte(metadataMagic), b) {
			return nil, &decodeError{kind: ErrIncomplete, msg: fmt.Sprintf("metadata truncated to %d bytes", len(b))}
		}
		return nil, corrupt("not a metadata file (bad magic)")
	}
	if string(b[:len(metadataMagic)]) != metadataMagic {
		return nil, corrupt("not a metadata file (bad magic)")
	}
	if len(b) < headerLen {
		return nil, &decodeError{kind: ErrIncomplete, msg: fmt.Sprintf("metadata truncated to %d bytes", len(b))}
	}
	n := uint64(binary.LittleEndian.Uint32(b[len(metadataMagic)+2:]))
	want := uint64(headerLen) + n + trailerLen
	switch {
	case uint64(len(b)) < want:
		return nil, &decodeError{kind: ErrIncomplete, msg: fmt.Sprintf("metadata truncated to %d of %d bytes", len(b), want)}
	case uint64(len(b)) > want:
		return nil, corrupt("%d bytes after the checksum", uint64(len(b))-want)
	}
	end := len(b) - trailerLen
	stored := binary.LittleEndian.Uint32(b[end:])
	if sum := crc32.Checksum(b[:end], castagnoli); sum != stored {
		return nil, corrupt("checksum mismatch (stored %#08x, computed %#08x)", stored, sum)
	}
	// The version is checked after the checksum, which covers it: a flipped
	// bit is damage (ErrCorrupt); an intact file of another version was
	// written by another build (ErrVersion).
	if v := binary.LittleEndian.Uint16(b[len(metadataMagic):]); v != metadataVersion {
		return nil, &decodeError{kind: ErrVersion,
			msg: fmt.Sprintf("format version %d (this build reads version %d)", v, metadataVersion)}
	}

	d := decoder{b: b[headerLen:end]}
	md := &checkpoint.Metadata{
		JobID:        d.readString("job ID"),
		CheckpointID: d.readVarint("checkpoint ID"),
		Timestamp:    d.readVarint("timestamp"),
		Kind:         checkpoint.Kind(d.readByte("kind")),
	}
	if d.err == nil && md.Kind != checkpoint.KindCheckpoint && md.Kind != checkpoint.KindSavepoint {
		d.fail("unknown kind %d", md.Kind)
	}
	if nops := d.readCount("operators", minOperatorLen); nops > 0 {
		md.Operators = make([]checkpoint.OperatorState, nops)
		for i := range md.Operators {
			d.readOperator(&md.Operators[i])
			if d.err != nil {
				break
			}
		}
	}
	if d.err == nil && len(d.b) > 0 {
		d.fail("%d bytes after the last operator", len(d.b))
	}
	if d.err != nil {
		return nil, d.err
	}
	return md, nil
}

// decoder reads the body. The first error sticks: later reads return zero
// values, so that decoding reads as straight-line code.
type decoder struct {
	b   []byte
	err *decodeError
}

func (d *decoder) fail(format string, args ...any) {
	if d.err == nil {
		d.err = corrupt(format, args...)
	}
}

func (d *decoder) readOperator(op *checkpoint.OperatorState) {
	op.ID = d.readString("operator ID")
	op.Name = d.readString("operator name")
	p := d.readCount("subtasks", minSubtaskLen)
	op.Parallelism = p
	op.MaxParallelism = d.readInt("max parallelism")
	switch d.readByte("coordinator flag") {
	case 0:
	case 1:
		op.Coordinator = d.readBytes("coordinator state")
	default:
		d.fail("operator %q: coordinator flag is neither 0 nor 1", op.Name)
	}
	if d.err != nil || p == 0 {
		return
	}
	op.Subtasks = make([]checkpoint.SubtaskState, p)
	for i := range op.Subtasks {
		st := &op.Subtasks[i]
		st.Keyed = d.readHandle("keyed state handle")
		st.KeyGroups.Start = d.readIntVarint("first key group")
		st.KeyGroups.End = d.readIntVarint("last key group")
		st.Operator = d.readHandle("operator state handle")
		if d.err != nil {
			return
		}
	}
}

func (d *decoder) readHandle(what string) checkpoint.StateHandle {
	path := d.readString(what)
	size := d.readUvarint(what + " size")
	if size > math.MaxInt64 {
		d.fail("%s size %d is out of range", what, size)
		return checkpoint.StateHandle{}
	}
	return checkpoint.StateHandle{Path: path, Size: int64(size)}
}

func (d *decoder) readByte(what string) byte {
	if d.err != nil {
		return 0
	}
	if len(d.b) == 0 {
		d.fail("body ends before the %s", what)
		return 0
	}
	c := d.b[0]
	d.b = d.b[1:]
	return c
}

func (d *decoder) readUvarint(what string) uint64 {
	if d.err != nil {
		return 0
	}
	v, n := binary.Uvarint(d.b)
	switch {
	case n == 0:
		d.fail("body ends inside the %s", what)
		return 0
	case n < 0:
		d.fail("%s overflows 64 bits", what)
		return 0
	case n != uvarintLen(v):
		d.fail("%s is not a minimal varint", what)
		return 0
	}
	d.b = d.b[n:]
	return v
}

func (d *decoder) readVarint(what string) int64 {
	u := d.readUvarint(what)
	// Zig-zag, as binary.Varint: minimality of u is minimality of the varint.
	v := int64(u >> 1)
	if u&1 != 0 {
		v = ^v
	}
	return v
}

// int reads a uvarint that must fit an int.
func (d *decoder) readInt(what string) int {
	v := d.readUvarint(what)
	if v > math.MaxInt {
		d.fail("%s %d is out of range", what, v)
		return 0
	}
	return int(v)
}

// intVarint reads a varint that must fit an int.
func (d *decoder) readIntVarint(what string) int {
	v := d.readVarint(what)
	if v < math.MinInt || v > math.MaxInt {
		d.fail("%s %d is out of range", what, v)
		return 0
	}
	return int(v)
}

// count reads the number of elements that follow, each taking at least
// minLen bytes, and rejects a count the rest of the body could not hold.
func (d *decoder) readCount(what string, minLen int) int {
	v := d.readUvarint("number of " + what)
	if d.err != nil {
		return 0
	}
	if v > uint64(len(d.b)/minLen) {
		d.fail("%d %s do not fit in the %d bytes left", v, what, len(d.b))
		return 0
	}
	return int(v)
}

func (d *decoder) readBytes(what string) []byte {
	v := d.readUvarint(what + " length")
	if d.err != nil {
		return nil
	}
	if v > uint64(len(d.b)) {
		d.fail("%s of %d bytes does not fit in the %d bytes left", what, v, len(d.b))
		return nil
	}
	out := make([]byte, v)
	copy(out, d.b)
	d.b = d.b[v:]
	return out
}

func (d *decoder) readString(what string) string {
	return string(d.readBytes(what))
}

func uvarintLen(v uint64) int {
	n := 1
	for v >= 0x80 {
		v >>= 7
		n++
	}
	return n
}
