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

// winoIn: see winoInGeneric; four tiles per vector (nt is a multiple of 4). Written out
// without arrays: Go keeps arrays of vectors in (linear) memory.
func winoIn(v []float32, stride int, e, o []float32, pw2, nt int) {
	for t := 0; t+4 <= nt; t += 4 {
		e0, o0 := e[0*pw2+t:0*pw2+t+5], o[0*pw2+t:0*pw2+t+5]
		e00, e01, o00, o01 := ld4(e0, 0), ld4(e0, 1), ld4(o0, 0), ld4(o0, 1)
		q00, q01, q02, q03 := e00.Sub(e01), o00.Add(e01), e01.Sub(o00), o00.Sub(o01)
		e1, o1 := e[1*pw2+t:1*pw2+t+5], o[1*pw2+t:1*pw2+t+5]
		e10, e11, o10, o11 := ld4(e1, 0), ld4(e1, 1), ld4(o1, 0), ld4(o1, 1)
		q10, q11, q12, q13 := e10.Sub(e11), o10.Add(e11), e11.Sub(o10), o10.Sub(o11)
		e2, o2 := e[2*pw2+t:2*pw2+t+5], o[2*pw2+t:2*pw2+t+5]
		e20, e21, o20, o21 := ld4(e2, 0), ld4(e2, 1), ld4(o2, 0), ld4(o2, 1)
		q20, q21, q22, q23 := e20.Sub(e21), o20.Add(e21), e21.Sub(o20), o20.Sub(o21)
		e3, o3 := e[3*pw2+t:3*pw2+t+5], o[3*pw2+t:3*pw2+t+5]
		e30, e31, o30, o31 := ld4(e3, 0), ld4(e3, 1), ld4(o3, 0), ld4(o3, 1)
		q30, q31, q32, q33 := e30.Sub(e31), o30.Add(e31), e31.Sub(o30), o30.Sub(o31)
		st4(q00.Sub(q20), v, 0*stride+t)
		st4(q10.Add(q20), v, 4*stride+t)
		st4(q20.Sub(q10), v, 8*stride+t)
		st4(q10.Sub(q30), v, 12*stride+t)
		st4(q01.Sub(q21), v, 1*stride+t)
		st4(q11.Add(q21), v, 5*stride+t)
		st4(q21.Sub(q11), v, 9*stride+t)
		st4(q11.Sub(q31), v, 13*stride+t)
		st4(q02.Sub(q22), v, 2*stride+t)
		st4(q12.Add(q22), v, 6*stride+t)
		st4(q22.Sub(q12), v, 10*stride+t)
		st4(q12.Sub(q32), v, 14*stride+t)
		st4(q03.Sub(q23), v, 3*stride+t)
		st4(q13.Add(q23), v, 7*stride+t)
		st4(q23.Sub(q13), v, 11*stride+t)
		st4(q13.Sub(q33), v, 15*stride+t)
	}
}

