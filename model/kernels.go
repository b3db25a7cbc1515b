package model

// Kernels. Each hot kernel has a portable reference (…Generic), compiled in every build, and a
// version with the same signature in kernels_simd.go (GOEXPERIMENT=simd) or kernels_scalar.go.
// kernels_test.go compares the two directly.

// mr is the row count of a packed weight panel: gemm computes 4 output channels at a time.
const mr = 4

// packA lays out the row-major m x k matrix a as ceil(m/4) panels; panel p holds, for each
// k, the 4 values a[4p+0..3][k] next to each other (rows past m are zero). The GEMM inner loop
// then reads weights sequentially.
func packA(a []float32, m, k int) []float32 {
	panels := (m + mr - 1) / mr
	// mr floats of slack after the panels: gemm4's weight pointer steps onto them after
	// its last step (see checkGemm).
	p := make([]float32, panels*mr*k, panels*mr*k+mr)
	for i := 0; i < m; i++ {
		base := (i/mr)*mr*k + i%mr
		row := a[i*k : (i+1)*k]
		for kk, v := range row {
			p[base+kk*mr] = v
		}
	}
	return p
}

// gemmGeneric computes c[i*n+j] = clamp(bias[i] + sum_kk A[i][kk]*b[offs[kk]+j], lo, hi)
// for i < m, j < n, with A packed by packA: a GEMM whose B rows start at arbitrary offsets,
// so convolutions read their (padded, phase-split) input in place instead of through an
// im2col copy, and whose epilogue is the convolution's bias and activation (lo, hi = -Inf,
// +Inf for none; 0, +Inf for Relu; A, B for Clip). bias may be nil.
func gemmGeneric(ap []float32, m, n, k int, b []float32, offs []int32, c, bias []float32, lo, hi float32) {
	for p := 0; p*mr < m; p++ {
		pa := ap[p*mr*k : (p+1)*mr*k]
		rows := min(mr, m-p*mr)
		for j := 0; j < n; j++ {
			var s0, s1, s2, s3 float32
			for kk := 0; kk < k; kk++ {
				bv := b[int(offs[kk])+j]
				a := pa[kk*mr : kk*mr+mr]
				s0 += a[0] * bv
				s1 += a[1] * bv
				s2 += a[2] * bv
				s3 += a[3] * bv
			}
			s := [mr]float32{s0, s1, s2, s3}
			for r := 0; r < rows; r++ {
				i := p*mr + r
				if bias != nil {
					s[r] += bias[i]
				}
				c[i*n+j] = clamp(s[r], lo, hi)
			}
		}
	}
}

// rowOffsets returns the offsets of a dense row-major k x n matrix's rows.
func rowOffsets(k, n int) []int32 {
	offs := make([]int32, k)
	for i := range offs {
		offs[i] = int32(i * n)
	}
	return offs
}

// maddGeneric computes dst[i] += w*src[i] for i < len(dst).
func maddGeneric(dst, src []float32, w float32) {
	src = src[:len(dst)]
	for i := range dst {
		dst[i] += w * src[i]
	}
}

// dotGeneric returns the dot product of a and b[:len(a)].
func dotGeneric(a, b []float32) float32 {
	b = b[:len(a)]
	var s float32
	for i := range a {
		s += a[i] * b[i]
	}
	return s
}

// addGeneric computes dst[i] = a[i] + b[i].
func addGeneric(dst, a, b []float32) {
	a, b = a[:len(dst)], b[:len(dst)]
	for i := range dst {
		dst[i] = a[i] + b[i]
	}
}

// scaleGeneric computes dst[i] = src[i] * k (dst may alias src): Mul by a constant, as the
// dual embedder's second branch starts (x*0.5+0.5, then biasAct for the +0.5).
func scaleGeneric(dst, src []float32, k float32) {
	src = src[:len(dst)]
	for i := range dst {
		dst[i] = src[i] * k
	}
}

// reluGeneric computes x[i] = max(x[i], 0).
func reluGeneric(x []float32) {
	for i, v := range x {
		x[i] = max(v, 0)
	}
}

