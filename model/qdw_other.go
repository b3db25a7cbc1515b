//go:build !(goexperiment.simd && wasm)

package model

// run is runGeneric outside SIMD wasm (the tests' reference; plans build a qdw only where
// qgemmOn).
func (d *qdw) run(src, dst, bias []float32, lo, hi, bound float32, scratch []float32) {
	d.runGeneric(src, dst, bias, lo, hi, bound)
}
