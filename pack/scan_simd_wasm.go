//go:build wasm && goexperiment.simd

package pack

import (
	"math"
	"simd/archsimd"
	"unsafe"
)

// scan in the SIMD wasm build: the query is quantised to int16 (error <= 1/65534 of its largest
// component) and each row is an int8 x int16 dot product in wasm SIMD128 via simd/archsimd, whose ops
// compile to inline instructions on wasm (the portable simd package's are calls; see model/README).
// Products fit int32: |sum| <= 4096 * 127 * 32767 < 2^31 for dim <= 4096.
func scan(s *Shard, q []float32, mp []int32, t *topK) {
	d := s.Dim
	if d%16 != 0 {
		scan4(s, q, mp, t)
		return
	}
	var m float32
	for _, x := range q[:d] {
		m = max(m, float32(math.Abs(float64(x))))
	}
	if m == 0 {
		return
	}
	qs := m / 32767
	off := s.centreDot(q)
	qv := make([]archsimd.Int16x8, d/8)
	var tmp [8]int16
	for i := range qv {
		for k := range tmp {
			tmp[k] = int16(math.Round(float64(q[i*8+k] / qs)))
		}
		qv[i] = archsimd.LoadInt16x8Array(&tmp)
	}
	base := unsafe.Pointer(unsafe.SliceData(s.Data))
	qp := unsafe.Pointer(unsafe.SliceData(qv))
	n16 := d / 16
	n := s.Len()
	r := 0
	// Four rows per pass: each query vector loaded once serves all four.
	for ; r+4 <= n; r += 4 {
		rp := unsafe.Add(base, r*d)
		var a0, a1, b0, b1, c0, c1, e0, e1 archsimd.Int32x4
		for i := 0; i < n16; i++ {
			qq := (*[2]archsimd.Int16x8)(unsafe.Add(qp, 32*i))
			q0, q1 := qq[0], qq[1]
			p := unsafe.Add(rp, 16*i)
			v := archsimd.LoadInt8x16Array((*[16]int8)(p))
			w := archsimd.LoadInt8x16Array((*[16]int8)(unsafe.Add(p, d)))
			x := archsimd.LoadInt8x16Array((*[16]int8)(unsafe.Add(p, 2*d)))
			y := archsimd.LoadInt8x16Array((*[16]int8)(unsafe.Add(p, 3*d)))
			vl, vh := v.ExtendLo8ToInt16(), v.ExtendHi8ToInt16()
			a0 = a0.Add(vl.MulWidenLo(q0)).Add(vh.MulWidenLo(q1))
			a1 = a1.Add(vl.MulWidenHi(q0)).Add(vh.MulWidenHi(q1))
			wl, wh := w.ExtendLo8ToInt16(), w.ExtendHi8ToInt16()
			b0 = b0.Add(wl.MulWidenLo(q0)).Add(wh.MulWidenLo(q1))
			b1 = b1.Add(wl.MulWidenHi(q0)).Add(wh.MulWidenHi(q1))
			xl, xh := x.ExtendLo8ToInt16(), x.ExtendHi8ToInt16()
			c0 = c0.Add(xl.MulWidenLo(q0)).Add(xh.MulWidenLo(q1))
			c1 = c1.Add(xl.MulWidenHi(q0)).Add(xh.MulWidenHi(q1))
			yl, yh := y.ExtendLo8ToInt16(), y.ExtendHi8ToInt16()
			e0 = e0.Add(yl.MulWidenLo(q0)).Add(yh.MulWidenLo(q1))
			e1 = e1.Add(yl.MulWidenHi(q0)).Add(yh.MulWidenHi(q1))
		}
		for k, acc := range [4]archsimd.Int32x4{a0.Add(a1), b0.Add(b1), c0.Add(c1), e0.Add(e1)} {
			sum := acc.GetElem(0) + acc.GetElem(1) + acc.GetElem(2) + acc.GetElem(3)
			if v := off + s.Scales[r+k]*qs*float32(sum); v > t.min {
				t.offer(mp[s.Labels[r+k]], v)
			}
		}
	}
	for ; r < n; r++ {
		if v := off + s.Scales[r]*dotInt8(s.Data[r*d:(r+1)*d], q); v > t.min {
			t.offer(mp[s.Labels[r]], v)
		}
	}
}
