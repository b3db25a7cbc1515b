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

// gemmGeneric computes c[i*n+j] = bias[i] + sum_kk A[i][kk]*b[offs[kk]+j] for i < m, j < n,
// with A packed by packA: a GEMM whose B rows start at arbitrary offsets, so convolutions
// read their (padded, phase-split) input in place instead of through an im2col copy.
// bias may be nil.
func gemmGeneric(ap []float32, m, n, k int, b []float32, offs []int32, c, bias []float32) {
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
				c[i*n+j] = s[r]
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
