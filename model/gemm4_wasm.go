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
// The K loop takes four steps per iteration and sums each accumulator's four products
// before the one add into it. Go's wasm backend has 16 vector registers and its scheduler
// places values without in-block uses (the adds into loop-carried accumulators) at the end
// of the loop body, so with one step per iteration the 12 products and 12 accumulators
// were live together and 6 vectors went through the (linear-memory) Go stack per step;
// now that traffic is paid once per four steps (measured in node 20, same binary,
// interleaved: 10.5-11.8 -> 11.6-13.6 GMAC/s on the shipped net's GEMM shapes).
func gemm4(ap []float32, m, n, k int, b []float32, offs []int32, c []float32) {
	const v = 4
	bp := unsafe.Pointer(&b[0])
	offs = offs[:k]
	ku := k / 4 * 4
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
			for kk := 0; kk < ku; kk += 4 {
				o := offs[kk : kk+4 : kk+4]
				r0 := (*[3 * v]float32)(unsafe.Add(bj, 4*int(o[0])))
				r1 := (*[3 * v]float32)(unsafe.Add(bj, 4*int(o[1])))
				r2 := (*[3 * v]float32)(unsafe.Add(bj, 4*int(o[2])))
				r3 := (*[3 * v]float32)(unsafe.Add(bj, 4*int(o[3])))
				a := (*[4 * mr]float32)(ab)
				ab = unsafe.Add(ab, 4*4*mr) // see the tail loop

				b00 := archsimd.LoadFloat32x4Array((*[4]float32)(r0[0:4]))
				b10 := archsimd.LoadFloat32x4Array((*[4]float32)(r1[0:4]))
				b20 := archsimd.LoadFloat32x4Array((*[4]float32)(r2[0:4]))
				b30 := archsimd.LoadFloat32x4Array((*[4]float32)(r3[0:4]))
				b01 := archsimd.LoadFloat32x4Array((*[4]float32)(r0[4:8]))
				b11 := archsimd.LoadFloat32x4Array((*[4]float32)(r1[4:8]))
				b21 := archsimd.LoadFloat32x4Array((*[4]float32)(r2[4:8]))
				b31 := archsimd.LoadFloat32x4Array((*[4]float32)(r3[4:8]))
				b02 := archsimd.LoadFloat32x4Array((*[4]float32)(r0[8:12]))
				b12 := archsimd.LoadFloat32x4Array((*[4]float32)(r1[8:12]))
				b22 := archsimd.LoadFloat32x4Array((*[4]float32)(r2[8:12]))
				b32 := archsimd.LoadFloat32x4Array((*[4]float32)(r3[8:12]))
				a00 := archsimd.BroadcastFloat32x4(a[0])
				a01 := archsimd.BroadcastFloat32x4(a[4])
				a02 := archsimd.BroadcastFloat32x4(a[8])
				a03 := archsimd.BroadcastFloat32x4(a[12])
				c00 = c00.Add(a00.Mul(b00).Add(a01.Mul(b10).Add(a02.Mul(b20).Add(a03.Mul(b30)))))
				c01 = c01.Add(a00.Mul(b01).Add(a01.Mul(b11).Add(a02.Mul(b21).Add(a03.Mul(b31)))))
				c02 = c02.Add(a00.Mul(b02).Add(a01.Mul(b12).Add(a02.Mul(b22).Add(a03.Mul(b32)))))
				a10 := archsimd.BroadcastFloat32x4(a[1])
				a11 := archsimd.BroadcastFloat32x4(a[5])
				a12 := archsimd.BroadcastFloat32x4(a[9])
				a13 := archsimd.BroadcastFloat32x4(a[13])
				c10 = c10.Add(a10.Mul(b00).Add(a11.Mul(b10).Add(a12.Mul(b20).Add(a13.Mul(b30)))))
				c11 = c11.Add(a10.Mul(b01).Add(a11.Mul(b11).Add(a12.Mul(b21).Add(a13.Mul(b31)))))
				c12 = c12.Add(a10.Mul(b02).Add(a11.Mul(b12).Add(a12.Mul(b22).Add(a13.Mul(b32)))))
				a20 := archsimd.BroadcastFloat32x4(a[2])
				a21 := archsimd.BroadcastFloat32x4(a[6])
				a22 := archsimd.BroadcastFloat32x4(a[10])
				a23 := archsimd.BroadcastFloat32x4(a[14])
				c20 = c20.Add(a20.Mul(b00).Add(a21.Mul(b10).Add(a22.Mul(b20).Add(a23.Mul(b30)))))
				c21 = c21.Add(a20.Mul(b01).Add(a21.Mul(b11).Add(a22.Mul(b21).Add(a23.Mul(b31)))))
				c22 = c22.Add(a20.Mul(b02).Add(a21.Mul(b12).Add(a22.Mul(b22).Add(a23.Mul(b32)))))
				a30 := archsimd.BroadcastFloat32x4(a[3])
				a31 := archsimd.BroadcastFloat32x4(a[7])
				a32 := archsimd.BroadcastFloat32x4(a[11])
				a33 := archsimd.BroadcastFloat32x4(a[15])
				c30 = c30.Add(a30.Mul(b00).Add(a31.Mul(b10).Add(a32.Mul(b20).Add(a33.Mul(b30)))))
				c31 = c31.Add(a30.Mul(b01).Add(a31.Mul(b11).Add(a32.Mul(b21).Add(a33.Mul(b31)))))
				c32 = c32.Add(a30.Mul(b02).Add(a31.Mul(b12).Add(a32.Mul(b22).Add(a33.Mul(b32)))))
			}
			for _, o := range offs[ku:] {
				r0 := (*[3 * v]float32)(unsafe.Add(bj, 4*int(o)))
				a := (*[1 * mr]float32)(ab)
				// After the last step ab points at the mr floats of slack packA leaves
				// after every panel set (checkGemm), never past the allocation.
				ab = unsafe.Add(ab, 4*1*mr)
				b00 := archsimd.LoadFloat32x4Array((*[4]float32)(r0[0:4]))
				b01 := archsimd.LoadFloat32x4Array((*[4]float32)(r0[4:8]))
				b02 := archsimd.LoadFloat32x4Array((*[4]float32)(r0[8:12]))
				a00 := archsimd.BroadcastFloat32x4(a[0])
				c00 = c00.Add(a00.Mul(b00))
				c01 = c01.Add(a00.Mul(b01))
				c02 = c02.Add(a00.Mul(b02))
				a10 := archsimd.BroadcastFloat32x4(a[1])
				c10 = c10.Add(a10.Mul(b00))
				c11 = c11.Add(a10.Mul(b01))
				c12 = c12.Add(a10.Mul(b02))
				a20 := archsimd.BroadcastFloat32x4(a[2])
				c20 = c20.Add(a20.Mul(b00))
				c21 = c21.Add(a20.Mul(b01))
				c22 = c22.Add(a20.Mul(b02))
				a30 := archsimd.BroadcastFloat32x4(a[3])
				c30 = c30.Add(a30.Mul(b00))
				c31 = c31.Add(a30.Mul(b01))
				c32 = c32.Add(a30.Mul(b02))
			}
			r0 := c[(i0+0)*n+j:]
			c00.Store(r0[0*v:])
			c01.Store(r0[1*v:])
			c02.Store(r0[2*v:])
			r1 := c[(i0+1)*n+j:]
			c10.Store(r1[0*v:])
			c11.Store(r1[1*v:])
			c12.Store(r1[2*v:])
			r2 := c[(i0+2)*n+j:]
			c20.Store(r2[0*v:])
			c21.Store(r2[1*v:])
			c22.Store(r2[2*v:])
			r3 := c[(i0+3)*n+j:]
			c30.Store(r3[0*v:])
			c31.Store(r3[1*v:])
			c32.Store(r3[2*v:])
		}
	}
}
