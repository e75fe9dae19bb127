package controller

import (
	"context"
	"fmt"

	networkingv1 "k8s.io/api/networking/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/kubeopencode/kubeopencode/api/v1alpha1"
	"github.com/kubeopencode/kubeopencode/taskpod"
)

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
	if err := r.Client.List(ctx, list, client.InNamespace(agent.Namespace), client.MatchingLabels(taskpod.AgentNameSelector(agent))); err != nil {
		return "", fmt.Errorf("listing the NetworkPolicies of Agent %s/%s: %w", agent.Namespace, agent.Name, err)
	}
	want, err := taskpod.EgressNetworkPolicy(agent)
	if err != nil {
		return err.Error(), nil
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

// egressInForce reports whether the Agent's egress restriction is in force for a Task about to
// start: true when the Agent has no spec.networkPolicy, or when <agent>-egress exists, is
// controlled by this Agent and has the spec taskpod builds from the Agent. The cache answers
// first; a mismatch is re-read from the API server (the cache may lag behind the Agent
// reconciler's write), so only a policy that is really missing, foreign or different says no.
func (r *TaskReconciler) egressInForce(ctx context.Context, agent *v1alpha1.Agent) (bool, error) {
	want, err := taskpod.EgressNetworkPolicy(agent)
	if err != nil || want == nil {
		// An invalid egress spec builds no policy: that is not in force either (the Agent's
		// Ready condition names the problem).
		return err == nil, nil
	}
	inForce := func(read client.Reader) (bool, error) {
		have := &networkingv1.NetworkPolicy{}
		if err := read.Get(ctx, client.ObjectKeyFromObject(want), have); err != nil {
			if apierrors.IsNotFound(err) {
				return false, nil
			}
			return false, fmt.Errorf("reading NetworkPolicy %s/%s: %w", want.Namespace, want.Name, err)
		}
		return ownedByAgent(have, agent) && equality.Semantic.DeepEqual(have.Spec, want.Spec), nil
	}
	if ok, err := inForce(r.Client); ok || err != nil {
		return ok, err
	}
	return inForce(r.APIReader)
}
