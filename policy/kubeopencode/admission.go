package kubeopencode

import (
	"slices"

	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/kubeopencode/kubeopencode/policy"
)

// Names the admission policy (threat T2) uses. The Task field paths are the api module's
// (spec.agentRef.name, spec.agentRef.namespace); a test there should pin them too.
const (
	// APIGroup is the KubeOpenCode API group.
	APIGroup = "kubeopencode.io"
	// AgentResource is the resource the "use" verb is checked on.
	AgentResource = "agents"
	// TaskResource is the resource whose creation the policy validates.
	TaskResource = "tasks"
	// VerbUse is the RBAC verb that lets a user run Tasks on an Agent.
	VerbUse = "use"

	// DefaultAdmissionPolicyName names the ValidatingAdmissionPolicy and its binding.
	DefaultAdmissionPolicyName = "kubeopencode-task-agent-use"
	// DefaultAgentUserRoleName names the ClusterRole granting "use" on Agents.
	DefaultAgentUserRoleName = "kubeopencode-agent-user"
)

// CEL expressions of the admission policy. They are exported so that the report, the docs and
// tests quote the exact text the API server runs.
const (
	// AgentNameExpression is the referenced Agent's name, or "" when the Task names none.
	AgentNameExpression = `has(object.spec) && has(object.spec.agentRef) && has(object.spec.agentRef.name) ? object.spec.agentRef.name : ''`
	// AgentNamespaceExpression is the referenced Agent's namespace: agentRef.namespace when set,
	// otherwise the namespace of the request (request.namespace is filled from the URL, so it is
	// right even when the client left metadata.namespace empty).
	AgentNamespaceExpression = `has(object.spec) && has(object.spec.agentRef) && has(object.spec.agentRef.namespace) && object.spec.agentRef.namespace != '' ? object.spec.agentRef.namespace : request.namespace`
	// AgentUseExpression asks the API server's authorizer whether the requesting user may "use" the
	// Agent, exactly as `kubectl auth can-i use agents.kubeopencode.io/<name> -n <namespace>`.
	AgentUseExpression = `authorizer.group('kubeopencode.io').resource('agents').namespace(variables.agentNamespace).name(variables.agentName).check('use').allowed()`
	// AgentUseMessageExpression names the user and the Agent, and says what to do.
	AgentUseMessageExpression = `'user "' + request.userInfo.username + '" may not use Agent "' + variables.agentNamespace + '/' + variables.agentName + '": ask the platform team to grant the "use" verb on agents.kubeopencode.io "' + variables.agentName + '" in namespace "' + variables.agentNamespace + '"'`
	// AgentRefRequiredExpression refuses a Task that names no Agent: without a name there is
	// nothing to authorize, so the policy fails closed.
	AgentRefRequiredExpression = `variables.agentName != ''`
)

// AdmissionPolicyOptions configure AgentUsePolicy and AgentUsePolicyBinding. The zero value is the
// documented default.
type AdmissionPolicyOptions struct {
	// Name of the policy and of its binding. Default DefaultAdmissionPolicyName.
	Name string
	// Labels are added to both objects (e.g. app.kubernetes.io/managed-by). Default none.
	Labels map[string]string
}

func (o AdmissionPolicyOptions) name() string {
	if o.Name == "" {
		return DefaultAdmissionPolicyName
	}
	return o.Name
}

