//go:build goexperiment.simd && wasm

package model

import (
	"math"
	"simd/archsimd"
	"unsafe"
)

// qgemmOn says whether the plan runs exactly-int8 convolutions on the integer GEMM.
const qgemmOn = true

//go:noescape
func qdotPanel(a, b, c unsafe.Pointer, kp, tiles, ldb, ldc int)

// The epilogue's vector loops (qgemm_wasm.s).
//
//go:noescape
func qepiClamp(acc, dst unsafe.Pointer, n4 int, rs, b float32, lo, hi int32)

//go:noescape
func qepiNone(acc, dst unsafe.Pointer, n4 int, rs, b float32)

//go:noescape
func qepiFloat(acc, dst unsafe.Pointer, n4 int, rs, b, lo, hi float32)

// run computes what runGeneric does (bit for bit: the sums are exact and the epilogue's float
// operations are the same), into c's m rows of n columns, ldc apart; scratch holds at least
// scratchLen(n) floats. Every loop walks pointers inside slices whose bounds run checks up
// front: per-element bounds checks cost Go wasm more than the quantisation itself.
func (g *qgemm) run(n int, b []float32, offs []int32, c []float32, ldc int, bias []float32, lo, hi float32, scratch []float32, bound float32) {
	if g.m == 0 || n == 0 {
		return
	}
	offs = offs[:g.k]
	for _, o := range offs {
		_ = b[o : int(o)+n]
	}
	_ = c[(g.m-1)*ldc : (g.m-1)*ldc+n]
	if bound == 0 {
		bound = inputAmaxV(n, b, offs)
	}
	inv, s, ok := g.scales(bound)
	if !ok {
		qgemmNaN(g.m, n, c, ldc)
		return
	}
	if bias != nil {
		_ = bias[g.m-1]
	}
	nb := g.blockCols(n)
	sc := int32s(scratch[:g.scratchLen(n)])
	bq, tile := sc[:g.kp*nb], sc[g.kp*nb:]
	panels := (g.m + mr - 1) / mr
	for j0 := 0; j0 < n; j0 += nb {
		w := min(nb, n-j0)
		wt := (w + 7) / 8 * 8
		g.pack(bq, nb, w, wt, b, offs, j0, inv)
		for p := 0; p < panels; p++ {
			qdotPanel(unsafe.Pointer(&g.a[p*g.kp*mr*2]), unsafe.Pointer(&bq[0]), unsafe.Pointer(&tile[0]), g.kp, wt/8, 4*nb, 4*nb)
			for r := 0; r < min(mr, g.m-p*mr); r++ {
				i := p*mr + r
				qEpilogue(c[i*ldc+j0:i*ldc+j0+w], tile[r*nb:r*nb+w], s*g.scale[i], at(bias, i), lo, hi)
			}
		}
	}
}

// qEpilogue computes dst[j] = clamp(float32(acc[j])*rs + b, lo, hi) (len(acc) >= len(dst)).
// As in clampRows, lo >= 0 clamps on the bits as int32 (NaN excepted, the same results as
// clamp), and no activation skips the clamp (clamp is then the identity, NaN included).
func qEpilogue(dst []float32, acc []int32, rs, b, lo, hi float32) {
	n := len(dst)
	acc = acc[:n]
	if n < 4 {
		for j := range dst {
			dst[j] = clamp(float32(acc[j])*rs+b, lo, hi)
		}
		return
	}
	ap, dp := unsafe.Pointer(unsafe.SliceData(acc)), unsafe.Pointer(unsafe.SliceData(dst))
	epi := func(a, d unsafe.Pointer, n4 int) {
		switch {
		case lo >= 0 && !math.Signbit(float64(lo)):
			qepiClamp(a, d, n4, rs, b, int32(math.Float32bits(lo)), int32(math.Float32bits(hi)))
		case math.IsInf(float64(lo), -1) && math.IsInf(float64(hi), 1):
			qepiNone(a, d, n4, rs, b)
		default:
			qepiFloat(a, d, n4, rs, b, lo, hi)
		}
	}
	epi(ap, dp, n/4)
	if n%4 != 0 {
		// The tail as the last 4 elements again (dst and acc never overlap): scalar tails
		// were 2% of the embedder's pass (49 columns at 7x7).
		epi(unsafe.Add(ap, 4*(n-4)), unsafe.Add(dp, 4*(n-4)), 1)
	}
}

//go:noescape
func addMax(dst, a, b unsafe.Pointer, n4, relu int, out unsafe.Pointer)

