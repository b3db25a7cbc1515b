//go:build goexperiment.simd && wasm

package model

import "simd/archsimd"

// Streaming kernels for wasm on simd/archsimd: in Go 1.27.3 every portable simd op is a call
// into simd/internal/bridge on wasm (see gemm4_wasm.go), which made these passes cost
// several ns per element. Vectors are read and written through fixed-size array pointers,
// one bounds check per vector.

// ld4 and st4 view x[i:i+4] as an array (one bounds check).
func ld4(x []float32, i int) archsimd.Float32x4 {
	return archsimd.LoadFloat32x4Array((*[4]float32)(x[i : i+4]))
}
func st4(v archsimd.Float32x4, x []float32, i int) { v.StoreArray((*[4]float32)(x[i : i+4])) }

// addBias adds bias[i] to row i of the m x n matrix c.
func addBias(c []float32, m, n int, bias []float32) {
	for i := 0; i < m; i++ {
		row := c[i*n : (i+1)*n]
		biasAct(row, row, bias[i], false)
	}
}

// madd: see maddGeneric.
func madd(dst, src []float32, w float32) {
	src = src[:len(dst)]
	wv := archsimd.BroadcastFloat32x4(w)
	i := 0
	for ; i+4 <= len(dst); i += 4 {
		st4(wv.Mul(ld4(src, i)).Add(ld4(dst, i)), dst, i)
	}
	maddGeneric(dst[i:], src[i:], w)
}

// dot: see dotGeneric. Two accumulators hide the add latency.
func dot(a, b []float32) float32 {
	b = b[:len(a)]
	var s0, s1 archsimd.Float32x4
	i := 0
	for ; i+8 <= len(a); i += 8 {
		s0 = ld4(a, i).Mul(ld4(b, i)).Add(s0)
		s1 = ld4(a, i+4).Mul(ld4(b, i+4)).Add(s1)
	}
	var lanes [4]float32
	s0.Add(s1).StoreArray(&lanes)
	s := lanes[0] + lanes[1] + lanes[2] + lanes[3]
	return s + dotGeneric(a[i:], b[i:])
}

// add: see addGeneric.
func add(dst, a, b []float32) { addAct(dst, a, b, false) }

// relu: see reluGeneric.
func relu(x []float32) { biasAct(x, x, 0, true) }

// biasAct: see biasActGeneric.
func biasAct(dst, src []float32, b float32, relu bool) {
	src = src[:len(dst)]
	bv := archsimd.BroadcastFloat32x4(b)
	var zero archsimd.Float32x4
	i := 0
	if relu {
		for ; i+4 <= len(dst); i += 4 {
			st4(ld4(src, i).Add(bv).Max(zero), dst, i)
		}
	} else {
		for ; i+4 <= len(dst); i += 4 {
			st4(ld4(src, i).Add(bv), dst, i)
		}
	}
	biasActGeneric(dst[i:], src[i:], b, relu)
}

// addAct: see addActGeneric.
func addAct(dst, a, b []float32, relu bool) {
	a, b = a[:len(dst)], b[:len(dst)]
	var zero archsimd.Float32x4
	i := 0
	if relu {
		for ; i+4 <= len(dst); i += 4 {
			st4(ld4(a, i).Add(ld4(b, i)).Max(zero), dst, i)
		}
	} else {
		for ; i+4 <= len(dst); i += 4 {
			st4(ld4(a, i).Add(ld4(b, i)), dst, i)
		}
	}
	addActGeneric(dst[i:], a[i:], b[i:], relu)
}
