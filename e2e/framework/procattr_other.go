//go:build !linux

package framework

import "syscall"

// childAttr has nothing to add outside Linux (the test bed needs Linux anyway).
func childAttr() *syscall.SysProcAttr { return nil }
