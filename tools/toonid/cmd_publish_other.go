//go:build !unix

package main

import "os/exec"

const openNonblock = 0

// ownProcessGroup: elsewhere cancelling kills the wrangler process itself (exec's default).
func ownProcessGroup(cmd *exec.Cmd) {}
