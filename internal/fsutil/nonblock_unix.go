//go:build unix

package fsutil

import "syscall"

// OpenNonblock, or-ed into os.OpenFile flags, makes opening a FIFO return at once instead of
// waiting for a writer; the file is then refused as not regular (OpenRegular, serve's store,
// publish's snapshot).
const OpenNonblock = syscall.O_NONBLOCK
