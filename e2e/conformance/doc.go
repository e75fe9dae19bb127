// Package conformance proves that the Pods the podspec and credentials libraries and taskpod
// produce pass Pod Security Standards "restricted" (threat T8), by evaluating every Pod golden of
// those modules with the upstream evaluator, k8s.io/pod-security-admission/policy — not with
// hand-written rules.
//
// The evaluator is a heavy dependency, so it lives here, in the e2e module, and the two libraries
// stay free of it. The tests read the goldens relative to their working directory
// (../../podspec/testdata, ../../credentials/testdata, ../../taskpod/testdata), so `go test` must
// run from this directory (as it does by default).
package conformance
