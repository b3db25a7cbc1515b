//go:build !(goexperiment.simd && wasm)

package model

// qgemmOn says whether the plan runs exactly-int8 convolutions on the integer GEMM: only in
// SIMD wasm, where i32x4.dot_i16x8_s makes it faster than the float GEMM (natively the float
// kernels' FMA-free AVX2/AVX-512 tiles are not the bottleneck they are in wasm).
const qgemmOn = false

// run is runGeneric here (the tests' reference; plans never build a qgemm).
func (g *qgemm) run(n int, b []float32, offs []int32, c []float32, ldc int, bias []float32, lo, hi float32, scratch []float32, bound float32) {
	g.runGeneric(n, b, offs, c, ldc, bias, lo, hi, bound)
}

// inputAmaxV is inputAmax (the vector version is SIMD wasm's).
func inputAmaxV(n int, b []float32, offs []int32) float32 { return inputAmax(n, len(offs), b, offs) }

// addActAmax is addActAmaxGeneric (plans ask for it only where qgemmOn).
func addActAmax(dst, a, b []float32, relu bool) float32 { return addActAmaxGeneric(dst, a, b, relu) }
