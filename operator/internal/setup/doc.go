// Package setup builds the reference operator's controller-runtime manager: the scheme, the
// cache (operator Pods only, by label; managedFields stripped; Secrets and ConfigMaps never
// cached), leader election (on by default), no client-side rate limiting, and the Task and Agent
// controllers of package controller. The kubeopencode binary and the envtest suites both use it,
// so the tests run exactly what ships.
package setup
