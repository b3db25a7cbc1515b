//go:build goexperiment.simd && wasm

package model

import (
	"math"
	"simd/archsimd"
	"unsafe"
)

// Streaming kernels for wasm on simd/archsimd: in Go 1.27.3 every portable simd op is a call
// into simd/internal/bridge on wasm (see gemm4_wasm.go), which made these passes cost
// several ns per element. Vectors are read and written through fixed-size array pointers,
// one bounds check per vector.

// ld4 and st4 view x[i:i+4] as an array (one bounds check).
func ld4(x []float32, i int) archsimd.Float32x4 {
	return archsimd.LoadFloat32x4Array((*[4]float32)(x[i : i+4]))
}
func st4(v archsimd.Float32x4, x []float32, i int) { v.StoreArray((*[4]float32)(x[i : i+4])) }

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

// scale: see scaleGeneric.
func scale(dst, src []float32, k float32) {
	src = src[:len(dst)]
	kv := archsimd.BroadcastFloat32x4(k)
	i := 0
	for ; i+4 <= len(dst); i += 4 {
		st4(ld4(src, i).Mul(kv), dst, i)
	}
	scaleGeneric(dst[i:], src[i:], k)
}

// relu: see reluGeneric.
func relu(x []float32) { biasAct(x, x, 0, true) }

