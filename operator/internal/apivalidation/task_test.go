package apivalidation

import (
	"context"
	"strings"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/kubeopencode/kubeopencode/api/v1alpha1"
)

func validTask() *v1alpha1.Task {
	return &v1alpha1.Task{Spec: v1alpha1.TaskSpec{
		AgentRef:    v1alpha1.AgentReference{Name: "secure-agent"},
		Description: "Fix the failing test in ./pkg/foo",
	}}
}

// rawTimeout sends spec.timeout verbatim: metav1.Duration cannot hold what Go cannot parse.
func rawTimeout(s string) func(*testing.T, *unstructured.Unstructured) {
	return func(t *testing.T, u *unstructured.Unstructured) { set(t, u, "spec.timeout", s) }
}

func taskContexts(cs ...v1alpha1.ContextItem) func(*v1alpha1.Task) {
	return func(tk *v1alpha1.Task) { tk.Spec.Contexts = cs }
}

func gitWithSecret() v1alpha1.ContextItem {
	return v1alpha1.ContextItem{Type: v1alpha1.ContextTypeGit, MountPath: "/workspace/repo", Git: &v1alpha1.GitContext{
		Repository: "https://github.com/org/private.git", SecretRef: &v1alpha1.LocalSecretReference{Name: "git-creds"}}}
}

func TestTaskRefused(t *testing.T) {
	ctx := context.Background()
	cases := []struct {
		name   string
		mutate func(*v1alpha1.Task)
		raw    func(*testing.T, *unstructured.Unstructured)
		want   refusal
	}{
		{name: "agentRef missing", raw: del("spec.agentRef"), want: refusal{"spec.agentRef", "Required value"}},
		{name: "agentRef.name missing", raw: del("spec.agentRef.name"), want: refusal{"spec.agentRef.name", "Required value"}},
		{name: "agentRef.name not a DNS subdomain", mutate: func(tk *v1alpha1.Task) { tk.Spec.AgentRef.Name = "Secure_Agent" }, want: refusal{"spec.agentRef.name", msgPattern}},
		{name: "agentRef.namespace not a DNS label", mutate: func(tk *v1alpha1.Task) { tk.Spec.AgentRef.Namespace = "platform.agents" }, want: refusal{"spec.agentRef.namespace", msgPattern}},
		{name: "agentRef.namespace too long", mutate: func(tk *v1alpha1.Task) { tk.Spec.AgentRef.Namespace = strings.Repeat("n", 64) }, want: refusal{"spec.agentRef.namespace", "Too long"}},
		{name: "timeout zero", raw: rawTimeout("0s"), want: refusal{"spec.timeout", "must be positive and at most 24h"}},
		{name: "timeout negative", raw: rawTimeout("-1h"), want: refusal{"spec.timeout", "must be a duration"}},
		{name: "timeout above 24h", raw: rawTimeout("24h0m1s"), want: refusal{"spec.timeout", "must be positive and at most 24h"}},
		{name: "timeout in days", raw: rawTimeout("1d"), want: refusal{"spec.timeout", "must be a duration"}},
		{name: "timeout bare number", raw: rawTimeout("3600"), want: refusal{"spec.timeout", "must be a duration"}},
		{name: "timeout overflowing", raw: rawTimeout("99999999999999999999h"), want: refusal{"spec.timeout", "must be positive and at most 24h"}},
		{name: "neither description nor contexts", mutate: func(tk *v1alpha1.Task) { tk.Spec.Description = "" }, want: refusal{"spec", "needs a description or at least one context"}},
		{name: "empty description", raw: func(t *testing.T, u *unstructured.Unstructured) { set(t, u, "spec.description", "") }, want: refusal{"spec.description", "at least 1 chars long"}},
		{name: "description too long", mutate: func(tk *v1alpha1.Task) { tk.Spec.Description = strings.Repeat("d", 65537) }, want: refusal{"spec.description", "Too long"}},
		{name: "empty contexts list", raw: func(t *testing.T, u *unstructured.Unstructured) { set(t, u, "spec.contexts", []any{}) }, want: refusal{"spec.contexts", "at least 1 items"}},
		{name: "context type not implemented", mutate: taskContexts(v1alpha1.ContextItem{Type: "Secret"}), want: refusal{"spec.contexts[0].type", "Unsupported value"}},
		{name: "context ConfigMap with git", mutate: taskContexts(v1alpha1.ContextItem{Type: v1alpha1.ContextTypeConfigMap, ConfigMap: &v1alpha1.ConfigMapContext{Name: "cm"}, Git: &v1alpha1.GitContext{Repository: "https://example.com/r"}}), want: refusal{"spec.contexts[0].git", "git is required when type is Git"}},
		{name: "context mountPath duplicate", mutate: taskContexts(textAt("/workspace/a"), textAt("/workspace/b"), textAt("/workspace/a")), want: refusal{"spec.contexts", "mountPath must be unique within contexts"}},
		{name: "context mountPath nested", mutate: taskContexts(textAt("/workspace/a/b"), textAt("/workspace/a")), want: refusal{"spec.contexts", "must not lie under another context"}},
		{name: "context mountPath over the tools dir", mutate: taskContexts(textAt("/tools/opencode")), want: refusal{"spec.contexts[0].mountPath", msgReserved}},
		{name: "context mountPath traversal", mutate: taskContexts(textAt("/workspace/../tools/opencode")), want: refusal{"spec.contexts[0].mountPath", msgNormalized}},
		{name: "context text too long", mutate: taskContexts(v1alpha1.ContextItem{Type: v1alpha1.ContextTypeText, Text: strings.Repeat("t", 32769)}), want: refusal{"spec.contexts[0].text", "Too long"}},
		{name: "git secretRef on a cross-namespace Task", mutate: func(tk *v1alpha1.Task) {
			tk.Spec.AgentRef.Namespace = "platform-agents"
			tk.Spec.Contexts = []v1alpha1.ContextItem{gitWithSecret()}
		}, want: refusal{"spec.contexts", "git.secretRef is allowed only when the Task runs in its own namespace"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			ns := env.Namespace(ctx, t)
			tk := validTask()
			tk.Name, tk.Namespace = "task", ns
			if tc.mutate != nil {
				tc.mutate(tk)
			}
			var raw func(*unstructured.Unstructured)
			if tc.raw != nil {
				raw = func(u *unstructured.Unstructured) { tc.raw(t, u) }
			}
			expectRefused(t, create(ctx, t, tk, raw), tc.want)
			assertAbsent(ctx, t, tk)
		})
	}
}

