// Package policy decides who may use which Agent and judges Pods against Pod Security Standards.
// It does no I/O and depends on neither controller-runtime nor the other KubeOpenCode modules:
// inputs are plain Go values, outputs are decisions and typed Kubernetes objects.
//
//   - Namespace policy (threat T1, T16): CompilePatterns and NewNamespacePolicy implement the
//     Agent's allowedNamespaces list with the grammar of the shared contract (CONTRIBUTING.md).
//     Matching is linear-time; an invalid policy refuses everything.
//   - Pod security (T8): PodSecurityJudge runs k8s.io/pod-security-admission's own checks and
//     returns the reasons in the admission plugin's words. The operator refuses to create a Pod
//     that fails it.
//   - Requester authorization (T2): AgentUsePolicy, AgentUsePolicyBinding and
//     AgentUserClusterRole generate a ValidatingAdmissionPolicy that refuses a Task unless its
//     creator may "use" the Agent, and the ClusterRole that grants it.
//   - References as the requester (T19, T21): TaskReferencesPolicy refuses a Task unless its
//     creator may "get" every Secret and ConfigMap it names; AgentReferencesPolicy refuses an
//     Agent (create, spec change) unless its author may create Pods in its namespace and "get"
//     every Secret it names. One expression per list index keeps each within the API server's
//     CEL cost limits and lets its message name the field.
//   - The cleanup finalizer (T18): FinalizerGuardPolicy refuses its removal from a Task by
//     anyone but the operator, or a holder of the verb "removefinalizer" (the escape hatch).
//   - Policies lists them all with their bindings (PolicyObjects for RenderYAML): what
//     operator/config/policy ships and what the operator requires before a Task starts (T22).
//   - Egress (T17): AgentEgressNetworkPolicy generates a default-deny egress NetworkPolicy with an
//     allow-list that never reaches the link-local ranges or the cloud metadata addresses.
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
