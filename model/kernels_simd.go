//go:build goexperiment.simd

package model

import (
	"math"
	"simd"
)

// SIMD kernels on the portable simd package: SIMD128 in wasm, AVX2/AVX-512 or NEON natively
// (gemm4, the 128-bit GEMM, is in gemm4_wasm.go on simd/archsimd and gemm4_portable.go).
// The simd package cannot pass vectors through calls yet, so each kernel is one function
// with its register tile written out.

// gemmCols is the column count of gemm's register tile; convolutions size their rows so
// that the GEMM width is a multiple of it where that is cheap.
func gemmCols() int {
	if simd.VectorBitSize() == 128 {
		return gemm4Cols
	}
	return 3 * simd.VectorBitSize() / 32
}

// gemm: see gemmGeneric. The register tile is 4 rows x 3 vectors (12 accumulators; in wasm
// gemm4's is 4 x 2, see gemm4_wasm.go); column tails use one vector, then partial loads
// and stores. With 128-bit vectors (wasm, NEON, and SSE-only amd64) gemm4 reads B and the
// packed weights through fixed-size array pointers: in Go wasm the slice bounds checks and
// dynamic-length slices cost most of the time (measured in node 20, interleaved
// min-of-60, 32x576x288: 3.6 GMAC/s with unsafe.Slice, 8.8 with checked slices, 12.6 with
// array pointers). checkGemm verifies every bound up front, so the pointers stay inside b.
func gemm(ap []float32, m, n, k int, b []float32, offs []int32, c, bias []float32, lo, hi float32) {
	checkGemm(ap, m, n, k, b, offs, c, bias)
	if m == 0 || n == 0 || k == 0 {
		return
	}
	if simd.VectorBitSize() != 128 {
		gemmV(ap, m, n, k, b, offs, c, bias, lo, hi, 0)
		return
	}
	// With the portable package, Go's wasm code for gemm4's loop was sensitive to
	// everything around it (each simd op is a bridge call that V8 must inline). Measured
	// (node 20, interleaved min-of-60, 32x576x288, GMAC/s): conditional per-row stores
	// 10.1 -> 13.7 unconditional; a column-tail loop in the same function 13.2 -> 9.4;
	// accumulators initialised from the bias 14.7 -> 9.7; any call in the function
	// 13.5 -> 10.2. So gemm4 does full 4-row panels and full tiles only, with no calls;
	// the last partial panel goes to gemmV, the column tail to gemm4Tail (or gemmV).
	// gemm runs a block of panels at a time (about 64 KB of C, at most gemmBlockRows rows)
	// and applies the epilogue (bias, clamp) to the block's rows right after, while they
	// are in cache (a pass over all of C after the GEMM re-read 1.2 MB for the student's
	// 96x56x56 expansion, more than L2; a clamp inside gemm4 slowed its loop, see
	// gemm4_wasm.go). Blocks rather than single panels: on 7x7 maps the calls per panel
	// (gemm4, tail, epilogue) cost several percent.
	full := m / mr * mr
	tiles := n / gemm4Cols * gemm4Cols
	tail := tiles < n && gemm4TailFits(n, k, b, offs, tiles)
	epi := bias != nil || !math.IsInf(float64(lo), -1) || !math.IsInf(float64(hi), 1)
	// Relu and ReLU6 epilogues of small-k GEMMs run inside the kernel (gemm4Clamp).
	fuse := tiles == n && epi && k <= gemmFuseMaxK && lo >= 0 && !math.Signbit(float64(lo))
	if tiles == n && k*n > gemmColBlockMin {
		gemmColBlocks(ap, full, n, k, b, offs, c, bias, lo, hi, epi, fuse)
		if full < m {
			var bp []float32
			if bias != nil {
				bp = bias[full:]
			}
			gemmV(ap[full*k:], m-full, n, k, b, offs, c[full*n:], bp, lo, hi, 0)
		}
		return
	}
	block := min(max(16384/n/mr*mr, mr), gemmBlockRows)
	for p := 0; p < full; p += block {
		rows := min(block, full-p)
		pa, pc := ap[p*k:], c[p*n:(p+rows)*n]
		if fuse {
			var bp []float32
			if bias != nil {
				bp = bias[p : p+rows]
			}
			gemm4Clamp(pa, rows, n, k, b, offs, pc, n, bp, lo, hi)
			continue
		}
		gemm4(pa, rows, n, k, b, offs, pc, n)
		if tail {
			gemm4Tail(pa, rows, n, k, b, offs, pc, tiles)
		} else if tiles < n {
			gemmV(pa, rows, n, k, b, offs, pc, nil, float32(math.Inf(-1)), float32(math.Inf(1)), tiles)
		}
		if epi {
			var bp []float32
			if bias != nil {
				bp = bias[p : p+rows]
			}
			biasClampRows(pc, rows, n, bp, lo, hi)
		}
	}
	if full < m {
		var bp []float32
		if bias != nil {
			bp = bias[full:]
		}
		gemmV(ap[full*k:], m-full, n, k, b, offs, c[full*n:], bp, lo, hi, 0)
	}
}

