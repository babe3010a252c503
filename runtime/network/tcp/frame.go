package tcp

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"slices"

	"github.com/runnel-io/runnel/runtime/checkpoint"
	"github.com/runnel-io/runnel/runtime/network"
)

// Protocol constants. See doc.go for the wire format.
const (
	// Version is the protocol version this package speaks.
	Version = 1

	// DefaultMaxBufferSize is the largest data buffer a Server accepts
	// unless ServerOptions.MaxBufferSize says otherwise: 16 MiB, room for
	// an oversized buffer holding one record of up to about that size (a
	// RecordWriter puts a record larger than a segment into a buffer of its
	// own).
	DefaultMaxBufferSize = 16 << 20
	// MaxBufferSizeLimit is the largest MaxBufferSize a Server may announce
	// and a Client accepts: 1 GiB.
	MaxBufferSizeLimit = 1 << 30

	// maxChannelsPerConn bounds the channels one connection may open.
	maxChannelsPerConn = 1 << 16
	// maxCredit bounds the credit one channel may hold: more than any gate
	// channel's capacity.
	maxCredit = 1 << 20
	// maxJobLen bounds the job of a ChannelID.
	maxJobLen = 256
	// maxTargetDirLen bounds the savepoint directory of a barrier.
	maxTargetDirLen = 4096
	// maxRejectLen bounds the message of a reject frame.
	maxRejectLen = 1024
	// payloadChunk is how much of a payload is allocated ahead of the bytes
	// that arrive, so that a lying length costs no more memory than twice
	// the bytes actually sent.
	payloadChunk = 64 << 10
)

// magic opens both sides' handshake.
var magic = [4]byte{'R', 'N', 'L', 'X'}

// frameType is the first byte of a frame.
type frameType byte

// Frame types. Producer to consumer: open, data and the events. Consumer
// to producer: credit and reject.
const (
	frameOpen           frameType = 1
	frameData           frameType = 2
	frameEndOfPartition frameType = 3
	frameEndOfData      frameType = 4
	frameBarrier        frameType = 5
	frameCancelBarrier  frameType = 6
	frameCredit         frameType = 16
	frameReject         frameType = 17
)

func (t frameType) String() string {
	switch t {
	case frameOpen:
		return "open"
	case frameData:
		return "data"
	case frameEndOfPartition:
		return "end-of-partition"
	case frameEndOfData:
		return "end-of-data"
	case frameBarrier:
		return "checkpoint-barrier"
	case frameCancelBarrier:
		return "cancel-barrier"
	case frameCredit:
		return "credit"
	case frameReject:
		return "reject"
	}
	return fmt.Sprintf("frame(%d)", byte(t))
}

// Errors.
var (
	// ErrProtocol is wrapped by every error about bytes that break the
	// protocol: bad magic, unknown frame types, lengths over their bound,
	// malformed payloads, frames without credit.
	ErrProtocol = errors.New("tcp: protocol violation")
	// ErrVersion is returned when the remote speaks another version.
	ErrVersion = errors.New("tcp: unsupported protocol version")
	// ErrClosed is returned by calls on a closed Client or Server.
	ErrClosed = errors.New("tcp: closed")
)

func protocolErr(format string, args ...any) error {
	return fmt.Errorf("%w: "+format, append([]any{ErrProtocol}, args...)...)
}

// direction says which frames a reader accepts and how long each may be.
type direction struct {
	name          string
	maxBufferSize int // data frames
}

// toConsumer is what a Server reads; toProducer is what a Client reads.
func toConsumer(maxBufferSize int) direction {
	return direction{name: "producer", maxBufferSize: maxBufferSize}
}

var toProducer = direction{name: "consumer"}

// maxPayload returns the bound on a frame's payload, or -1 if d does not
// accept the type.
func (d direction) maxPayload(t frameType) int {
	if d.maxBufferSize == 0 { // consumer to producer
		switch t {
		case frameCredit:
			return binary.MaxVarintLen64
		case frameReject:
			return maxRejectLen
		}
		return -1
	}
	switch t {
	case frameOpen:
		return 4*binary.MaxVarintLen64 + maxJobLen
	case frameData:
		return d.maxBufferSize
	case frameEndOfPartition, frameEndOfData:
		return 0
	case frameBarrier:
		return 2*binary.MaxVarintLen64 + 2 + binary.MaxVarintLen64 + maxTargetDirLen
	case frameCancelBarrier:
		return binary.MaxVarintLen64
	}
	return -1
}

// header is a decoded frame header.
type header struct {
	typ frameType
	ch  uint64 // the channel's number on its connection
	n   int    // payload length
}

