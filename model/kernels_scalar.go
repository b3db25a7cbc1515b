//go:build !goexperiment.simd

package model

// Without GOEXPERIMENT=simd the kernels are the portable references.

func gemmCols() int { return 1 }

func gemm(ap []float32, m, n, k int, b []float32, offs []int32, c, bias []float32, lo, hi float32) {
	gemmGeneric(ap, m, n, k, b, offs, c, bias, lo, hi)
}
func madd(dst, src []float32, w float32)               { maddGeneric(dst, src, w) }
func dot(a, b []float32) float32                       { return dotGeneric(a, b) }
func add(dst, a, b []float32)                          { addGeneric(dst, a, b) }
func relu(x []float32)                                 { reluGeneric(x) }
func scale(dst, src []float32, k float32)              { scaleGeneric(dst, src, k) }
func avgBytes(dst, a, b []byte)                        { avgBytesGeneric(dst, a, b) }
func biasAct(dst, src []float32, b float32, relu bool) { biasActGeneric(dst, src, b, relu) }
func addAct(dst, a, b []float32, relu bool)            { addActGeneric(dst, a, b, relu) }
func winoIn(v []float32, stride int, e, o []float32, pw2, nt int) {
	winoInGeneric(v, stride, e, o, pw2, nt)
}
func winoOut(out []float32, ow int, m []float32, stride, nt int, bias float32, relu bool) {
	winoOutGeneric(out, ow, m, stride, nt, bias, relu)
}
func sum(x []float32) float32                         { return sumGeneric(x) }
func deal(a, b, s []float32)                          { dealGeneric(a, b, s) }
func biasClamp(dst, src []float32, b, lo, hi float32) { biasClampGeneric(dst, src, b, lo, hi) }
func dw3x3(out []float32, nc, oh, ow int, ph []float32, plane, pws int, offs *[9]int32, w, bias []float32, lo, hi float32, tmp []float32) {
	checkDw3x3(out, nc, oh, ow, ph, plane, pws, offs, w, bias)
	dw3x3Scalar(out, nc, oh, ow, ph, plane, pws, offs, w, bias, lo, hi)
}
func dealRows(a, b []float32, dstride int, s []float32, sstride, rows, w int) {
	dealRowsGeneric(a, b, dstride, s, sstride, rows, w)
}
func biasClampRows(c []float32, rows, n int, bias []float32, lo, hi float32) {
	biasClampRowsGeneric(c, rows, n, bias, lo, hi)
}
