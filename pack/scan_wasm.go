//go:build wasm && !goexperiment.simd

package pack

// scan is scan4 in wasm without SIMD, where it is 1.5-1.9x faster than scan1 (pack/BENCHMARKS.md).
func scan(s *Shard, q []float32, mp []int32, t *topK) { scan4(s, q, mp, t) }
