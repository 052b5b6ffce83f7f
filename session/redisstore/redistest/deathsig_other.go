//go:build !linux

package redistest

import "os/exec"

// dieWithParent does nothing here: t.Cleanup stops the server, but a test
// process that dies without cleaning up leaves it running.
func dieWithParent(*exec.Cmd) {}
