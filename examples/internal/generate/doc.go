// Package generate renders the example files that come from the libraries rather than from a
// hand: admission policy, persona roles, NetworkPolicies and RBAC. Files is the single source:
// `go generate` writes it to disk (internal/cmd/generate-examples) and a test compares it with
// what is committed, so an example can never drift from the library that produced it.
package generate
