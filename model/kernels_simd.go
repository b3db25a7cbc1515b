//go:build goexperiment.simd

package model

import "simd"

// SIMD kernels on the portable simd package: SIMD128 in wasm, AVX2/AVX-512 or NEON natively
// (gemm4, the 128-bit GEMM, is in gemm4_wasm.go on simd/archsimd and gemm4_portable.go).
// The simd package cannot pass vectors through calls yet, so each kernel is one function
// with its register tile written out.

const simdKernels = true

// gemmCols is the column count of gemm's register tile; convolutions size their rows so
// that the GEMM width is a multiple of it where that is cheap.
func gemmCols() int { return 3 * simd.VectorBitSize() / 32 }

// gemm: see gemmGeneric. The register tile is 4 rows x 3 vectors (12 accumulators: SIMD128
// in wasm has 16 registers on x64 hosts); column tails use one vector, then partial loads
// and stores. With 128-bit vectors (wasm, NEON, and SSE-only amd64) gemm4 reads B and the
// packed weights through fixed-size array pointers: in Go wasm the slice bounds checks and
// dynamic-length slices cost most of the time (measured in node 20, interleaved
// min-of-60, 32x576x288: 3.6 GMAC/s with unsafe.Slice, 8.8 with checked slices, 12.6 with
// array pointers). checkGemm verifies every bound up front, so the pointers stay inside b.
func gemm(ap []float32, m, n, k int, b []float32, offs []int32, c, bias []float32) {
	checkGemm(ap, m, n, k, b, offs, c, bias)
	if m == 0 || n == 0 || k == 0 {
		return
	}
	if simd.VectorBitSize() == 128 {
		// With the portable package, Go's wasm code for gemm4's loop was sensitive to
		// everything around it (each simd op is a bridge call that V8 must inline). Measured
		// (node 20, interleaved min-of-60, 32x576x288, GMAC/s): conditional per-row stores
		// 10.1 -> 13.7 unconditional; a column-tail loop in the same function 13.2 -> 9.4;
		// accumulators initialised from the bias 14.7 -> 9.7; any call in the function
		// 13.5 -> 10.2. So gemm4 does full 4-row panels and full tiles only, with no calls;
		// the last partial panel and the column tail go to gemmV, and the bias comes after.
		gemm4(ap, m, n, k, b, offs, c)
		full := m / mr * mr
		if full < m {
			gemmV(ap[full*k:], m-full, n, k, b, offs, c[full*n:], nil, 0)
		}
		if tiles := n / 12 * 12; tiles < n && full > 0 {
			gemmV(ap[:full*k], full, n, k, b, offs, c, nil, tiles)
		}
		if bias != nil {
			addBias(c, m, n, bias)
		}
	} else {
		gemmV(ap, m, n, k, b, offs, c, bias, 0)
	}
}

