//go:build goexperiment.simd && !wasm

package model

import "simd"

// Streaming kernels on the portable simd package (on wasm they are in kernels_wasm.go on
// simd/archsimd: portable simd ops are bridge calls there).

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

// add: see addGeneric.
func add(dst, a, b []float32) {
	v := simd.VectorBitSize() / 32
	a, b = a[:len(dst)], b[:len(dst)]
	i := 0
	for ; i+v <= len(dst); i += v {
		simd.LoadFloat32s(a[i:]).Add(simd.LoadFloat32s(b[i:])).Store(dst[i:])
	}
	for ; i < len(dst); i++ {
		dst[i] = a[i] + b[i]
	}
}

// scale: see scaleGeneric.
func scale(dst, src []float32, k float32) {
	v := simd.VectorBitSize() / 32
	src = src[:len(dst)]
	kv := simd.BroadcastFloat32s(k)
	i := 0
	for ; i+v <= len(dst); i += v {
		simd.LoadFloat32s(src[i:]).Mul(kv).Store(dst[i:])
	}
	scaleGeneric(dst[i:], src[i:], k)
}

// relu: see reluGeneric.
func relu(x []float32) {
	v := simd.VectorBitSize() / 32
	zero := simd.BroadcastFloat32s(0)
	i := 0
	for ; i+v <= len(x); i += v {
		simd.LoadFloat32s(x[i:]).Max(zero).Store(x[i:])
	}
	for ; i < len(x); i++ {
		x[i] = max(x[i], 0)
	}
}

// biasAct: see biasActGeneric.
func biasAct(dst, src []float32, b float32, relu bool) {
	v := simd.VectorBitSize() / 32
	src = src[:len(dst)]
	bv := simd.BroadcastFloat32s(b)
	zero := simd.BroadcastFloat32s(0)
	i := 0
	if relu {
		for ; i+v <= len(dst); i += v {
			simd.LoadFloat32s(src[i:]).Add(bv).Max(zero).Store(dst[i:])
		}
	} else {
		for ; i+v <= len(dst); i += v {
			simd.LoadFloat32s(src[i:]).Add(bv).Store(dst[i:])
		}
	}
	biasActGeneric(dst[i:], src[i:], b, relu)
}

// addAct: see addActGeneric.
func addAct(dst, a, b []float32, relu bool) {
	v := simd.VectorBitSize() / 32
	a, b = a[:len(dst)], b[:len(dst)]
	zero := simd.BroadcastFloat32s(0)
	i := 0
	if relu {
		for ; i+v <= len(dst); i += v {
			simd.LoadFloat32s(a[i:]).Add(simd.LoadFloat32s(b[i:])).Max(zero).Store(dst[i:])
		}
	} else {
		for ; i+v <= len(dst); i += v {
			simd.LoadFloat32s(a[i:]).Add(simd.LoadFloat32s(b[i:])).Store(dst[i:])
		}
	}
	addActGeneric(dst[i:], a[i:], b[i:], relu)
}

// The Winograd transforms use the references outside wasm (native speed is not the
// bottleneck; the wasm versions are in kernels_wasm.go).
func winoIn(v []float32, stride int, e, o []float32, pw2, nt int) {
	winoInGeneric(v, stride, e, o, pw2, nt)
}
func winoOut(out []float32, ow int, m []float32, stride, nt int, bias float32, relu bool) {
	winoOutGeneric(out, ow, m, stride, nt, bias, relu)
}

// sum: see sumGeneric.
func sum(x []float32) float32 {
	v := simd.VectorBitSize() / 32
	var s simd.Float32s
	i := 0
	for ; i+v <= len(x); i += v {
		s = s.Add(simd.LoadFloat32s(x[i:]))
	}
	var lanes [16]float32
	s.StorePart(lanes[:])
	return sumGeneric(lanes[:]) + sumGeneric(x[i:])
}

// deal is dealGeneric outside wasm (the portable simd package has no lane shuffles).
func deal(a, b, s []float32) { dealGeneric(a, b, s) }

// biasClamp: see biasClampGeneric.
func biasClamp(dst, src []float32, b, lo, hi float32) {
	v := simd.VectorBitSize() / 32
	src = src[:len(dst)]
	bv, lv, hv := simd.BroadcastFloat32s(b), simd.BroadcastFloat32s(lo), simd.BroadcastFloat32s(hi)
	i := 0
	for ; i+v <= len(dst); i += v {
		simd.LoadFloat32s(src[i:]).Add(bv).Max(lv).Min(hv).Store(dst[i:])
	}
	biasClampGeneric(dst[i:], src[i:], b, lo, hi)
}

// biasClampRows: see biasClampRowsGeneric.
func biasClampRows(c []float32, rows, n int, bias []float32, lo, hi float32) {
	for r := 0; r < rows; r++ {
		biasClamp(c[r*n:(r+1)*n], c[r*n:(r+1)*n], at(bias, r), lo, hi)
	}
}

