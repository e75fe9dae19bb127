// Package testenv starts one envtest control plane (etcd + kube-apiserver built by `make testbin`)
// for a test package and hands out clients. Use one environment per package, from TestMain, and
// one namespace per test, so tests stay independent without paying for a control plane each.
package testenv
