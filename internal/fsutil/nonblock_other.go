//go:build !unix

package fsutil

// openNonblock is 0 where opening a named pipe does not wait for a writer.
const openNonblock = 0
