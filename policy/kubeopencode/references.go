package kubeopencode

import (
	"fmt"
	"strconv"

	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// Names and bounds of the reference policies (threats T19, T21). The bounds are the api module's
// CRD maxItems; a test in the operator module pins them against the installed schema.
const (
	// DefaultTaskReferencesPolicyName names the policy (and binding) that checks a Task's
	// references as its creator (T19).
	DefaultTaskReferencesPolicyName = "kubeopencode-task-references"
	// DefaultAgentReferencesPolicyName names the policy (and binding) that checks an Agent as its
	// author (T21).
	DefaultAgentReferencesPolicyName = "kubeopencode-agent-references"

	// MaxTaskContexts is the CRD's maxItems of Task spec.contexts.
	MaxTaskContexts = 16
	// MaxAgentContexts is the CRD's maxItems of Agent spec.contexts.
	MaxAgentContexts = 16
	// MaxAgentCredentials is the CRD's maxItems of Agent spec.credentials.
	MaxAgentCredentials = 32
)

// Why one validation per list index: the API server charges a fixed 350,000 for each authorizer
// check and refuses an expression whose estimated cost exceeds 1,000,000, so an expression may
// make at most two checks; a loop over 16 contexts cannot be one expression. Each index gets its
// own expression (at most one check), which also lets its message name the exact field. At run
// time a whole policy evaluation may spend 10,000,000: 28 checks. A Task makes at most 16; an
// Agent checks each distinct Secret name once (plus the Pod check), so an Agent naming more than
// 27 distinct Secrets exceeds the budget and is refused (failurePolicy Fail).

// TaskReferencesPolicy builds the ValidatingAdmissionPolicy that refuses to create a Task unless
// its creator may "get" every Secret and ConfigMap the Task names, by name, in the Task's
// namespace (threat T19): the operator mounts a Git context's Secret into the clone step and
// copies a ConfigMap context into the agent, so without this check a Task would hand its author
// objects they cannot read (a Git secretRef with a repository on the author's own host sends the
// credentials there).
//
// Only CREATE is matched: the Task spec is immutable. failurePolicy is Fail.
func TaskReferencesPolicy(opts AdmissionPolicyOptions) *admissionregistrationv1.ValidatingAdmissionPolicy {
	name := opts.Name
	if name == "" {
		name = DefaultTaskReferencesPolicyName
	}
	validations := []admissionregistrationv1.Validation{{
		// Fail closed should the schema ever allow more contexts than there are checks below.
		Expression: fmt.Sprintf("size(variables.contexts) <= %d", MaxTaskContexts),
		Message:    fmt.Sprintf("spec.contexts: at most %d contexts can be authorized", MaxTaskContexts),
		Reason:     ptrTo(metav1.StatusReasonInvalid),
	}}
	for i := range MaxTaskContexts {
		c := "variables.contexts[" + strconv.Itoa(i) + "]"
		field := "spec.contexts[" + strconv.Itoa(i) + "]"
		isSecret := "has(" + c + ".git) && has(" + c + ".git.secretRef)"
		isConfigMap := "has(" + c + ".configMap)"
		validations = append(validations, admissionregistrationv1.Validation{
			Expression: fmt.Sprintf("size(variables.contexts) <= %d || (%s ? %s : (%s ? %s : true))", i,
				isSecret, getCheck("secrets", "request.namespace", c+".git.secretRef.name"),
				isConfigMap, getCheck("configmaps", "request.namespace", c+".configMap.name")),
			MessageExpression: fmt.Sprintf("%s ? %s : %s", isSecret,
				refusalMessage(field+".git.secretRef.name", "secrets", c+".git.secretRef.name", "a Task may name only Secrets its creator may read"),
				refusalMessage(field+".configMap.name", "configmaps", c+".configMap.name", "a Task may name only ConfigMaps its creator may read")),
			Reason: ptrTo(metav1.StatusReasonForbidden),
		})
	}
	return referencesPolicy(name, opts.Labels, "tasks", []admissionregistrationv1.OperationType{admissionregistrationv1.Create}, nil,
		[]admissionregistrationv1.Variable{{
			Name:       "contexts",
			Expression: "has(object.spec) && has(object.spec.contexts) ? object.spec.contexts : []",
		}}, validations)
}

// AgentPodCreateExpression asks whether the requesting user may create Pods in the Agent's
// namespace: writing an Agent makes the operator do that on the author's behalf (T21).
const AgentPodCreateExpression = `authorizer.group('').resource('pods').namespace(request.namespace).check('create').allowed()`

// AgentSpecChangedCondition limits the Agent policy to requests that can change what the
// operator does: a create, or an update that changes the spec (metadata.generation moves only
// then, the Agent having a status subresource). Metadata-only updates — the garbage collector
// removing a finalizer, a label edit — are not checked; they change no Pod.
const AgentSpecChangedCondition = `request.operation == 'CREATE' || object.metadata.generation != oldObject.metadata.generation`

// AgentReferencesPolicy builds the ValidatingAdmissionPolicy that refuses to create an Agent, or
// to change its spec, unless the author may create Pods in the Agent's namespace and "get" every
// Secret the Agent names (credentials and Git contexts' secretRef) there (threat T21). Writing an
// Agent is the privilege of creating Pods as its ServiceAccount with its Secrets; the operator
// creates those Pods with its own rights, so the author's rights are checked at the door.
//
// Status writes (agents/status, the operator's only Agent write) are a subresource the policy
// does not match. failurePolicy is Fail.
func AgentReferencesPolicy(opts AdmissionPolicyOptions) *admissionregistrationv1.ValidatingAdmissionPolicy {
	name := opts.Name
	if name == "" {
		name = DefaultAgentReferencesPolicyName
	}
	validations := []admissionregistrationv1.Validation{
		{
			Expression: fmt.Sprintf("size(variables.credentialSecrets) <= %d && size(variables.contextSecrets) <= %d", MaxAgentCredentials, MaxAgentContexts),
			Message:    fmt.Sprintf("spec.credentials, spec.contexts: at most %d credentials and %d contexts can be authorized", MaxAgentCredentials, MaxAgentContexts),
			Reason:     ptrTo(metav1.StatusReasonInvalid),
		},
		{
			Expression: AgentPodCreateExpression,
			MessageExpression: `'user "' + request.userInfo.username + '" may not create pods in namespace "' + request.namespace + '": ` +
				`an Agent makes the operator create Pods there as its ServiceAccount "' + object.spec.serviceAccountName + '" with its Secrets, ` +
				`so its author needs RBAC create on pods in that namespace'`,
			Reason: ptrTo(metav1.StatusReasonForbidden),
		},
	}
	// A Secret named twice is checked once (indexOf finds its first use), which keeps an Agent
	// that names one Secret many times within the run-time budget.
	for i := range MaxAgentCredentials {
		n := "variables.credentialSecrets[" + strconv.Itoa(i) + "]"
		validations = append(validations, admissionregistrationv1.Validation{
			Expression: fmt.Sprintf("size(variables.credentialSecrets) <= %d || variables.credentialSecrets.indexOf(%s) < %d || %s",
				i, n, i, getCheck("secrets", "request.namespace", n)),
			MessageExpression: refusalMessage("spec.credentials["+strconv.Itoa(i)+"].secretRef.name", "secrets", n, "an Agent may name only Secrets its author may read"),
			Reason:            ptrTo(metav1.StatusReasonForbidden),
		})
	}
	for i := range MaxAgentContexts {
		n := "variables.contextSecrets[" + strconv.Itoa(i) + "]"
		validations = append(validations, admissionregistrationv1.Validation{
			Expression: fmt.Sprintf("size(variables.contextSecrets) <= %d || %s == '' || %s in variables.credentialSecrets || variables.contextSecrets.indexOf(%s) < %d || %s",
				i, n, n, n, i, getCheck("secrets", "request.namespace", n)),
			MessageExpression: refusalMessage("spec.contexts["+strconv.Itoa(i)+"].git.secretRef.name", "secrets", n, "an Agent may name only Secrets its author may read"),
			Reason:            ptrTo(metav1.StatusReasonForbidden),
		})
	}
	return referencesPolicy(name, opts.Labels, "agents",
		[]admissionregistrationv1.OperationType{admissionregistrationv1.Create, admissionregistrationv1.Update},
		[]admissionregistrationv1.MatchCondition{{Name: "creates-or-changes-spec", Expression: AgentSpecChangedCondition}},
		[]admissionregistrationv1.Variable{
			{Name: "credentialSecrets", Expression: "has(object.spec) && has(object.spec.credentials) ? object.spec.credentials.map(c, c.secretRef.name) : []"},
			{Name: "contextSecrets", Expression: "has(object.spec) && has(object.spec.contexts) ? object.spec.contexts.map(c, has(c.git) && has(c.git.secretRef) ? c.git.secretRef.name : '') : []"},
		}, validations)
}

// getCheck is an authorizer check of "get" on one object of a core resource.
func getCheck(resource, namespace, name string) string {
	return "authorizer.group('').resource('" + resource + "').namespace(" + namespace + ").name(" + name + ").check('get').allowed()"
}

// refusalMessage is a CEL string expression: the field, the user, the missing permission, why.
func refusalMessage(field, resource, name, why string) string {
	return `'` + field + `: user "' + request.userInfo.username + '" may not get ` + resource + ` "' + ` + name +
		` + '" in namespace "' + request.namespace + '" (RBAC get on ` + resource + `): ` + why + `'`
}

func referencesPolicy(name string, labels map[string]string, resource string, ops []admissionregistrationv1.OperationType,
	conditions []admissionregistrationv1.MatchCondition, vars []admissionregistrationv1.Variable,
	validations []admissionregistrationv1.Validation) *admissionregistrationv1.ValidatingAdmissionPolicy {
	fail := admissionregistrationv1.Fail
	equivalent := admissionregistrationv1.Equivalent
	return &admissionregistrationv1.ValidatingAdmissionPolicy{
		TypeMeta:   metav1.TypeMeta{APIVersion: admissionregistrationv1.SchemeGroupVersion.String(), Kind: "ValidatingAdmissionPolicy"},
		ObjectMeta: metav1.ObjectMeta{Name: name, Labels: cloneMap(labels)},
		Spec: admissionregistrationv1.ValidatingAdmissionPolicySpec{
			FailurePolicy: &fail,
			MatchConstraints: &admissionregistrationv1.MatchResources{
				MatchPolicy: &equivalent,
				ResourceRules: []admissionregistrationv1.NamedRuleWithOperations{{
					RuleWithOperations: admissionregistrationv1.RuleWithOperations{
						Operations: ops,
						Rule: admissionregistrationv1.Rule{
							APIGroups:   []string{APIGroup},
							APIVersions: []string{"v1alpha1"},
							Resources:   []string{resource},
						},
					},
				}},
			},
			MatchConditions: conditions,
			Variables:       vars,
			Validations:     validations,
		},
	}
}
