//go:build !goexperiment.simd

package model

// Without GOEXPERIMENT=simd the kernels are the portable references.

const simdKernels = false

func gemm(ap []float32, m, n, k int, b, c, bias []float32) { gemmGeneric(ap, m, n, k, b, c, bias) }
func madd(dst, src []float32, w float32)                   { maddGeneric(dst, src, w) }
func dot(a, b []float32) float32                           { return dotGeneric(a, b) }
