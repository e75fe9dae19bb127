package controller_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/kubeopencode/kubeopencode/api/v1alpha1"
	"github.com/kubeopencode/kubeopencode/operator/internal/setup"
	"github.com/kubeopencode/kubeopencode/podspec"
	"github.com/kubeopencode/kubeopencode/policy"
)

// TestT17EgressNetworkPolicy: an Agent with spec.networkPolicy gets <agent>-egress, a default-deny
// egress NetworkPolicy owned by the Agent that selects its Pods and no other Agent's, keeps the
// link-local range and the metadata addresses out of every allowed CIDR, follows changes of the allow-list, and is deleted
// when spec.networkPolicy is removed. A NetworkPolicy of the same name that the operator does not
// own is never adopted nor deleted: the Agent reports it in its Ready condition.
func TestT17EgressNetworkPolicy(t *testing.T) {
	ctx := context.Background()
	ns := env.Namespace(ctx, t)
	startOperator(t, []string{ns})

	isolated := agent(ns, "isolated", func(a *v1alpha1.Agent) {
		a.Spec.NetworkPolicy = &v1alpha1.AgentNetworkPolicy{Egress: []v1alpha1.EgressRule{
			{CIDRs: []string{"0.0.0.0/0"}, Ports: []v1alpha1.EgressPort{{Port: 443}}},
		}}
	})
	open := agent(ns, "open")
	create(t, isolated, open)
	npKey := client.ObjectKey{Namespace: ns, Name: "isolated-egress"}
	np := &networkingv1.NetworkPolicy{}
	eventually(t, 30*time.Second, "the egress NetworkPolicy", func(ctx context.Context) (bool, error) {
		return env.Client.Get(ctx, npKey, np) == nil, nil
	})
	ref := metav1.GetControllerOf(np)
	if ref == nil || ref.UID != isolated.UID || ref.Kind != "Agent" || ref.BlockOwnerDeletion == nil || !*ref.BlockOwnerDeletion {
		t.Errorf("owner reference %+v, want the Agent %s as controller with blockOwnerDeletion", ref, isolated.UID)
	}
	if got := np.Spec.PolicyTypes; len(got) != 1 || got[0] != networkingv1.PolicyTypeEgress {
		t.Errorf("policyTypes %v, want [Egress] (default deny)", got)
	}
	var excepts []string
	for _, r := range np.Spec.Egress {
		for _, to := range r.To {
			if to.IPBlock != nil {
				excepts = append(excepts, to.IPBlock.Except...)
			}
		}
	}
	if want := policy.LinkLocalIPv4 + "," + policy.MetadataAlibaba; strings.Join(excepts, ",") != want {
		t.Errorf("ipBlock excepts %v, want the link-local range and the metadata address %s", excepts, want)
	}

	// It selects the isolated Agent's Pods and not the other Agent's.
	sel, err := metav1.LabelSelectorAsSelector(&np.Spec.PodSelector)
	if err != nil || sel.Empty() {
		t.Fatalf("podSelector %v: %v", np.Spec.PodSelector, err)
	}
	for _, a := range []*v1alpha1.Agent{isolated, open} {
		tk := task(ns, "on-"+a.Name, ns, a.Name)
		create(t, tk)
		pod := waitPod(t, tk)
		if got, want := sel.Matches(labels.Set(pod.Labels)), a == isolated; got != want {
			t.Errorf("Pod of Agent %s selected = %v, want %v", a.Name, got, want)
		}
	}

	// The allow-list changes: the policy follows.
	cur := isolated.DeepCopy()
	mutate(t, cur, func(a *v1alpha1.Agent) { a.Spec.NetworkPolicy.Egress[0].CIDRs = []string{"10.20.0.0/16"} })
	eventually(t, 30*time.Second, "the NetworkPolicy to follow the allow-list", func(ctx context.Context) (bool, error) {
		if err := env.Client.Get(ctx, npKey, np); err != nil {
			return false, err
		}
		for _, r := range np.Spec.Egress {
			for _, to := range r.To {
				if to.IPBlock != nil && to.IPBlock.CIDR == "10.20.0.0/16" {
					return true, nil
				}
			}
		}
		return false, nil
	})

	// Removing spec.networkPolicy deletes it.
	mutate(t, cur, func(a *v1alpha1.Agent) { a.Spec.NetworkPolicy = nil })
	waitGone(t, &networkingv1.NetworkPolicy{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: npKey.Name}})

	// Someone else's NetworkPolicy under the name: left alone, the Agent says why.
	foreign := &networkingv1.NetworkPolicy{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "squatted-egress"},
		Spec:       networkingv1.NetworkPolicySpec{PolicyTypes: []networkingv1.PolicyType{networkingv1.PolicyTypeIngress}},
	}
	create(t, foreign)
	squatted := agent(ns, "squatted", func(a *v1alpha1.Agent) { a.Spec.NetworkPolicy = &v1alpha1.AgentNetworkPolicy{} })
	create(t, squatted)
	eventually(t, 30*time.Second, "Agent squatted not Ready", func(ctx context.Context) (bool, error) {
		a := &v1alpha1.Agent{}
		if err := env.Client.Get(ctx, client.ObjectKeyFromObject(squatted), a); err != nil {
			return false, err
		}
		c := meta.FindStatusCondition(a.Status.Conditions, v1alpha1.ConditionReady)
		return c != nil && c.Status == metav1.ConditionFalse && strings.Contains(c.Message, "does not belong to this Agent"), nil
	})
	got := &networkingv1.NetworkPolicy{}
	if err := env.Client.Get(ctx, client.ObjectKeyFromObject(foreign), got); err != nil {
		t.Fatal(err)
	}
	if len(got.OwnerReferences) != 0 || len(got.Spec.Egress) != 0 || got.Spec.PolicyTypes[0] != networkingv1.PolicyTypeIngress {
		t.Errorf("the foreign NetworkPolicy was changed: %+v", got)
	}
}