// readHeader reads a frame header. It returns io.EOF if r ends before the
// frame, and an ErrProtocol error for a type d does not accept or a length
// over the type's bound.
func readHeader(r *bufio.Reader, d direction) (header, error) {
	t, err := r.ReadByte()
	if err != nil {
		return header{}, err
	}
	h := header{typ: frameType(t)}
	limit := d.maxPayload(h.typ)
	if limit < 0 {
		return header{}, protocolErr("unexpected %v frame from the %s", h.typ, d.name)
	}
	if h.ch, err = binary.ReadUvarint(r); err != nil {
		return header{}, headerErr(h.typ, "channel", err)
	}
	if h.ch >= maxChannelsPerConn {
		return header{}, protocolErr("%v frame for channel %d, beyond the limit of %d", h.typ, h.ch, maxChannelsPerConn)
	}
	n, err := binary.ReadUvarint(r)
	if err != nil {
		return header{}, headerErr(h.typ, "length", err)
	}
	if n > uint64(limit) {
		return header{}, protocolErr("%v frame of %d bytes exceeds the limit of %d", h.typ, n, limit)
	}
	h.n = int(n)
	return h, nil
}

func headerErr(t frameType, field string, err error) error {
	if err == io.EOF {
		err = io.ErrUnexpectedEOF
	}
	if errors.Is(err, io.ErrUnexpectedEOF) {
		return fmt.Errorf("tcp: %v frame: %s: %w", t, field, err)
	}
	return protocolErr("%v frame: bad %s: %v", t, field, err)
}

// readPayload appends n bytes read from r to dst[:0]. It grows dst no
// further ahead of the bytes received than payloadChunk, so that a frame
// announcing more bytes than it sends costs at most about twice what it
// sent.
func readPayload(r io.Reader, dst []byte, n int) ([]byte, error) {
	dst = dst[:0]
	for len(dst) < n {
		if len(dst) == cap(dst) {
			dst = slices.Grow(dst, min(n-len(dst), max(len(dst), payloadChunk)))
		}
		end := min(n, cap(dst))
		k, err := io.ReadFull(r, dst[len(dst):end])
		dst = dst[:len(dst)+k]
		if err != nil {
			if err == io.EOF {
				err = io.ErrUnexpectedEOF
			}
			return dst, err
		}
	}
	return dst, nil
}

// appendHeader appends a frame header.
func appendHeader(dst []byte, t frameType, ch uint64, n int) []byte {
	dst = append(dst, byte(t))
	dst = binary.AppendUvarint(dst, ch)
	return binary.AppendUvarint(dst, uint64(n))
}

// appendFrame appends a whole frame.
func appendFrame(dst []byte, t frameType, ch uint64, payload []byte) []byte {
	return append(appendHeader(dst, t, ch, len(payload)), payload...)
}

// ChannelID names one logical channel: the records of one job-graph edge
// from one producing subtask to one consuming subtask (Flink's result
// partition and subpartition, seen from the consumer's input channel).
// A producer opens a channel by its ID; the consumer has registered the
// gate channel for the same ID with its Server.
type ChannelID struct {
	// Job is the job's ID, at most 256 bytes.
	Job string
	// Edge identifies the edge within the job (its index in the job graph,
	// Flink's intermediate data set).
	Edge int
	// Producer and Consumer are the subtask indexes at either end.
	Producer, Consumer int
}

func (id ChannelID) String() string {
	return fmt.Sprintf("%s/edge %d/%d->%d", id.Job, id.Edge, id.Producer, id.Consumer)
}

func (id ChannelID) validate() error {
	if len(id.Job) > maxJobLen || id.Edge < 0 || id.Producer < 0 || id.Consumer < 0 {
		return fmt.Errorf("tcp: invalid channel ID %v", id)
	}
	return nil
}

func appendChannelID(dst []byte, id ChannelID) []byte {
	dst = binary.AppendUvarint(dst, uint64(len(id.Job)))
	dst = append(dst, id.Job...)
	dst = binary.AppendUvarint(dst, uint64(id.Edge))
	dst = binary.AppendUvarint(dst, uint64(id.Producer))
	return binary.AppendUvarint(dst, uint64(id.Consumer))
}

var (
	errBadField  = errors.New("bad field")
	errTruncated = errors.New("truncated")
)

// decoder reads the fields of one payload; the first error sticks.
type decoder struct {
	b   []byte
	err error
}

func (d *decoder) uvarint(max uint64) uint64 {
	if d.err != nil {
		return 0
	}
	v, n := binary.Uvarint(d.b)
	if n <= 0 || v > max {
		d.err = errBadField
		return 0
	}
	d.b = d.b[n:]
	return v
}

func (d *decoder) varint() int64 {
	if d.err != nil {
		return 0
	}
	v, n := binary.Varint(d.b)
	if n <= 0 {
		d.err = errBadField
		return 0
	}
	d.b = d.b[n:]
	return v
}

func (d *decoder) byte() byte {
	if d.err != nil {
		return 0
	}
	if len(d.b) == 0 {
		d.err = errTruncated
		return 0
	}
	v := d.b[0]
	d.b = d.b[1:]
	return v
}

