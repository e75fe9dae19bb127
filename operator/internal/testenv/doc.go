// Package testenv is the KubeOpenCode layer over the repository's one envtest helper
// (hack/controlplane): it starts a control plane with the kubeopencode.io CRDs embedded in the api
// module and installs the admission policies operator/config/policy ships. Use one environment
// per package, from TestMain, and one namespace per test (Env.Namespace), so tests stay
// independent without paying for a control plane each.
package testenv
