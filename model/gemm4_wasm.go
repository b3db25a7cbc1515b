//go:build goexperiment.simd && wasm

package model

import (
	"simd/archsimd"
	"unsafe"
)

// gemm4Cols is gemm4's tile width: 4 rows x 8 columns (two vectors).
const gemm4Cols = 8

// gemm4 is gemm for 128-bit vectors (rows of c ldc apart), written on simd/archsimd for wasm: in Go 1.27.3 each
// portable simd op compiles to a call into simd/internal/bridge with the vector passed as
// two int64 halves on the Go stack, and the kernel is only fast when V8 manages to inline
// all of them; archsimd's Float32x4 ops compile to inline f32x4 instructions on wasm
// locals (measured 14.3 vs 13.0 GMAC/s, same tile, same binary, node 20).
// The register tile is 4 rows x 2 vectors, one K step per iteration: 8 accumulators, 2 B
// vectors and a broadcast stay in Go's 16 wasm vector registers. The former 4 x 3 tile (12
// accumulators, four K steps per iteration so that its products were summed before the
// adds) still spilled about 11 accumulators and 11 products through the (linear-memory) Go
// stack per iteration (go build -gcflags=-S); measured in node 20 on the MobileNetV2
// student's GEMM shapes, interleaved min of 200 (on a loaded 2-core machine): 4x8 6.4-8.2
// GMAC/s, the 4x12 4.3-6.7, 4x8 with two K steps per iteration 5.2-7.4; then the weights
// as one vector per step (below): 5.8-7.5 -> 7.2-8.2 (same run; the B matrix packed into
// 8-column panels gained as much as that, before its packing pass). No bias or
// epilogue here: with a clamp on the accumulators before the stores the same loop ran
// 15-25% slower (V8 then keeps more values in the 16 xmm registers the tile needs); gemm
// applies them per panel instead, while the panel's rows are still in cache.
func gemm4(ap []float32, m, n, k int, b []float32, offs []int32, c []float32, ldc int) {
	const v = 4
	bp := unsafe.Pointer(&b[0])
	offs = offs[:k]
	full := m / mr
	for p := 0; p < full; p++ {
		pa := ap[p*mr*k : (p+1)*mr*k]
		i0 := p * mr
		for j := 0; j+2*v <= n; j += 2 * v {
			var c00, c01, c10, c11, c20, c21, c30, c31 archsimd.Float32x4
			ab := unsafe.Pointer(&pa[0])
			bj := unsafe.Add(bp, 4*j)
			for _, o := range offs {
				r0 := (*[2 * v]float32)(unsafe.Add(bj, 4*int(o)))
				// The step's 4 weights as one vector, each lane broadcast (extract_lane +
				// splat) instead of 4 scalar loads, each of which Go addresses with its own
				// i64 add.
				av := archsimd.LoadFloat32x4Array((*[mr]float32)(ab))
				// After the last step ab points at the mr floats of slack packA leaves
				// after every panel set (checkGemm), never past the allocation.
				ab = unsafe.Add(ab, 4*mr)
				b0 := archsimd.LoadFloat32x4Array((*[4]float32)(r0[0:4]))
				b1 := archsimd.LoadFloat32x4Array((*[4]float32)(r0[4:8]))
				a0 := archsimd.BroadcastFloat32x4(av.GetElem(0))
				c00 = c00.Add(a0.Mul(b0))
				c01 = c01.Add(a0.Mul(b1))
				a1 := archsimd.BroadcastFloat32x4(av.GetElem(1))
				c10 = c10.Add(a1.Mul(b0))
				c11 = c11.Add(a1.Mul(b1))
				a2 := archsimd.BroadcastFloat32x4(av.GetElem(2))
				c20 = c20.Add(a2.Mul(b0))
				c21 = c21.Add(a2.Mul(b1))
				a3 := archsimd.BroadcastFloat32x4(av.GetElem(3))
				c30 = c30.Add(a3.Mul(b0))
				c31 = c31.Add(a3.Mul(b1))
			}
			r := c[(i0+0)*ldc+j:]
			c00.Store(r)
			c01.Store(r[v:])
			r = c[(i0+1)*ldc+j:]
			c10.Store(r)
			c11.Store(r[v:])
			r = c[(i0+2)*ldc+j:]
			c20.Store(r)
			c21.Store(r[v:])
			r = c[(i0+3)*ldc+j:]
			c30.Store(r)
			c31.Store(r[v:])
		}
	}
}

