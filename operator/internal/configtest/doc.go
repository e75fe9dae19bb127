// Package configtest checks the install manifests under operator/config as a user applies them
// (`kubectl apply -k operator/config/default`): rendered by kustomize, the operator Pod passes Pod
// Security "restricted", and no role grants a dangerous permission.
package configtest
