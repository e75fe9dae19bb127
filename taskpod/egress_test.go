package taskpod

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/types"

	"github.com/kubeopencode/kubeopencode/api/v1alpha1"
	"github.com/kubeopencode/kubeopencode/podspec"
	"github.com/kubeopencode/kubeopencode/policy"
)

// TestEgressNetworkPolicy (T17): the policy is default-deny egress, owned by the Agent, excepts
// link-local and metadata addresses from a wide allowed range, and selects the Pods Build makes
// for this Agent and no other Agent's, even when a long name makes the two Agents' name labels
// equal (the UID label tells them apart). An Agent without spec.networkPolicy gets none.
func TestEgressNetworkPolicy(t *testing.T) {
	long := "an-agent-" + strings.Repeat("x", 70)
	mk := func(name string, uid types.UID, np *v1alpha1.AgentNetworkPolicy) *v1alpha1.Agent {
		return &v1alpha1.Agent{ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: name, UID: uid},
			Spec: v1alpha1.AgentSpec{ServiceAccountName: "sa", NetworkPolicy: np}}
	}
	allow := &v1alpha1.AgentNetworkPolicy{Egress: []v1alpha1.EgressRule{{CIDRs: []string{"0.0.0.0/0"}, Ports: []v1alpha1.EgressPort{{Port: 443}}}}}
	isolated := mk(long, "uid-isolated", allow)
	// The second Agent is named exactly the first one's (hashed) name label.
	twin := mk(podspec.LabelValue(long), "uid-twin", nil)
	open := mk("open", "uid-open", nil)
	if twin.Name == isolated.Name || AgentNameSelector(twin)[v1alpha1.AgentLabel] != AgentNameSelector(isolated)[v1alpha1.AgentLabel] {
		t.Fatalf("the test needs two Agents with one name label: %q and %q", isolated.Name, twin.Name)
	}

	np, err := EgressNetworkPolicy(isolated)
	if err != nil {
		t.Fatal(err)
	}
	if np.Namespace != "ns" || np.Name != isolated.Name+networkPolicySuffix {
		t.Errorf("name %s/%s, want ns/<agent>-egress", np.Namespace, np.Name)
	}
	want := []metav1.OwnerReference{{APIVersion: v1alpha1.GroupVersion.String(), Kind: "Agent", Name: isolated.Name, UID: isolated.UID,
		Controller: ptrTo(true), BlockOwnerDeletion: ptrTo(true)}}
	if diff := cmp.Diff(want, np.OwnerReferences); diff != "" {
		t.Errorf("owner references (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]networkingv1.PolicyType{networkingv1.PolicyTypeEgress}, np.Spec.PolicyTypes); diff != "" {
		t.Errorf("policyTypes (-want +got):\n%s", diff)
	}
	var excepts []string
	for _, r := range np.Spec.Egress {
		for _, to := range r.To {
			if to.IPBlock != nil {
				excepts = append(excepts, to.IPBlock.Except...)
			}
		}
	}
	if diff := cmp.Diff([]string{policy.LinkLocalIPv4, policy.MetadataAlibaba}, excepts); diff != "" {
		t.Errorf("ipBlock excepts (-want +got):\n%s", diff)
	}
	sel, err := metav1.LabelSelectorAsSelector(&np.Spec.PodSelector)
	if err != nil || sel.Empty() {
		t.Fatalf("podSelector %v: %v", np.Spec.PodSelector, err)
	}
	for _, a := range []*v1alpha1.Agent{isolated, twin, open} {
		pod, _, err := build(ValidationTask(a), a, nil, nil)
		if err != nil {
			t.Fatal(err)
		}
		if got, want := sel.Matches(labels.Set(pod.Labels)), a == isolated; got != want {
			t.Errorf("Pod of Agent %s selected = %v, want %v", a.Name, got, want)
		}
	}
	if np, err := EgressNetworkPolicy(open); np != nil || err != nil {
		t.Errorf("without spec.networkPolicy: %v, %v; want none", np, err)
	}
}

// TestEgressNetworkPolicyRefused: an allow-list policy refuses (a range inside the metadata
// ranges; the API refuses it too) is an error under spec.networkPolicy, never a wider policy.
func TestEgressNetworkPolicyRefused(t *testing.T) {
	a := &v1alpha1.Agent{ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: "a", UID: "u"}, Spec: v1alpha1.AgentSpec{
		NetworkPolicy: &v1alpha1.AgentNetworkPolicy{Egress: []v1alpha1.EgressRule{{CIDRs: []string{"169.254.169.254/32"}}}}}}
	np, err := EgressNetworkPolicy(a)
	if np != nil || err == nil || !strings.HasPrefix(err.Error(), "spec.networkPolicy") {
		t.Errorf("EgressNetworkPolicy = %v, %v; want an error under spec.networkPolicy", np, err)
	}
}