// gemm4x4 computes 4 columns (one vector) of m rows (whole panels) of gemm's product into
// c, rows 4 apart: gemm4Tail's kernel for tails of 4 or fewer columns (Winograd on 6x6
// maps: 12 tiles, 8 + 4; on an 8-column tile those took 25% longer).
func gemm4x4(ap []float32, m, k int, b []float32, offs []int32, c []float32) {
	bp := unsafe.Pointer(&b[0])
	offs = offs[:k]
	for p := 0; p < m/mr; p++ {
		pa := ap[p*mr*k : (p+1)*mr*k]
		var c0, c1, c2, c3 archsimd.Float32x4
		ab := unsafe.Pointer(&pa[0])
		for _, o := range offs {
			b0 := archsimd.LoadFloat32x4Array((*[4]float32)(unsafe.Add(bp, 4*int(o))))
			av := archsimd.LoadFloat32x4Array((*[mr]float32)(ab))
			ab = unsafe.Add(ab, 4*mr) // see gemm4 for the slack after the last step
			c0 = c0.Add(archsimd.BroadcastFloat32x4(av.GetElem(0)).Mul(b0))
			c1 = c1.Add(archsimd.BroadcastFloat32x4(av.GetElem(1)).Mul(b0))
			c2 = c2.Add(archsimd.BroadcastFloat32x4(av.GetElem(2)).Mul(b0))
			c3 = c3.Add(archsimd.BroadcastFloat32x4(av.GetElem(3)).Mul(b0))
		}
		r := (*[16]float32)(c[p*16 : p*16+16])
		c0.StoreArray((*[4]float32)(r[0:4]))
		c1.StoreArray((*[4]float32)(r[4:8]))
		c2.StoreArray((*[4]float32)(r[8:12]))
		c3.StoreArray((*[4]float32)(r[12:16]))
	}
}

// gemm4Col computes column j of m rows (whole panels) of gemm's product straight into c
// (rows n apart): gemm4Tail's kernel for tails of 1-3 columns (49 = 6 tiles + 1 on 7x7
// maps), where a one-vector tile computes 4 columns to keep 1-3. Vectors run down the
// column instead: each packed panel's K step is already a vector of its 4 rows' weights,
// times the column's B sample broadcast, four panels per pass (4 accumulators).
func gemm4Col(ap []float32, m, n, k int, b []float32, offs []int32, c []float32, j int) {
	offs = offs[:k]
	b = b[j:]
	panels := m / mr
	ps := 4 * mr * k // bytes between panels
	p := 0
	for ; p+4 <= panels; p += 4 {
		var c0, c1, c2, c3 archsimd.Float32x4
		// After the last step ab points at the panel's last mr floats plus mr (the next
		// panel, or packA's slack after the last one): never past the allocation.
		ab := unsafe.Pointer(&ap[p*mr*k])
		for _, o := range offs {
			bv := archsimd.BroadcastFloat32x4(b[o])
			c0 = c0.Add(archsimd.LoadFloat32x4Array((*[mr]float32)(ab)).Mul(bv))
			c1 = c1.Add(archsimd.LoadFloat32x4Array((*[mr]float32)(unsafe.Add(ab, ps))).Mul(bv))
			c2 = c2.Add(archsimd.LoadFloat32x4Array((*[mr]float32)(unsafe.Add(ab, 2*ps))).Mul(bv))
			c3 = c3.Add(archsimd.LoadFloat32x4Array((*[mr]float32)(unsafe.Add(ab, 3*ps))).Mul(bv))
			ab = unsafe.Add(ab, 4*mr)
		}
		var t [16]float32
		c0.StoreArray((*[4]float32)(t[0:4]))
		c1.StoreArray((*[4]float32)(t[4:8]))
		c2.StoreArray((*[4]float32)(t[8:12]))
		c3.StoreArray((*[4]float32)(t[12:16]))
		for r, v := range t {
			c[(p*mr+r)*n+j] = v
		}
	}
	for ; p < panels; p++ {
		var c0 archsimd.Float32x4
		ab := unsafe.Pointer(&ap[p*mr*k])
		for _, o := range offs {
			c0 = c0.Add(archsimd.LoadFloat32x4Array((*[mr]float32)(ab)).Mul(archsimd.BroadcastFloat32x4(b[o])))
			ab = unsafe.Add(ab, 4*mr)
		}
		var t [4]float32
		c0.StoreArray(&t)
		for r, v := range t {
			c[(p*mr+r)*n+j] = v
		}
	}
}

