//go:build tools

// Package tools pins the build tools the Makefile runs with `go run`/`go build` from this module,
// so every developer and CI use the same versions.
package tools

import (
	_ "honnef.co/go/tools/cmd/staticcheck"
	_ "sigs.k8s.io/controller-tools/cmd/controller-gen"
)
