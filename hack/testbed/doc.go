// Package testbed tells tests where the project's self-built Kubernetes lives.
//
// The binaries (etcd, kube-apiserver, kubelet, kwok, containerd, ...) are built from the Go module
// proxy by `make testbin` into a cache outside the clone, keyed by the versions in versions.env:
//
//	${KUBEOPENCODE_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/kubeopencode}/<versions>/bin
//
// Two tiers of tests use them:
//
//   - envtest (etcd + kube-apiserver only): call [EnvtestAssets] and give the directory to
//     envtest.Environment.BinaryAssetsDirectory;
//   - the local cluster (`make testbed-up`: control plane, a kwok fake node and a real kubelet
//     node): call [Kubeconfig].
//
// Both return an error that names the make target to run when the binaries or the cluster are
// missing, so a test fails with instructions instead of a timeout.
//
// This package depends on the standard library only, so any module may require it.
package testbed
