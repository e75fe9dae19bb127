package policy

import (
	"errors"
	"fmt"

	"github.com/kubeopencode/kubeopencode/api/contract"
	"k8s.io/apimachinery/pkg/util/validation/field"
)

// Reason is a machine-readable cause of a namespace Decision, fit for a condition or Event reason.
type Reason string

// Reasons a NamespacePolicy gives.
const (
	// ReasonAllowedSameNamespace: the Task is in the Agent's own namespace, which is always allowed.
	ReasonAllowedSameNamespace Reason = "SameNamespace"
	// ReasonAllowedByPattern: an allowedNamespaces pattern matches the Task's namespace.
	ReasonAllowedByPattern Reason = "AllowedByPattern"
	// ReasonNamespaceNotAllowed: no pattern matches the Task's namespace.
	ReasonNamespaceNotAllowed Reason = "NamespaceNotAllowed"
	// ReasonInvalidPolicy: the Agent's policy does not compile, so it refuses every Task (fail
	// closed), its own namespace included.
	ReasonInvalidPolicy Reason = "InvalidAgentPolicy"
	// ReasonInvalidTaskNamespace: the Task's namespace is not a namespace name (e.g. empty), which
	// means a caller bug; it is refused rather than matched against "*".
	ReasonInvalidTaskNamespace Reason = "InvalidTaskNamespace"
)

// Decision is the answer to "may a Task in this namespace use this Agent?".
type Decision struct {
	// Allowed is true only for the ReasonAllowed* reasons.
	Allowed bool
	// Reason is machine-readable.
	Reason Reason
	// Message is for the Task author. It never reveals the Agent's patterns: a refused author
	// learns that they are refused and whom to ask, not which namespaces are invited.
	Message string
}

// NamespacePolicy is one Agent's compiled allowedNamespaces policy (threat T1).
//
// Semantics, in order:
//  1. A policy that fails to compile (bad pattern, empty Agent namespace or name) refuses every
//     namespace, the Agent's own included, with ReasonInvalidPolicy: fail closed, never a weaker
//     policy.
//  2. The Agent's own namespace is always allowed, whatever the list says. The list only invites
//     other namespaces: an empty list therefore means "own namespace only", and a non-empty list
//     that does not match the own namespace does not lock the owning team out. Who may use the
//     Agent inside its namespace is decided by RBAC (verb "use", see AgentUsePolicy), not here.
//  3. Another namespace is allowed when a pattern matches it ("*" matches all).
//
// There is deliberately no namespace label selector: namespace labels are often writable by the
// tenants the selector would be judging, so a selector would let a tenant invite itself, and the
// Agent CRD has no field for one.
//
// A NamespacePolicy is immutable and safe for concurrent use.
type NamespacePolicy struct {
	agentNamespace string
	agent          string // "namespace/name", for messages
	patterns       *Patterns
	err            error
}

// NewNamespacePolicy compiles an Agent's allowedNamespaces. It never fails outright: an invalid
// policy is returned too, refuses every Task, and reports why through Err. That keeps the fail-closed
// rule in one place instead of in every caller.
func NewNamespacePolicy(agentNamespace, agentName string, allowedNamespaces []string) *NamespacePolicy {
	p := &NamespacePolicy{agentNamespace: agentNamespace, agent: agentNamespace + "/" + agentName}
	var errs field.ErrorList
	if !isNamespaceName(agentNamespace) {
		errs = append(errs, field.Invalid(field.NewPath("metadata", "namespace"), omit, fmt.Sprintf("%q is not a namespace name", agentNamespace)))
	}
	if agentName == "" {
		errs = append(errs, field.Required(field.NewPath("metadata", "name"), ""))
	}
	patterns, err := CompilePatterns(allowedNamespaces)
	var perrs PatternErrors
	if errors.As(err, &perrs) {
		errs = append(errs, perrs.FieldErrors(field.NewPath("spec", "allowedNamespaces"))...)
	}
	if len(errs) > 0 {
		p.err = toError(errs)
		return p
	}
	p.patterns = patterns
	return p
}

// Err is nil for a valid policy; otherwise an [*Errors] naming every problem as a field error of the
// Agent (metadata.namespace, metadata.name, spec.allowedNamespaces[i]). It is meant for the Agent's status, read by the platform team, and may quote patterns:
// never put it in a Task's status.
func (p *NamespacePolicy) Err() error { return p.err }

// Decide says whether a Task in taskNamespace may use the Agent.
func (p *NamespacePolicy) Decide(taskNamespace string) Decision {
	agent := p.agent
	switch {
	case p.err != nil:
		return Decision{Reason: ReasonInvalidPolicy, Message: fmt.Sprintf(
			"Agent %q has an invalid allowedNamespaces policy and refuses every Task until it is fixed; "+
				"ask the platform team that owns namespace %q to fix the Agent", agent, p.agentNamespace)}
	case !isNamespaceName(taskNamespace):
		return Decision{Reason: ReasonInvalidTaskNamespace, Message: fmt.Sprintf(
			"the Task's namespace %q is not a valid namespace name", taskNamespace)}
	case taskNamespace == p.agentNamespace:
		return Decision{Allowed: true, Reason: ReasonAllowedSameNamespace, Message: fmt.Sprintf(
			"the Task is in Agent %q's own namespace", agent)}
	case p.patterns.Match(taskNamespace):
		return Decision{Allowed: true, Reason: ReasonAllowedByPattern, Message: fmt.Sprintf(
			"namespace %q is permitted by Agent %q", taskNamespace, agent)}
	default:
		return Decision{Reason: ReasonNamespaceNotAllowed, Message: fmt.Sprintf(
			"the Task's namespace %q is not permitted to use Agent %q; ask the platform team that owns "+
				"namespace %q to add it to the Agent's allowedNamespaces", taskNamespace, agent, p.agentNamespace)}
	}
}

// isNamespaceName reports whether s is a DNS-1123 label, the grammar of namespace names. It is
// the contract's check, which FuzzNamespaceName proves equal to apimachinery's
// validation.IsDNS1123Label: Decide runs for every Task, and the regular expression almost
// doubled its time.
func isNamespaceName(s string) bool { return contract.IsDNSLabel(s) }