// gemm4Clamp is gemm4 with gemm's epilogue fused for lo >= 0 (Relu, ReLU6): the
// accumulators start at the rows' biases (bias nil: 0) and are clamped, as int32 on the
// floats' bits (see clampRows), before the stores. For small k the separate epilogue
// pass over C cost about a quarter of the GEMM (the detector's 16 -> 96 1x1 convolution
// on 128x128: 16 multiply-adds per element of C; 3976 -> 3265 us fused, node wasm). gemm
// uses it for k <= gemmFuseMaxK only: gemm4's clamp-in-the-loop measurement (15-25% slower)
// was on the student's larger-k shapes, and at k = 64 the gain is down to 3%.
func gemm4Clamp(ap []float32, m, n, k int, b []float32, offs []int32, c []float32, ldc int, bias []float32, lo, hi float32) {
	const v = 4
	bp := unsafe.Pointer(&b[0])
	offs = offs[:k]
	lv, hv := archsimd.BroadcastFloat32x4(lo).ToBits().BitsToInt32(), archsimd.BroadcastFloat32x4(hi).ToBits().BitsToInt32()
	full := m / mr
	for p := 0; p < full; p++ {
		pa := ap[p*mr*k : (p+1)*mr*k]
		i0 := p * mr
		var bs [mr]float32
		if bias != nil {
			bs = [mr]float32(bias[i0 : i0+mr])
		}
		for j := 0; j+2*v <= n; j += 2 * v {
			c00 := archsimd.BroadcastFloat32x4(bs[0])
			c10 := archsimd.BroadcastFloat32x4(bs[1])
			c20 := archsimd.BroadcastFloat32x4(bs[2])
			c30 := archsimd.BroadcastFloat32x4(bs[3])
			c01, c11, c21, c31 := c00, c10, c20, c30
			ab := unsafe.Pointer(&pa[0])
			bj := unsafe.Add(bp, 4*j)
			for _, o := range offs {
				r0 := (*[2 * v]float32)(unsafe.Add(bj, 4*int(o)))
				av := archsimd.LoadFloat32x4Array((*[mr]float32)(ab))
				ab = unsafe.Add(ab, 4*mr) // see gemm4 for the slack after the last step
				b0 := archsimd.LoadFloat32x4Array((*[4]float32)(r0[0:4]))
				b1 := archsimd.LoadFloat32x4Array((*[4]float32)(r0[4:8]))
				a0 := archsimd.BroadcastFloat32x4(av.GetElem(0))
				c00 = c00.Add(a0.Mul(b0))
				c01 = c01.Add(a0.Mul(b1))
				a1 := archsimd.BroadcastFloat32x4(av.GetElem(1))
				c10 = c10.Add(a1.Mul(b0))
				c11 = c11.Add(a1.Mul(b1))
				a2 := archsimd.BroadcastFloat32x4(av.GetElem(2))
				c20 = c20.Add(a2.Mul(b0))
				c21 = c21.Add(a2.Mul(b1))
				a3 := archsimd.BroadcastFloat32x4(av.GetElem(3))
				c30 = c30.Add(a3.Mul(b0))
				c31 = c31.Add(a3.Mul(b1))
			}
			r := (*[2 * v]float32)(c[i0*ldc+j : i0*ldc+j+2*v])
			clampSt(c00, lv, hv, r[0:4])
			clampSt(c01, lv, hv, r[4:8])
			r = (*[2 * v]float32)(c[(i0+1)*ldc+j : (i0+1)*ldc+j+2*v])
			clampSt(c10, lv, hv, r[0:4])
			clampSt(c11, lv, hv, r[4:8])
			r = (*[2 * v]float32)(c[(i0+2)*ldc+j : (i0+2)*ldc+j+2*v])
			clampSt(c20, lv, hv, r[0:4])
			clampSt(c21, lv, hv, r[4:8])
			r = (*[2 * v]float32)(c[(i0+3)*ldc+j : (i0+3)*ldc+j+2*v])
			clampSt(c30, lv, hv, r[0:4])
			clampSt(c31, lv, hv, r[4:8])
		}
	}
}

// clampSt stores x clamped to [lo, hi] (int32 bounds of non-negative floats) into d.
func clampSt(x archsimd.Float32x4, lo, hi archsimd.Int32x4, d []float32) {
	x.ToBits().BitsToInt32().Max(lo).Min(hi).ToBits().BitsToFloat32().StoreArray((*[4]float32)(d))
}
