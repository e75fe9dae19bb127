package controller

import (
	"context"
	"fmt"

	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/kubeopencode/kubeopencode/api/v1alpha1"
	"github.com/kubeopencode/kubeopencode/podspec"
	"github.com/kubeopencode/kubeopencode/policy"
)

// networkPolicySuffix names an Agent's egress NetworkPolicy: <agent>-egress.
const networkPolicySuffix = "-egress"

// networkPolicyName is the name of the Agent's egress NetworkPolicy: <agent>-egress, or a hashed
// name when that would be longer than a DNS subdomain allows.
func networkPolicyName(agent *v1alpha1.Agent) string {
	if n := agent.Name + networkPolicySuffix; len(n) <= 253 {
		return n
	}
	return podspec.DNSLabel(agent.Name+networkPolicySuffix, string(agent.UID))
}

// agentPodSelector selects the Pods of exactly this Agent in its namespace: agent Pods always
// run in the Agent's namespace and carry the operator's managed-by label, the Agent's name and
// its UID (reserved keys that Agents cannot set, T12). The name label alone is not enough: a
// name longer than 63 characters becomes a prefix and a hash, and another Agent may be named
// exactly that; the UID label cannot collide (T17).
func agentPodSelector(agent *v1alpha1.Agent) map[string]string {
	sel := agentNameSelector(agent)
	sel[v1alpha1.AgentUIDLabel] = podspec.LabelValue(string(agent.UID))
	return sel
}

// agentNameSelector finds the operator's NetworkPolicies of an Agent by name, including ones
// made before the UID label existed; ownership is then decided by the controller reference.
func agentNameSelector(agent *v1alpha1.Agent) map[string]string {
	return map[string]string{
		v1alpha1.ManagedByLabel: v1alpha1.ManagedByValue,
		v1alpha1.AgentLabel:     podspec.LabelValue(agent.Name),
	}
}

// desiredNetworkPolicy is the Agent's egress NetworkPolicy (T17), owned by the Agent.
func desiredNetworkPolicy(agent *v1alpha1.Agent) (*networkingv1.NetworkPolicy, error) {
	np := agent.Spec.NetworkPolicy
	allow := make([]policy.EgressRule, 0, len(np.Egress))
	for _, e := range np.Egress {
		ports := make([]policy.EgressPort, 0, len(e.Ports))
		for _, p := range e.Ports {
			ports = append(ports, policy.EgressPort{Port: p.Port, Protocol: corev1Protocol(p.Protocol)})
		}
		for _, cidr := range e.CIDRs {
			allow = append(allow, policy.EgressRule{CIDR: cidr, Ports: ports})
		}
	}
	out, err := policy.AgentEgressNetworkPolicy(policy.AgentEgress{
		Namespace: agent.Namespace, Name: networkPolicyName(agent),
		PodSelector: agentPodSelector(agent), Labels: agentPodSelector(agent), Allow: allow,
	})
	if err != nil {
		return nil, fmt.Errorf("spec.networkPolicy: %w", err)
	}
	out.OwnerReferences = []metav1.OwnerReference{{
		APIVersion: v1alpha1.GroupVersion.String(), Kind: "Agent", Name: agent.Name, UID: agent.UID,
		Controller: ptr.To(true), BlockOwnerDeletion: ptr.To(true),
	}}
	return out, nil
}

// ownedByAgent reports whether obj's controller reference is this Agent (by UID).
func ownedByAgent(obj metav1.Object, agent *v1alpha1.Agent) bool {
	ref := metav1.GetControllerOf(obj)
	return ref != nil && ref.UID == agent.UID && ref.Kind == "Agent" && ref.APIVersion == v1alpha1.GroupVersion.String()
}

// syncNetworkPolicy makes the Agent's egress NetworkPolicy match spec.networkPolicy: created,
// updated, or deleted when the Agent no longer asks for one. It finds the operator's policies by
// label and acts only on those whose controller reference is this Agent; it never adopts a
// policy someone else created under the same name. It returns a problem for the Ready condition
// (the platform team's to fix), or an error to retry.
func (r *AgentReconciler) syncNetworkPolicy(ctx context.Context, agent *v1alpha1.Agent) (string, error) {
	list := &networkingv1.NetworkPolicyList{}
	if err := r.Client.List(ctx, list, client.InNamespace(agent.Namespace), client.MatchingLabels(agentNameSelector(agent))); err != nil {
		return "", fmt.Errorf("listing the NetworkPolicies of Agent %s/%s: %w", agent.Namespace, agent.Name, err)
	}
	var want *networkingv1.NetworkPolicy
	if agent.Spec.NetworkPolicy != nil {
		np, err := desiredNetworkPolicy(agent)
		if err != nil {
			return err.Error(), nil
		}
		want = np
	}
	var have *networkingv1.NetworkPolicy
	for i := range list.Items {
		np := &list.Items[i]
		if !ownedByAgent(np, agent) {
			continue
		}
		if want != nil && np.Name == want.Name && have == nil {
			have = np
			continue
		}
		// Ours but no longer wanted (spec.networkPolicy removed, or an older name).
		uid := np.UID
		if err := r.Client.Delete(ctx, np, client.Preconditions{UID: &uid}); err != nil && !apierrors.IsNotFound(err) {
			return "", fmt.Errorf("deleting NetworkPolicy %s/%s: %w", np.Namespace, np.Name, err)
		}
	}
	if want == nil {
		return "", nil
	}
	if have == nil {
		err := r.Client.Create(ctx, want)
		if apierrors.IsAlreadyExists(err) {
			// Not found by label and owner: someone else's object. Never adopt it (T4).
			// The API server decides (metadata only): the cache may lag behind our own create.
			other := &metav1.PartialObjectMetadata{}
			other.SetGroupVersionKind(networkingv1.SchemeGroupVersion.WithKind("NetworkPolicy"))
			if gerr := r.APIReader.Get(ctx, types.NamespacedName{Namespace: want.Namespace, Name: want.Name}, other); gerr != nil {
				return "", fmt.Errorf("reading NetworkPolicy %s/%s: %w", want.Namespace, want.Name, gerr)
			}
			if ownedByAgent(other, agent) {
				return "", fmt.Errorf("NetworkPolicy %s/%s exists but is not in the cache yet", want.Namespace, want.Name)
			}
			return fmt.Sprintf("spec.networkPolicy: a NetworkPolicy named %s already exists in namespace %s and does not belong to this Agent; it was left alone (delete or rename it)",
				want.Name, want.Namespace), nil
		}
		if err != nil {
			return "", fmt.Errorf("creating NetworkPolicy %s/%s: %w", want.Namespace, want.Name, err)
		}
		return "", nil
	}
	if equality.Semantic.DeepEqual(have.Spec, want.Spec) && equality.Semantic.DeepEqual(have.Labels, want.Labels) {
		return "", nil
	}
	upd := have.DeepCopy()
	upd.Spec = want.Spec
	upd.Labels = want.Labels
	if err := r.Client.Update(ctx, upd); err != nil {
		return "", fmt.Errorf("updating NetworkPolicy %s/%s: %w", upd.Namespace, upd.Name, err)
	}
	return "", nil
}

func corev1Protocol(p v1alpha1.Protocol) corev1.Protocol {
	if p == "" {
		return corev1.ProtocolTCP
	}
	return corev1.Protocol(p)
}
