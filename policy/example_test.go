package policy_test

import (
	"errors"
	"fmt"
	"os"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/kubeopencode/kubeopencode/policy"
)

func ExampleCompilePatterns() {
	patterns, err := policy.CompilePatterns([]string{"team-*", "ci-??"})
	if err != nil {
		panic(err)
	}
	fmt.Println(patterns.Match("team-payments"), patterns.Match("ci-42"), patterns.Match("ci-420"))

	// Every bad pattern is reported with its index.
	_, err = policy.CompilePatterns([]string{"ok", "Team-A", "dev-"})
	var perrs policy.PatternErrors
	if errors.As(err, &perrs) {
		for _, e := range perrs {
			fmt.Println(e.Index, e.Problem)
		}
	}
	// Output:
	// true true false
	// 1 character 'T' at offset 0: patterns are lower-case
	// 2 must not end with '-'
}

func ExamplePatterns_Match() {
	patterns, _ := policy.CompilePatterns([]string{"*-prod"})
	fmt.Println(patterns.Match("payments-prod"), patterns.Match("payments-prod-eu"))
	// Output: true false
}

func ExampleValidatePattern() {
	fmt.Println(policy.ValidatePattern("team-?"))
	fmt.Println(policy.ValidatePattern("team_a"))
	// Output:
	// <nil>
	// allowedNamespaces[0] "team_a": character '_' at offset 4: only a-z, 0-9, '-', '*' and '?' are allowed
}

func ExampleNewNamespacePolicy() {
	// An empty list: only the Agent's own namespace.
	own := policy.NewNamespacePolicy("agents", "coder", nil)
	fmt.Println(own.Decide("agents").Reason, own.Decide("team-a").Reason)

	// A list invites more namespaces; the own namespace stays allowed.
	invited := policy.NewNamespacePolicy("agents", "coder", []string{"team-*"})
	fmt.Println(invited.Decide("team-a").Reason, invited.Decide("agents").Reason)
	// Output:
	// SameNamespace NamespaceNotAllowed
	// AllowedByPattern SameNamespace
}

func ExampleNamespacePolicy_Decide() {
	p := policy.NewNamespacePolicy("agents", "coder", []string{"team-a", "secret-partner-*"})
	d := p.Decide("team-b")
	fmt.Println(d.Allowed, d.Reason)
	fmt.Println(d.Message)
	// Output:
	// false NamespaceNotAllowed
	// the Task's namespace "team-b" is not permitted to use Agent "agents/coder"; ask the platform team that owns namespace "agents" to add it to the Agent's allowedNamespaces
}

func ExampleNamespacePolicy_Err() {
	p := policy.NewNamespacePolicy("agents", "coder", []string{"*", "BAD"})
	fmt.Println(p.Err())                   // for the Agent's status
	fmt.Println(p.Decide("agents").Reason) // fail closed, even for the own namespace
	// Output:
	// spec.allowedNamespaces[1]: Invalid value: "BAD": character 'B' at offset 0: patterns are lower-case
	// InvalidAgentPolicy
}

func ExampleNewPodSecurityJudge() {
	judge, err := policy.NewPodSecurityJudge("restricted", "latest")
	if err != nil {
		panic(err)
	}
	fmt.Println(judge.Standard())
	_, err = policy.NewPodSecurityJudge("restricted", "1.37")
	fmt.Println(err)
	// Output:
	// restricted:latest
	// version: Invalid value: "1.37": must be "latest" or "v1.x"
}

