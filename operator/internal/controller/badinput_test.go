package controller_test

import (
	"context"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/validation"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/kubeopencode/kubeopencode/api/v1alpha1"
	"github.com/kubeopencode/kubeopencode/taskpod"
)

// TestT16BadInput: input the schema accepts but the operator cannot use fails the Task with a
// reason (and the Agent's Ready condition says why), never a weaker Pod; a refused cross-namespace
// Task learns nothing of the Agent's configuration; extreme but valid input (a 253-character Task
// name, a 64 KiB description) works.
func TestT16BadInput(t *testing.T) {
	ctx := context.Background()
	agentNS := env.Namespace(ctx, t)
	team := env.Namespace(ctx, t)
	startOperator(t, []string{agentNS, team})

	bad := []struct {
		name   string
		agent  func(*v1alpha1.Agent)
		detail string
	}{
		{name: "config that is not JSON", detail: "spec.config: Invalid value: must be valid JSON",
			agent: func(a *v1alpha1.Agent) { a.Spec.Config = `{"model": ` }},
		{name: "whole Secret as environment without a prefix", detail: "envPrefix",
			agent: func(a *v1alpha1.Agent) {
				a.Spec.Credentials = []v1alpha1.Credential{{Name: "all", SecretRef: v1alpha1.SecretReference{Name: "everything"}}}
			}},
	}
	for i, tc := range bad {
		t.Run(tc.name, func(t *testing.T) {
			ag := agent(agentNS, "bad-"+string(rune('a'+i)), func(a *v1alpha1.Agent) {
				a.Spec.AllowedNamespaces = []string{team}
				tc.agent(a)
			})
			create(t, ag)
			own := task(agentNS, ag.Name, agentNS, ag.Name)
			other := task(team, ag.Name, agentNS, ag.Name)
			create(t, own, other)
			for _, tk := range []*v1alpha1.Task{own, other} {
				got := waitPhase(t, tk, v1alpha1.TaskPhaseFailed)
				c := succeeded(got)
				if c.Reason != v1alpha1.ReasonInvalidConfiguration {
					t.Errorf("Task %s/%s: reason %s, want %s", tk.Namespace, tk.Name, c.Reason, v1alpha1.ReasonInvalidConfiguration)
				}
				sameNS := tk.Namespace == agentNS
				if strings.Contains(c.Message, tc.detail) != sameNS {
					t.Errorf("Task %s/%s message %q: details shown %v, want %v (only to the Agent's own namespace)",
						tk.Namespace, tk.Name, c.Message, !sameNS, sameNS)
				}
				if pods := podsOf(t, got); len(pods) != 0 {
					t.Errorf("a Pod was created for a misconfigured Agent")
				}
				waitEvent(t, got, v1alpha1.ReasonInvalidConfiguration)
			}
			eventually(t, 30*time.Second, "the Agent's Ready condition", func(ctx context.Context) (bool, error) {
				cur := &v1alpha1.Agent{}
				if err := env.Client.Get(ctx, client.ObjectKeyFromObject(ag), cur); err != nil {
					return false, err
				}
				r := meta.FindStatusCondition(cur.Status.Conditions, v1alpha1.ConditionReady)
				return r != nil && r.Status == metav1.ConditionFalse && r.Reason == v1alpha1.ReasonInvalidConfiguration &&
					strings.Contains(r.Message, tc.detail), nil
			})
		})
	}

	t.Run("whole Secret as environment with a prefix", func(t *testing.T) {
		ag := agent(agentNS, "prefixed", func(a *v1alpha1.Agent) {
			a.Spec.Credentials = []v1alpha1.Credential{{Name: "all", SecretRef: v1alpha1.SecretReference{Name: "everything"}, EnvPrefix: "VENDOR_"}}
		})
		create(t, ag)
		tk := task(agentNS, "prefixed", agentNS, ag.Name)
		create(t, tk)
		pod := waitPod(t, waitPhase(t, tk, v1alpha1.TaskPhaseRunning))
		from := pod.Spec.Containers[0].EnvFrom
		if len(from) != 1 || from[0].Prefix != "VENDOR_" || from[0].SecretRef == nil || from[0].SecretRef.Name != "everything" {
			t.Errorf("envFrom %+v, want the Secret everything with prefix VENDOR_", from)
		}
	})

	for _, prefix := range []string{"PA", "TASK", "TASK_X", "OPENCODE_", "KUBE", "1X", "A-B"} {
		t.Run("envPrefix "+prefix+" is refused at admission", func(t *testing.T) {
			ag := agent(agentNS, "refused", func(a *v1alpha1.Agent) {
				a.Spec.Credentials = []v1alpha1.Credential{{Name: "all", SecretRef: v1alpha1.SecretReference{Name: "s"}, EnvPrefix: prefix}}
			})
			if err := env.Client.Create(ctx, ag); !apierrors.IsInvalid(err) || !strings.Contains(err.Error(), "envPrefix") {
				t.Errorf("creating an Agent with envPrefix %q: %v, want Invalid naming envPrefix", prefix, err)
			}
		})
	}
	t.Run("envPrefix with a key is refused at admission", func(t *testing.T) {
		ag := agent(agentNS, "refused", func(a *v1alpha1.Agent) {
			a.Spec.Credentials = []v1alpha1.Credential{{Name: "k", SecretRef: v1alpha1.SecretReference{Name: "s", Key: "k"}, Env: "K", EnvPrefix: "X_"}}
		})
		if err := env.Client.Create(ctx, ag); !apierrors.IsInvalid(err) || !strings.Contains(err.Error(), "envPrefix applies only") {
			t.Errorf("got %v, want Invalid (envPrefix applies only to a whole Secret)", err)
		}
	})

	t.Run("Agent that does not exist", func(t *testing.T) {
		tk := task(team, "orphan", agentNS, "no-such-agent")
		create(t, tk)
		got := waitPhase(t, tk, v1alpha1.TaskPhaseFailed)
		if c := succeeded(got); c.Reason != v1alpha1.ReasonAgentNotFound {
			t.Errorf("reason %s, want %s", c.Reason, v1alpha1.ReasonAgentNotFound)
		}
		waitEvent(t, got, v1alpha1.ReasonAgentNotFound)
	})

	t.Run("longest names and description", func(t *testing.T) {
		ag := agent(agentNS, strings.Repeat("a", 253), func(a *v1alpha1.Agent) { a.Spec.AllowedNamespaces = []string{team} })
		create(t, ag)
		tk := task(team, strings.Repeat("t", 253), agentNS, ag.Name, func(tk *v1alpha1.Task) {
			tk.Spec.Description = strings.Repeat("d", 65536)
		})
		create(t, tk)
		got := waitPhase(t, tk, v1alpha1.TaskPhaseRunning)
		pod := waitPod(t, got)
		if errs := validation.IsDNS1123Label(pod.Name); len(errs) > 0 {
			t.Errorf("Pod name %q: %v", pod.Name, errs)
		}
		for k, v := range pod.Labels {
			if errs := validation.IsValidLabelValue(v); len(errs) > 0 {
				t.Errorf("label %s=%q: %v", k, v, errs)
			}
		}
		if pod.Annotations[taskpod.DescriptionAnnotation] != tk.Spec.Description {
			t.Error("the description did not reach the Pod intact")
		}
		setPodStatus(t, pod, phase(corev1.PodSucceeded))
		waitPhase(t, tk, v1alpha1.TaskPhaseCompleted)
	})
}
