//go:build !unix

package main

import "os/exec"

// ownProcessGroup: elsewhere cancelling kills the wrangler process itself (exec's default).
func ownProcessGroup(cmd *exec.Cmd) {}
