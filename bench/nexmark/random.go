package nexmark

import "math"

// javaRandom is java.util.Random: the 48-bit linear congruential generator
// of Knuth (TAOCP vol. 2, 3.2.1) with the constants and the derivations of
// nextInt, nextInt(bound), nextLong and nextDouble that Java specifies.
// Nexmark's generators draw every choice from one, seeded with the event
// id, so reproducing it bit for bit reproduces their events.
//
// The zero value is not seeded; call reset first.
type javaRandom struct {
	seed uint64 // 48 bits
}

const (
	jrMultiplier = 0x5DEECE66D
	jrAddend     = 0xB
	jrMask       = 1<<48 - 1
)

// reset is new Random(seed).
func (r *javaRandom) reset(seed int64) {
	r.seed = (uint64(seed) ^ jrMultiplier) & jrMask
}

// next returns the next bits random bits (1 <= bits <= 32), as Java's
// protected next(bits): sign-extended when bits is 32.
func (r *javaRandom) next(bits uint) int32 {
	r.seed = (r.seed*jrMultiplier + jrAddend) & jrMask
	return int32(r.seed >> (48 - bits))
}

// int32 is nextInt(): 32 random bits.
func (r *javaRandom) int32() int32 { return r.next(32) }

// intn is nextInt(bound): uniform in [0, bound), for bound > 0. Java
// rejects the draws that would bias the remainder, and so must we.
func (r *javaRandom) intn(bound int32) int32 {
	if bound&(bound-1) == 0 { // a power of two: the high bits
		return int32(int64(bound) * int64(r.next(31)) >> 31)
	}
	for {
		if v := r.tryIntn(bound); v >= 0 {
			return v
		}
	}
}

// tryIntn makes one draw of intn for a bound that is not a power of two:
// the result, or -1 when Java rejects the draw and draws again. It is
// small enough to inline, so that a constant bound divides by
// multiplication; loop while it returns -1.
func (r *javaRandom) tryIntn(bound int32) int32 {
	x := r.next(31)
	if v := x % bound; x-v+(bound-1) >= 0 { // wraps negative in the biased tail
		return v
	}
	return -1
}

// int64 is nextLong().
func (r *javaRandom) int64() int64 {
	hi := int64(r.next(32))
	return hi<<32 + int64(r.next(32))
}

// float64 is nextDouble(): uniform in [0, 1) with 53 random bits.
func (r *javaRandom) float64() float64 {
	hi := int64(r.next(26))
	return float64(hi<<27+int64(r.next(27))) * 0x1p-53
}

// longn is Nexmark's LongGenerator.nextLong(random, n): uniform in [0, n)
// through nextInt when n fits, else the (skewed) remainder of nextLong.
func (r *javaRandom) longn(n int64) int64 {
	if n < math.MaxInt32 {
		return int64(r.intn(int32(n)))
	}
	v := r.int64() % n
	if v < 0 {
		v = -v
	}
	return v
}

// javaRound is Java's Math.round(double) for the finite, non-negative
// values it is used on here: the closest integer, halves up.
func javaRound(x float64) int64 { return int64(math.Floor(x + 0.5)) }

// seedFor returns the seed of the random draws of the event with the given
// id: the id itself, as in Beam, unless the config's Seed perturbs it. The
// perturbation is an xor with a mix of Seed that reaches the 48 bits
// java.util.Random keeps, so that ids keep distinct seeds (below 2^48, as
// in Beam).
func seedFor(id, seed int64) int64 {
	if seed == 0 {
		return id
	}
	z := uint64(seed) + 0x9E3779B97F4A7C15 // splitmix64's finalizer
	z = (z ^ z>>30) * 0xBF58476D1CE4E5B9
	z = (z ^ z>>27) * 0x94D049BB133111EB
	z ^= z >> 31
	return id ^ int64(z)
}
