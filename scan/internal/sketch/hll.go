package sketch

import (
	"math"
	"math/bits"

	"porthunter/scan/internal/hashtab"
)

// HLL estimates the number of distinct addresses added (HyperLogLog with
// 2^14 registers, Flajolet et al. 2007, with linear counting for small
// numbers: exact for a few, within about 1 % beyond a few hundred).
type HLL struct {
	reg *[1 << hllBits]uint8 // nil until the first add
}

const hllBits = 14

// Add counts x.
func (h *HLL) Add(x Key) {
	if h.reg == nil {
		h.reg = new([1 << hllBits]uint8)
	}
	v := hashtab.Mix64(x.Hi ^ hashtab.Mix64(x.Lo^boolBit(x.V6)))
	i := v >> (64 - hllBits)
	rank := uint8(bits.LeadingZeros64(v<<hllBits|1<<(hllBits-1)) + 1)
	h.reg[i] = max(h.reg[i], rank)
}

// Estimate is the number of distinct addresses added.
func (h *HLL) Estimate() uint64 {
	if h.reg == nil {
		return 0
	}
	const m = 1 << hllBits
	sum, zeros := 0.0, 0
	for _, r := range h.reg {
		sum += math.Ldexp(1, -int(r))
		if r == 0 {
			zeros++
		}
	}
	e := 0.7213 / (1 + 1.079/m) * m * m / sum
	if e <= 2.5*m && zeros > 0 {
		e = m * math.Log(float64(m)/float64(zeros))
	}
	return uint64(math.Round(e))
}
