package kubeopencode_test

import (
	"fmt"

	"github.com/kubeopencode/kubeopencode/policy"
	"github.com/kubeopencode/kubeopencode/policy/kubeopencode"
)

func ExampleAgentUsePolicy() {
	p := kubeopencode.AgentUsePolicy(kubeopencode.AdmissionPolicyOptions{})
	fmt.Println(p.Name, *p.Spec.FailurePolicy)
	fmt.Println(p.Spec.Validations[1].Expression)
	// Output:
	// kubeopencode-task-agent-use Fail
	// authorizer.group('kubeopencode.io').resource('agents').namespace(variables.agentNamespace).name(variables.agentName).check('use').allowed()
}

func ExampleAgentUsePolicyBinding() {
	b := kubeopencode.AgentUsePolicyBinding(kubeopencode.AdmissionPolicyOptions{Name: "agent-use"})
	fmt.Println(b.Name, b.Spec.PolicyName, b.Spec.ValidationActions)
	// Output: agent-use agent-use [Deny]
}

func ExampleAgentUserClusterRole() {
	role := kubeopencode.AgentUserClusterRole(kubeopencode.AgentUserRoleOptions{AgentNames: []string{"coder"}})
	out, _ := policy.RenderYAML(role)
	fmt.Print(string(out))
	// Output:
	// ---
	// apiVersion: rbac.authorization.k8s.io/v1
	// kind: ClusterRole
	// metadata:
	//   name: kubeopencode-agent-user
	// rules:
	// - apiGroups:
	//   - kubeopencode.io
	//   resourceNames:
	//   - coder
	//   resources:
	//   - agents
	//   verbs:
	//   - use
}

func ExamplePolicies() {
	for _, p := range kubeopencode.Policies(kubeopencode.PoliciesOptions{}) {
		fmt.Println(p.Threat, p.Policy.Name, p.Binding.Spec.ValidationActions)
	}
	// Output:
	// T2 kubeopencode-task-agent-use [Deny]
	// T19 kubeopencode-task-references [Deny]
	// T21 kubeopencode-agent-references [Deny]
	// T18 kubeopencode-task-cleanup-finalizer [Deny]
}

func ExampleTaskReferencesPolicy() {
	p := kubeopencode.TaskReferencesPolicy(kubeopencode.AdmissionPolicyOptions{})
	// One bound check, then one validation per context index (the CRD allows 16).
	fmt.Println(len(p.Spec.Validations), p.Spec.Validations[0].Expression)
	// Output: 17 size(variables.contexts) <= 16
}
