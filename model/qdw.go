package model

import (
	"math"
	"unsafe"
)

// The integer depthwise kernel: 3x3 stride-2 depthwise convolutions of an int8 file in SIMD
// wasm. In float32 they split every input row into its even and odd samples first (two
// swizzles and two lane moves per 8 samples, 0.6 ns a sample in node 20: two thirds of the
// detector's 96-channel 128x128 one), because stride 2 reads every other sample. In int16,
// i32x4.dot_i16x8_s reads them so by itself: against 8 consecutive samples, the pair
// (w[ky][0], w[ky][1]) repeated gives taps 0 and 1 of 4 outputs at stride 2, and
// (w[ky][2], 0) against the samples 2 further on tap 2. So the input is quantised to int16
// (one scale per call, as for the integer GEMM) into a zero-padded plane per channel, and a
// row of 4 outputs costs 6 loads and 6 dot products. The weights are int16 too: an int8 file's
// exactly, float32 ones (what -f32-depthwise keeps) rounded to qdwWmax steps per channel,
// 13 bits, where int8 has 7: the products of 9 taps then still fit an int32.

// qdw is a 3x3 stride-2 depthwise convolution made ready for the integer kernel.
type qdw struct {
	c, h, w, oh, ow int
	pt, pl          int
	q               []int16   // 9 taps per channel
	scale           []float32 // per channel: weight = q * scale
	pairs           []int32   // per channel, per kernel row: (q0, q1) and (q2, 0) as int16 pairs
	rowLen, rows    int       // the padded plane: int16s per row (a multiple of 8), rows
	owp             int       // ow rounded up to 4: the kernel's accumulator row
}

// qdwQmax is the largest |quantised input|, qdwWmax the largest |quantised float32 weight|:
// 9 products of at most qdwQmax * qdwWmax fit an int32.
const (
	qdwQmax = 32767
	qdwWmax = math.MaxInt32 / (9 * qdwQmax)
)

// newQdw returns the integer form of op (a depthwise convolution of in into out), or nil
// where it does not apply (a kernel other than 3x3 stride 2).
func newQdw(op *Op, in, out Shape) *qdw {
	if op.KH != 3 || op.KW != 3 || op.StrideH != 2 || op.StrideW != 2 || len(op.Weight) != 9*in[0] {
		return nil
	}
	scales, q := quantizeInt16(op.Weight, in[0])
	d := &qdw{c: in[0], h: in[1], w: in[2], oh: out[1], ow: out[2], pt: op.Pads[0], pl: op.Pads[1], q: q, scale: scales}
	d.owp = (d.ow + 3) / 4 * 4
	// The kernel reads samples 2*ox .. 2*ox+9 of a row for the 4 outputs from ox, and rows
	// 2*oy .. 2*oy+2.
	d.rowLen = (max(d.pl+d.w, 2*d.owp+2) + 7) / 8 * 8
	d.rows = max(d.pt+d.h, 2*d.oh+1)
	pair := func(a, b int16) int32 { return int32(uint16(a)) | int32(b)<<16 }
	for c := 0; c < d.c; c++ {
		t := q[9*c : 9*c+9]
		for ky := 0; ky < 3; ky++ {
			d.pairs = append(d.pairs, pair(t[3*ky], t[3*ky+1]), pair(t[3*ky+2], 0))
		}
	}
	return d
}

// quantizeInt16 returns the m rows of w as int16 times one scale per row: exactly where w is
// int8 per row (see exactInt8), else rounded to qdwWmax steps.
func quantizeInt16(w []float32, m int) ([]float32, []int16) {
	q16 := make([]int16, len(w))
	if scales, q, ok := exactInt8(w, m); ok {
		for i, v := range q {
			q16[i] = int16(v)
		}
		return scales, q16
	}
	k := len(w) / m
	scales := make([]float32, m)
	for c := 0; c < m; c++ {
		row := w[c*k : (c+1)*k]
		a := maxAbs(row)
		if a == 0 {
			continue
		}
		scales[c] = a / qdwWmax
		for i, v := range row {
			q16[c*k+i] = int16(max(-qdwWmax, min(qdwWmax, math.Round(float64(v/scales[c])))))
		}
	}
	return scales, q16
}

// planeFloats is the float32s of scratch the padded int16 plane takes.
func (d *qdw) planeFloats() int { return (d.rows*d.rowLen + 1) / 2 }

// scratchLen is the float32s of scratch run needs: the plane and one channel's int32 sums.
func (d *qdw) scratchLen() int { return d.planeFloats() + d.oh*d.owp }

// runGeneric is the reference for run: for channel c, output (oy, ox),
//
//	dst = clamp(float32(sum_{ky,kx} q[c][ky][kx] * quantise(x[2oy+ky-pt][2ox+kx-pl])) * (s*scale[c]) + bias[c], lo, hi)
//
// with x zero outside the input and s = amax/qdwQmax; amax is bound where that is not 0
// (known from the producer's clip), else the input's largest magnitude.
func (d *qdw) runGeneric(src, dst, bias []float32, lo, hi, bound float32) {
	if bound == 0 {
		bound = inputAmax(len(src), 1, src, []int32{0})
	}
	inv, s, ok := qscales(bound, qdwQmax)
	if !ok {
		qgemmNaN(d.c, d.oh*d.ow, dst, d.oh*d.ow)
		return
	}
	for c := 0; c < d.c; c++ {
		x := src[c*d.h*d.w : (c+1)*d.h*d.w]
		rs := s * d.scale[c]
		for oy := 0; oy < d.oh; oy++ {
			for ox := 0; ox < d.ow; ox++ {
				var acc int32
				for ky := 0; ky < 3; ky++ {
					for kx := 0; kx < 3; kx++ {
						y, xx := 2*oy+ky-d.pt, 2*ox+kx-d.pl
						if y < 0 || y >= d.h || xx < 0 || xx >= d.w {
							continue
						}
						acc += int32(d.q[9*c+3*ky+kx]) * quantise(x[y*d.w+xx], inv)
					}
				}
				dst[(c*d.oh+oy)*d.ow+ox] = clamp(float32(acc)*rs+at(bias, c), lo, hi)
			}
		}
	}
}

// int16s views the float32 scratch s as twice as many int16s.
func int16s(s []float32) []int16 {
	if len(s) == 0 {
		return nil
	}
	return unsafe.Slice((*int16)(unsafe.Pointer(&s[0])), 2*len(s))
}
