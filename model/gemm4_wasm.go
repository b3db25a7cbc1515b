//go:build goexperiment.simd && wasm

package model

import (
	"simd/archsimd"
	"unsafe"
)

// gemm4 is gemm for 128-bit vectors, written on simd/archsimd for wasm: in Go 1.27.3 each
// portable simd op compiles to a call into simd/internal/bridge with the vector passed as
// two int64 halves on the Go stack, and the kernel is only fast when V8 manages to inline
// all of them; archsimd's Float32x4 ops compile to inline f32x4 instructions on wasm
// locals (measured 14.3 vs 13.0 GMAC/s, same tile, same binary, node 20).
func gemm4(ap []float32, m, n, k int, b []float32, offs []int32, c []float32) {
	const v = 4
	bp := unsafe.Pointer(&b[0])
	offs = offs[:k]
	full := m / mr
	for p := 0; p < full; p++ {
		pa := ap[p*mr*k : (p+1)*mr*k]
		i0 := p * mr
		for j := 0; j+3*v <= n; j += 3 * v {
			var c00, c01, c02 archsimd.Float32x4
			var c10, c11, c12 archsimd.Float32x4
			var c20, c21, c22 archsimd.Float32x4
			var c30, c31, c32 archsimd.Float32x4
			ab := unsafe.Pointer(&pa[0])
			bj := unsafe.Add(bp, 4*j)
			for _, o := range offs {
				row := (*[3 * v]float32)(unsafe.Add(bj, 4*int(o)))
				b0 := archsimd.LoadFloat32x4Array((*[4]float32)(row[0:4]))
				b1 := archsimd.LoadFloat32x4Array((*[4]float32)(row[4:8]))
				b2 := archsimd.LoadFloat32x4Array((*[4]float32)(row[8:12]))
				a := (*[mr]float32)(ab)
				// After the last step ab points at the mr floats of slack packA leaves
				// after every panel set (checkGemm), never past the allocation.
				ab = unsafe.Add(ab, 4*mr)
				a0 := archsimd.BroadcastFloat32x4(a[0])
				c00 = a0.Mul(b0).Add(c00)
				c01 = a0.Mul(b1).Add(c01)
				c02 = a0.Mul(b2).Add(c02)
				a1 := archsimd.BroadcastFloat32x4(a[1])
				c10 = a1.Mul(b0).Add(c10)
				c11 = a1.Mul(b1).Add(c11)
				c12 = a1.Mul(b2).Add(c12)
				a2 := archsimd.BroadcastFloat32x4(a[2])
				c20 = a2.Mul(b0).Add(c20)
				c21 = a2.Mul(b1).Add(c21)
				c22 = a2.Mul(b2).Add(c22)
				a3 := archsimd.BroadcastFloat32x4(a[3])
				c30 = a3.Mul(b0).Add(c30)
				c31 = a3.Mul(b1).Add(c31)
				c32 = a3.Mul(b2).Add(c32)
			}
			r := c[i0*n+j:]
			c00.Store(r)
			c01.Store(r[v:])
			c02.Store(r[2*v:])
			r = c[(i0+1)*n+j:]
			c10.Store(r)
			c11.Store(r[v:])
			c12.Store(r[2*v:])
			r = c[(i0+2)*n+j:]
			c20.Store(r)
			c21.Store(r[v:])
			c22.Store(r[2*v:])
			r = c[(i0+3)*n+j:]
			c30.Store(r)
			c31.Store(r[v:])
			c32.Store(r[2*v:])
		}
	}
}
