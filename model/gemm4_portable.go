//go:build goexperiment.simd && !wasm

package model

import (
	"simd"
	"unsafe"
)

// gemm4Cols is gemm4's tile width: 4 rows x 12 columns (three vectors).
const gemm4Cols = 12

// gemm4 is gemm for 128-bit vectors (natively: NEON, SSE-only amd64; rows of c ldc
// apart), without bias or epilogue (gemm applies them per panel).
func gemm4(ap []float32, m, n, k int, b []float32, offs []int32, c []float32, ldc int) {
	const v = 4
	bp := unsafe.Pointer(&b[0])
	offs = offs[:k]
	full := m / mr
	for p := 0; p < full; p++ {
		pa := ap[p*mr*k : (p+1)*mr*k]
		i0 := p * mr
		for j := 0; j+3*v <= n; j += 3 * v {
			var c00, c01, c02 simd.Float32s
			var c10, c11, c12 simd.Float32s
			var c20, c21, c22 simd.Float32s
			var c30, c31, c32 simd.Float32s
			ab := unsafe.Pointer(&pa[0])
			bj := unsafe.Add(bp, 4*j)
			for _, o := range offs {
				row := (*[3 * v]float32)(unsafe.Add(bj, 4*int(o)))
				b0 := simd.LoadFloat32s(row[:v])
				b1 := simd.LoadFloat32s(row[v : 2*v])
				b2 := simd.LoadFloat32s(row[2*v:])
				a := (*[mr]float32)(ab)
				// After the last step ab points at the mr floats of slack packA leaves
				// after every panel set (checkGemm), never past the allocation.
				ab = unsafe.Add(ab, 4*mr)
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
			r := c[i0*ldc+j:]
			c00.Store(r)
			c01.Store(r[v:])
			c02.Store(r[2*v:])
			r = c[(i0+1)*ldc+j:]
			c10.Store(r)
			c11.Store(r[v:])
			c12.Store(r[2*v:])
			r = c[(i0+2)*ldc+j:]
			c20.Store(r)
			c21.Store(r[v:])
			c22.Store(r[2*v:])
			r = c[(i0+3)*ldc+j:]
			c30.Store(r)
			c31.Store(r[v:])
			c32.Store(r[2*v:])
		}
	}
}

// gemm4x4 computes 4 columns (one vector) of m rows (whole panels) of gemm's product into
// c, rows 4 apart: gemm4Tail's kernel for tails of 4 or fewer columns.
func gemm4x4(ap []float32, m, k int, b []float32, offs []int32, c []float32) {
	offs = offs[:k]
	for p := 0; p < m/mr; p++ {
		pa := ap[p*mr*k : (p+1)*mr*k]
		var c0, c1, c2, c3 simd.Float32s
		for kk, o := range offs {
			b0 := simd.LoadFloat32s(b[o : o+4])
			a := pa[kk*mr : kk*mr+mr]
			c0 = simd.BroadcastFloat32s(a[0]).MulAdd(b0, c0)
			c1 = simd.BroadcastFloat32s(a[1]).MulAdd(b0, c1)
			c2 = simd.BroadcastFloat32s(a[2]).MulAdd(b0, c2)
			c3 = simd.BroadcastFloat32s(a[3]).MulAdd(b0, c3)
		}
		c0.Store(c[p*16:])
		c1.Store(c[p*16+4:])
		c2.Store(c[p*16+8:])
		c3.Store(c[p*16+12:])
	}
}

// gemm4Col computes column j of m rows (whole panels) of gemm's product straight into c
// (rows n apart), vectors down the column (see gemm4_wasm.go): gemm4Tail's kernel for
// tails of 1-3 columns.
func gemm4Col(ap []float32, m, n, k int, b []float32, offs []int32, c []float32, j int) {
	offs = offs[:k]
	b = b[j:]
	for p := 0; p < m/mr; p++ {
		pa := ap[p*mr*k : (p+1)*mr*k]
		var c0 simd.Float32s
		for kk, o := range offs {
			c0 = simd.LoadFloat32s(pa[kk*mr:kk*mr+mr]).MulAdd(simd.BroadcastFloat32s(b[o]), c0)
		}
		var t [mr]float32
		c0.Store(t[:])
		for r, v := range t {
			c[(p*mr+r)*n+j] = v
		}
	}
}

// gemm4Clamp is gemm4 followed by gemm's epilogue (bias, clamp to [lo, hi]) on its rows:
// the fused kernel is wasm's (gemm4_wasm.go), where the separate pass costs most.
func gemm4Clamp(ap []float32, m, n, k int, b []float32, offs []int32, c []float32, ldc int, bias []float32, lo, hi float32) {
	gemm4(ap, m, n, k, b, offs, c, ldc)
	for r := 0; r < m/mr*mr; r++ {
		row := c[r*ldc : r*ldc+n/gemm4Cols*gemm4Cols]
		biasClamp(row, row, at(bias, r), lo, hi)
	}
}
