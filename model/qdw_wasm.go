//go:build goexperiment.simd && wasm

package model

import "unsafe"

//go:noescape
func qnarrowRows(src, dst unsafe.Pointer, rows, n8, sstride, dstride int, inv float32)

//go:noescape
func qdw2(x, w, acc unsafe.Pointer, rowBytes, oh, nv int)

// run computes what runGeneric does, bit for bit (the sums are exact, the narrowing
// saturates values that are in range anyway, and the epilogue is qgemm's), into dst;
// scratch holds at least scratchLen floats. Per channel: the samples are quantised into the
// padded plane (whose padding stays zero: only the samples are written), the kernel sums
// into one channel's accumulator rows, and the epilogue scales, biases and clamps them.
func (d *qdw) run(src, dst, bias []float32, lo, hi, bound float32, scratch []float32) {
	hw, ohw := d.h*d.w, d.oh*d.ow
	src, dst = src[:d.c*hw], dst[:d.c*ohw]
	if d.c == 0 || ohw == 0 {
		return
	}
	if bias != nil {
		bias = bias[:d.c]
	}
	if bound == 0 {
		bound = inputAmaxV(len(src), src, []int32{0})
	}
	inv, s, ok := qscales(bound, qdwQmax)
	if !ok {
		qgemmNaN(d.c, ohw, dst, ohw)
		return
	}
	plane := int16s(scratch[:d.planeFloats()])[:d.rows*d.rowLen]
	acc := int32s(scratch[d.planeFloats():d.scratchLen()])
	clear(plane)
	n8 := d.w / 8
	for c := 0; c < d.c; c++ {
		x := src[c*hw : (c+1)*hw]
		if n8 > 0 && d.h > 0 {
			qnarrowRows(unsafe.Pointer(&x[0]), unsafe.Pointer(&plane[d.pt*d.rowLen+d.pl]), d.h, n8, 4*d.w, 2*d.rowLen, inv)
			if t := d.w - 8; 8*n8 < d.w {
				// The rows' tails: the 8 samples that end each row, again (a scalar tail
				// cost 144 channels of 28x28 half their convolution).
				qnarrowRows(unsafe.Pointer(&x[t]), unsafe.Pointer(&plane[d.pt*d.rowLen+d.pl+t]), d.h, 1, 4*d.w, 2*d.rowLen, inv)
			}
		}
		for y := 0; y < d.h && n8 == 0; y++ {
			row := plane[(d.pt+y)*d.rowLen+d.pl:][:d.w]
			for j := range d.w {
				row[j] = int16(quantise(x[y*d.w+j], inv))
			}
		}
		qdw2(unsafe.Pointer(&plane[0]), unsafe.Pointer(&d.pairs[6*c]), unsafe.Pointer(&acc[0]), 2*d.rowLen, d.oh, d.owp/4)
		rs, b := s*d.scale[c], at(bias, c)
		out := dst[c*ohw : (c+1)*ohw]
		if d.ow == d.owp {
			qEpilogue(out, acc, rs, b, lo, hi)
			continue
		}
		for oy := 0; oy < d.oh; oy++ {
			qEpilogue(out[oy*d.ow:(oy+1)*d.ow], acc[oy*d.owp:], rs, b, lo, hi)
		}
	}
}
