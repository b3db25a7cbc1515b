// Package memtest measures what code allocates, for tests that bound memory by counts rather
// than by timings (a hostile input must be refused before it costs its claimed size).
package memtest

import "runtime"

// Allocated returns the bytes f allocates (runtime.MemStats.TotalAlloc, every goroutine: bounds
// on it must leave room for noise; the failures they catch are hundreds of MB).
func Allocated(f func()) uint64 {
	var a, b runtime.MemStats
	runtime.ReadMemStats(&a)
	f()
	runtime.ReadMemStats(&b)
	return b.TotalAlloc - a.TotalAlloc
}