// biasAct: see biasActGeneric; biasClamp with [0, +Inf) or (-Inf, +Inf) (its int32 path
// for ReLU: 2.4x as fast as f32x4.max, node 20).
func biasAct(dst, src []float32, b float32, relu bool) {
	lo, inf := float32(math.Inf(-1)), float32(math.Inf(1))
	if relu {
		lo = 0
	}
	biasClamp(dst, src, b, lo, inf)
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
// without arrays: Go keeps arrays of vectors in (linear) memory. Columns j = 0, 3 of the
// tiles, then j = 1, 2 (8 vectors live, not the 16 of all four: Go's 16 wasm vector
// registers), read and written through pointers (one bounds check per call; the checked
// slices cost a third of the transform).
func winoIn(v []float32, stride int, e, o []float32, pw2, nt int) {
	if nt < 4 {
		return
	}
	// The furthest reads (row 3, vector at t+1 for the last t) and writes (V[15]); t only
	// goes up from 0, so every pointer below stays inside e, o and v.
	_, _, _ = e[3*pw2+nt], o[3*pw2+nt], v[15*stride+nt-1]
	pe, po, pv := unsafe.Pointer(&e[0]), unsafe.Pointer(&o[0]), unsafe.Pointer(&v[0])
	rs, vs := 4*pw2, 4*stride
	for t := 0; t+4 <= nt; t += 4 {
		e0, o0 := unsafe.Add(pe, 4*t), unsafe.Add(po, 4*t)
		e1, o1 := unsafe.Add(e0, rs), unsafe.Add(o0, rs)
		e2, o2 := unsafe.Add(e1, rs), unsafe.Add(o1, rs)
		e3, o3 := unsafe.Add(e2, rs), unsafe.Add(o2, rs)
		vt := unsafe.Add(pv, 4*t)
		// j = 0: q = E[t] - E[t+1]; j = 3: q = O[t] - O[t+1].
		a0, d0 := ldp(e0).Sub(ldp(unsafe.Add(e0, 4))), ldp(o0).Sub(ldp(unsafe.Add(o0, 4)))
		a1, d1 := ldp(e1).Sub(ldp(unsafe.Add(e1, 4))), ldp(o1).Sub(ldp(unsafe.Add(o1, 4)))
		a2, d2 := ldp(e2).Sub(ldp(unsafe.Add(e2, 4))), ldp(o2).Sub(ldp(unsafe.Add(o2, 4)))
		a3, d3 := ldp(e3).Sub(ldp(unsafe.Add(e3, 4))), ldp(o3).Sub(ldp(unsafe.Add(o3, 4)))
		stp(a0.Sub(a2), vt)
		stp(a1.Add(a2), unsafe.Add(vt, 4*vs))
		stp(a2.Sub(a1), unsafe.Add(vt, 8*vs))
		stp(a1.Sub(a3), unsafe.Add(vt, 12*vs))
		stp(d0.Sub(d2), unsafe.Add(vt, 3*vs))
		stp(d1.Add(d2), unsafe.Add(vt, 7*vs))
		stp(d2.Sub(d1), unsafe.Add(vt, 11*vs))
		stp(d1.Sub(d3), unsafe.Add(vt, 15*vs))
		// j = 1: q = O[t] + E[t+1]; j = 2: q = E[t+1] - O[t].
		x0, y0 := ldp(o0), ldp(unsafe.Add(e0, 4))
		b0, c0 := x0.Add(y0), y0.Sub(x0)
		x1, y1 := ldp(o1), ldp(unsafe.Add(e1, 4))
		b1, c1 := x1.Add(y1), y1.Sub(x1)
		x2, y2 := ldp(o2), ldp(unsafe.Add(e2, 4))
		b2, c2 := x2.Add(y2), y2.Sub(x2)
		x3, y3 := ldp(o3), ldp(unsafe.Add(e3, 4))
		b3, c3 := x3.Add(y3), y3.Sub(x3)
		stp(b0.Sub(b2), unsafe.Add(vt, 1*vs))
		stp(b1.Add(b2), unsafe.Add(vt, 5*vs))
		stp(b2.Sub(b1), unsafe.Add(vt, 9*vs))
		stp(b1.Sub(b3), unsafe.Add(vt, 13*vs))
		stp(c0.Sub(c2), unsafe.Add(vt, 2*vs))
		stp(c1.Add(c2), unsafe.Add(vt, 6*vs))
		stp(c2.Sub(c1), unsafe.Add(vt, 10*vs))
		stp(c1.Sub(c3), unsafe.Add(vt, 14*vs))
	}
}

// stp stores v at p (a pointer inside a checked slice).
func stp(v archsimd.Float32x4, p unsafe.Pointer) { v.StoreArray((*[4]float32)(p)) }

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

// deal: see dealGeneric (a and b must not overlap s). Eight samples per step: each
// vector's lanes are reordered so that its two 64-bit halves hold its even and its odd
// pair, and the halves of two vectors are then exchanged.
func deal(a, b, s []float32) {
	// Byte indices that reorder four float32s [x0 x1 x2 x3] to [x0 x2 x1 x3].
	idx := archsimd.LoadInt8x16Array(&[16]int8{0, 1, 2, 3, 8, 9, 10, 11, 4, 5, 6, 7, 12, 13, 14, 15})
	n := len(b)
	if n < 4 {
		dealGeneric(a, b, s)
		return
	}
	_ = s[2*n-1]
	// The last step moves back to end at n (it rewrites a few samples with the same
	// values; a and b never overlap s): no scalar tail.
	for i := 0; ; i += 4 {
		i = min(i, n-4)
		v0 := ld4(s, 2*i).ToBits().ReshapeToUint8s().BitsToInt8().LookupOrZero(idx).ToBits().ReshapeToUint64s()
		v1 := ld4(s, 2*i+4).ToBits().ReshapeToUint8s().BitsToInt8().LookupOrZero(idx).ToBits().ReshapeToUint64s()
		ev := v0.SetElem(1, v1.GetElem(0))
		od := v1.SetElem(0, v0.GetElem(1))
		st4(ev.ReshapeToUint32s().BitsToFloat32(), a, i)
		st4(od.ReshapeToUint32s().BitsToFloat32(), b, i)
		if i == n-4 {
			return
		}
	}
}

// biasClamp: see biasClampGeneric.
func biasClamp(dst, src []float32, b, lo, hi float32) {
	if len(dst) > 0 {
		clampRows(dst, src, 1, len(dst), nil, b, lo, hi)
	}
}

// biasClampRows: see biasClampRowsGeneric.
func biasClampRows(c []float32, rows, n int, bias []float32, lo, hi float32) {
	if rows > 0 && n > 0 {
		clampRows(c, c, rows, n, bias, 0, lo, hi)
	}
}

// clampRows computes dst[r*n+i] = clamp(src[r*n+i] + (bias[r], or b for a nil bias), lo,
// hi) for r < rows, i < n, in one call. Four vectors per step (one bounds check each way).
// With lo >= 0 (Relu, ReLU6) the clamp runs on the floats' bits as int32 max/min:
// non-negative floats order like their bits, negative ones (negative as int32) go to lo.
// V8's f32x4.max/min honour NaN and signed zeros with several instructions each: measured
// in node 20, 50k elements, 14 us (int32) vs 29 us (f32x4) vs 32 us one vector per step.
// On that path a NaN becomes lo or hi instead of staying NaN.
func clampRows(dst, src []float32, rows, n int, bias []float32, b, lo, hi float32) {
	dst, src = dst[:rows*n], src[:rows*n]
	if bias != nil {
		bias = bias[:rows]
	}
	intClamp := lo >= 0 && !math.Signbit(float64(lo))
	lv, hv := archsimd.BroadcastFloat32x4(lo), archsimd.BroadcastFloat32x4(hi)
	li, hi4 := lv.ToBits().BitsToInt32(), hv.ToBits().BitsToInt32()
	for r := 0; r < rows; r++ {
		if bias != nil {
			b = bias[r]
		}
		bv := archsimd.BroadcastFloat32x4(b)
		d, s := dst[r*n:(r+1)*n], src[r*n:(r+1)*n]
		i := 0
		if intClamp {
			for ; i+16 <= n; i += 16 {
				s16, d16 := (*[16]float32)(s[i:i+16]), (*[16]float32)(d[i:i+16])
				x0 := archsimd.LoadFloat32x4Array((*[4]float32)(s16[0:4])).Add(bv)
				x1 := archsimd.LoadFloat32x4Array((*[4]float32)(s16[4:8])).Add(bv)
				x2 := archsimd.LoadFloat32x4Array((*[4]float32)(s16[8:12])).Add(bv)
				x3 := archsimd.LoadFloat32x4Array((*[4]float32)(s16[12:16])).Add(bv)
				x0.ToBits().BitsToInt32().Max(li).Min(hi4).ToBits().BitsToFloat32().StoreArray((*[4]float32)(d16[0:4]))
				x1.ToBits().BitsToInt32().Max(li).Min(hi4).ToBits().BitsToFloat32().StoreArray((*[4]float32)(d16[4:8]))
				x2.ToBits().BitsToInt32().Max(li).Min(hi4).ToBits().BitsToFloat32().StoreArray((*[4]float32)(d16[8:12]))
				x3.ToBits().BitsToInt32().Max(li).Min(hi4).ToBits().BitsToFloat32().StoreArray((*[4]float32)(d16[12:16]))
			}
			for ; i+4 <= n; i += 4 {
				st4(ld4(s, i).Add(bv).ToBits().BitsToInt32().Max(li).Min(hi4).ToBits().BitsToFloat32(), d, i)
			}
		} else {
			for ; i+16 <= n; i += 16 {
				s16, d16 := (*[16]float32)(s[i:i+16]), (*[16]float32)(d[i:i+16])
				archsimd.LoadFloat32x4Array((*[4]float32)(s16[0:4])).Add(bv).Max(lv).Min(hv).StoreArray((*[4]float32)(d16[0:4]))
				archsimd.LoadFloat32x4Array((*[4]float32)(s16[4:8])).Add(bv).Max(lv).Min(hv).StoreArray((*[4]float32)(d16[4:8]))
				archsimd.LoadFloat32x4Array((*[4]float32)(s16[8:12])).Add(bv).Max(lv).Min(hv).StoreArray((*[4]float32)(d16[8:12]))
				archsimd.LoadFloat32x4Array((*[4]float32)(s16[12:16])).Add(bv).Max(lv).Min(hv).StoreArray((*[4]float32)(d16[12:16]))
			}
			for ; i+4 <= n; i += 4 {
				st4(ld4(s, i).Add(bv).Max(lv).Min(hv), d, i)
			}
		}
		for ; i < n; i++ {
			d[i] = clamp(s[i]+b, lo, hi)
		}
	}
}

// dw3x3: see dwGeneric and dw3x3Scalar (3x3 kernel over nc channels; tmp is unused here).
// Each output row runs as f32x4 vectors along its width, the last one moved back to end
// at the row's end (it recomputes a few outputs instead of storing past the row), so rows
// as narrow as 4 (7 at 112 px input: two vectors) need no tail; narrower ones go to
// dw3x3Scalar. Nine weight vectors, bias and bounds stay in registers (14 of Go's 16);
// the taps are read through pointers, a row pointer per kernel row plus a column offset
// (checkDw3x3 checks the bounds and that the offsets separate so). The kernels loop over
// the channels themselves: in wasm a call costs ~30 ns, a 7x7 channel ~250. Measured in
// node 20 on the student's depthwise convolutions (interleaved, min of 200):
//   - with lo >= 0 (Relu, ReLU6) the clamp runs as int32 max/min on the bits (see
//     biasClamp), in a copy of the kernel (dwInt): 15-20% faster than f32x4.max/min
//     (choosing per vector inside one loop was slower than either);
//   - stride 1 (kernel rows pws apart, columns adjacent) runs two output rows per step
//     (dwInt2): four input rows loaded for two outputs instead of six, 0-25% faster (most
//     on 14x14 and 7x7 maps).
func dw3x3(out []float32, nc, oh, ow int, ph []float32, plane, pws int, offs *[9]int32, w, bias []float32, lo, hi float32, tmp []float32) {
	checkDw3x3(out, nc, oh, ow, ph, plane, pws, offs, w, bias)
	if nc == 0 || oh == 0 {
		return
	}
	if ow < 4 {
		dw3x3Scalar(out, nc, oh, ow, ph, plane, pws, offs, w, bias, lo, hi)
		return
	}
	switch {
	case lo < 0 || math.Signbit(float64(lo)):
		dwFloat(out, nc, oh, ow, ph, plane, pws, offs, w, bias, lo, hi)
	case offs[1]-offs[0] == 1 && offs[2]-offs[1] == 1 && int(offs[3]-offs[0]) == pws && int(offs[6]-offs[3]) == pws:
		dwInt2(out, nc, oh, ow, ph, plane, pws, offs, w, bias, lo, hi)
	default:
		dwInt(out, nc, oh, ow, ph, plane, pws, offs, w, bias, lo, hi)
	}
}

// dwFloat is dw3x3 with any bounds (f32x4.max/min).
func dwFloat(out []float32, nc, oh, ow int, ph []float32, plane, pws int, offs *[9]int32, w, bias []float32, lo, hi float32) {
	lv, hv := archsimd.BroadcastFloat32x4(lo), archsimd.BroadcastFloat32x4(hi)
	c1, c2 := 4*int(offs[1]-offs[0]), 4*int(offs[2]-offs[0])
	o0, o1, o2 := 4*int(offs[0]), 4*int(offs[3]), 4*int(offs[6])
	for c := 0; c < nc; c++ {
		wc := (*[9]float32)(w[9*c : 9*c+9])
		w0, w1, w2 := archsimd.BroadcastFloat32x4(wc[0]), archsimd.BroadcastFloat32x4(wc[1]), archsimd.BroadcastFloat32x4(wc[2])
		w3, w4, w5 := archsimd.BroadcastFloat32x4(wc[3]), archsimd.BroadcastFloat32x4(wc[4]), archsimd.BroadcastFloat32x4(wc[5])
		w6, w7, w8 := archsimd.BroadcastFloat32x4(wc[6]), archsimd.BroadcastFloat32x4(wc[7]), archsimd.BroadcastFloat32x4(wc[8])
		bv := archsimd.BroadcastFloat32x4(at(bias, c))
		// Pointers are formed only inside ph (never one past a row or the end).
		base := unsafe.Pointer(&ph[c*plane])
		for oy := 0; oy < oh; oy++ {
			row := out[(c*oh+oy)*ow : (c*oh+oy)*ow+ow]
			r0, r1, r2 := unsafe.Add(base, o0+4*oy*pws), unsafe.Add(base, o1+4*oy*pws), unsafe.Add(base, o2+4*oy*pws)
			for ox := 0; ; ox += 4 {
				ox = min(ox, ow-4)
				q := 4 * ox
				p0, p1, p2 := unsafe.Add(r0, q), unsafe.Add(r1, q), unsafe.Add(r2, q)
				s0 := w0.Mul(ldp(p0)).Add(w1.Mul(ldp(unsafe.Add(p0, c1)))).Add(w2.Mul(ldp(unsafe.Add(p0, c2))))
				s1 := w3.Mul(ldp(p1)).Add(w4.Mul(ldp(unsafe.Add(p1, c1)))).Add(w5.Mul(ldp(unsafe.Add(p1, c2))))
				s2 := w6.Mul(ldp(p2)).Add(w7.Mul(ldp(unsafe.Add(p2, c1)))).Add(w8.Mul(ldp(unsafe.Add(p2, c2))))
				st4(s0.Add(s1).Add(s2.Add(bv)).Max(lv).Min(hv), row, ox)
				if ox == ow-4 {
					break
				}
			}
		}
	}
}

// dwInt is dw3x3 with lo >= 0: dwFloat's loop, clamping as int32 on the bits.
func dwInt(out []float32, nc, oh, ow int, ph []float32, plane, pws int, offs *[9]int32, w, bias []float32, lo, hi float32) {
	lv, hv := archsimd.BroadcastFloat32x4(lo).ToBits().BitsToInt32(), archsimd.BroadcastFloat32x4(hi).ToBits().BitsToInt32()
	c1, c2 := 4*int(offs[1]-offs[0]), 4*int(offs[2]-offs[0])
	o0, o1, o2 := 4*int(offs[0]), 4*int(offs[3]), 4*int(offs[6])
	for c := 0; c < nc; c++ {
		wc := (*[9]float32)(w[9*c : 9*c+9])
		w0, w1, w2 := archsimd.BroadcastFloat32x4(wc[0]), archsimd.BroadcastFloat32x4(wc[1]), archsimd.BroadcastFloat32x4(wc[2])
		w3, w4, w5 := archsimd.BroadcastFloat32x4(wc[3]), archsimd.BroadcastFloat32x4(wc[4]), archsimd.BroadcastFloat32x4(wc[5])
		w6, w7, w8 := archsimd.BroadcastFloat32x4(wc[6]), archsimd.BroadcastFloat32x4(wc[7]), archsimd.BroadcastFloat32x4(wc[8])
		bv := archsimd.BroadcastFloat32x4(at(bias, c))
		base := unsafe.Pointer(&ph[c*plane])
		for oy := 0; oy < oh; oy++ {
			row := out[(c*oh+oy)*ow : (c*oh+oy)*ow+ow]
			r0, r1, r2 := unsafe.Add(base, o0+4*oy*pws), unsafe.Add(base, o1+4*oy*pws), unsafe.Add(base, o2+4*oy*pws)
			for ox := 0; ; ox += 4 {
				ox = min(ox, ow-4)
				q := 4 * ox
				p0, p1, p2 := unsafe.Add(r0, q), unsafe.Add(r1, q), unsafe.Add(r2, q)
				s0 := w0.Mul(ldp(p0)).Add(w1.Mul(ldp(unsafe.Add(p0, c1)))).Add(w2.Mul(ldp(unsafe.Add(p0, c2))))
				s1 := w3.Mul(ldp(p1)).Add(w4.Mul(ldp(unsafe.Add(p1, c1)))).Add(w5.Mul(ldp(unsafe.Add(p1, c2))))
				s2 := w6.Mul(ldp(p2)).Add(w7.Mul(ldp(unsafe.Add(p2, c1)))).Add(w8.Mul(ldp(unsafe.Add(p2, c2))))
				y := s0.Add(s1).Add(s2.Add(bv)).ToBits().BitsToInt32()
				st4(y.Max(lv).Min(hv).ToBits().BitsToFloat32(), row, ox)
				if ox == ow-4 {
					break
				}
			}
		}
	}
}

//go:noescape
func dwPairs(p, out, wts unsafe.Pointer, pairs, ow, rs int)

// dwInt2 is dwInt for the stride-1 layout (kernel rows pws apart, columns adjacent), two
// output rows per step: input rows oy+1 and oy+2 feed both. The pairs run in assembly
// (dw_wasm.s; the kernel went from 17% of the detector's pass to 8.5%, node 20 --cpu-prof,
// the pass from 12.2-12.6 to 10.3-10.9 ms); an odd last row runs alone, here.
func dwInt2(out []float32, nc, oh, ow int, ph []float32, plane, pws int, offs *[9]int32, w, bias []float32, lo, hi float32) {
	lv, hv := archsimd.BroadcastFloat32x4(lo).ToBits().BitsToInt32(), archsimd.BroadcastFloat32x4(hi).ToBits().BitsToInt32()
	rs := 4 * pws
	var wts [12]float32
	wts[10], wts[11] = lo, hi
	for c := 0; c < nc; c++ {
		wc := (*[9]float32)(w[9*c : 9*c+9])
		w0, w1, w2 := archsimd.BroadcastFloat32x4(wc[0]), archsimd.BroadcastFloat32x4(wc[1]), archsimd.BroadcastFloat32x4(wc[2])
		w3, w4, w5 := archsimd.BroadcastFloat32x4(wc[3]), archsimd.BroadcastFloat32x4(wc[4]), archsimd.BroadcastFloat32x4(wc[5])
		w6, w7, w8 := archsimd.BroadcastFloat32x4(wc[6]), archsimd.BroadcastFloat32x4(wc[7]), archsimd.BroadcastFloat32x4(wc[8])
		bv := archsimd.BroadcastFloat32x4(at(bias, c))
		base := unsafe.Pointer(&ph[c*plane+int(offs[0])])
		copy(wts[:9], wc[:])
		wts[9] = at(bias, c)
		oy := oh / 2 * 2
		if oy > 0 {
			dwPairs(base, unsafe.Pointer(&out[c*oh*ow]), unsafe.Pointer(&wts), oh/2, ow, rs)
		}
		if oy < oh {
			row := out[(c*oh+oy)*ow : (c*oh+oy)*ow+ow]
			r0 := unsafe.Add(base, 4*oy*pws)
			for ox := 0; ; ox += 4 {
				ox = min(ox, ow-4)
				p0 := unsafe.Add(r0, 4*ox)
				p1, p2 := unsafe.Add(p0, rs), unsafe.Add(p0, 2*rs)
				s0 := w0.Mul(ldp(p0)).Add(w1.Mul(ldp(unsafe.Add(p0, 4)))).Add(w2.Mul(ldp(unsafe.Add(p0, 8))))
				s1 := w3.Mul(ldp(p1)).Add(w4.Mul(ldp(unsafe.Add(p1, 4)))).Add(w5.Mul(ldp(unsafe.Add(p1, 8))))
				s2 := w6.Mul(ldp(p2)).Add(w7.Mul(ldp(unsafe.Add(p2, 4)))).Add(w8.Mul(ldp(unsafe.Add(p2, 8))))
				y := s0.Add(s1).Add(s2.Add(bv)).ToBits().BitsToInt32()
				st4(y.Max(lv).Min(hv).ToBits().BitsToFloat32(), row, ox)
				if ox == ow-4 {
					break
				}
			}
		}
	}
}

// ldp loads four float32s at p (a pointer inside a checked slice).
func ldp(p unsafe.Pointer) archsimd.Float32x4 {
	return archsimd.LoadFloat32x4Array((*[4]float32)(p))
}

// dealRows: see dealRowsGeneric (a and b must not overlap s). deal's steps for every row
// in one call: per-row calls cost about as much as the dealing of a 28-sample row. The
// rows are read and written through pointers (one bounds check per call instead of four
// per step: 1.25 ns per sample before, most of a stride-2 depthwise convolution's time).
func dealRows(a, b []float32, dstride int, s []float32, sstride, rows, w int) {
	n := w / 2
	if n < 4 || rows == 0 || dstride < 0 || sstride < 0 {
		dealRowsGeneric(a, b, dstride, s, sstride, rows, w)
		return
	}
	// The last row's last reads and writes; rows and steps only go up from index 0, so
	// every pointer below stays inside a, b and s (never one past an end).
	_, _, _ = a[(rows-1)*dstride+(w+1)/2-1], b[(rows-1)*dstride+n-1], s[(rows-1)*sstride+w-1]
	idx := archsimd.LoadInt8x16Array(&[16]int8{0, 1, 2, 3, 8, 9, 10, 11, 4, 5, 6, 7, 12, 13, 14, 15})
	pa, pb, ps := unsafe.Pointer(&a[0]), unsafe.Pointer(&b[0]), unsafe.Pointer(&s[0])
	for r := 0; r < rows; r++ {
		ar, br, sr := unsafe.Add(pa, 4*r*dstride), unsafe.Add(pb, 4*r*dstride), unsafe.Add(ps, 4*r*sstride)
		for i := 0; ; i += 4 {
			i = min(i, n-4)
			v0 := ldp(unsafe.Add(sr, 8*i)).ToBits().ReshapeToUint8s().BitsToInt8().LookupOrZero(idx).ToBits().ReshapeToUint64s()
			v1 := ldp(unsafe.Add(sr, 8*i+16)).ToBits().ReshapeToUint8s().BitsToInt8().LookupOrZero(idx).ToBits().ReshapeToUint64s()
			v0.SetElem(1, v1.GetElem(0)).ReshapeToUint32s().BitsToFloat32().StoreArray((*[4]float32)(unsafe.Add(ar, 4*i)))
			v1.SetElem(0, v0.GetElem(1)).ReshapeToUint32s().BitsToFloat32().StoreArray((*[4]float32)(unsafe.Add(br, 4*i)))
			if i == n-4 {
				break
			}
		}
		if w%2 == 1 {
			*(*float32)(unsafe.Add(ar, 4*n)) = *(*float32)(unsafe.Add(sr, 4*(w-1)))
		}
	}
}
