package taskpod

import (
	"flag"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/yaml"

	"github.com/kubeopencode/kubeopencode/api/v1alpha1"
	"github.com/kubeopencode/kubeopencode/policy"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

// goldenCase is one representative Task → Pod translation.
type goldenCase struct {
	name string
	in   Input
}

func goldenCases() []goldenCase {
	cm := func(ns, name string, data map[string]string) *corev1.ConfigMap {
		return &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name}, Data: data}
	}
	minimalAgent := &v1alpha1.Agent{ObjectMeta: metav1.ObjectMeta{Namespace: "team-a", Name: "opencode", UID: "5b0e2a8c-2f4d-4e61-9b7a-0c3d1e2f4a5b"},
		Spec: v1alpha1.AgentSpec{ServiceAccountName: "opencode"}}
	minimalTask := &v1alpha1.Task{ObjectMeta: metav1.ObjectMeta{Namespace: "team-a", Name: "fix-login-bug", UID: "0f6c3a52-6a0e-4d3c-9d5e-2b7f1e9a4c11"},
		Spec: v1alpha1.TaskSpec{Description: "Fix the login bug described in issue 42.", AgentRef: v1alpha1.AgentReference{Name: "opencode"}}}

	// The reference operator's TestContexts scenario, across namespaces: every kind of context of
	// the Agent and of the Task, credentials, a caBundle, cluster defaults and a timeout.
	agent := &v1alpha1.Agent{ObjectMeta: metav1.ObjectMeta{Namespace: "platform", Name: "opencode", UID: "9d1c7e4a-3b2f-4a8e-8c6d-5e4f3a2b1c0d"},
		Spec: v1alpha1.AgentSpec{
			WorkspaceDir: "/src", ServiceAccountName: "opencode", AllowedNamespaces: []string{"team-*"},
			Config: `{"model":"anthropic/claude-sonnet-4"}`,
			Credentials: []v1alpha1.Credential{
				{Name: "anthropic", SecretRef: v1alpha1.SecretReference{Name: "llm", Key: "api-key"}, Env: "ANTHROPIC_API_KEY"},
				{Name: "gh", SecretRef: v1alpha1.SecretReference{Name: "github", Key: "hosts.yml"}, MountPath: "/home/agent/.config/gh/hosts.yml"},
			},
			CABundle: &v1alpha1.CABundleConfig{ConfigMapRef: &v1alpha1.CABundleReference{Name: "corp-ca"}},
			Contexts: []v1alpha1.ContextItem{
				{Name: "rules", Type: v1alpha1.ContextTypeText, Text: "agent rules"},
				{Name: "runtime", Type: v1alpha1.ContextTypeRuntime},
				{Name: "guide", Type: v1alpha1.ContextTypeConfigMap, ConfigMap: &v1alpha1.ConfigMapContext{Name: "agent-guide", Key: "guide.md"},
					MountPath: "/src/docs/guide.md", FileMode: ptr.To[v1alpha1.FileMode](0o440)},
				{Name: "inline", Type: v1alpha1.ContextTypeConfigMap, ConfigMap: &v1alpha1.ConfigMapContext{Name: "agent-inline"}},
				{Name: "app", Type: v1alpha1.ContextTypeGit, Git: &v1alpha1.GitContext{Repository: "https://git.example.com/web/app.git", Ref: "v1.2.0", Depth: ptr.To[int32](5),
					SecretRef: &v1alpha1.LocalSecretReference{Name: "git-token"}}, MountPath: "/src/app"},
			},
			PodSpec: &v1alpha1.AgentPodSpec{Labels: map[string]v1alpha1.LabelValue{"team": "platform"}, Annotations: map[string]string{"example.com/owner": "platform"}},
		}}
	task := &v1alpha1.Task{ObjectMeta: metav1.ObjectMeta{Namespace: "team-web", Name: "ctx", UID: "3e2d1c0b-9a8f-4e7d-6c5b-4a3f2e1d0c9b"},
		Spec: v1alpha1.TaskSpec{
			Description: "Upgrade the app to the new library.", AgentRef: v1alpha1.AgentReference{Name: "opencode", Namespace: "platform"},
			Timeout: &metav1.Duration{Duration: 2 * time.Hour},
			Contexts: []v1alpha1.ContextItem{
				{Name: "notes", Type: v1alpha1.ContextTypeText, Text: "task notes", MountPath: "notes.md", FileMode: ptr.To[v1alpha1.FileMode](0o600)},
				{Name: "files", Type: v1alpha1.ContextTypeConfigMap, ConfigMap: &v1alpha1.ConfigMapContext{Name: "task-files"}, MountPath: "files"},
				{Name: "task-inline", Type: v1alpha1.ContextTypeConfigMap, ConfigMap: &v1alpha1.ConfigMapContext{Name: "task-inline", Key: "notes"}},
				{Name: "missing", Type: v1alpha1.ContextTypeConfigMap, ConfigMap: &v1alpha1.ConfigMapContext{Name: "nowhere", Optional: ptr.To(true)}},
				{Name: "lib", Type: v1alpha1.ContextTypeGit, Git: &v1alpha1.GitContext{Repository: "https://git.example.com/pub/lib.git", Path: "pkg"}},
			},
		}}
	config := &v1alpha1.KubeOpenCodeConfig{ObjectMeta: metav1.ObjectMeta{Name: v1alpha1.ConfigName}, Spec: v1alpha1.KubeOpenCodeConfigSpec{
		SystemImage: &v1alpha1.SystemImageConfig{Image: "registry.example.com/kubeopencode/operator:v0.1.0", ImagePullPolicy: corev1.PullIfNotPresent},
	}}
	cms := &ConfigMaps{
		Agent: map[string]*corev1.ConfigMap{"agent-inline": cm("platform", "agent-inline", map[string]string{"b": "agent inline b", "a": "agent inline a"})},
		Task: map[string]*corev1.ConfigMap{
			"task-files":  cm("team-web", "task-files", map[string]string{"one.txt": "1", "two.txt": "2"}),
			"task-inline": cm("team-web", "task-inline", map[string]string{"notes": "task inline notes", "other": "not selected"}),
			"nowhere":     nil,
		},
	}
	return []goldenCase{
		{"minimal", Input{Task: minimalTask, Agent: minimalAgent, Defaults: testDefaults, ConfigMaps: &ConfigMaps{}}},
		{"contexts", Input{Task: task, Agent: agent, Config: config, Defaults: testDefaults, ConfigMaps: cms}},
	}
}