func TestTaskAccepted(t *testing.T) {
	ctx := context.Background()
	cases := []struct {
		name   string
		mutate func(*v1alpha1.Task)
	}{
		{"issue example fields", func(*v1alpha1.Task) {}},
		{"agent in a 63-character namespace", func(tk *v1alpha1.Task) { tk.Spec.AgentRef.Namespace = strings.Repeat("n", 63) }},
		{"agent with a 253-character name", func(tk *v1alpha1.Task) {
			tk.Spec.AgentRef.Name = strings.Repeat("a", 63) + "." + strings.Repeat("b", 63) + "." + strings.Repeat("c", 63) + "." + strings.Repeat("d", 61)
		}},
		{"timeout 24h", func(tk *v1alpha1.Task) { tk.Spec.Timeout = &metav1.Duration{Duration: 24 * 3600e9} }},
		{"timeout 1ns", func(tk *v1alpha1.Task) { tk.Spec.Timeout = &metav1.Duration{Duration: 1} }},
		{"timeout 1h30m", func(tk *v1alpha1.Task) { tk.Spec.Timeout = &metav1.Duration{Duration: 90 * 60e9} }},
		{"contexts only", func(tk *v1alpha1.Task) {
			tk.Spec.Description = ""
			tk.Spec.Contexts = []v1alpha1.ContextItem{{Type: v1alpha1.ContextTypeText, Text: "Do the thing."}}
		}},
		{"git secretRef in the Task's own namespace", taskContexts(gitWithSecret())},
		{"git without secretRef on a cross-namespace Task", func(tk *v1alpha1.Task) {
			tk.Spec.AgentRef.Namespace = "platform-agents"
			tk.Spec.Contexts = []v1alpha1.ContextItem{{Type: v1alpha1.ContextTypeGit, Git: &v1alpha1.GitContext{Repository: "https://github.com/org/public.git"}, MountPath: "/workspace/public"}}
		}},
		{"16 contexts", func(tk *v1alpha1.Task) {
			tk.Spec.Contexts = many(16, func(i int) v1alpha1.ContextItem {
				return textAt(v1alpha1.ContextPath("/workspace/ctx-" + string(rune('a'+i))))
			})
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			ns := env.Namespace(ctx, t)
			tk := validTask()
			tk.Name, tk.Namespace = "task", ns
			tc.mutate(tk)
			sent := toUnstructured(t, tk)
			if err := env.Client.Create(ctx, sent.DeepCopy()); err != nil {
				t.Fatalf("refused: %v", err)
			}
			got := &unstructured.Unstructured{}
			got.SetGroupVersionKind(sent.GroupVersionKind())
			if err := env.Client.Get(ctx, client.ObjectKeyFromObject(tk), got); err != nil {
				t.Fatalf("reading back: %v", err)
			}
			assertContains(t, "spec", got.Object["spec"], sent.Object["spec"])
		})
	}
}

