package keygroup

import (
	"fmt"
	"math/bits"
)

const (
	// DefaultMaxParallelism is the number of key groups of a job that sets no
	// maximum parallelism and whose parallelism is at most 85.
	DefaultMaxParallelism = 128
	// UpperBound is the largest maximum parallelism a job may have.
	UpperBound = 1 << 15
)

// Range is the contiguous, inclusive range [Start, End] of key groups that one
// subtask owns.
type Range struct {
	Start, End int
}

// Contains reports whether key group g is in r.
func (r Range) Contains(g int) bool { return g >= r.Start && g <= r.End }

// Len is the number of key groups in r.
func (r Range) Len() int { return r.End - r.Start + 1 }

func (r Range) String() string { return fmt.Sprintf("key groups [%d, %d]", r.Start, r.End) }

const (
	fnvOffset = 14695981039346656037
	fnvPrime  = 1099511628211
)

// Hash is the stable hash of a key's encoding: 64-bit FNV-1a followed by
// MurmurHash3's 64-bit finalizer, so that keys differing only in their last
// byte still spread over all key groups.
func Hash(key []byte) uint64 {
	h := uint64(fnvOffset)
	for _, c := range key {
		h ^= uint64(c)
		h *= fnvPrime
	}
	h ^= h >> 33
	h *= 0xff51afd7ed558ccd
	h ^= h >> 33
	h *= 0xc4ceb9fe1a85ec53
	h ^= h >> 33
	return h
}

// Of returns the key group of a key, given its encoding.
func Of(key []byte, maxParallelism int) int {
	return int(Hash(key) % uint64(maxParallelism))
}

// OperatorIndex returns the subtask that owns key group g when an operator
// runs with the given parallelism.
func OperatorIndex(maxParallelism, parallelism, g int) int {
	return g * parallelism / maxParallelism
}

// RangeFor returns the key groups owned by subtask index of an operator with
// the given parallelism.
func RangeFor(maxParallelism, parallelism, index int) Range {
	return Range{
		Start: (index*maxParallelism + parallelism - 1) / parallelism,
		End:   ((index+1)*maxParallelism - 1) / parallelism,
	}
}

// DefaultFor returns the maximum parallelism chosen for an operator whose
// parallelism is p and whose job sets none: 1.5·p rounded up to a power of
// two, at least DefaultMaxParallelism and at most UpperBound.
func DefaultFor(p int) int {
	n := p + p/2
	if n <= 1 {
		return DefaultMaxParallelism
	}
	pow := 1 << bits.Len(uint(n-1))
	return min(max(pow, DefaultMaxParallelism), UpperBound)
}

// Validate checks a (maxParallelism, parallelism) pair.
func Validate(maxParallelism, parallelism int) error {
	if maxParallelism < 1 || maxParallelism > UpperBound {
		return fmt.Errorf("keygroup: max parallelism %d is outside [1, %d]", maxParallelism, UpperBound)
	}
	if parallelism < 1 || parallelism > maxParallelism {
		return fmt.Errorf("keygroup: parallelism %d is outside [1, max parallelism %d]", parallelism, maxParallelism)
	}
	return nil
}
