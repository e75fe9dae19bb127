// Package policy decides who may use which Agent and judges Pods against Pod Security Standards.
package policy
