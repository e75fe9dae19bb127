// Package kubeopencode holds the admission policies and the ClusterRole that only KubeOpenCode's
// API (kubeopencode.io Agents and Tasks) needs, built on the generic package policy. Like it, it
// does no I/O and returns typed Kubernetes objects; render them with policy.RenderYAML.
//
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
//   - Policies lists them all with their bindings (PolicyObjects for policy.RenderYAML): what
//     operator/config/policy ships and what the operator requires before a Task starts (T22).
package kubeopencode
