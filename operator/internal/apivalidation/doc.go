// Package apivalidation proves, against a real kube-apiserver (envtest), that the
// kubeopencode.io CRDs generated from package api/v1alpha1 refuse bad input with an error naming
// the field, accept the valid edge cases, and install with CEL rules inside the API server's cost
// budget. It has no non-test code.
package apivalidation
