package controller_test

import (
	"context"
	"strings"
	"testing"

	apierrors "k8s.io/apimachinery/pkg/api/errors"

	"github.com/kubeopencode/kubeopencode/api/v1alpha1"
)

// TestT12ReservedLabels: an Agent cannot set the operator's own label and annotation keys on
// agent Pods (refused at admission); the labels it may set reach the Pod without changing the
// operator's labels, so selectors on them (the Pod cache, the Pod-to-Task mapping, NetworkPolicy)
// cannot be hijacked.
func TestT12ReservedLabels(t *testing.T) {
	ctx := context.Background()
	ns := env.Namespace(ctx, t)
	for _, key := range []string{
		v1alpha1.TaskUIDLabel, v1alpha1.TaskNamespaceLabel, v1alpha1.AgentLabel, "kubeopencode.io/anything",
		"evil.kubeopencode.io/x", v1alpha1.ManagedByLabel,
	} {
		for _, field := range []string{"labels", "annotations"} {
			t.Run(field+" "+key, func(t *testing.T) {
				ag := agent(ns, "reserved", func(a *v1alpha1.Agent) {
					a.Spec.PodSpec = &v1alpha1.AgentPodSpec{}
					if field == "labels" {
						a.Spec.PodSpec.Labels = map[string]v1alpha1.LabelValue{key: "hijack"}
					} else {
						a.Spec.PodSpec.Annotations = map[string]string{key: "hijack"}
					}
				})
				err := env.Client.Create(ctx, ag)
				if !apierrors.IsInvalid(err) || !strings.Contains(err.Error(), "reserved for the operator") {
					t.Fatalf("creating an Agent with %s %q: got %v, want Invalid (reserved)", field, key, err)
				}
			})
		}
	}

	t.Run("allowed labels do not change the operator's", func(t *testing.T) {
		startOperator(t, []string{ns})
		ag := agent(ns, "labelled", func(a *v1alpha1.Agent) {
			a.Spec.PodSpec = &v1alpha1.AgentPodSpec{
				Labels:      map[string]v1alpha1.LabelValue{"app.kubernetes.io/name": "agent", "network-policy": "restricted", "kubeopencode.io.evil.com/x": "y"},
				Annotations: map[string]string{"example.com/owner": "platform"},
			}
		})
		create(t, ag)
		tk := task(ns, "task", ns, ag.Name)
		create(t, tk)
		pod := waitPod(t, waitPhase(t, tk, v1alpha1.TaskPhaseRunning))
		want := map[string]string{
			"app.kubernetes.io/name": "agent", "network-policy": "restricted", "kubeopencode.io.evil.com/x": "y",
			v1alpha1.ManagedByLabel: v1alpha1.ManagedByValue, v1alpha1.TaskUIDLabel: string(tk.UID),
			v1alpha1.TaskNamespaceLabel: ns, v1alpha1.TaskNameLabel: tk.Name, v1alpha1.AgentLabel: ag.Name,
			v1alpha1.CreatedByLabel: v1alpha1.CreatedByOperator,
			v1alpha1.AgentUIDLabel:  string(ag.UID),
		}
		for k, v := range want {
			if pod.Labels[k] != v {
				t.Errorf("label %s = %q, want %q", k, pod.Labels[k], v)
			}
		}
		if len(pod.Labels) != len(want) {
			t.Errorf("labels %v, want exactly %v", pod.Labels, want)
		}
		if pod.Annotations["example.com/owner"] != "platform" {
			t.Errorf("annotations %v lack the Agent's", pod.Annotations)
		}
	})
}
