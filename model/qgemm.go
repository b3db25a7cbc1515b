package model

import (
	"math"
	"unsafe"
)

// The integer GEMM. In wasm, SIMD128's i32x4.dot_i16x8_s multiplies eight int16 pairs and
// adds neighbours in one instruction: 8 multiply-adds against f32x4's 4 in two (wasm has no
// FMA outside relaxed SIMD, which node 20 lacks). A convolution whose weights are exactly
// per-row int8 (what a file stored with -int8 dequantises to) therefore runs there on the
// int8 weights themselves times its input quantised to int16 at run time, with one scale per
// call: the largest |input| maps to qgemmQmax(k), at k = 576 about 29,000 steps, so the
// input keeps ~15 bits against float32's 24 and the weights lose nothing. The int32 sums
// are exact; the epilogue is float32(sum)*(inputScale*rowScale) + bias, then the clamp.

// qgemm is a convolution group's weights, packed for the integer GEMM: ceil(m/4) panels;
// panel p holds, for each pair of K steps q, rows 4p..4p+3's weights at 2q and 2q+1, as
// int16 (rows past m and a K step past k are zero).
type qgemm struct {
	m, k, kp int
	a        []int16
	scale    []float32 // per row: weight = q * scale
	qmax     float32
}

// qgemmQmax is the largest |quantised input| for a K of k: k products of at most 127 * qmax
// must fit an int32 sum, and qmax an int16.
func qgemmQmax(k int) float32 {
	return float32(min(math.MaxInt16, math.MaxInt32/(127*k)))
}

// newQgemm packs the row-major m x k weights w for the integer GEMM, or returns nil when some
// row is not int8 times one scale (see exactInt8).
func newQgemm(w []float32, m, k int) *qgemm {
	if k == 0 || qgemmQmax(k+1) < 127 { // inputs would keep fewer bits than int8
		return nil
	}
	scales, q, ok := exactInt8(w[:m*k], m)
	if !ok {
		return nil
	}
	kp := (k + 1) / 2
	g := &qgemm{m: m, k: k, kp: kp, scale: scales, qmax: qgemmQmax(2 * kp)}
	panels := (m + mr - 1) / mr
	g.a = make([]int16, panels*kp*mr*2)
	for i := 0; i < m; i++ {
		for kk := 0; kk < k; kk++ {
			g.a[(i/mr)*kp*mr*2+(kk/2)*mr*2+(i%mr)*2+kk%2] = int16(q[i*k+kk])
		}
	}
	return g
}

// exactInt8 returns w's m rows as int8 times one scale per row, ok false where some row is not
// that (a float32 file: its GEMM convolutions keep the float kernels, so that the integer GEMM
// never rounds weights the file did not; the integer depthwise kernel does, to 13 bits, see
// qdw.go). The scale is recomputed from the dequantised weights and can differ from the file's
// in the last bit, hence the tolerance.
func exactInt8(w []float32, m int) (scales []float32, q []int8, ok bool) {
	scales, q = quantizePerChannel(w, m)
	k := len(w) / m
	for i, v := range w {
		if d := float64(float32(q[i])*scales[i/k] - v); math.Abs(d) > 1e-6*math.Abs(float64(v)) {
			return nil, nil, false
		}
	}
	return scales, q, true
}

// qgemmBlockPairs bounds a column block's packed input (pairs of int16, 4 bytes each) to
// 128 KiB, so that it stays in cache while every panel runs over it.
const qgemmBlockPairs = 32768

// blockCols is the column count of one block of n columns: a multiple of 8 (the kernel's
// tile), all of n where it fits.
func (g *qgemm) blockCols(n int) int {
	all := (n + 7) / 8 * 8
	return min(all, max(8, qgemmBlockPairs/g.kp/8*8))
}

// scratchLen is the float32s of scratch run needs for n columns: the packed block and one
// panel's int32 results.
func (g *qgemm) scratchLen(n int) int {
	nb := g.blockCols(n)
	return g.kp*nb + mr*nb
}

// inputAmax returns the largest |b[offs[r]+j]| for r < k, j < n.
func inputAmax(n, k int, b []float32, offs []int32) float32 {
	var amax float32
	for _, o := range offs[:k] {
		amax = max(amax, maxAbs(b[o:int(o)+n]))
	}
	return amax
}

// addActAmaxGeneric is addActGeneric that returns the largest |dst[i]| (NaN if one is NaN): a
// residual join whose output an integer kernel reads gives its bound so (see plan.wantAmax).
func addActAmaxGeneric(dst, a, b []float32, relu bool) float32 {
	addActGeneric(dst, a, b, relu)
	return maxAbs(dst)
}

// maxAbs returns the largest |v| in x (0 for none).
func maxAbs(x []float32) float32 {
	var m float32
	for _, v := range x {
		m = max(m, float32(math.Abs(float64(v))))
	}
	return m
}

// quantise returns round-half-even(v * inv) (|v| <= amax, so that |v*inv| stays within
// qmax plus a rounding error: no clamp needed).
func quantise(v, inv float32) int32 {
	return int32(math.RoundToEven(float64(v * inv)))
}

// scales returns the input's quantisation for a largest |input| of amax: inv = qmax/amax
// and s = amax/qmax (both 0 for an all-zero input), ok false for a non-finite amax.
func (g *qgemm) scales(amax float32) (inv, s float32, ok bool) { return qscales(amax, g.qmax) }

// qscales is scales for a given qmax (the integer depthwise kernel's too).
func qscales(amax, qmax float32) (inv, s float32, ok bool) {
	if math.IsInf(float64(amax), 0) || amax != amax {
		return 0, 0, false
	}
	if amax == 0 {
		return 0, 0, true
	}
	return qmax / amax, amax / qmax, true
}

// qgemmNaN fills the m rows of n columns of c with NaN: what a non-finite input gives.
func qgemmNaN(m, n int, c []float32, ldc int) {
	nan := float32(math.NaN())
	for i := 0; i < m; i++ {
		for j := range c[i*ldc : i*ldc+n] {
			c[i*ldc+j] = nan
		}
	}
}

// runGeneric is the reference for run: c[i*ldc+j] = clamp(float32(sum_kk q[i][kk] *
// quantise(b[offs[kk]+j])) * (s * scale[i]) + bias[i], lo, hi), with s = amax/qmax; amax is
// bound where that is not 0 (a bound on |input| known from the producer, saving a pass:
// ReLU6's 6), else the inputs' largest magnitude.
func (g *qgemm) runGeneric(n int, b []float32, offs []int32, c []float32, ldc int, bias []float32, lo, hi float32, bound float32) {
	if bound == 0 {
		bound = inputAmax(n, g.k, b, offs)
	}
	inv, s, ok := g.scales(bound)
	if !ok {
		qgemmNaN(g.m, n, c, ldc)
		return
	}
	for i := 0; i < g.m; i++ {
		rs := s * g.scale[i]
		pa := g.a[(i/mr)*g.kp*mr*2:]
		for j := 0; j < n; j++ {
			var acc int32
			for kk := 0; kk < g.k; kk++ {
				acc += int32(pa[(kk/2)*mr*2+(i%mr)*2+kk%2]) * quantise(b[int(offs[kk])+j], inv)
			}
			c[i*ldc+j] = clamp(float32(acc)*rs+at(bias, i), lo, hi)
		}
	}
}

// int32s views the float32 scratch s as int32s (same size and alignment).
func int32s(s []float32) []int32 {
	if len(s) == 0 {
		return nil
	}
	return unsafe.Slice((*int32)(unsafe.Pointer(&s[0])), len(s))
}
