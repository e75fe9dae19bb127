// Package controlplane is the one envtest helper of this repository: it starts etcd and
// kube-apiserver from the test-bed cache (hack/testbed, built by `make testbin`), installs CRDs,
// and hands tests an admin client and fresh namespaces. The operator's testenv adds only what is
// KubeOpenCode's (its CRDs and admission policies); examples and third-party-style controllers use
// this package as it is.
//
// A package's TestMain is one line:
//
//	func TestMain(m *testing.M) { os.Exit(controlplane.Run(m, controlplane.Options{}, &env, nil)) }
//
// When the binaries are missing, Start fails with the make target that builds them, so a test
// fails with instructions instead of a timeout.
package controlplane
