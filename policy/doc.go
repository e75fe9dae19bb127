// Package policy decides who may use which agent configuration and judges Pods against Pod
// Security Standards. It does no I/O and depends on neither controller-runtime nor the other
// KubeOpenCode modules (only the shared contract): inputs are plain Go values, outputs are
// decisions and typed Kubernetes objects. Nothing here names KubeOpenCode's API; the artefacts
// that do (its admission policies and the agent-user ClusterRole) are in package
// policy/kubeopencode.
//
//   - Namespace policy (threat T1, T16): CompilePatterns and NewNamespacePolicy implement an
//     allowedNamespaces list with the grammar of the shared contract (CONTRIBUTING.md).
//     Matching is linear-time; an invalid policy refuses everything.
//   - Pod security (T8): PodSecurityJudge runs k8s.io/pod-security-admission's own checks and
//     returns the reasons in the admission plugin's words. The operator refuses to create a Pod
//     that fails it.
//   - Egress (T17): AgentEgressNetworkPolicy generates a default-deny egress NetworkPolicy with an
//     allow-list that never reaches the link-local ranges or the cloud metadata addresses.
//   - PolicyBinding binds a ValidatingAdmissionPolicy cluster-wide with validationActions [Deny].
//
// RenderYAML renders the generated objects deterministically.
package policy