// checkGemm panics (an internal bug, never input-dependent: plans are validated at load) if
// a gemm call could read or write out of bounds; the SIMD kernel relies on it.
func checkGemm(ap []float32, m, n, k int, b []float32, offs []int32, c, bias []float32) {
	if m < 0 || n < 0 || k < 0 || cap(ap) < (m+mr-1)/mr*mr*k+mr || len(offs) < k || len(c) < m*n || (bias != nil && len(bias) < m) {
		panic("model: gemm: operand sizes do not match")
	}
	for _, o := range offs[:k] {
		if o < 0 || int(o)+n > len(b) {
			panic("model: gemm: B offset out of range")
		}
	}
}

// avgBytesGeneric computes dst[i] = (a[i] + b[i] + 1) / 2, the rounding average SIMD units
// provide (dst may alias a).
func avgBytesGeneric(dst, a, b []byte) {
	a, b = a[:len(dst)], b[:len(dst)]
	for i := range dst {
		dst[i] = byte((uint16(a[i]) + uint16(b[i]) + 1) >> 1)
	}
}

// biasActGeneric computes dst[i] = src[i] + b, then max(., 0) when relu: a convolution's
// epilogue in one pass (dst may alias src).
func biasActGeneric(dst, src []float32, b float32, relu bool) {
	src = src[:len(dst)]
	for i := range dst {
		v := src[i] + b
		if relu {
			v = max(v, 0)
		}
		dst[i] = v
	}
}

// addActGeneric computes dst[i] = a[i] + b[i], then max(., 0) when relu (a residual join).
func addActGeneric(dst, a, b []float32, relu bool) {
	a, b = a[:len(dst)], b[:len(dst)]
	for i := range dst {
		v := a[i] + b[i]
		if relu {
			v = max(v, 0)
		}
		dst[i] = v
	}
}

// sumGeneric returns the sum of x.
func sumGeneric(x []float32) float32 {
	var s float32
	for _, v := range x {
		s += v
	}
	return s
}

// dealGeneric splits s into its even samples (a[i] = s[2i]) and odd ones (b[i] = s[2i+1]),
// for i < len(b); len(a) may be one more than len(b) for an odd-length s.
func dealGeneric(a, b, s []float32) {
	a, s = a[:len(b)], s[:2*len(b)]
	for i := range b {
		a[i] = s[2*i]
		b[i] = s[2*i+1]
	}
}

// clamp returns v limited to [lo, hi] (hi when lo > hi, NaN stays NaN): min(max(v, lo), hi)
// without Go's min/max, whose NaN and signed-zero rules cost several branches in wasm.
func clamp(v, lo, hi float32) float32 {
	if v < lo {
		v = lo
	}
	if v > hi {
		v = hi
	}
	return v
}

// biasClampGeneric computes dst[i] = clamp(src[i] + b, lo, hi): a convolution's epilogue with
// Clip (ReLU6 is [0, 6]) in one pass (dst may alias src).
func biasClampGeneric(dst, src []float32, b, lo, hi float32) {
	src = src[:len(dst)]
	for i := range dst {
		dst[i] = clamp(src[i]+b, lo, hi)
	}
}

// biasClampRowsGeneric applies biasClamp to each of the rows rows of n floats of c, with
// row r's bias[r] (0 for a nil bias): a GEMM's epilogue, once per block of rows.
func biasClampRowsGeneric(c []float32, rows, n int, bias []float32, lo, hi float32) {
	for r := 0; r < rows; r++ {
		biasClampGeneric(c[r*n:(r+1)*n], c[r*n:(r+1)*n], at(bias, r), lo, hi)
	}
}

// dwGeneric computes one channel of a depthwise convolution from the channel's zero-padded
// input split into stride-phase planes (see newDwLayout): for oy < oh, ox < ow,
//
//	out[oy*ow+ox] = clamp(b + sum_t w[t]*ph[offs[t] + oy*pws + ox], lo, hi)
//
// with one offset per tap (ky, kx), so that every stride reads its input at unit stride.
func dwGeneric(out []float32, oh, ow int, ph []float32, pws int, offs []int32, w []float32, b, lo, hi float32) {
	for oy := 0; oy < oh; oy++ {
		for ox := 0; ox < ow; ox++ {
			s := b
			for t, o := range offs {
				s += w[t] * ph[int(o)+oy*pws+ox]
			}
			out[oy*ow+ox] = clamp(s, lo, hi)
		}
	}
}

