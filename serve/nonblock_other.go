//go:build !unix

package serve

// openNonblock is 0 where there are no FIFOs to hang on (Windows, js/wasm in the Worker).
const openNonblock = 0
