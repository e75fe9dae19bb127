// Package contract is what every KubeOpenCode module shares, and nothing else: it imports only
// the standard library, so the libraries (podspec, credentials, policy, rbac) can all import it
// without importing each other (hack/verify.sh enforces both rules).
//
// Today it holds the one YAML stream writer every generator uses ([WriteYAMLDocuments]), so
// manifests written by different modules can be concatenated without losing a document.
package contract
