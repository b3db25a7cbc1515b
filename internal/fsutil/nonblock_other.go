//go:build !unix

package fsutil

// OpenNonblock is 0 where opening a named pipe does not wait for a writer (Windows, js/wasm in
// the Worker).
const OpenNonblock = 0