// TestT17AgentLabelCollision: Agent names longer than 63 characters become a readable prefix and
// a hash in the kubeopencode.io/agent label, so a second Agent can be named exactly that label
// value. The two Agents' Pods then carry the same agent label; each Agent's egress NetworkPolicy
// must still select only its own Pods (it also selects on the Agent's UID, which cannot collide).
func TestT17AgentLabelCollision(t *testing.T) {
	ctx := context.Background()
	ns := env.Namespace(ctx, t)
	startOperator(t, []string{ns})
	long := "collide-" + strings.Repeat("x", 70)
	short := podspec.LabelValue(long)
	if short == long || len(short) > 63 {
		t.Fatalf("LabelValue(%q) = %q: not a derived value", long, short)
	}
	withPolicy := func(cidr string) func(*v1alpha1.Agent) {
		return func(a *v1alpha1.Agent) {
			a.Spec.NetworkPolicy = &v1alpha1.AgentNetworkPolicy{Egress: []v1alpha1.EgressRule{{CIDRs: []string{cidr}}}}
		}
	}
	agents := []*v1alpha1.Agent{agent(ns, long, withPolicy("10.1.0.0/16")), agent(ns, short, withPolicy("10.2.0.0/16"))}
	create(t, agents[0], agents[1])
	pods := map[string]*corev1.Pod{}
	for i, a := range agents {
		tk := task(ns, fmt.Sprintf("task-%d", i), ns, a.Name)
		create(t, tk)
		pods[a.Name] = waitPod(t, tk)
	}
	if pods[long].Labels[v1alpha1.AgentLabel] != pods[short].Labels[v1alpha1.AgentLabel] {
		t.Fatalf("the agent labels differ (%q, %q): the names do not collide", pods[long].Labels[v1alpha1.AgentLabel], pods[short].Labels[v1alpha1.AgentLabel])
	}
	for _, a := range agents {
		np := &networkingv1.NetworkPolicy{}
		eventually(t, 30*time.Second, "the egress NetworkPolicy of "+a.Name, func(ctx context.Context) (bool, error) {
			list := &networkingv1.NetworkPolicyList{}
			if err := env.Client.List(ctx, list, client.InNamespace(ns)); err != nil {
				return false, err
			}
			for i := range list.Items {
				if ref := metav1.GetControllerOf(&list.Items[i]); ref != nil && ref.UID == a.UID {
					*np = list.Items[i]
					return true, nil
				}
			}
			return false, nil
		})
		sel, err := metav1.LabelSelectorAsSelector(&np.Spec.PodSelector)
		if err != nil {
			t.Fatal(err)
		}
		for owner, pod := range pods {
			if got, want := sel.Matches(labels.Set(pod.Labels)), owner == a.Name; got != want {
				t.Errorf("NetworkPolicy %s of Agent %s selects the Pod of Agent %s: %v, want %v", np.Name, a.Name, owner, got, want)
			}
		}
	}
}

