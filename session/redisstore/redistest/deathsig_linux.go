package redistest

import (
	"os/exec"
	"syscall"
)

// dieWithParent makes the kernel kill redis-server when the test process
// dies without running its cleanups (a test timeout, a crash, a kill).
// Strictly, the signal follows the OS thread that started the server; the
// Go runtime ends a thread only when a goroutine locked to it exits, which
// nothing in these tests does.
func dieWithParent(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
}