// TestTaskSpecImmutable: a Task's spec never changes after creation (what ran is what was
// asked), while metadata — the stop annotation in particular — and status can change.
func TestTaskSpecImmutable(t *testing.T) {
	ctx := context.Background()
	ns := env.Namespace(ctx, t)
	tk := validTask()
	tk.Name, tk.Namespace = "task", ns
	if err := env.Client.Create(ctx, tk); err != nil {
		t.Fatalf("create: %v", err)
	}

	specChanges := []struct {
		name   string
		mutate func(*v1alpha1.Task)
	}{
		{"description", func(tk *v1alpha1.Task) { tk.Spec.Description = "Delete the tests instead" }},
		{"agentRef.name", func(tk *v1alpha1.Task) { tk.Spec.AgentRef.Name = "other-agent" }},
		{"agentRef.namespace", func(tk *v1alpha1.Task) { tk.Spec.AgentRef.Namespace = "platform-agents" }},
		{"timeout", func(tk *v1alpha1.Task) { tk.Spec.Timeout = &metav1.Duration{Duration: 60e9} }},
		{"contexts", taskContexts(v1alpha1.ContextItem{Type: v1alpha1.ContextTypeRuntime})},
	}
	for _, c := range specChanges {
		t.Run("spec."+c.name, func(t *testing.T) {
			changed := tk.DeepCopy()
			c.mutate(changed)
			expectRefused(t, env.Client.Update(ctx, changed), refusal{"spec", "spec is immutable"})
		})
	}

	t.Run("stop annotation and labels", func(t *testing.T) {
		changed := tk.DeepCopy()
		changed.Annotations = map[string]string{v1alpha1.StopAnnotation: v1alpha1.StopAnnotationValue}
		changed.Labels = map[string]string{"team": "web"}
		if err := env.Client.Update(ctx, changed); err != nil {
			t.Fatalf("metadata update refused: %v", err)
		}
		got := &v1alpha1.Task{}
		if err := env.Client.Get(ctx, client.ObjectKeyFromObject(tk), got); err != nil {
			t.Fatal(err)
		}
		if got.Annotations[v1alpha1.StopAnnotation] != "true" || got.Labels["team"] != "web" {
			t.Errorf("stored metadata %v %v; want the stop annotation and label", got.Annotations, got.Labels)
		}
		*tk = *got
	})

	t.Run("status through the status subresource", func(t *testing.T) {
		changed := tk.DeepCopy()
		changed.Status = v1alpha1.TaskStatus{
			ObservedGeneration: 1, Phase: v1alpha1.TaskPhaseRunning, PodName: "p", PodNamespace: ns,
			AgentRef:  &v1alpha1.AgentReference{Name: "secure-agent", Namespace: ns},
			StartTime: ptr.To(metav1.Now()),
			Conditions: []metav1.Condition{{Type: v1alpha1.ConditionQueued, Status: metav1.ConditionFalse,
				Reason: v1alpha1.ReasonValid, Message: "started", LastTransitionTime: metav1.Now()}},
		}
		if err := env.Client.Status().Update(ctx, changed); err != nil {
			t.Fatalf("status update refused: %v", err)
		}
		got := &v1alpha1.Task{}
		if err := env.Client.Get(ctx, client.ObjectKeyFromObject(tk), got); err != nil {
			t.Fatal(err)
		}
		if got.Status.Phase != v1alpha1.TaskPhaseRunning || got.Spec.Description != tk.Spec.Description {
			t.Errorf("stored %+v", got)
		}
		*tk = *got
	})

	t.Run("status phase outside the enum", func(t *testing.T) {
		changed := tk.DeepCopy()
		changed.Status.Phase = "Succeeded"
		expectRefused(t, env.Client.Status().Update(ctx, changed), refusal{"status.phase", "Unsupported value"})
	})
}
