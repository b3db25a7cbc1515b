//go:build !wasm

package pack

// scan is scan1 natively, where four-row blocking is slower (pack/BENCHMARKS.md).
func scan(s *Shard, q []float32, mp []int32, t *topK) { scan1(s, q, mp, t) }
