package taskpod

import (
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/validation/field"
	"k8s.io/utils/ptr"

	"github.com/kubeopencode/kubeopencode/api/v1alpha1"
	"github.com/kubeopencode/kubeopencode/podspec"
	"github.com/kubeopencode/kubeopencode/policy"
)

// networkPolicySuffix names an Agent's egress NetworkPolicy: <agent>-egress.
const networkPolicySuffix = "-egress"

// NetworkPolicyName is the name of the Agent's egress NetworkPolicy: <agent>-egress, or a hashed
// name when that would be longer than a DNS subdomain allows.
func NetworkPolicyName(agent *v1alpha1.Agent) string {
	if n := agent.Name + networkPolicySuffix; len(n) <= 253 {
		return n
	}
	return podspec.DNSLabel(agent.Name+networkPolicySuffix, string(agent.UID))
}

// AgentPodSelector selects the Pods of exactly this Agent in its namespace: agent Pods always
// run in the Agent's namespace and carry the managed-by label, the Agent's name and its UID
// (reserved keys that Agents cannot set, T12). The name label alone is not enough: a name longer
// than 63 characters becomes a prefix and a hash, and another Agent may be named exactly that;
// the UID label cannot collide (T17).
func AgentPodSelector(agent *v1alpha1.Agent) map[string]string {
	sel := AgentNameSelector(agent)
	sel[v1alpha1.AgentUIDLabel] = podspec.LabelValue(string(agent.UID))
	return sel
}

// AgentNameSelector finds the egress NetworkPolicies made for an Agent by name, including ones
// made before the UID label existed; ownership is then decided by the controller reference.
func AgentNameSelector(agent *v1alpha1.Agent) map[string]string {
	return map[string]string{
		v1alpha1.ManagedByLabel: v1alpha1.ManagedByValue,
		v1alpha1.AgentLabel:     podspec.LabelValue(agent.Name),
	}
}

// EgressNetworkPolicy is the Agent's egress NetworkPolicy (T17), owned by the Agent: default-deny
// egress for the Agent's Pods, allowing DNS and spec.networkPolicy's allow-list. It is nil when
// the Agent asks for none. The error is a field.ErrorList (every refused rule) as an aggregate.
func EgressNetworkPolicy(agent *v1alpha1.Agent) (*networkingv1.NetworkPolicy, error) {
	np := agent.Spec.NetworkPolicy
	if np == nil {
		return nil, nil
	}
	allow := make([]policy.EgressRule, 0, len(np.Egress))
	for _, e := range np.Egress {
		ports := make([]policy.EgressPort, 0, len(e.Ports))
		for _, p := range e.Ports {
			ports = append(ports, policy.EgressPort{Port: p.Port, Protocol: protocol(p.Protocol)})
		}
		for _, cidr := range e.CIDRs {
			allow = append(allow, policy.EgressRule{CIDR: cidr, Ports: ports})
		}
	}
	out, err := policy.AgentEgressNetworkPolicy(policy.AgentEgress{
		Namespace: agent.Namespace, Name: NetworkPolicyName(agent),
		PodSelector: AgentPodSelector(agent), Labels: AgentPodSelector(agent), Allow: allow,
	})
	if err != nil {
		return nil, libraryProblems(field.NewPath("spec", "networkPolicy"), err).ToAggregate()
	}
	out.OwnerReferences = []metav1.OwnerReference{{
		APIVersion: v1alpha1.GroupVersion.String(), Kind: "Agent", Name: agent.Name, UID: agent.UID,
		Controller: ptr.To(true), BlockOwnerDeletion: ptr.To(true),
	}}
	return out, nil
}

func protocol(p v1alpha1.Protocol) corev1.Protocol {
	if p == "" {
		return corev1.ProtocolTCP
	}
	return corev1.Protocol(p)
}