// addActAmax: see addActAmaxGeneric. Whole vectors in assembly (addMax), the tail here.
func addActAmax(dst, a, b []float32, relu bool) float32 {
	n := len(dst)
	a, b = a[:n], b[:n]
	var m float32
	if n4 := n / 4; n4 > 0 {
		var lanes [4]float32
		r := 0
		if relu {
			r = 1
		}
		addMax(unsafe.Pointer(&dst[0]), unsafe.Pointer(&a[0]), unsafe.Pointer(&b[0]), n4, r, unsafe.Pointer(&lanes))
		m = max(lanes[0], lanes[1], lanes[2], lanes[3])
	}
	t := n / 4 * 4
	addActGeneric(dst[t:], a[t:], b[t:], relu)
	return max(m, maxAbs(dst[t:]))
}

//go:noescape
func qpackPairs(b, offs, dst unsafe.Pointer, pairs, n4, dstride int, inv float32)

// pack quantises columns j0..j0+w-1 of the k input rows into bq (kp rows of nb pairs: row q
// holds, per column, input rows 2q and 2q+1 as the low and high int16 of one int32), zero
// from column w to wt. The full pairs run in assembly (qpackPairs; the embedder's pass, whose
// 3x3 convolutions pack 9 rows per input channel, went from 6.1-6.3 to 5.9-6.0 ms in node 20
// so), a column tail as the last 4 columns again; an odd k's last row, and blocks narrower
// than 4 columns, here.
func (g *qgemm) pack(bq []int32, nb, w, wt int, b []float32, offs []int32, j0 int, inv float32) {
	pairs, n4 := g.k/2, w/4
	if pairs > 0 && n4 > 0 {
		for _, o := range offs[:2*pairs] {
			_ = b[int(o)+j0 : int(o)+j0+w]
		}
		_ = bq[(pairs-1)*nb+4*n4-1]
		qpackPairs(unsafe.Pointer(&b[j0]), unsafe.Pointer(&offs[0]), unsafe.Pointer(&bq[0]), pairs, n4, 4*nb, inv)
		if w%4 != 0 {
			// The columns' tail as the last 4 columns again, as in qEpilogue.
			qpackPairs(unsafe.Pointer(&b[j0+w-4]), unsafe.Pointer(&offs[0]), unsafe.Pointer(&bq[w-4]), pairs, 1, 4*nb, inv)
		}
	}
	iv := archsimd.BroadcastFloat32x4(inv)
	mask := archsimd.BroadcastInt32x4(0xffff)
	for q := 0; q < g.kp; q++ {
		dst := bq[q*nb : q*nb+wt]
		x0 := b[int(offs[2*q])+j0 : int(offs[2*q])+j0+w]
		j := 0
		if 2*q+1 < g.k {
			if n4 > 0 {
				j = w // all of it above
			}
			x1 := b[int(offs[2*q+1])+j0 : int(offs[2*q+1])+j0+w]
			for ; j < w; j++ {
				dst[j] = int32(uint16(quantise(x0[j], inv))) | quantise(x1[j], inv)<<16
			}
		} else {
			dp, p0 := unsafe.Pointer(unsafe.SliceData(dst)), unsafe.Pointer(unsafe.SliceData(x0))
			for ; j+4 <= w; j += 4 {
				q0 := archsimd.LoadFloat32x4Array((*[4]float32)(unsafe.Add(p0, 4*j))).Mul(iv).Round().ConvertToInt32().And(mask)
				q0.StoreArray((*[4]int32)(unsafe.Add(dp, 4*j)))
			}
			for ; j < w; j++ {
				dst[j] = int32(uint16(quantise(x0[j], inv)))
			}
		}
		for ; j < wt; j++ {
			dst[j] = 0
		}
	}
}

// inputAmaxV is inputAmax on vectors.
func inputAmaxV(n int, b []float32, offs []int32) float32 {
	var m0, m1 archsimd.Float32x4
	var amax float32
	for _, o := range offs {
		row := b[o : int(o)+n]
		p := unsafe.Pointer(unsafe.SliceData(row))
		j := 0
		for ; j+8 <= n; j += 8 {
			m0 = m0.Max(archsimd.LoadFloat32x4Array((*[4]float32)(unsafe.Add(p, 4*j))).Abs())
			m1 = m1.Max(archsimd.LoadFloat32x4Array((*[4]float32)(unsafe.Add(p, 4*j+16))).Abs())
		}
		for ; j < n; j++ {
			amax = max(amax, float32(math.Abs(float64(row[j]))))
		}
	}
	m0 = m0.Max(m1)
	for l := uint8(0); l < 4; l++ {
		amax = max(amax, m0.GetElem(l))
	}
	return amax
}