// TestT17NoPodWithoutTheEgressPolicy: someone with NetworkPolicy rights in the Agent's namespace
// (not a task author) creates an allow-everything policy under the name the Agent's egress policy
// takes, before the Agent exists. The operator leaves that policy alone and cannot create its own,
// so a Task of the Agent must not start: an agent Pod without the egress restriction its Agent
// declares would be a weaker Pod. Within the grace the Task waits (no Pod); past it, it fails
// with EgressPolicyNotInForce and an Event. Once the foreign policy is gone and the operator's is
// in force, a new Task runs.
func TestT17NoPodWithoutTheEgressPolicy(t *testing.T) {
	ctx := context.Background()
	ns := env.Namespace(ctx, t)
	allowAll := &networkingv1.NetworkPolicy{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "guarded-egress"},
		Spec: networkingv1.NetworkPolicySpec{
			PolicyTypes: []networkingv1.PolicyType{networkingv1.PolicyTypeEgress},
			Egress:      []networkingv1.NetworkPolicyEgressRule{{}}, // one empty rule: every destination
		},
	}
	create(t, allowAll)
	guarded := agent(ns, "guarded", func(a *v1alpha1.Agent) {
		a.Spec.NetworkPolicy = &v1alpha1.AgentNetworkPolicy{Egress: []v1alpha1.EgressRule{
			{CIDRs: []string{"10.0.0.0/8"}, Ports: []v1alpha1.EgressPort{{Port: 443}}},
		}}
	})
	create(t, guarded)
	const grace = 3 * time.Second
	startOperator(t, []string{ns}, func(o *setup.Options) { o.Controller.EgressPolicyGrace = grace })

	first := task(ns, "first", ns, "guarded")
	create(t, first)
	consistently(t, grace-time.Second, "the Task has no Pod while its Agent's egress policy is not in force", func(context.Context) (bool, error) {
		return len(podsOf(t, first)) == 0, nil
	})
	got := waitPhase(t, first, v1alpha1.TaskPhaseFailed)
	if c := succeeded(got); c.Reason != v1alpha1.ReasonEgressPolicyNotInForce {
		t.Errorf("Succeeded condition %s: %s, want reason %s", c.Reason, c.Message, v1alpha1.ReasonEgressPolicyNotInForce)
	}
	waitEvent(t, first, v1alpha1.ReasonEgressPolicyNotInForce)
	if pods := podsOf(t, first); len(pods) != 0 {
		t.Errorf("the Task's Pod %s was created without the Agent's egress policy", pods[0].Name)
	}

	// The platform team removes the foreign policy: the operator's own goes in, Tasks run.
	if err := env.Client.Delete(ctx, allowAll); err != nil {
		t.Fatal(err)
	}
	np := &networkingv1.NetworkPolicy{}
	eventually(t, 60*time.Second, "the operator's egress policy", func(ctx context.Context) (bool, error) {
		if err := env.Client.Get(ctx, client.ObjectKey{Namespace: ns, Name: "guarded-egress"}, np); err != nil {
			return false, client.IgnoreNotFound(err)
		}
		return metav1.GetControllerOf(np) != nil && metav1.GetControllerOf(np).UID == guarded.UID, nil
	})
	second := task(ns, "second", ns, "guarded")
	create(t, second)
	waitPod(t, second)
}
