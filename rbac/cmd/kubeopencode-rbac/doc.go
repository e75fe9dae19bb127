// Command kubeopencode-rbac prints KubeOpenCode's RBAC roles and bindings as YAML.
//
// Run it with `go run ./rbac/cmd/kubeopencode-rbac --help` from the repository root. The
// operator's config/rbac manifests are its output (`make generate`). Exit status: 0 on success,
// 2 for a bad command line, 1 when the output cannot be written.
package main