// gemmV is gemm for any vector width, with checked slices, for columns j0..n-1.
func gemmV(ap []float32, m, n, k int, b []float32, offs []int32, c, bias []float32, j0 int) {
	v := simd.VectorBitSize() / 32
	offs = offs[:k]
	for p := 0; p*mr < m; p++ {
		pa := ap[p*mr*k : (p+1)*mr*k]
		rows := min(mr, m-p*mr)
		var bs [mr]float32
		if bias != nil {
			copy(bs[:rows], bias[p*mr:p*mr+rows])
		}
		i0 := p * mr
		j := j0
		for ; j+3*v <= n; j += 3 * v {
			c00, c01, c02 := simd.BroadcastFloat32s(bs[0]), simd.BroadcastFloat32s(bs[0]), simd.BroadcastFloat32s(bs[0])
			c10, c11, c12 := simd.BroadcastFloat32s(bs[1]), simd.BroadcastFloat32s(bs[1]), simd.BroadcastFloat32s(bs[1])
			c20, c21, c22 := simd.BroadcastFloat32s(bs[2]), simd.BroadcastFloat32s(bs[2]), simd.BroadcastFloat32s(bs[2])
			c30, c31, c32 := simd.BroadcastFloat32s(bs[3]), simd.BroadcastFloat32s(bs[3]), simd.BroadcastFloat32s(bs[3])
			for kk, o := range offs {
				row := b[int(o)+j : int(o)+j+3*v]
				b0 := simd.LoadFloat32s(row)
				b1 := simd.LoadFloat32s(row[v:])
				b2 := simd.LoadFloat32s(row[2*v:])
				a := pa[kk*mr : kk*mr+mr]
				a0 := simd.BroadcastFloat32s(a[0])
				c00 = a0.MulAdd(b0, c00)
				c01 = a0.MulAdd(b1, c01)
				c02 = a0.MulAdd(b2, c02)
				a1 := simd.BroadcastFloat32s(a[1])
				c10 = a1.MulAdd(b0, c10)
				c11 = a1.MulAdd(b1, c11)
				c12 = a1.MulAdd(b2, c12)
				a2 := simd.BroadcastFloat32s(a[2])
				c20 = a2.MulAdd(b0, c20)
				c21 = a2.MulAdd(b1, c21)
				c22 = a2.MulAdd(b2, c22)
				a3 := simd.BroadcastFloat32s(a[3])
				c30 = a3.MulAdd(b0, c30)
				c31 = a3.MulAdd(b1, c31)
				c32 = a3.MulAdd(b2, c32)
			}
			r := c[i0*n+j:]
			c00.Store(r)
			c01.Store(r[v:])
			c02.Store(r[2*v:])
			if rows > 1 {
				r = c[(i0+1)*n+j:]
				c10.Store(r)
				c11.Store(r[v:])
				c12.Store(r[2*v:])
			}
			if rows > 2 {
				r = c[(i0+2)*n+j:]
				c20.Store(r)
				c21.Store(r[v:])
				c22.Store(r[2*v:])
			}
			if rows > 3 {
				r = c[(i0+3)*n+j:]
				c30.Store(r)
				c31.Store(r[v:])
				c32.Store(r[2*v:])
			}
		}
		for ; j < n; j += v {
			w := min(v, n-j)
			c0 := simd.BroadcastFloat32s(bs[0])
			c1 := simd.BroadcastFloat32s(bs[1])
			c2 := simd.BroadcastFloat32s(bs[2])
			c3 := simd.BroadcastFloat32s(bs[3])
			for kk, o := range offs {
				q := int(o) + j
				b0, _ := simd.LoadFloat32sPart(b[q : q+w])
				a := pa[kk*mr : kk*mr+mr]
				c0 = simd.BroadcastFloat32s(a[0]).MulAdd(b0, c0)
				c1 = simd.BroadcastFloat32s(a[1]).MulAdd(b0, c1)
				c2 = simd.BroadcastFloat32s(a[2]).MulAdd(b0, c2)
				c3 = simd.BroadcastFloat32s(a[3]).MulAdd(b0, c3)
			}
			c0.StorePart(c[i0*n+j : i0*n+j+w])
			if rows > 1 {
				c1.StorePart(c[(i0+1)*n+j : (i0+1)*n+j+w])
			}
			if rows > 2 {
				c2.StorePart(c[(i0+2)*n+j : (i0+2)*n+j+w])
			}
			if rows > 3 {
				c3.StorePart(c[(i0+3)*n+j : (i0+3)*n+j+w])
			}
		}
	}
}

// avgBytes: see avgBytesGeneric.
func avgBytes(dst, a, b []byte) {
	v := simd.VectorBitSize() / 8
	a, b = a[:len(dst)], b[:len(dst)]
	i := 0
	for ; i+v <= len(dst); i += v {
		simd.LoadUint8s(a[i:]).Average(simd.LoadUint8s(b[i:])).Store(dst[i:])
	}
	for ; i < len(dst); i++ {
		dst[i] = byte((uint16(a[i]) + uint16(b[i]) + 1) >> 1)
	}
}
