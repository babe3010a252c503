package storage

import (
	"encoding/binary"
	"encoding/hex"
	"errors"
	"hash/crc32"
	"math"
	"reflect"
	"strings"
	"testing"

	"github.com/runnel-io/runnel/runtime/checkpoint"
	"github.com/runnel-io/runnel/state/keygroup"
)

// sampleMetadata is a snapshot of a two-operator job: a source with a
// coordinator and operator state, and a keyed operator.
func sampleMetadata(jobID string, id int64, kind checkpoint.Kind) *checkpoint.Metadata {
	return &checkpoint.Metadata{
		JobID:        jobID,
		CheckpointID: id,
		Timestamp:    1_700_000_000_000 + id,
		Kind:         kind,
		Operators: []checkpoint.OperatorState{
			{
				ID: "0a1b", Name: "Source: numbers", Parallelism: 2, MaxParallelism: 128,
				Coordinator: []byte("splits: 0-9"),
				Subtasks: []checkpoint.SubtaskState{
					{Operator: checkpoint.StateHandle{Path: "op-0a1b-0-operator", Size: 5}},
					{Operator: checkpoint.StateHandle{Path: "op-0a1b-1-operator", Size: 6}},
				},
			},
			{
				ID: "ffee", Name: "count", Parallelism: 3, MaxParallelism: 128,
				Subtasks: []checkpoint.SubtaskState{
					{Keyed: checkpoint.StateHandle{Path: "op-ffee-0-keyed", Size: 7}, KeyGroups: keygroup.Range{Start: 0, End: 42}},
					{Keyed: checkpoint.StateHandle{Path: "op-ffee-1-keyed", Size: 8}, KeyGroups: keygroup.Range{Start: 43, End: 85}},
					{Keyed: checkpoint.StateHandle{Path: "op-ffee-2-keyed", Size: 9}, KeyGroups: keygroup.Range{Start: 86, End: 127}},
				},
			},
		},
	}
}

func TestMetadataRoundTrip(t *testing.T) {
	extreme := &checkpoint.Metadata{
		JobID:        strings.Repeat("j", 300),
		CheckpointID: math.MinInt64,
		Timestamp:    math.MaxInt64,
		Kind:         checkpoint.KindSavepoint,
		Operators: []checkpoint.OperatorState{{
			ID: "ü/\x00", Name: "", Parallelism: 1, MaxParallelism: math.MaxInt32,
			Coordinator: []byte{}, // empty, not nil: it is kept apart from "none"
			Subtasks: []checkpoint.SubtaskState{{
				Keyed:     checkpoint.StateHandle{Path: "/abs/elsewhere", Size: math.MaxInt64},
				KeyGroups: keygroup.Range{Start: -1, End: math.MinInt64},
				Operator:  checkpoint.StateHandle{Path: "file:///x/y", Size: 0},
			}},
		}, {ID: "empty", Parallelism: 0}},
	}
	for name, md := range map[string]*checkpoint.Metadata{
		"no operators": {JobID: "j", CheckpointID: 1, Kind: checkpoint.KindCheckpoint},
		"sample":       sampleMetadata("job", 7, checkpoint.KindCheckpoint),
		"extreme":      extreme,
	} {
		t.Run(name, func(t *testing.T) {
			b, err := EncodeMetadata(md)
			if err != nil {
				t.Fatal(err)
			}
			got, err := DecodeMetadata(b)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, md) {
				t.Fatalf("round trip:\ngot  %+v\nwant %+v", got, md)
			}
		})
	}
}

// TestMetadataGolden pins format version 1: a change to these bytes is a
// new format version.
func TestMetadataGolden(t *testing.T) {
	md := &checkpoint.Metadata{
		JobID: "ab", CheckpointID: 3, Timestamp: -1, Kind: checkpoint.KindCheckpoint,
		Operators: []checkpoint.OperatorState{{
			ID: "o", Name: "n", Parallelism: 1, MaxParallelism: 128,
			Coordinator: []byte{0xcc},
			Subtasks: []checkpoint.SubtaskState{{
				Keyed:     checkpoint.StateHandle{Path: "k", Size: 2},
				KeyGroups: keygroup.Range{Start: 0, End: 127},
			}},
		}},
	}
	want := "524e4c4d45544100" + // magic
		"0100" + // version 1
		"19000000" + // body length 25
		"026162" + // job ID "ab"
		"06" + // checkpoint ID 3 (zig-zag)
		"01" + // timestamp -1 (zig-zag)
		"01" + // kind: checkpoint
		"01" + // one operator
		"016f" + "016e" + // ID "o", name "n"
		"01" + "8001" + // parallelism 1, max parallelism 128
		"01" + "01cc" + // coordinator state {0xcc}
		"016b" + "02" + // keyed handle "k", 2 bytes
		"00" + "fe01" + // key groups 0..127 (zig-zag)
		"00" + "00" // no operator state handle
	b, err := EncodeMetadata(md)
	if err != nil {
		t.Fatal(err)
	}
	sum := binary.LittleEndian.AppendUint32(nil, crc32.Checksum(mustHex(t, want), castagnoli))
	if got := hex.EncodeToString(b); got != want+hex.EncodeToString(sum) {
		t.Fatalf("encoding changed:\ngot  %s\nwant %s%x", got, want, sum)
	}
}

