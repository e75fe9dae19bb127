package framework

import "syscall"

// childAttr makes the kernel kill the operator when the test binary dies without running its
// cleanups (a `go test -timeout` panic, a SIGKILL), so no operator outlives the suite and keeps
// calling a test bed that is being torn down.
func childAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
}