// gemmV is gemm for any vector width, with checked slices, for columns j0..n-1.
func gemmV(ap []float32, m, n, k int, b []float32, offs []int32, c, bias []float32, lo, hi float32, j0 int) {
	v := simd.VectorBitSize() / 32
	offs = offs[:k]
	lv, hv := simd.BroadcastFloat32s(lo), simd.BroadcastFloat32s(hi)
	for p := 0; p*mr < m; p++ {
		pa := ap[p*mr*k : (p+1)*mr*k]
		rows := min(mr, m-p*mr)
		var bs [mr]float32
		if bias != nil {
			copy(bs[:rows], bias[p*mr:p*mr+rows])
		}
		i0 := p * mr
		j := j0
		for ; j+3*v <= n; j += 3 * v {
			c00, c01, c02 := simd.BroadcastFloat32s(bs[0]), simd.BroadcastFloat32s(bs[0]), simd.BroadcastFloat32s(bs[0])
			c10, c11, c12 := simd.BroadcastFloat32s(bs[1]), simd.BroadcastFloat32s(bs[1]), simd.BroadcastFloat32s(bs[1])
			c20, c21, c22 := simd.BroadcastFloat32s(bs[2]), simd.BroadcastFloat32s(bs[2]), simd.BroadcastFloat32s(bs[2])
			c30, c31, c32 := simd.BroadcastFloat32s(bs[3]), simd.BroadcastFloat32s(bs[3]), simd.BroadcastFloat32s(bs[3])
			for kk, o := range offs {
				row := b[int(o)+j : int(o)+j+3*v]
				b0 := simd.LoadFloat32s(row)
				b1 := simd.LoadFloat32s(row[v:])
				b2 := simd.LoadFloat32s(row[2*v:])
				a := pa[kk*mr : kk*mr+mr]
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
			r := c[i0*n+j:]
			c00.Max(lv).Min(hv).Store(r)
			c01.Max(lv).Min(hv).Store(r[v:])
			c02.Max(lv).Min(hv).Store(r[2*v:])
			if rows > 1 {
				r = c[(i0+1)*n+j:]
				c10.Max(lv).Min(hv).Store(r)
				c11.Max(lv).Min(hv).Store(r[v:])
				c12.Max(lv).Min(hv).Store(r[2*v:])
			}
			if rows > 2 {
				r = c[(i0+2)*n+j:]
				c20.Max(lv).Min(hv).Store(r)
				c21.Max(lv).Min(hv).Store(r[v:])
				c22.Max(lv).Min(hv).Store(r[2*v:])
			}
			if rows > 3 {
				r = c[(i0+3)*n+j:]
				c30.Max(lv).Min(hv).Store(r)
				c31.Max(lv).Min(hv).Store(r[v:])
				c32.Max(lv).Min(hv).Store(r[2*v:])
			}
		}
		for ; j < n; j += v {
			w := min(v, n-j)
			c0 := simd.BroadcastFloat32s(bs[0])
			c1 := simd.BroadcastFloat32s(bs[1])
			c2 := simd.BroadcastFloat32s(bs[2])
			c3 := simd.BroadcastFloat32s(bs[3])
			for kk, o := range offs {
				q := int(o) + j
				b0, _ := simd.LoadFloat32sPart(b[q : q+w])
				a := pa[kk*mr : kk*mr+mr]
				c0 = simd.BroadcastFloat32s(a[0]).MulAdd(b0, c0)
				c1 = simd.BroadcastFloat32s(a[1]).MulAdd(b0, c1)
				c2 = simd.BroadcastFloat32s(a[2]).MulAdd(b0, c2)
				c3 = simd.BroadcastFloat32s(a[3]).MulAdd(b0, c3)
			}
			c0.Max(lv).Min(hv).StorePart(c[i0*n+j : i0*n+j+w])
			if rows > 1 {
				c1.Max(lv).Min(hv).StorePart(c[(i0+1)*n+j : (i0+1)*n+j+w])
			}
			if rows > 2 {
				c2.Max(lv).Min(hv).StorePart(c[(i0+2)*n+j : (i0+2)*n+j+w])
			}
			if rows > 3 {
				c3.Max(lv).Min(hv).StorePart(c[(i0+3)*n+j : (i0+3)*n+j+w])
			}
		}
	}
}

// avgBytes: see avgBytesGeneric.
func avgBytes(dst, a, b []byte) {
	v := simd.VectorBitSize() / 8
	a, b = a[:len(dst)], b[:len(dst)]
	i := 0
	for ; i+v <= len(dst); i += v {
		simd.LoadUint8s(a[i:]).Average(simd.LoadUint8s(b[i:])).Store(dst[i:])
	}
	for ; i < len(dst); i++ {
		dst[i] = byte((uint16(a[i]) + uint16(b[i]) + 1) >> 1)
	}
}

// gemm4TailFits reports whether gemm4Tail may compute columns j0..n-1 (fewer than
// gemm4Cols): it computes them as a whole gemm4 tile, reading up to gemm4Cols-(n-j0)
// floats past each B row, so the last row's read must stay inside cap(b) (the plan's
// arenas leave that slack, see arenaSlack).
func gemm4TailFits(n, k int, b []float32, offs []int32, j0 int) bool {
	var maxOff int32
	for _, o := range offs[:k] {
		maxOff = max(maxOff, o)
	}
	w := n - j0
	return w > 0 && w < gemm4Cols && j0+int(maxOff)+gemm4Cols <= cap(b)
}

// A B of more than gemmColBlockMin floats (512 KB, about a core's L2) runs as column
// blocks (gemmColBlocks) of about gemmColBlockFloats (k rows of the block's columns), which
// stay in cache while every panel of A runs over them. Smaller Bs stay in L2 anyway: their
// column blocks measured 2-7% slower (node wasm, 24x4096 B, one run).
const (
	gemmColBlockMin    = 131072
	gemmColBlockFloats = 32768
)

// gemmColBlocks is gemm over whole tiles (n a multiple of gemm4Cols) and m whole panels,
// for a B of more than gemmColBlockMin: a block of columns at a time, every panel over
// it, so that the block's k x nb part of B stays in cache (row blocks streamed all of B
// once per 4 rows: the detector's 64x64 and 128x128 1x1 convolutions, B of 0.4-2.4 MB, ran
// at 6.3-7.8 GMAC/s in node wasm against 9-10 on its 32x32 maps). The epilogue runs on
// each panel's rows of the block right after them.
func gemmColBlocks(ap []float32, m, n, k int, b []float32, offs []int32, c, bias []float32, lo, hi float32, epi, fuse bool) {
	nb := max(gemmColBlockFloats/k/gemm4Cols*gemm4Cols, 4*gemm4Cols)
	for j0 := 0; j0 < n; j0 += nb {
		w := min(nb, n-j0)
		for p := 0; p < m; p += mr {
			if fuse {
				var bp []float32
				if bias != nil {
					bp = bias[p : p+mr]
				}
				gemm4Clamp(ap[p*k:], mr, w, k, b[j0:], offs, c[p*n+j0:], n, bp, lo, hi)
				continue
			}
			gemm4(ap[p*k:], mr, w, k, b[j0:], offs, c[p*n+j0:], n)
			if !epi {
				continue
			}
			for r := p; r < p+mr; r++ {
				row := c[r*n+j0 : r*n+j0+w]
				biasClamp(row, row, at(bias, r), lo, hi)
			}
		}
	}
}

// gemmFuseMaxK is the largest k whose Relu/ReLU6 epilogue gemm fuses into the kernel.
const gemmFuseMaxK = 64

// gemmBlockRows bounds the rows gemm runs per block (gemm4Tail's stack tile holds them).
const gemmBlockRows = 64

// gemm4Tail computes columns j0..n-1 of m rows (whole panels, at most gemmBlockRows) of
// gemm's product with gemm4 itself, as whole tiles into a stack buffer of which it keeps
// the n-j0 real columns (gemm4TailFits must hold). (On gemmV, one vector of partial loads
// through portable simd calls, the tail of a 7x7 map cost as much as the rest of its GEMM
// in wasm.) Tails of 4 columns run as one vector (gemm4x4); tails of 1-3 columns one
// column at a time down the rows (gemm4Col: on 7x7 maps, 49 = 6 tiles + 1, the one-vector
// tile spent 3/4 of its work on dropped columns, 1/7 of every 7x7 1x1 convolution).
func gemm4Tail(ap []float32, m, n, k int, b []float32, offs []int32, c []float32, j0 int) {
	if n-j0 < 4 {
		for j := j0; j < n; j++ {
			gemm4Col(ap, m, n, k, b, offs, c, j)
		}
		return
	}
	var tile [gemmBlockRows * gemm4Cols]float32
	tw := gemm4Cols
	if n-j0 <= 4 {
		tw = 4 // one vector (see gemm4x4)
		gemm4x4(ap, m, k, b[j0:cap(b)], offs, tile[:m*tw])
	} else {
		gemm4(ap, m, tw, k, b[j0:cap(b)], offs, tile[:m*tw], tw)
	}
	for r := 0; r < m; r++ {
		row := c[r*n+j0 : r*n+n]
		for j := range row {
			row[j] = tile[r*tw+j]
		}
	}
}
