//go:build unix

package serve

import "syscall"

// openNonblock makes opening a FIFO return at once instead of waiting for a writer; the file
// is then refused for not being regular. Reads from regular files ignore the flag.
const openNonblock = syscall.O_NONBLOCK
