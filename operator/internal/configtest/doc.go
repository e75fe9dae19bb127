// Package configtest checks the install manifests under operator/config as a user applies them
// (`kubectl apply -k operator/config/default`): rendered by kustomize, the operator Pod passes Pod
// Security "restricted", and no role grants a dangerous permission. It also renders the Helm chart
// charts/kubeopencode with the test bed's helm (`make testbin`): with default values it is the
// kustomize output object for object, and each value changes only what it says.
package configtest