// AgentUsePolicy builds the ValidatingAdmissionPolicy that refuses to create a Task unless the
// requesting user is authorized to "use" the Agent the Task references (threat T2): the operator
// acts with its own privileges, so the requester's right to the Agent must be checked at the door.
//
// Only CREATE is matched: the Task spec (agentRef included) is immutable, so an UPDATE cannot move
// a Task to another Agent, and matching UPDATE would also demand "use" from the operator when it
// edits finalizers. If the spec ever becomes mutable, UPDATE must be added here.
//
// Requests for any version of tasks are converted to v1alpha1 (matchPolicy Equivalent), the
// version whose field paths the expressions use. failurePolicy is Fail, so an expression error or
// an unavailable authorizer refuses the Task.
func AgentUsePolicy(opts AdmissionPolicyOptions) *admissionregistrationv1.ValidatingAdmissionPolicy {
	fail := admissionregistrationv1.Fail
	equivalent := admissionregistrationv1.Equivalent
	return &admissionregistrationv1.ValidatingAdmissionPolicy{
		TypeMeta:   metav1.TypeMeta{APIVersion: admissionregistrationv1.SchemeGroupVersion.String(), Kind: "ValidatingAdmissionPolicy"},
		ObjectMeta: metav1.ObjectMeta{Name: opts.name(), Labels: cloneMap(opts.Labels)},
		Spec: admissionregistrationv1.ValidatingAdmissionPolicySpec{
			FailurePolicy: &fail,
			MatchConstraints: &admissionregistrationv1.MatchResources{
				MatchPolicy: &equivalent,
				ResourceRules: []admissionregistrationv1.NamedRuleWithOperations{{
					RuleWithOperations: admissionregistrationv1.RuleWithOperations{
						Operations: []admissionregistrationv1.OperationType{admissionregistrationv1.Create},
						Rule: admissionregistrationv1.Rule{
							APIGroups:   []string{APIGroup},
							APIVersions: []string{"v1alpha1"},
							Resources:   []string{TaskResource},
						},
					},
				}},
			},
			Variables: []admissionregistrationv1.Variable{
				{Name: "agentName", Expression: AgentNameExpression},
				{Name: "agentNamespace", Expression: AgentNamespaceExpression},
			},
			Validations: []admissionregistrationv1.Validation{
				{
					Expression: AgentRefRequiredExpression,
					Message:    "spec.agentRef.name is required: a Task must name the Agent it runs on",
					Reason:     ptrTo(metav1.StatusReasonInvalid),
				},
				{
					Expression:        AgentUseExpression,
					MessageExpression: AgentUseMessageExpression,
					Reason:            ptrTo(metav1.StatusReasonForbidden),
				},
			},
		},
	}
}

// AgentUsePolicyBinding binds AgentUsePolicy cluster-wide with validationActions [Deny].
func AgentUsePolicyBinding(opts AdmissionPolicyOptions) *admissionregistrationv1.ValidatingAdmissionPolicyBinding {
	return policy.PolicyBinding(opts.name(), opts.Labels)
}

// AgentUserRoleOptions configure AgentUserClusterRole. The zero value is the documented default.
type AgentUserRoleOptions struct {
	// Name of the ClusterRole. Default DefaultAgentUserRoleName.
	Name string
	// AgentNames, when non-empty, restricts the role to Agents with these names (RBAC
	// resourceNames) in whichever namespace it is bound. Default: every Agent in that namespace.
	AgentNames []string
	// Labels are added to the ClusterRole. Default none.
	Labels map[string]string
}

// AgentUserClusterRole builds the ClusterRole granting "use" on Agents. Platform teams bind it
// with a RoleBinding in the Agent's namespace to the users or groups allowed to run Tasks on
// those Agents; a ClusterRoleBinding would grant every Agent in the cluster, which is rarely meant.
// The role grants nothing else, not even get: using an Agent does not require reading it.
func AgentUserClusterRole(opts AgentUserRoleOptions) *rbacv1.ClusterRole {
	name := opts.Name
	if name == "" {
		name = DefaultAgentUserRoleName
	}
	var names []string
	if len(opts.AgentNames) > 0 {
		names = slices.Clone(opts.AgentNames)
		slices.Sort(names)
		names = slices.Compact(names)
	}
	return &rbacv1.ClusterRole{
		TypeMeta:   metav1.TypeMeta{APIVersion: rbacv1.SchemeGroupVersion.String(), Kind: "ClusterRole"},
		ObjectMeta: metav1.ObjectMeta{Name: name, Labels: cloneMap(opts.Labels)},
		Rules: []rbacv1.PolicyRule{{
			APIGroups:     []string{APIGroup},
			Resources:     []string{AgentResource},
			ResourceNames: names,
			Verbs:         []string{VerbUse},
		}},
	}
}

func ptrTo[T any](v T) *T { return &v }

func cloneMap(m map[string]string) map[string]string {
	if len(m) == 0 {
		return nil
	}
	out := make(map[string]string, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}
