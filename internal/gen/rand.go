package gen

import (
	"math"
	"math/bits"
)

// rng is a small splitmix64 generator. It is written out here rather than
// taken from math/rand so that a seed keeps producing byte-identical output
// whatever Go release builds prowl.
type rng struct{ state uint64 }

func newRNG(seed int64, stream uint64) *rng {
	r := &rng{state: uint64(seed) ^ (stream * 0x9e3779b97f4a7c15)}
	// Warm up so that nearby seeds diverge at once.
	r.next()
	r.next()
	return r
}

func (r *rng) next() uint64 {
	r.state += 0x9e3779b97f4a7c15
	z := r.state
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9
	z = (z ^ (z >> 27)) * 0x94d049bb133111eb
	return z ^ (z >> 31)
}

// intn returns a uniform int in [0, n); n must be positive.
func (r *rng) intn(n int) int {
	if n <= 0 {
		panic("gen: intn of a non-positive bound")
	}
	hi, _ := bits.Mul64(r.next(), uint64(n))
	return int(hi)
}

// between returns a uniform int in [lo, hi].
func (r *rng) between(lo, hi int) int { return lo + r.intn(hi-lo+1) }

// float returns a uniform float64 in [0, 1).
func (r *rng) float() float64 { return float64(r.next()>>11) / (1 << 53) }

// chance is true with probability p.
func (r *rng) chance(p float64) bool { return r.float() < p }

// exp returns an exponentially distributed value with the given mean.
func (r *rng) exp(mean float64) float64 { return -mean * math.Log(1-r.float()) }

// fork derives an independent generator, so that one part of the output
// (an attack, say) does not shift the random sequence of the rest.
func (r *rng) fork(stream uint64) *rng {
	return &rng{state: r.next() ^ (stream * 0xd1b54a32d192ed03)}
}

const alnum = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"

// token returns n random alphanumeric characters.
func (r *rng) token(n int) string {
	b := make([]byte, n)
	for i := range b {
		b[i] = alnum[r.intn(len(alnum))]
	}
	return string(b)
}

// hex returns n random lower-case hex digits.
func (r *rng) hex(n int) string {
	const digits = "0123456789abcdef"
	b := make([]byte, n)
	for i := range b {
		b[i] = digits[r.intn(16)]
	}
	return string(b)
}

// pick returns a random element of s.
func pick[T any](r *rng, s []T) T { return s[r.intn(len(s))] }

// weighted returns an index chosen with probability proportional to w[i].
func (r *rng) weighted(w []float64) int {
	total := 0.0
	for _, x := range w {
		total += x
	}
	x := r.float() * total
	for i, v := range w {
		if x < v {
			return i
		}
		x -= v
	}
	return len(w) - 1
}
