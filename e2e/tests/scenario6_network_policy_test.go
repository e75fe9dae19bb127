//go:build e2e

package tests

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	networkingv1 "k8s.io/api/networking/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/client-go/util/retry"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/e2e-framework/pkg/envconf"
	"sigs.k8s.io/e2e-framework/pkg/features"

	"github.com/kubeopencode/kubeopencode/api/v1alpha1"
	"github.com/kubeopencode/kubeopencode/e2e/framework"
)

// TestNetworkPolicy is scenario 6 (T17): the example Agent with an egress allow-list
// (examples/network-policy) gets the NetworkPolicy the operator generates for it: the spec the
// example documents, owned by the Agent, selecting that Agent's Pods and no other's; it follows
// the allow-list, goes when the Agent stops asking for it, and a policy of that name that the
// operator does not own is never adopted.
//
// What is not proven here: that traffic is really blocked. The test bed's CNI (a plain bridge)
// does not enforce NetworkPolicies; enforcement belongs to the cluster's network plugin.
func TestNetworkPolicy(t *testing.T) {
	logOperatorOnFailure(t)
	var (
		ns       string
		isolated *v1alpha1.Agent
		other    *v1alpha1.Agent
		example  *networkingv1.NetworkPolicy
	)
	policyOf := func(ctx context.Context, t *testing.T, c client.Client, agent *v1alpha1.Agent) *networkingv1.NetworkPolicy {
		t.Helper()
		np := &networkingv1.NetworkPolicy{}
		waitFor(ctx, t, "NetworkPolicy "+agent.Name+"-egress", taskTimeout, func(ctx context.Context) (bool, error) {
			err := c.Get(ctx, client.ObjectKey{Namespace: agent.Namespace, Name: agent.Name + "-egress"}, np)
			return err == nil, client.IgnoreNotFound(err)
		})
		return np
	}
	f := features.New("scenario 6: an Agent's egress allow-list becomes a NetworkPolicy selecting its Pods").
		Setup(func(ctx context.Context, t *testing.T, cfg *envconf.Config) context.Context {
			c := adminClient(cfg)
			ns = createNamespace(ctx, t, cfg, nil)
			isolated = exampleOf[*v1alpha1.Agent](t, "network-policy/agent.yaml")
			example = exampleOf[*networkingv1.NetworkPolicy](t, "network-policy/networkpolicy.yaml")
			isolated.Namespace = ns
			isolated.Spec.AgentImage, isolated.Spec.ExecutorImage, isolated.Spec.ServiceAccountName = agentImage, probeImage, "default"
			onKwok(&isolated.Spec)
			other = lifecycleAgent(ns, "other", nil, false)
			createAgent(ctx, t, c, isolated)
			createAgent(ctx, t, c, other)
			return ctx
		}).
		Assess("the generated policy is the example's, owned by the Agent, and selects its Pods only", func(ctx context.Context, t *testing.T, cfg *envconf.Config) context.Context {
			c := adminClient(cfg)
			np := policyOf(ctx, t, c, isolated)
			live := &v1alpha1.Agent{}
			if err := c.Get(ctx, client.ObjectKeyFromObject(isolated), live); err != nil {
				t.Fatal(err)
			}
			// The operator also selects on the Agent's UID, which a static example cannot know.
			want := example.Spec.DeepCopy()
			want.PodSelector.MatchLabels[v1alpha1.AgentUIDLabel] = string(live.UID)
			if d := cmp.Diff(*want, np.Spec); d != "" {
				t.Errorf("generated NetworkPolicy spec (-examples/network-policy/networkpolicy.yaml +operator):\n%s", d)
			}
			if ref := metav1.GetControllerOf(np); ref == nil || ref.UID != live.UID || ref.Kind != "Agent" {
				t.Errorf("NetworkPolicy controller reference %+v, want Agent %s", ref, live.UID)
			}
			// Run one Task per Agent (kwok node) and match the selector against the real Pods.
			selector, err := metav1.LabelSelectorAsSelector(&np.Spec.PodSelector)
			if err != nil {
				t.Fatal(err)
			}
			matches := map[string]bool{}
			for _, a := range []*v1alpha1.Agent{isolated, other} {
				task := newTask(ns, "np-"+a.Name, "", a.Name)
				createTask(ctx, t, cfg, c, task)
				got := waitTask(ctx, t, c, task, "to run", func(t *v1alpha1.Task) bool { return t.Status.Phase == v1alpha1.TaskPhaseRunning || isFinal(t) })
				pod := taskPod(ctx, t, c, ns, got)
				matches[a.Name] = selector.Matches(labels.Set(pod.Labels))
			}
			if d := cmp.Diff(map[string]bool{isolated.Name: true, other.Name: false}, matches); d != "" {
				t.Errorf("which Agents' Pods the policy selects (-want +got):\n%s", d)
			}
			list := &networkingv1.NetworkPolicyList{}
			if err := c.List(ctx, list, client.InNamespace(ns)); err != nil {
				t.Fatal(err)
			}
			if len(list.Items) != 1 {
				t.Errorf("%d NetworkPolicies in the namespace, want only %s's", len(list.Items), isolated.Name)
			}
			return ctx
		}).
		Assess("the policy follows the allow-list and goes when the Agent no longer asks for one", func(ctx context.Context, t *testing.T, cfg *envconf.Config) context.Context {
			c := adminClient(cfg)
			updateAgent(ctx, t, c, isolated, func(a *v1alpha1.Agent) {
				a.Spec.NetworkPolicy = &v1alpha1.AgentNetworkPolicy{Egress: []v1alpha1.EgressRule{{CIDRs: []string{"10.30.0.0/16"}, Ports: []v1alpha1.EgressPort{{Port: 8443}}}}}
			})
			waitFor(ctx, t, "the NetworkPolicy to follow the new allow-list", taskTimeout, func(ctx context.Context) (bool, error) {
				np := &networkingv1.NetworkPolicy{}
				if err := c.Get(ctx, client.ObjectKey{Namespace: ns, Name: isolated.Name + "-egress"}, np); err != nil {
					return false, client.IgnoreNotFound(err)
				}
				var cidrs []string
				for _, e := range np.Spec.Egress {
					for _, to := range e.To {
						if to.IPBlock != nil {
							cidrs = append(cidrs, to.IPBlock.CIDR)
						}
					}
				}
				return cmp.Equal(cidrs, []string{"10.30.0.0/16"}), nil
			})
			updateAgent(ctx, t, c, isolated, func(a *v1alpha1.Agent) { a.Spec.NetworkPolicy = nil })
			waitGone(ctx, t, c, &networkingv1.NetworkPolicy{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: isolated.Name + "-egress"}}, time.Minute)
			return ctx
		}).
		Assess("a NetworkPolicy of that name the operator does not own is left alone, and the Agent says so", func(ctx context.Context, t *testing.T, cfg *envconf.Config) context.Context {
			c := adminClient(cfg)
			foreign := &networkingv1.NetworkPolicy{
				ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: other.Name + "-egress", Labels: map[string]string{"owner": "someone-else"}},
				Spec: networkingv1.NetworkPolicySpec{
					PodSelector: metav1.LabelSelector{MatchLabels: map[string]string{"app": "unrelated"}},
					PolicyTypes: []networkingv1.PolicyType{networkingv1.PolicyTypeIngress},
				},
			}
			if err := framework.Apply(ctx, c, foreign); err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { _ = ignoreNotFound(c.Delete(context.Background(), foreign)) })
			updateAgent(ctx, t, c, other, func(a *v1alpha1.Agent) {
				a.Spec.NetworkPolicy = &v1alpha1.AgentNetworkPolicy{Egress: []v1alpha1.EgressRule{{CIDRs: []string{"10.40.0.0/16"}}}}
			})
			var msg string
			waitFor(ctx, t, "Agent "+other.Name+" Ready=False over the foreign NetworkPolicy", taskTimeout, func(ctx context.Context) (bool, error) {
				got := &v1alpha1.Agent{}
				if err := c.Get(ctx, client.ObjectKeyFromObject(other), got); err != nil {
					return false, err
				}
				cond := meta.FindStatusCondition(got.Status.Conditions, v1alpha1.ConditionReady)
				if cond == nil || cond.Status != metav1.ConditionFalse || cond.ObservedGeneration != got.Generation {
					return false, nil
				}
				msg = cond.Message
				return true, nil
			})
			if !strings.Contains(msg, "does not belong to this Agent") {
				t.Errorf("Ready=False message %q does not explain the name clash", msg)
			}
			got := &networkingv1.NetworkPolicy{}
			if err := c.Get(ctx, client.ObjectKeyFromObject(foreign), got); err != nil {
				t.Fatal(err)
			}
			if d := cmp.Diff(foreign.Spec, got.Spec); d != "" || metav1.GetControllerOf(got) != nil || got.Labels["owner"] != "someone-else" {
				t.Errorf("the foreign NetworkPolicy was changed (spec diff %s, owner %v, labels %v)", d, metav1.GetControllerOf(got), got.Labels)
			}
			return ctx
		}).Feature()
	testenv.Test(t, f)
}

// updateAgent reads the Agent afresh, applies change and updates it, retrying on conflicts: the
// operator writes the Agent's status concurrently, which changes its resourceVersion.
func updateAgent(ctx context.Context, t *testing.T, c client.Client, agent *v1alpha1.Agent, change func(*v1alpha1.Agent)) {
	t.Helper()
	err := retry.RetryOnConflict(retry.DefaultRetry, func() error {
		live := &v1alpha1.Agent{}
		if err := c.Get(ctx, client.ObjectKeyFromObject(agent), live); err != nil {
			return err
		}
		change(live)
		return c.Update(ctx, live)
	})
	if err != nil {
		t.Fatalf("updating Agent %s/%s: %v", agent.Namespace, agent.Name, err)
	}
}
