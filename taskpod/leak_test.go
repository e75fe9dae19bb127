package taskpod

import (
	"errors"
	"strings"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/kubeopencode/kubeopencode/api/v1alpha1"
)

// TestCrossNamespaceTaskLearnsNoAgentDetails (T1, T11): whatever contexts a Task from another
// namespace brings, a problem of the Agent alone (here ones that bypassed the schema: an older
// CRD, a direct etcd write) is reported to that Task as "the Agent is misconfigured", never with
// the Agent's paths, context or ConfigMap names. podspec reports every problem at once, and a
// path conflict used to be lifted into the Task's problems whenever the Task had any context.
func TestCrossNamespaceTaskLearnsNoAgentDetails(t *testing.T) {
	agents := []struct {
		name    string
		secrets []string // what only the platform team may read
		spec    v1alpha1.AgentSpec
	}{
		{name: "context under /proc", secrets: []string{"/proc/prod-config"},
			spec: v1alpha1.AgentSpec{Contexts: []v1alpha1.ContextItem{{Name: "prod", Type: v1alpha1.ContextTypeConfigMap,
				MountPath: "/proc/prod-config", ConfigMap: &v1alpha1.ConfigMapContext{Name: "prod-settings"}}}}},
		{name: "contexts under /sys and the token directory", secrets: []string{"/sys/a-secret-path", "/run/secrets/kubernetes.io/x"},
			spec: v1alpha1.AgentSpec{Contexts: []v1alpha1.ContextItem{
				{Type: v1alpha1.ContextTypeConfigMap, MountPath: "/sys/a-secret-path", ConfigMap: &v1alpha1.ConfigMapContext{Name: "one"}},
				{Type: v1alpha1.ContextTypeText, MountPath: "/run/secrets/kubernetes.io/x", Text: "t"},
			}}},
		{name: "context key that is no subPath next to a reserved path", secrets: []string{"/dev/k", "a/../../b", "/opt/prod-team"},
			spec: v1alpha1.AgentSpec{Contexts: []v1alpha1.ContextItem{
				{Type: v1alpha1.ContextTypeConfigMap, MountPath: "/opt/prod-team", ConfigMap: &v1alpha1.ConfigMapContext{Name: "c", Key: "a/../../b"}},
				{Type: v1alpha1.ContextTypeText, MountPath: "/dev/k", Text: "t"},
			}}},
		{name: "credential at the workspace", secrets: []string{"prod-token"},
			spec: v1alpha1.AgentSpec{Credentials: []v1alpha1.Credential{{Name: "prod-token", MountPath: "/workspace",
				SecretRef: v1alpha1.SecretReference{Name: "prod-token-secret", Key: "k"}}}}},
	}
	tasks := map[string][]v1alpha1.ContextItem{
		"no context":              nil,
		"text context":            {{Type: v1alpha1.ContextTypeText, Text: "hi"}},
		"mounted text context":    {{Type: v1alpha1.ContextTypeText, Text: "hi", MountPath: "notes.md"}},
		"configmap context":       {{Type: v1alpha1.ContextTypeConfigMap, ConfigMap: &v1alpha1.ConfigMapContext{Name: "mine"}}},
		"git context":             {{Type: v1alpha1.ContextTypeGit, Git: &v1alpha1.GitContext{Repository: "https://example.com/r.git"}}},
		"runtime context mounted": {{Type: v1alpha1.ContextTypeRuntime, MountPath: "runtime.md"}},
	}
	for _, ac := range agents {
		for tname, contexts := range tasks {
			t.Run(ac.name+"/"+tname, func(t *testing.T) {
				a := &v1alpha1.Agent{ObjectMeta: metav1.ObjectMeta{Namespace: "platform", Name: "a"}, Spec: ac.spec}
				a.Spec.WorkspaceDir, a.Spec.ServiceAccountName, a.Spec.AllowedNamespaces = "/workspace", "sa", []string{"team"}
				task := &v1alpha1.Task{ObjectMeta: metav1.ObjectMeta{Namespace: "platform", Name: "t", UID: "u"},
					Spec: v1alpha1.TaskSpec{Description: "d", AgentRef: v1alpha1.AgentReference{Name: "a"}, Contexts: contexts}}

				// In the Agent's namespace the Task's author sees the details (so this test can fail).
				_, _, err := build(task, a, nil, nil)
				var te *Error
				if !errors.As(err, &te) {
					t.Fatalf("same namespace: Build = %v, want an *Error", err)
				}
				for _, s := range ac.secrets {
					if !strings.Contains(te.Error(), s) {
						t.Errorf("same namespace: %q does not name %q", te.Error(), s)
					}
				}

				task.Namespace, task.Spec.AgentRef.Namespace = "team", "platform"
				_, _, err = build(task, a, nil, nil)
				if !errors.As(err, &te) {
					t.Fatalf("other namespace: Build = %v, want an *Error", err)
				}
				for _, s := range ac.secrets {
					if strings.Contains(te.Error(), s) {
						t.Errorf("a Task of another namespace is told %q: %q", s, te.Error())
					}
				}
				if len(te.Task) > 0 || len(te.Agent) == 0 {
					t.Errorf("problems attributed to the Task %v, to the Agent %v; want the Agent's only", te.Task, te.Agent)
				}
			})
		}
	}
}