// TestGolden pins the whole output of representative translations: <name>.pod.yaml (also judged
// "restricted" here and by e2e/conformance) and <name>.configmap.yaml when there is a context
// ConfigMap. Run with -update to rewrite them after a deliberate change.
func TestGolden(t *testing.T) {
	judge, err := policy.NewPodSecurityJudge("restricted", "latest")
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range goldenCases() {
		t.Run(tc.name, func(t *testing.T) {
			res, err := Build(tc.in)
			if err != nil {
				t.Fatal(err)
			}
			if v := judge.Judge(res.Pod); !v.Allowed {
				t.Errorf("the Pod is not restricted: %s", v.Message())
			}
			compareGolden(t, filepath.Join("testdata", tc.name+".pod.yaml"), res.Pod)
			cmPath := filepath.Join("testdata", tc.name+".configmap.yaml")
			if res.ContextConfigMap == nil {
				if _, err := os.Stat(cmPath); err == nil {
					t.Errorf("%s exists but Build made no context ConfigMap", cmPath)
				}
				return
			}
			compareGolden(t, cmPath, res.ContextConfigMap)
		})
	}
}

func compareGolden(t *testing.T, path string, obj any) {
	t.Helper()
	got, err := yaml.Marshal(obj)
	if err != nil {
		t.Fatal(err)
	}
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if diff := cmp.Diff(string(want), string(got)); diff != "" {
		t.Errorf("%s differs (-want +got; go test -update rewrites it after a deliberate change):\n%s", path, diff)
	}
}

// TestBuildIsDeterministic: the same input gives byte-identical output (map order, no clock),
// and Build changes nothing it was given (the operator passes its cached objects).
func TestBuildIsDeterministic(t *testing.T) {
	for _, tc := range goldenCases() {
		before, err := yaml.Marshal(tc.in)
		if err != nil {
			t.Fatal(err)
		}
		var first []byte
		for i := range 20 {
			res, err := Build(tc.in)
			if err != nil {
				t.Fatal(err)
			}
			b, err := yaml.Marshal(res)
			if err != nil {
				t.Fatal(err)
			}
			if i == 0 {
				first = b
			} else if string(b) != string(first) {
				t.Fatalf("%s: run %d differs:\n%s", tc.name, i, cmp.Diff(string(first), string(b)))
			}
		}
		after, err := yaml.Marshal(tc.in)
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(string(before), string(after)); diff != "" {
			t.Errorf("%s: Build changed its input (-before +after):\n%s", tc.name, diff)
		}
	}
}
