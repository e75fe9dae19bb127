package taskpod

import (
	"encoding/json"
	"errors"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/kubeopencode/kubeopencode/api/v1alpha1"
	"github.com/kubeopencode/kubeopencode/policy"
)

// TestContextWithoutItsSourceIsRefused: a ConfigMap or Git context without its configMap or git
// (the API requires them; a Task read by a dry-run tool or a webhook, or one that bypassed the
// schema, may lack them) is a problem of whoever declared it, not a nil dereference.
func TestContextWithoutItsSourceIsRefused(t *testing.T) {
	cases := []struct {
		item  v1alpha1.ContextItem
		field string
	}{
		{v1alpha1.ContextItem{Type: v1alpha1.ContextTypeConfigMap}, "spec.contexts[0].configMap"},
		{v1alpha1.ContextItem{Type: v1alpha1.ContextTypeConfigMap, MountPath: "cfg"}, "spec.contexts[0].configMap"},
		{v1alpha1.ContextItem{Type: v1alpha1.ContextTypeGit}, "spec.contexts[0].git"},
		{v1alpha1.ContextItem{Type: v1alpha1.ContextTypeGit, MountPath: "repo"}, "spec.contexts[0].git"},
	}
	for _, tc := range cases {
		for _, inTask := range []bool{false, true} {
			a := &v1alpha1.Agent{ObjectMeta: metav1.ObjectMeta{Namespace: "agents", Name: "a"},
				Spec: v1alpha1.AgentSpec{WorkspaceDir: "/workspace", ServiceAccountName: "sa"}}
			task := ValidationTask(a)
			owner := &a.Spec.Contexts
			if inTask {
				owner = &task.Spec.Contexts
			}
			*owner = []v1alpha1.ContextItem{tc.item}
			for _, cms := range []*ConfigMaps{nil, {}} {
				_, _, err := build(task, a, nil, cms)
				var te *Error
				if !errors.As(err, &te) {
					t.Fatalf("%+v (Task's: %v): Build = %v, want an *Error", tc.item, inTask, err)
				}
				got := te.Agent
				if inTask {
					got = te.Task
				}
				if len(got) != 1 || got[0].Field != tc.field {
					t.Errorf("%+v (Task's: %v): problems %v, want one at %s", tc.item, inTask, got, tc.field)
				}
			}
		}
	}
}

// FuzzBuildHostileInput: whatever Task and Agent a caller hands over (decoded from JSON with no
// API server in between), Build neither panics nor returns anything but an *Error or a Pod that
// Pod Security "restricted" admits (T8, T16).
func FuzzBuildHostileInput(f *testing.F) {
	seeds := [][2]string{
		{`{"metadata":{"name":"t","namespace":"team","uid":"u"},"spec":{"description":"d","agentRef":{"name":"a","namespace":"agents"},
			"contexts":[{"type":"Text","text":"x","mountPath":"notes.md"},{"type":"ConfigMap","configMap":{"name":"c","key":"k"}},
			{"type":"Git","git":{"repository":"https://example.com/r.git","path":"sub"}},{"type":"Runtime"}]}}`,
			`{"metadata":{"name":"a","namespace":"agents","uid":"v"},"spec":{"workspaceDir":"/workspace","serviceAccountName":"sa",
			"allowedNamespaces":["team"],"credentials":[{"name":"c","secretRef":{"name":"s","key":"k"},"mountPath":"/home/agent/.c"},
			{"name":"e","secretRef":{"name":"s","key":"k"},"env":"TOKEN"},{"name":"w","secretRef":{"name":"s"},"envPrefix":"W_"}],
			"contexts":[{"type":"ConfigMap","configMap":{"name":"m"},"mountPath":"/etc/m"}],"podSpec":{"labels":{"x":"y"}}}}`},
		{`{"metadata":{"name":"t","namespace":"agents","uid":"u"},"spec":{"contexts":[{"type":"ConfigMap"},{"type":"Git"}]}}`,
			`{"metadata":{"name":"a","namespace":"agents"},"spec":{"contexts":[{"type":"Git","mountPath":"/x"}],"credentials":[{"name":"c","secretRef":{"name":""}}]}}`},
		{`{"metadata":{"name":"t","namespace":"agents","uid":"u"},"spec":{"contexts":[{"type":"Text","mountPath":"../../etc/passwd"}]}}`,
			`{"metadata":{"name":"a","namespace":"agents"},"spec":{"workspaceDir":"/","command":[""],"podSpec":{"annotations":{"KubeOpenCode.io/x":"y"}}}}`},
	}
	for _, s := range seeds {
		f.Add(s[0], s[1])
	}
	judge, err := policy.NewPodSecurityJudge("restricted", "latest")
	if err != nil {
		f.Fatal(err)
	}
	cms := &ConfigMaps{
		Task:  map[string]*corev1.ConfigMap{"c": {Data: map[string]string{"k": "v"}}},
		Agent: map[string]*corev1.ConfigMap{"m": {Data: map[string]string{"k": "v"}}},
	}
	f.Fuzz(func(t *testing.T, taskJSON, agentJSON string) {
		task, agent := &v1alpha1.Task{}, &v1alpha1.Agent{}
		if json.Unmarshal([]byte(taskJSON), task) != nil || json.Unmarshal([]byte(agentJSON), agent) != nil {
			return
		}
		for _, c := range []*ConfigMaps{nil, cms} {
			res, err := Build(Input{Task: task, Agent: agent, Defaults: testDefaults, ConfigMaps: c})
			if err != nil {
				var te *Error
				if !errors.As(err, &te) || te.Error() == "" {
					t.Fatalf("Build = %v, want an *Error", err)
				}
				continue
			}
			if v := judge.Judge(res.Pod); !v.Allowed {
				t.Fatalf("Build made a Pod that restricted refuses: %s", v.Message())
			}
		}
	})
}
