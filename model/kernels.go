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
	p := make([]float32, panels*mr*k)
	for i := 0; i < m; i++ {
		base := (i/mr)*mr*k + i%mr
		row := a[i*k : (i+1)*k]
		for kk, v := range row {
			p[base+kk*mr] = v
		}
	}
	return p
}

// gemmGeneric computes c[i*n+j] = bias[i] + sum_kk A[i][kk]*b[kk*n+j] for i < m, j < n,
// with A packed by packA. bias may be nil.
func gemmGeneric(ap []float32, m, n, k int, b, c, bias []float32) {
	for p := 0; p*mr < m; p++ {
		pa := ap[p*mr*k : (p+1)*mr*k]
		rows := min(mr, m-p*mr)
		for j := 0; j < n; j++ {
			var s0, s1, s2, s3 float32
			for kk := 0; kk < k; kk++ {
				bv := b[kk*n+j]
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
