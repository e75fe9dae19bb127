//go:build tools

// Package tools records the etcd server the test bed builds.
package tools

import _ "go.etcd.io/etcd/server/v3"
