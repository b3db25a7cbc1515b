//go:build goexperiment.simd && !wasm

package model

import "simd"

// Streaming kernels on the portable simd package (on wasm they are in kernels_wasm.go on
// simd/archsimd: portable simd ops are bridge calls there).

// addBias adds bias[i] to row i of the m x n matrix c.
func addBias(c []float32, m, n int, bias []float32) {
	v := simd.VectorBitSize() / 32
	for i := 0; i < m; i++ {
		row := c[i*n : (i+1)*n]
		bv := simd.BroadcastFloat32s(bias[i])
		j := 0
		for ; j+v <= n; j += v {
			simd.LoadFloat32s(row[j:]).Add(bv).Store(row[j:])
		}
		for ; j < n; j++ {
			row[j] += bias[i]
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
