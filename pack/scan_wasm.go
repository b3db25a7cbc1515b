//go:build wasm

package pack

// scan is scan4 in wasm, where it is 1.5x faster (pack/BENCHMARKS.md).
func scan(s *Shard, q []float32, mp []int32, t *topK) { scan4(s, q, mp, t) }
