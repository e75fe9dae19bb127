// Package tests is the end-to-end suite. It runs against the local test bed (`make test-e2e`
// brings it up: a control plane, a kwok fake node and a real kubelet node) and is compiled only
// with the e2e build tag, so `go test ./...` in this module runs the unit tests alone.
package tests
