// Package framework holds what the end-to-end suite (e2e/tests) needs besides e2e-framework
// itself: running the operator out of cluster as its ServiceAccount (a TokenRequest token in a
// kubeconfig that holds nothing else), installing operator/config through kustomize, decoding the
// examples, forwarding the API server to Pods of the real node, and comparing the operator's
// audited requests with the RBAC rules it was granted.
//
// Nothing here asserts: the tests do. Every function takes a context first when it does I/O and
// returns errors that name what failed.
package framework
