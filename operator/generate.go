// Package operator is KubeOpenCode's reference operator: a thin controller-runtime wiring of the
// api, podspec, credentials, policy and rbac modules. The binary lives in cmd/, the reconcilers in
// internal/, and the install manifests in config/.
//
// The RBAC manifests under config/rbac are not written by hand: `make generate` produces them with
// the rbac module's CLI, from the same Go rules the envtest RBAC proof exercises.
package operator

//go:generate go run -C ../rbac ./cmd/kubeopencode-rbac --output ../operator/config/rbac/role.yaml
//go:generate go run ./internal/cmd/genconfig