func mustHex(t *testing.T, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(s)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestEncodeMetadataRejectsBrokenInvariants(t *testing.T) {
	for name, mutate := range map[string]func(*checkpoint.Metadata){
		"unknown kind":         func(md *checkpoint.Metadata) { md.Kind = 0 },
		"too few subtasks":     func(md *checkpoint.Metadata) { md.Operators[1].Parallelism = 4 },
		"negative max":         func(md *checkpoint.Metadata) { md.Operators[0].MaxParallelism = -1 },
		"negative parallelism": func(md *checkpoint.Metadata) { md.Operators[0].Parallelism = -2 },
		"negative size":        func(md *checkpoint.Metadata) { md.Operators[1].Subtasks[2].Keyed.Size = -1 },
	} {
		md := sampleMetadata("job", 1, checkpoint.KindCheckpoint)
		mutate(md)
		if _, err := EncodeMetadata(md); err == nil || !strings.HasPrefix(err.Error(), "storage: ") {
			t.Errorf("%s: got error %v", name, err)
		}
	}
	if _, err := EncodeMetadata(nil); err == nil {
		t.Error("nil metadata encoded")
	}
}

func TestDecodeMetadataTruncated(t *testing.T) {
	b, err := EncodeMetadata(sampleMetadata("job", 1, checkpoint.KindCheckpoint))
	if err != nil {
		t.Fatal(err)
	}
	for n := range len(b) {
		if _, err := DecodeMetadata(b[:n]); !errors.Is(err, ErrIncomplete) {
			t.Fatalf("truncated to %d of %d bytes: got %v, want ErrIncomplete", n, len(b), err)
		}
	}
}

func TestDecodeMetadataBitFlips(t *testing.T) {
	b, err := EncodeMetadata(sampleMetadata("job", 1, checkpoint.KindCheckpoint))
	if err != nil {
		t.Fatal(err)
	}
	for i := range len(b) * 8 {
		c := append([]byte(nil), b...)
		c[i/8] ^= 1 << (i % 8)
		_, err := DecodeMetadata(c)
		if !errors.Is(err, ErrCorrupt) && !errors.Is(err, ErrIncomplete) {
			t.Fatalf("bit %d flipped: got %v, want ErrCorrupt or ErrIncomplete", i, err)
		}
	}
}

// reframe sets a candidate file's body length and checksum to match its
// bytes, so that decoding gets past the frame to the body.
func reframe(b []byte) []byte {
	if len(b) < headerLen+trailerLen {
		return b
	}
	c := append([]byte(nil), b...)
	binary.LittleEndian.PutUint32(c[len(metadataMagic)+2:], uint32(len(c)-headerLen-trailerLen))
	end := len(c) - trailerLen
	binary.LittleEndian.PutUint32(c[end:], crc32.Checksum(c[:end], castagnoli))
	return c
}

// frame builds a version-1 file around a body given in hex.
func frame(t *testing.T, version uint16, body string) []byte {
	t.Helper()
	b := []byte(metadataMagic)
	b = binary.LittleEndian.AppendUint16(b, version)
	b = binary.LittleEndian.AppendUint32(b, 0)
	b = append(b, mustHex(t, body)...)
	return reframe(append(b, 0, 0, 0, 0))
}

func TestDecodeMetadataRejects(t *testing.T) {
	for _, tc := range []struct {
		name string
		in   []byte
		kind error
		msg  string
	}{
		{"empty", nil, ErrIncomplete, "truncated to 0 bytes"},
		{"bad magic", []byte("PK\x03\x04 this is a zip file"), ErrCorrupt, "bad magic"},
		{"short bad magic", []byte("RNX"), ErrCorrupt, "bad magic"},
		{"newer version", frame(t, 2, "00"), ErrVersion, "format version 2 (this build reads version 1)"},
		{"trailing bytes", append(frame(t, 1, "0001020100"), 0), ErrCorrupt, "after the checksum"},
		{"minimal", frame(t, 1, "0001020100"), nil, ""},
		{"non-minimal varint", frame(t, 1, "00810002010000"), ErrCorrupt, "checkpoint ID is not a minimal varint"},
		{"unknown kind", frame(t, 1, "00010203"+"00"), ErrCorrupt, "unknown kind 3"},
		{"body ends early", frame(t, 1, "000102"), ErrCorrupt, "body ends before the kind"},
		{"string too long", frame(t, 1, "05616263"), ErrCorrupt, "does not fit"},
		{"too many operators", frame(t, 1, "0001020105"), ErrCorrupt, "5 operators do not fit"},
		{"huge count", frame(t, 1, "00010201ffffffffffffffffffff01"), ErrCorrupt, "overflows 64 bits"},
		{"coordinator flag", frame(t, 1, "00010201"+"01"+"0000"+"00"+"00"+"02"), ErrCorrupt, "coordinator flag"},
		{"bytes after operators", frame(t, 1, "00010201"+"00"+"ee"), ErrCorrupt, "1 bytes after the last operator"},
		{"handle size out of range", frame(t, 1, "00010201"+"01"+"0000"+"01"+"00"+"00"+
			"00"+"80808080808080808001"+"00"+"00"+"00"+"00"), ErrCorrupt, "size 9223372036854775808 is out of range"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			md, err := DecodeMetadata(tc.in)
			if tc.kind == nil {
				if err != nil {
					t.Fatal(err)
				}
				if md.Kind != checkpoint.KindCheckpoint {
					t.Fatalf("decoded %+v", md)
				}
				return
			}
			if !errors.Is(err, tc.kind) || !strings.Contains(err.Error(), tc.msg) {
				t.Fatalf("got %v, want %v containing %q", err, tc.kind, tc.msg)
			}
			if !strings.HasPrefix(err.Error(), "storage: ") {
				t.Fatalf("error %q is not prefixed", err)
			}
		})
	}
}