// dw3x3Scalar is dwGeneric for 3x3 kernels over nc channels (channel c: planes at
// ph[c*plane:], output at out[c*oh*ow:], weights w[9c:9c+9], bias[c] or 0), with the
// weights in locals and each output row's nine input rows as slices of the row's length
// (no bounds checks in the inner loop): the scalar build's kernel, and the SIMD builds'
// for rows narrower than a vector.
func dw3x3Scalar(out []float32, nc, oh, ow int, ph []float32, plane, pws int, offs *[9]int32, w, bias []float32, lo, hi float32) {
	for c := 0; c < nc; c++ {
		wc := (*[9]float32)(w[9*c : 9*c+9])
		w0, w1, w2, w3, w4, w5, w6, w7, w8 := wc[0], wc[1], wc[2], wc[3], wc[4], wc[5], wc[6], wc[7], wc[8]
		b := at(bias, c)
		pc := ph[c*plane:]
		for oy := 0; oy < oh; oy++ {
			row := out[(c*oh+oy)*ow : (c*oh+oy)*ow+ow]
			q := oy * pws
			x0, x1, x2 := pc[q+int(offs[0]):][:len(row)], pc[q+int(offs[1]):][:len(row)], pc[q+int(offs[2]):][:len(row)]
			x3, x4, x5 := pc[q+int(offs[3]):][:len(row)], pc[q+int(offs[4]):][:len(row)], pc[q+int(offs[5]):][:len(row)]
			x6, x7, x8 := pc[q+int(offs[6]):][:len(row)], pc[q+int(offs[7]):][:len(row)], pc[q+int(offs[8]):][:len(row)]
			for i := range row {
				s := b + w0*x0[i] + w1*x1[i] + w2*x2[i] + w3*x3[i] + w4*x4[i] + w5*x5[i] + w6*x6[i] + w7*x7[i] + w8*x8[i]
				row[i] = clamp(s, lo, hi)
			}
		}
	}
}

// checkDw3x3 panics (an internal bug: layouts are built at load) unless every read and
// write of a dw3x3 call over nc channels is inside ph, out, w and bias, and the offsets are
// separable, offs[3ky+kx] = offs[3ky] + offs[kx] - offs[0] with non-negative column
// steps, as the stride-phase layout makes them (the SIMD kernels address each tap as a
// row pointer plus a column offset). Once per call: the kernels loop over the channels
// themselves (a call per 7x7 channel, with its checks, cost a quarter of its convolution
// in wasm).
func checkDw3x3(out []float32, nc, oh, ow int, ph []float32, plane, pws int, offs *[9]int32, w, bias []float32) {
	if nc < 0 || oh < 0 || ow < 0 || pws < ow || plane < 0 || len(out) < nc*oh*ow || len(w) < 9*nc || (bias != nil && len(bias) < nc) {
		panic("model: dw3x3: operand sizes do not match")
	}
	c1, c2 := offs[1]-offs[0], offs[2]-offs[0]
	r0, r1, r2 := offs[0], offs[3], offs[6]
	if c1 < 0 || c2 < 0 || r0 < 0 || r1 < 0 || r2 < 0 ||
		offs[4]-r1 != c1 || offs[5]-r1 != c2 || offs[7]-r2 != c1 || offs[8]-r2 != c2 {
		panic("model: dw3x3: tap offsets not separable")
	}
	if nc > 0 && oh > 0 && ow > 0 {
		// The last channel's furthest read: its row offset, oh-1 rows, ow columns and the
		// largest column step.
		end := (nc-1)*plane + int(max(r0, r1, r2)+max(c1, c2)) + (oh-1)*pws + ow
		if end > len(ph) {
			panic("model: dw3x3: tap offset out of range")
		}
	}
}

// dealRowsGeneric deals rows input rows of w samples, sstride apart in s, into rows of a
// and b dstride apart: row r's even samples to a[r*dstride:], its odd ones to
// b[r*dstride:] (a gets (w+1)/2 of them, b w/2). Stride-2 convolutions split their padded
// input so (see writePhases), one call per channel and row parity.
func dealRowsGeneric(a, b []float32, dstride int, s []float32, sstride, rows, w int) {
	for r := 0; r < rows; r++ {
		ar, br, sr := a[r*dstride:][:(w+1)/2], b[r*dstride:][:w/2], s[r*sstride:][:w]
		dealGeneric(ar, br, sr)
		if w%2 == 1 {
			ar[w/2] = sr[w-1]
		}
	}
}