// dw3x3: see dwGeneric (3x3 kernel). Rows at least a vector wide run as vectors along the
// row, the last one moved back to end at the row's end; narrower rows (7 wide at 112 px
// input, with 8 or 16 lanes) run as one sweep along the channel's planes, computing the
// pws-ow columns between rows too, into tmp (at least (oh-1)*pws+ow rounded up to a
// vector), and ph must have a vector of readable slack after the last tap's extent.
func dw3x3(out []float32, nc, oh, ow int, ph []float32, plane, pws int, offs *[9]int32, w, bias []float32, lo, hi float32, tmp []float32) {
	checkDw3x3(out, nc, oh, ow, ph, plane, pws, offs, w, bias)
	for c := 0; c < nc; c++ {
		dw3x3One(out[c*oh*ow:(c+1)*oh*ow], oh, ow, ph[c*plane:], pws, offs, (*[9]float32)(w[9*c:9*c+9]), at(bias, c), lo, hi, tmp)
	}
}

// dw3x3One is dw3x3 for one channel.
func dw3x3One(out []float32, oh, ow int, ph []float32, pws int, offs *[9]int32, w *[9]float32, b, lo, hi float32, tmp []float32) {
	v := simd.VectorBitSize() / 32
	if oh == 0 || ow == 0 {
		return
	}
	w0, w1, w2 := simd.BroadcastFloat32s(w[0]), simd.BroadcastFloat32s(w[1]), simd.BroadcastFloat32s(w[2])
	w3, w4, w5 := simd.BroadcastFloat32s(w[3]), simd.BroadcastFloat32s(w[4]), simd.BroadcastFloat32s(w[5])
	w6, w7, w8 := simd.BroadcastFloat32s(w[6]), simd.BroadcastFloat32s(w[7]), simd.BroadcastFloat32s(w[8])
	bv, lv, hv := simd.BroadcastFloat32s(b), simd.BroadcastFloat32s(lo), simd.BroadcastFloat32s(hi)
	o0, o1, o2 := int(offs[0]), int(offs[3]), int(offs[6])
	c1, c2 := int(offs[1]-offs[0]), int(offs[2]-offs[0])
	if ow >= v {
		for oy := 0; oy < oh; oy++ {
			row := out[oy*ow : oy*ow+ow]
			q := oy * pws
			for ox := 0; ; ox += v {
				ox = min(ox, ow-v)
				x0, x1, x2 := ph[o0+q+ox:], ph[o1+q+ox:], ph[o2+q+ox:]
				s0 := w0.Mul(simd.LoadFloat32s(x0)).Add(w1.Mul(simd.LoadFloat32s(x0[c1:]))).Add(w2.Mul(simd.LoadFloat32s(x0[c2:])))
				s1 := w3.Mul(simd.LoadFloat32s(x1)).Add(w4.Mul(simd.LoadFloat32s(x1[c1:]))).Add(w5.Mul(simd.LoadFloat32s(x1[c2:])))
				s2 := w6.Mul(simd.LoadFloat32s(x2)).Add(w7.Mul(simd.LoadFloat32s(x2[c1:]))).Add(w8.Mul(simd.LoadFloat32s(x2[c2:])))
				s0.Add(s1).Add(s2.Add(bv)).Max(lv).Min(hv).Store(row[ox:])
				if ox == ow-v {
					break
				}
			}
		}
		return
	}
	n := (oh-1)*pws + ow
	if len(tmp) < (n+v-1)/v*v || int(max(offs[2], offs[5], offs[8]))+(n+v-1)/v*v > len(ph) {
		dw3x3Scalar(out, 1, oh, ow, ph, 0, pws, offs, w[:], []float32{b}, lo, hi)
		return
	}
	for i := 0; i < n; i += v {
		x0, x1, x2 := ph[o0+i:], ph[o1+i:], ph[o2+i:]
		s0 := w0.Mul(simd.LoadFloat32s(x0)).Add(w1.Mul(simd.LoadFloat32s(x0[c1:]))).Add(w2.Mul(simd.LoadFloat32s(x0[c2:])))
		s1 := w3.Mul(simd.LoadFloat32s(x1)).Add(w4.Mul(simd.LoadFloat32s(x1[c1:]))).Add(w5.Mul(simd.LoadFloat32s(x1[c2:])))
		s2 := w6.Mul(simd.LoadFloat32s(x2)).Add(w7.Mul(simd.LoadFloat32s(x2[c1:]))).Add(w8.Mul(simd.LoadFloat32s(x2[c2:])))
		s0.Add(s1).Add(s2.Add(bv)).Max(lv).Min(hv).Store(tmp[i:])
	}
	for oy := 0; oy < oh; oy++ {
		copy(out[oy*ow:oy*ow+ow], tmp[oy*pws:])
	}
}

// dealRows is dealRowsGeneric outside wasm.
func dealRows(a, b []float32, dstride int, s []float32, sstride, rows, w int) {
	dealRowsGeneric(a, b, dstride, s, sstride, rows, w)
}