func ExamplePodSecurityJudge_Judge() {
	judge, _ := policy.NewPodSecurityJudge("restricted", "v1.37")
	pod := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: "task-1"},
		Spec:       corev1.PodSpec{Containers: []corev1.Container{{Name: "agent", Image: "agent:1"}}},
	}
	verdict := judge.Judge(pod)
	fmt.Println(verdict.Allowed)
	for _, r := range verdict.Reasons {
		fmt.Println(r)
	}
	// Output:
	// false
	// allowPrivilegeEscalation != false (container "agent" must set securityContext.allowPrivilegeEscalation=false)
	// unrestricted capabilities (container "agent" must set securityContext.capabilities.drop=["ALL"])
	// runAsNonRoot != true (pod or container "agent" must set securityContext.runAsNonRoot=true)
	// seccompProfile (pod or container "agent" must set securityContext.seccompProfile.type to "RuntimeDefault" or "Localhost")
}

func ExamplePodSecurityJudge_Standard() {
	judge, _ := policy.NewPodSecurityJudge("baseline", "v1.30")
	fmt.Println(judge.Standard())
	// Output: baseline:v1.30
}

func ExamplePodVerdict_Message() {
	judge, _ := policy.NewPodSecurityJudge("baseline", "latest")
	pod := &corev1.Pod{Spec: corev1.PodSpec{HostNetwork: true, Containers: []corev1.Container{{Name: "agent"}}}}
	fmt.Println(judge.Judge(pod).Message())
	// Output: violates PodSecurity "baseline:latest": host namespaces (hostNetwork=true)
}

func ExamplePodVerdict_Err() {
	judge, _ := policy.NewPodSecurityJudge("baseline", "latest")
	pod := &corev1.Pod{Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "agent"}}}}
	// The operator refuses to create a Pod whose verdict has an error.
	if err := judge.Judge(pod).Err(); err != nil {
		fmt.Println("refused:", err)
		return
	}
	fmt.Println("create the Pod")
	// Output: create the Pod
}

func ExampleRenderYAML() {
	// Objects from any generator, as one stream ready for `kubectl apply -f -`.
	out, err := policy.RenderYAML(policy.PolicyBinding("example-policy", map[string]string{"team": "a"}))
	if err != nil {
		panic(err)
	}
	_, _ = os.Stdout.Write(out)
	// Output:
	// ---
	// apiVersion: admissionregistration.k8s.io/v1
	// kind: ValidatingAdmissionPolicyBinding
	// metadata:
	//   labels:
	//     team: a
	//   name: example-policy
	// spec:
	//   policyName: example-policy
	//   validationActions:
	//   - Deny
}

func ExampleAgentEgressNetworkPolicy() {
	np, err := policy.AgentEgressNetworkPolicy(policy.AgentEgress{
		Namespace:   "agents",
		Name:        "coder-egress",
		PodSelector: map[string]string{"kubeopencode.io/agent": "coder"},
		Allow: []policy.EgressRule{
			{CIDR: "0.0.0.0/0", Ports: []policy.EgressPort{{Port: 443}}},
		},
	})
	if err != nil {
		panic(err)
	}
	block := np.Spec.Egress[1].To[0].IPBlock
	fmt.Println(block.CIDR, block.Except)

	_, err = policy.AgentEgressNetworkPolicy(policy.AgentEgress{
		Namespace:   "agents",
		Name:        "coder-egress",
		PodSelector: map[string]string{"kubeopencode.io/agent": "coder"},
		Allow:       []policy.EgressRule{{CIDR: "169.254.169.254/32"}},
	})
	fmt.Println(err)
	// Output:
	// 0.0.0.0/0 [169.254.0.0/16 100.100.100.200/32]
	// allow[0].cidr: Invalid value: "169.254.169.254/32": lies inside 169.254.0.0/16 (link-local or cloud metadata), which is never allowed
}

func ExamplePatternErrors_Error() {
	_, err := policy.CompilePatterns([]string{"team-a", "", "-x"})
	fmt.Println(err)
	// Output: allowedNamespaces[1] "": must not be empty; allowedNamespaces[2] "-x": must not start with '-'
}

func ExamplePatternError_Error() {
	err := &policy.PatternError{Index: 3, Pattern: "a_b", Problem: "bad"}
	fmt.Println(err)
	// Output: allowedNamespaces[3] "a_b": bad
}
