// Package examples holds what a platform engineer copies: YAML manifests, one directory per
// scenario, each applied to a real API server by this package's tests so that no example rots,
// and the Sandbox controller (package sandbox), a third-party controller built on the libraries.
//
// Files generated from the libraries are written by `go generate` and compared with what the
// libraries render by TestGeneratedFilesAreCurrent (`go test -run Generated -update` rewrites
// them too).
package examples

//go:generate go run ./internal/cmd/generate-examples
