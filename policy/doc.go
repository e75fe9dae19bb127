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
//
// # Errors
//
// Constructors that refuse their input (NewNamespacePolicy's Err, AgentEgressNetworkPolicy,
// NewPodSecurityJudge) report every problem at once as an [*Errors] (api/contract's Errors): a
// field.ErrorList (k8s.io/apimachinery/pkg/util/validation/field) with field paths, aggregated into
// one message. All of them are [ErrInvalid], the category podspec and credentials share through
// api/contract. CompilePatterns keeps its [PatternErrors] (each with the pattern's index), which
// are ErrInvalid too and become field errors with [PatternErrors.FieldErrors]. A [PodVerdict]'s
// Err is a judgment of a Pod, not of the input, and RenderYAML's errors name the object at fault.
package policy
