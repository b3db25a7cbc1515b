//go:build unix

package main

import (
	"os/exec"
	"syscall"
)

// openNonblock lets opening a FIFO return at once (it is then refused as not regular).
const openNonblock = syscall.O_NONBLOCK

// ownProcessGroup starts cmd in a process group of its own and makes cancelling it kill the
// whole group, children included.
func ownProcessGroup(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error {
		if cmd.Process == nil {
			return nil
		}
		return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
	}
}
