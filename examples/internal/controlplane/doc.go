// Package controlplane starts an envtest control plane (etcd and kube-apiserver from the test-bed
// cache, found by hack/testbed) for the tests of this module, one per test package.
//
// It is the examples module's own small counterpart of the operator's internal testenv, which Go
// forbids importing from another module. It installs the CRDs it is given and nothing else, so
// the Sandbox controller's tests run without the kubeopencode.io API.
package controlplane