// winoOut: see winoOutGeneric. Vectors run over four tiles; m must hold whole vectors past
// nt (its rows are padded to a multiple of 4 tiles).
func winoOut(out []float32, ow int, m []float32, stride, nt int, bias float32, relu bool) {
	bv := archsimd.BroadcastFloat32x4(bias)
	var zero archsimd.Float32x4
	var y00, y01, y10, y11 [4]float32
	for t := 0; t < nt; t += 4 {
		m00, m10, m20, m30 := ld4(m, 0*stride+t), ld4(m, 4*stride+t), ld4(m, 8*stride+t), ld4(m, 12*stride+t)
		u00 := m00.Add(m10).Add(m20)
		u10 := m10.Sub(m20).Sub(m30)
		m01, m11, m21, m31 := ld4(m, 1*stride+t), ld4(m, 5*stride+t), ld4(m, 9*stride+t), ld4(m, 13*stride+t)
		u01 := m01.Add(m11).Add(m21)
		u11 := m11.Sub(m21).Sub(m31)
		m02, m12, m22, m32 := ld4(m, 2*stride+t), ld4(m, 6*stride+t), ld4(m, 10*stride+t), ld4(m, 14*stride+t)
		u02 := m02.Add(m12).Add(m22)
		u12 := m12.Sub(m22).Sub(m32)
		m03, m13, m23, m33 := ld4(m, 3*stride+t), ld4(m, 7*stride+t), ld4(m, 11*stride+t), ld4(m, 15*stride+t)
		u03 := m03.Add(m13).Add(m23)
		u13 := m13.Sub(m23).Sub(m33)
		a0 := u00.Add(u01).Add(u02).Add(bv)
		a1 := u01.Sub(u02).Sub(u03).Add(bv)
		b0 := u10.Add(u11).Add(u12).Add(bv)
		b1 := u11.Sub(u12).Sub(u13).Add(bv)
		if relu {
			a0, a1, b0, b1 = a0.Max(zero), a1.Max(zero), b0.Max(zero), b1.Max(zero)
		}
		a0.StoreArray(&y00)
		a1.StoreArray(&y01)
		b0.StoreArray(&y10)
		b1.StoreArray(&y11)
		if t+4 <= nt {
			r0 := (*[8]float32)(out[2*t : 2*t+8])
			r1 := (*[8]float32)(out[ow+2*t : ow+2*t+8])
			r0[0], r0[1], r0[2], r0[3], r0[4], r0[5], r0[6], r0[7] = y00[0], y01[0], y00[1], y01[1], y00[2], y01[2], y00[3], y01[3]
			r1[0], r1[1], r1[2], r1[3], r1[4], r1[5], r1[6], r1[7] = y10[0], y11[0], y10[1], y11[1], y10[2], y11[2], y10[3], y11[3]
			continue
		}
		for l := 0; l < nt-t; l++ {
			out[2*(t+l)], out[2*(t+l)+1] = y00[l], y01[l]
			out[ow+2*(t+l)], out[ow+2*(t+l)+1] = y10[l], y11[l]
		}
	}
}

// sum: see sumGeneric.
func sum(x []float32) float32 {
	var s0, s1 archsimd.Float32x4
	i := 0
	for ; i+8 <= len(x); i += 8 {
		s0 = s0.Add(ld4(x, i))
		s1 = s1.Add(ld4(x, i+4))
	}
	var lanes [4]float32
	s0.Add(s1).StoreArray(&lanes)
	return lanes[0] + lanes[1] + lanes[2] + lanes[3] + sumGeneric(x[i:])
}

// deal: see dealGeneric. Eight samples per step: each vector's lanes are reordered so
// that its two 64-bit halves hold its even and its odd pair, and the halves of two
// vectors are then exchanged.
func deal(a, b, s []float32) {
	// Byte indices that reorder four float32s [x0 x1 x2 x3] to [x0 x2 x1 x3].
	idx := archsimd.LoadInt8x16Array(&[16]int8{0, 1, 2, 3, 8, 9, 10, 11, 4, 5, 6, 7, 12, 13, 14, 15})
	i := 0
	for ; i+4 <= len(b); i += 4 {
		v0 := ld4(s, 2*i).ToBits().ReshapeToUint8s().BitsToInt8().LookupOrZero(idx).ToBits().ReshapeToUint64s()
		v1 := ld4(s, 2*i+4).ToBits().ReshapeToUint8s().BitsToInt8().LookupOrZero(idx).ToBits().ReshapeToUint64s()
		ev := v0.SetElem(1, v1.GetElem(0))
		od := v1.SetElem(0, v0.GetElem(1))
		st4(ev.ReshapeToUint32s().BitsToFloat32(), a, i)
		st4(od.ReshapeToUint32s().BitsToFloat32(), b, i)
	}
	dealGeneric(a[i:], b[i:], s[2*i:])
}
