// Package audit reads a kube-apiserver audit log and compares what one user (the operator's
// ServiceAccount) actually did with the RBAC rules it was granted, so the e2e suite can prove the
// generated roles minimal: every granted (group, resource, verb) was used at least once, and no
// request was denied.
package audit
