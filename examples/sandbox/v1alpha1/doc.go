// Package v1alpha1 holds the API of the example Sandbox controller, group sandbox.example.com:
// a platform team's SandboxTemplate (images, credentials, which namespaces may use it) and a
// tenant's Sandbox (a command to run on a template). It deliberately shares nothing with
// kubeopencode.io: a third-party controller brings its own API and uses only the libraries.
//
// +kubebuilder:object:generate=true
// +groupName=sandbox.example.com
package v1alpha1

//go:generate controller-gen object paths=. crd:crdVersions=v1 output:crd:artifacts:config=../config/crd
