// Package crds embeds the CustomResourceDefinitions of kubeopencode.io, exactly as controller-gen
// generates them from package v1alpha1, so that the operator, tests and third parties install
// what the Go types say.
//
// The YAML files in this directory are generated (`make generate`); never edit them by hand.
// Decode them with any YAML decoder into apiextensions.k8s.io/v1 CustomResourceDefinitions; this
// package itself depends on nothing but the standard library.
package crds
