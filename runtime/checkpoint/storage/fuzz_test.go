package storage

import (
	"bytes"
	"errors"
	"reflect"
	"testing"

	"github.com/runnel-io/runnel/runtime/checkpoint"
)

// FuzzDecodeMetadata checks that decoding never panics, that every error
// wraps one of the package's sentinels, and that what decodes re-encodes to
// the same bytes and decodes again to the same metadata
// (decode(encode(md)) == md). Each input is tried as is and reframed (its
// length and checksum fixed up), so that the fuzzer reaches the body's
// parser instead of stopping at the checksum.
func FuzzDecodeMetadata(f *testing.F) {
	for _, md := range []*checkpoint.Metadata{
		{JobID: "j", CheckpointID: 1, Kind: checkpoint.KindCheckpoint},
		sampleMetadata("job", 7, checkpoint.KindCheckpoint),
		sampleMetadata("4f1c2a9e", 12, checkpoint.KindSavepoint),
	} {
		b, err := EncodeMetadata(md)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
		f.Add(b[:len(b)/2])
	}
	f.Add([]byte(metadataMagic))
	f.Fuzz(func(t *testing.T, data []byte) {
		checkDecode(t, data)
		checkDecode(t, reframe(data))
	})
}

func checkDecode(t *testing.T, data []byte) {
	md, err := DecodeMetadata(data)
	if err != nil {
		if !errors.Is(err, ErrCorrupt) && !errors.Is(err, ErrIncomplete) && !errors.Is(err, ErrVersion) {
			t.Fatalf("error %v wraps none of ErrCorrupt, ErrIncomplete, ErrVersion", err)
		}
		return
	}
	enc, err := EncodeMetadata(md)
	if err != nil {
		t.Fatalf("decoded %x to %+v, which does not encode: %v", data, md, err)
	}
	if !bytes.Equal(enc, data) {
		t.Fatalf("decoded %x, re-encoded as %x", data, enc)
	}
	md2, err := DecodeMetadata(enc)
	if err != nil {
		t.Fatalf("re-encoding %x does not decode: %v", enc, err)
	}
	if !reflect.DeepEqual(md2, md) {
		t.Fatalf("decode(encode(md)) = %+v, want %+v", md2, md)
	}
}