func (d *decoder) string(max uint64) string {
	n := d.uvarint(max)
	if d.err != nil {
		return ""
	}
	if n > uint64(len(d.b)) {
		d.err = errTruncated
		return ""
	}
	s := string(d.b[:n])
	d.b = d.b[n:]
	return s
}

// end returns the first error, or one if bytes are left over.
func (d *decoder) end(what string) error {
	if d.err == nil && len(d.b) > 0 {
		d.err = fmt.Errorf("%d bytes left over", len(d.b))
	}
	if d.err != nil {
		return protocolErr("%s: %v", what, d.err)
	}
	return nil
}

const maxIndex = 1<<31 - 1

func decodeChannelID(p []byte) (ChannelID, error) {
	d := decoder{b: p}
	id := ChannelID{Job: d.string(maxJobLen)}
	id.Edge = int(d.uvarint(maxIndex))
	id.Producer = int(d.uvarint(maxIndex))
	id.Consumer = int(d.uvarint(maxIndex))
	return id, d.end("channel ID")
}

// Barrier option flags.
const (
	flagTerminate = 1 << iota
	flagDrain
	flagFinal
	flagsKnown = flagTerminate | flagDrain | flagFinal
)

func appendBarrier(dst []byte, b *network.Barrier) []byte {
	dst = binary.AppendVarint(dst, b.ID)
	dst = binary.AppendVarint(dst, b.Timestamp)
	dst = append(dst, byte(b.Options.Kind))
	var flags byte
	if b.Options.Terminate {
		flags |= flagTerminate
	}
	if b.Options.Drain {
		flags |= flagDrain
	}
	if b.Options.Final {
		flags |= flagFinal
	}
	dst = append(dst, flags)
	dst = binary.AppendUvarint(dst, uint64(len(b.Options.TargetDir)))
	return append(dst, b.Options.TargetDir...)
}

func decodeBarrier(p []byte) (*network.Barrier, error) {
	d := decoder{b: p}
	b := &network.Barrier{ID: d.varint(), Timestamp: d.varint()}
	b.Options.Kind = checkpoint.Kind(d.byte())
	flags := d.byte()
	if d.err == nil && flags&^flagsKnown != 0 {
		d.err = fmt.Errorf("unknown flags %#x", flags)
	}
	b.Options.Terminate = flags&flagTerminate != 0
	b.Options.Drain = flags&flagDrain != 0
	b.Options.Final = flags&flagFinal != 0
	b.Options.TargetDir = d.string(maxTargetDirLen)
	return b, d.end("checkpoint barrier")
}

func decodeVarint(p []byte, what string) (int64, error) {
	d := decoder{b: p}
	v := d.varint()
	return v, d.end(what)
}

func decodeCredit(p []byte) (int, error) {
	d := decoder{b: p}
	n := d.uvarint(maxCredit)
	if d.err == nil && n == 0 {
		d.err = errors.New("zero")
	}
	return int(n), d.end("credit")
}

// Handshake. The producer opens with hello; the consumer answers with
// welcome, which carries the largest data buffer it accepts.
const helloLen = len(magic) + 1

func appendHello(dst []byte) []byte {
	dst = append(dst, magic[:]...)
	return append(dst, Version)
}

// readHello reads a producer's opening and returns its version. A version
// other than Version is returned with ErrVersion.
func readHello(r io.Reader) (int, error) {
	var b [helloLen]byte
	if _, err := io.ReadFull(r, b[:]); err != nil {
		return 0, fmt.Errorf("tcp: handshake: %w", err)
	}
	if [4]byte(b[:4]) != magic {
		return 0, protocolErr("handshake: bad magic %q", b[:4])
	}
	if v := int(b[4]); v != Version {
		return v, fmt.Errorf("%w %d (this side speaks %d)", ErrVersion, v, Version)
	}
	return Version, nil
}

func appendWelcome(dst []byte, maxBufferSize int) []byte {
	dst = appendHello(dst)
	return binary.AppendUvarint(dst, uint64(maxBufferSize))
}

// readWelcome reads the consumer's answer and returns the largest buffer it
// accepts.
func readWelcome(r *bufio.Reader) (int, error) {
	if _, err := readHello(r); err != nil {
		return 0, err
	}
	n, err := binary.ReadUvarint(r)
	if err != nil {
		if err == io.EOF {
			err = io.ErrUnexpectedEOF
		}
		if errors.Is(err, io.ErrUnexpectedEOF) {
			return 0, fmt.Errorf("tcp: handshake: %w", err)
		}
		return 0, protocolErr("handshake: bad buffer size: %v", err)
	}
	if n == 0 || n > MaxBufferSizeLimit {
		return 0, protocolErr("handshake: buffer size %d outside (0, %d]", n, MaxBufferSizeLimit)
	}
	return int(n), nil
}
