package kubeopencode

import (
	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"

	"github.com/kubeopencode/kubeopencode/policy"
)

// Names of the finalizer guard (threat T18). The rbac module generates the same ClusterRole
// (DefaultFinalizerRemoverRoleName, one rule); a test in the operator module pins the two.
const (
	// CleanupFinalizer is the operator's finalizer on Tasks.
	CleanupFinalizer = "kubeopencode.io/cleanup"
	// VerbRemoveFinalizer is the RBAC verb on tasks that lets a user other than the operator
	// remove CleanupFinalizer: the escape hatch for cluster administrators.
	VerbRemoveFinalizer = "removefinalizer"
	// DefaultFinalizerGuardPolicyName names the policy and its binding.
	DefaultFinalizerGuardPolicyName = "kubeopencode-task-cleanup-finalizer"
	// DefaultFinalizerRemoverRoleName names the ClusterRole granting VerbRemoveFinalizer.
	DefaultFinalizerRemoverRoleName = "kubeopencode-task-finalizer-remover"
	// DefaultOperatorUsername is the operator's ServiceAccount as the API server names it, with
	// the rbac module's default namespace and ServiceAccount.
	DefaultOperatorUsername = "system:serviceaccount:kubeopencode-system:kubeopencode-operator"
)

// FinalizerRemovedCondition matches an update that removes CleanupFinalizer.
const FinalizerRemovedCondition = `has(oldObject.metadata.finalizers) && '` + CleanupFinalizer + `' in oldObject.metadata.finalizers && ` +
	`!(has(object.metadata.finalizers) && '` + CleanupFinalizer + `' in object.metadata.finalizers)`

// FinalizerGuardOptions configure FinalizerGuardPolicy. The zero value is the documented default.
type FinalizerGuardOptions struct {
	// Name of the policy and of its binding. Default DefaultFinalizerGuardPolicyName.
	Name string
	// OperatorUsername is the operator's user name
	// (system:serviceaccount:<namespace>:<name>). Default DefaultOperatorUsername.
	OperatorUsername string
	// Labels are added to the policy and its binding. Default none.
	Labels map[string]string
}

// FinalizerGuardPolicy builds the ValidatingAdmissionPolicy that refuses the removal of
// CleanupFinalizer from a Task by anyone but the operator (threat T18): a task author who strips
// it and deletes the Task would otherwise leave the Task's Pod running in the Agent's namespace
// with its slot freed. The operator stays correct without this policy (it finds its Pods by the
// Task's UID); the policy keeps the finalizer's promise for whoever reads it.
//
// The escape hatch: a user authorized for the verb VerbRemoveFinalizer on the Task may remove it
// (the rbac module's ClusterRole DefaultFinalizerRemoverRoleName grants it; cluster-admin holds every verb), for example to delete
// a namespace after the operator was uninstalled.
func FinalizerGuardPolicy(opts FinalizerGuardOptions) *admissionregistrationv1.ValidatingAdmissionPolicy {
	name := opts.Name
	if name == "" {
		name = DefaultFinalizerGuardPolicyName
	}
	operator := opts.OperatorUsername
	if operator == "" {
		operator = DefaultOperatorUsername
	}
	return referencesPolicy(name, opts.Labels, TaskResource,
		[]admissionregistrationv1.OperationType{admissionregistrationv1.Update},
		[]admissionregistrationv1.MatchCondition{
			{Name: "removes-cleanup-finalizer", Expression: FinalizerRemovedCondition},
			{Name: "not-the-operator", Expression: "request.userInfo.username != '" + operator + "'"},
		},
		nil,
		[]admissionregistrationv1.Validation{{
			Expression: "authorizer.group('" + APIGroup + "').resource('" + TaskResource + "').namespace(request.namespace).name(object.metadata.name).check('" + VerbRemoveFinalizer + "').allowed()",
			MessageExpression: `'metadata.finalizers: user "' + request.userInfo.username + '" may not remove ` + CleanupFinalizer +
				`: only the operator removes it, once the agent Pod of the Task is gone. Stop the Task (annotation kubeopencode.io/stop) or delete it and ` +
				`the operator cleans up; if the operator is gone, a cluster administrator with the verb "` + VerbRemoveFinalizer +
				`" on tasks (ClusterRole ` + DefaultFinalizerRemoverRoleName + `) may remove it'`,
			Reason: ptrTo(metav1.StatusReasonForbidden),
		}})
}

// GeneratedPolicy is one ValidatingAdmissionPolicy with its binding, and the threat it answers.
type GeneratedPolicy struct {
	Threat  string
	Policy  *admissionregistrationv1.ValidatingAdmissionPolicy
	Binding *admissionregistrationv1.ValidatingAdmissionPolicyBinding
}

// PoliciesOptions configure Policies. The zero value is the documented default.
type PoliciesOptions struct {
	// OperatorUsername is passed to FinalizerGuardPolicy. Default DefaultOperatorUsername.
	OperatorUsername string
	// Labels are added to every object. Default none.
	Labels map[string]string
}

// Policies returns every admission policy KubeOpenCode relies on, each with its binding, in a
// fixed order: agent use (T2), Task references (T19), Agent references (T21), the cleanup
// finalizer guard (T18). operator/config/policy ships exactly these, and the operator refuses to
// start Tasks unless the cluster has them as generated (T22).
func Policies(opts PoliciesOptions) []GeneratedPolicy {
	pols := []struct {
		threat string
		p      *admissionregistrationv1.ValidatingAdmissionPolicy
	}{
		{"T2", AgentUsePolicy(AdmissionPolicyOptions{Labels: opts.Labels})},
		{"T19", TaskReferencesPolicy(AdmissionPolicyOptions{Labels: opts.Labels})},
		{"T21", AgentReferencesPolicy(AdmissionPolicyOptions{Labels: opts.Labels})},
		{"T18", FinalizerGuardPolicy(FinalizerGuardOptions{OperatorUsername: opts.OperatorUsername, Labels: opts.Labels})},
	}
	out := make([]GeneratedPolicy, 0, len(pols))
	for _, p := range pols {
		out = append(out, GeneratedPolicy{Threat: p.threat, Policy: p.p, Binding: policy.PolicyBinding(p.p.Name, opts.Labels)})
	}
	return out
}

// PolicyObjects flattens Policies into policy, binding, policy, binding, ... for RenderYAML.
func PolicyObjects(opts PoliciesOptions) []runtime.Object {
	var objs []runtime.Object
	for _, p := range Policies(opts) {
		objs = append(objs, p.Policy, p.Binding)
	}
	return objs
}
