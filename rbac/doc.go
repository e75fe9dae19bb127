// Package rbac builds least-privilege RBAC roles in Go.
package rbac
