//go:build goexperiment.simd

package model

import "simd"

// SIMD kernels on the portable simd package: SIMD128 in wasm, AVX2/AVX-512 or NEON natively.
// The simd package cannot pass vectors through calls yet, so each kernel is one function
// with its register tile written out.

const simdKernels = true

// gemm: see gemmGeneric. The register tile is 4 rows x 2 vectors (8 accumulators); the
// column tail uses partial loads and stores.
func gemm(ap []float32, m, n, k int, b, c, bias []float32) {
	v := simd.VectorBitSize() / 32
	for p := 0; p*mr < m; p++ {
		pa := ap[p*mr*k : (p+1)*mr*k]
		rows := min(mr, m-p*mr)
		var bs [mr]float32
		if bias != nil {
			copy(bs[:rows], bias[p*mr:p*mr+rows])
		}
		i0 := p * mr
		j := 0
		for ; j+2*v <= n; j += 2 * v {
			c00, c01 := simd.BroadcastFloat32s(bs[0]), simd.BroadcastFloat32s(bs[0])
			c10, c11 := simd.BroadcastFloat32s(bs[1]), simd.BroadcastFloat32s(bs[1])
			c20, c21 := simd.BroadcastFloat32s(bs[2]), simd.BroadcastFloat32s(bs[2])
			c30, c31 := simd.BroadcastFloat32s(bs[3]), simd.BroadcastFloat32s(bs[3])
			bj := b[j:]
			for kk := 0; kk < k; kk++ {
				row := bj[kk*n : kk*n+2*v]
				b0 := simd.LoadFloat32s(row)
				b1 := simd.LoadFloat32s(row[v:])
				a := pa[kk*mr : kk*mr+mr]
				a0 := simd.BroadcastFloat32s(a[0])
				c00 = a0.MulAdd(b0, c00)
				c01 = a0.MulAdd(b1, c01)
				a1 := simd.BroadcastFloat32s(a[1])
				c10 = a1.MulAdd(b0, c10)
				c11 = a1.MulAdd(b1, c11)
				a2 := simd.BroadcastFloat32s(a[2])
				c20 = a2.MulAdd(b0, c20)
				c21 = a2.MulAdd(b1, c21)
				a3 := simd.BroadcastFloat32s(a[3])
				c30 = a3.MulAdd(b0, c30)
				c31 = a3.MulAdd(b1, c31)
			}
			c00.Store(c[i0*n+j:])
			c01.Store(c[i0*n+j+v:])
			if rows > 1 {
				c10.Store(c[(i0+1)*n+j:])
				c11.Store(c[(i0+1)*n+j+v:])
			}
			if rows > 2 {
				c20.Store(c[(i0+2)*n+j:])
				c21.Store(c[(i0+2)*n+j+v:])
			}
			if rows > 3 {
				c30.Store(c[(i0+3)*n+j:])
				c31.Store(c[(i0+3)*n+j+v:])
			}
		}
		for ; j < n; j += v {
			w := min(v, n-j)
			c0 := simd.BroadcastFloat32s(bs[0])
			c1 := simd.BroadcastFloat32s(bs[1])
			c2 := simd.BroadcastFloat32s(bs[2])
			c3 := simd.BroadcastFloat32s(bs[3])
			bj := b[j:]
			for kk := 0; kk < k; kk++ {
				b0, _ := simd.LoadFloat32sPart(bj[kk*n : kk*n+w])
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

// madd: see maddGeneric.
func madd(dst, src []float32, w float32) {
	v := simd.VectorBitSize() / 32
	src = src[:len(dst)]
	wv := simd.BroadcastFloat32s(w)
	i := 0
	for ; i+v <= len(dst); i += v {
		d := simd.LoadFloat32s(dst[i:])
		s := simd.LoadFloat32s(src[i:])
		wv.MulAdd(s, d).Store(dst[i:])
	}
	for ; i < len(dst); i++ {
		dst[i] += w * src[i]
	}
}

// dot: see dotGeneric. Two accumulators hide the add latency.
func dot(a, b []float32) float32 {
	v := simd.VectorBitSize() / 32
	b = b[:len(a)]
	var s0, s1 simd.Float32s
	i := 0
	for ; i+2*v <= len(a); i += 2 * v {
		s0 = simd.LoadFloat32s(a[i:]).MulAdd(simd.LoadFloat32s(b[i:]), s0)
		s1 = simd.LoadFloat32s(a[i+v:]).MulAdd(simd.LoadFloat32s(b[i+v:]), s1)
	}
	var lanes [16]float32
	s0.Add(s1).StorePart(lanes[:])
	var s float32
	for _, x := range lanes {
		s += x
	}
	for ; i < len(a); i++ {
		s += a[i] * b[i]
	}
	return s
}
