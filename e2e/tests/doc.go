// Package tests is the end-to-end suite. It runs against the local test bed (`make test-e2e`
// brings it up: a control plane, a kwok fake node and a real kubelet node, with an audit policy
// recording the operator's requests) and is compiled only with the e2e build tag, so
// `go test ./...` in this module runs the unit tests alone.
//
// TestMain installs operator/config (namespace, CRDs, generated RBAC, admission policy) as the
// admin, builds the operator and runs it out of cluster with a kubeconfig that holds only a
// TokenRequest token of its ServiceAccount, so every scenario runs under exactly the generated
// roles. Each scenario is an e2e-framework feature whose assessments wait on conditions:
//
//	TestSecureAgent              1  examples/secure-agent on the real node, read from inside the agent (T8, T9)
//	TestProductionAgent          2  examples/production-agent across namespaces; dev-1 refused; no "use", no Task (T1, T2)
//	TestCrossNamespaceLifecycle  3  stop, timeout, delete (finalizer; garbage collector in the same namespace), AgentNotFound, maxConcurrentTasks under a burst, cleanup TTL (T5, T7)
//	TestConfusedDeputy           4  Task ConfigMaps and Secrets never resolve in the Agent's namespace (T3)
//	TestMissingSecret            5  a missing Secret fails the Task instead of hanging (T6)
//	TestNetworkPolicy            6  the egress NetworkPolicy of an Agent's allow-list (T17)
//	TestOperatorDeployment       7  operator/config's Deployment on the real node: Ready, hardened, metrics authenticated
//	TestRealAgent                8  the real OpenCode (make image's images) on the real node for a Task of another namespace: HTTPS Git context via caBundle, scripted model (e2e/modelserver) gets the Agent's key and the prompt, file written, hardening read from inside; without caBundle the clone fails TLS
//	TestRealAgentCannotEscape    8  the real agent, scripted to read the raw Secret volume, ServiceAccount tokens and the node's Pod directories: each absent or refused (T8, T9)
//	TestTaskAuthorSeesResultAndLogs 9  kubectl-kubeopencode as alice: result, exit code, real kubelet logs via the log server; mallory 403, forged status (T23)
//	TestHelmInstall              10 helm install of charts/kubeopencode (image set once in values) runs the operator, which runs a Task; helm uninstall
//	TestRBACMinimal                 the audit log of the whole suite against the generated roles (T14)
//
// TestRBACMinimal must run last (its file sorts last); run the whole package for its minimality
// check, which a -run selection only reports.
package tests
