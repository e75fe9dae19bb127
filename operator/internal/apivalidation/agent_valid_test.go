package apivalidation

import (
	"context"
	"fmt"
	"k8s.io/apimachinery/pkg/api/resource"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/kubeopencode/kubeopencode/api/v1alpha1"
)

func withMode(c v1alpha1.Credential, m int32) v1alpha1.Credential {
	c.FileMode = mode(m)
	return c
}

// longPath is an AbsolutePath of exactly n characters ending in /suffix.
func longPath(n int, suffix string) v1alpha1.AbsolutePath {
	return v1alpha1.AbsolutePath("/" + strings.Repeat("p", n-len(suffix)-2) + "/" + suffix)
}

// The edge cases the API server must accept, and store as sent.
func validAgentCases() []struct {
	name   string
	mutate func(*v1alpha1.Agent)
} {
	name63 := strings.Repeat("n", 63)
	return []struct {
		name   string
		mutate func(*v1alpha1.Agent)
	}{
		{"allowedNamespaces star", allowed("*")},
		{"allowedNamespaces a?c", allowed("a?c")},
		{"allowedNamespaces single question mark", allowed("?")},
		{"allowedNamespaces 63 characters", allowed(name63, "*"+strings.Repeat("x", 61)+"?")},
		{"allowedNamespaces prefix suffix and digits", allowed("prod-*", "*-staging", "a", "0", "*?*", "team-?-dev")},
		{"allowedNamespaces 64 entries", allowed(many(64, func(i int) string { return fmt.Sprintf("ns-%d", i) })...)},
		{"fileMode 0", creds(withMode(keyFile("c", "/etc/c"), 0))},
		{"fileMode 0400", creds(withMode(keyFile("c", "/home/agent/.ssh/id_rsa"), 0o400))},
		{"fileMode 0755", creds(withMode(wholeDir("c", "/opt/bin"), 0o755))},
		{"fileMode 0444 and 0600", creds(withMode(keyFile("a", "/etc/a"), 0o444), withMode(keyFile("b", "/etc/b"), 0o600))},
		{"whole-Secret directory", creds(wholeDir("gcloud", "/home/agent/.config/gcloud"))},
		{"whole-Secret env", creds(wholeEnv("provider-keys"))},
		{"all four credential shapes", creds(keyEnv("a", "GITHUB_TOKEN"), keyFile("b", "/tmp/b.pem"), wholeEnv("c"), wholeDir("d", "/workspace/.config/d"))},
		{"env names next to reserved ones", creds(keyEnv("a", "home"), keyEnv("b", "PATHS"), keyEnv("c", "TASK"), keyEnv("d", "MY_TASK_ID"), keyEnv("e", "_"), keyEnv("f", "OPENCODEX"))},
		{"OpenCode names the operator does not set (T10)", creds(keyEnv("a", "OPENCODE_API_KEY"), keyEnv("b", "OPENCODE_CONFIG"), keyEnv("c", "AGENTS"), keyEnv("d", "OPENCODE_CONFIG_CONTENTS"))},
		{"relative context paths", func(a *v1alpha1.Agent) {
			a.Spec.Contexts = []v1alpha1.ContextItem{textAt("guides/style.md"), textAt("opencode.json")}
		}},
		{"command with an empty argument", func(a *v1alpha1.Agent) { a.Spec.Command = []string{"/tools/opencode", "run", ""} }},
		{"volume size limits", func(a *v1alpha1.Agent) {
			q := resource.MustParse("20Gi")
			a.Spec.PodSpec = &v1alpha1.AgentPodSpec{VolumeSizeLimits: &v1alpha1.VolumeSizeLimits{Workspace: &q, Home: &q, Tmp: &q, Git: &q}}
		}},
		{"32 credentials", creds(many(32, func(i int) v1alpha1.Credential { return keyEnv(fmt.Sprintf("c%d", i), fmt.Sprintf("V%d", i)) })...)},
		{"paths next to reserved ones", func(a *v1alpha1.Agent) {
			a.Spec.WorkspaceDir = "/home/agent/workspace"
			a.Spec.Credentials = []v1alpha1.Credential{keyFile("a", "/toolsx"), keyFile("b", "/devices/x"), keyFile("c", "/runner"), keyFile("d", "/var/run/secrets/example.com/token"), keyFile("e", "/home/agent/workspace/.config/x")}
			a.Spec.Contexts = []v1alpha1.ContextItem{textAt("/home/agent/workspace/taskmd"), textAt("/home/agent/workspace/.kubeopencodex")}
		}},
		{"workspaceDir with every allowed character", workspace("/work_space/a.b+c@d-e/0")},
		{"labels and annotations", func(a *v1alpha1.Agent) {
			a.Spec.PodSpec = &v1alpha1.AgentPodSpec{
				Labels: map[string]v1alpha1.LabelValue{"network-policy": "agent-restricted", "example.com/team": "", "a": "b",
					strings.Repeat("s", 253) + "/" + name63: v1alpha1.LabelValue(name63), "kubeopencode.io": "not-a-prefix",
					"notkubeopencode.io/x": "y", "app.kubernetes.io/name": "agent"},
				Annotations: map[string]string{"example.com/note": strings.Repeat("v", 4096), "Team_Name.1": "free text: any characters"},
			}
		}},
		{"32 labels", func(a *v1alpha1.Agent) {
			a.Spec.PodSpec = &v1alpha1.AgentPodSpec{Labels: map[string]v1alpha1.LabelValue{}}
			for i := 0; i < 32; i++ {
				a.Spec.PodSpec.Labels[fmt.Sprintf("k%d", i)] = "v"
			}
		}},
		{"network policy", egress(
			v1alpha1.EgressRule{CIDRs: []string{"0.0.0.0/0", "::/0"}, Ports: []v1alpha1.EgressPort{{Port: 443}, {Port: 53, Protocol: v1alpha1.ProtocolUDP}, {Port: 65535, Protocol: v1alpha1.ProtocolSCTP}}},
			cidrs("10.0.0.0/8", "2001:db8::/32", "192.168.1.7/32"),
		)},
		{"empty network policy denies all", func(a *v1alpha1.Agent) { a.Spec.NetworkPolicy = &v1alpha1.AgentNetworkPolicy{} }},
		{"every context type", contexts(
			v1alpha1.ContextItem{Name: "guide", Type: v1alpha1.ContextTypeText, Text: "Be careful.", MountPath: "/workspace/GUIDE.md", FileMode: mode(0o755)},
			v1alpha1.ContextItem{Name: "prompt", Type: v1alpha1.ContextTypeText, Text: "appended to context.md"},
			v1alpha1.ContextItem{Type: v1alpha1.ContextTypeConfigMap, ConfigMap: &v1alpha1.ConfigMapContext{Name: "standards", Key: "style.md", Optional: ptr.To(true)}, MountPath: "/workspace/style.md"},
			v1alpha1.ContextItem{Type: v1alpha1.ContextTypeConfigMap, ConfigMap: &v1alpha1.ConfigMapContext{Name: "docs.v1"}, MountPath: "/workspace/docs"},
			v1alpha1.ContextItem{Type: v1alpha1.ContextTypeGit, Git: &v1alpha1.GitContext{Repository: "https://github.com/org/repo.git", Path: ".github/workflows", Ref: "release/v1.2", Depth: ptr.To[int32](0), SecretRef: &v1alpha1.LocalSecretReference{Name: "git-creds"}}, MountPath: "/workspace/repo"},
			v1alpha1.ContextItem{Type: v1alpha1.ContextTypeGit, Git: &v1alpha1.GitContext{Repository: "git@github.com:org/other.git"}, MountPath: "/workspace/other"},
			v1alpha1.ContextItem{Type: v1alpha1.ContextTypeGit, Git: &v1alpha1.GitContext{Repository: "ssh://git@example.com:2222/r.git", Ref: "0123abcd"}, MountPath: "/src/r"},
			v1alpha1.ContextItem{Type: v1alpha1.ContextTypeRuntime},
			v1alpha1.ContextItem{Type: v1alpha1.ContextTypeRuntime, Runtime: &v1alpha1.RuntimeContext{}},
		)},
		{"smallest limits", func(a *v1alpha1.Agent) {
			a.Spec.MaxConcurrentTasks = ptr.To[int32](1)
			a.Spec.Quota = &v1alpha1.QuotaConfig{MaxTaskStarts: 1, WindowSeconds: 1}
		}},
		{"everything else", func(a *v1alpha1.Agent) {
			a.Spec.Profile = "Full-stack agent"
			a.Spec.Command = []string{"sh", "-c", `/tools/opencode run "$(cat "$WORKSPACE_DIR/task.md")"`}
			a.Spec.Config = `{"model": "anthropic/claude"}`
			a.Spec.AutomountServiceAccountToken = ptr.To(true)
			a.Spec.AgentImage = "localhost:5000/agent@sha256:0123456789abcdef"
			a.Spec.PodSpec = &v1alpha1.AgentPodSpec{RuntimeClassName: "kata.v2", Scheduling: &v1alpha1.PodScheduling{NodeSelector: map[string]string{"pool": "agents"}, Tolerations: []corev1.Toleration{tol("dedicated")}}}
		}},
		{"caBundle ConfigMap, default key", caBundle(&v1alpha1.CABundleConfig{ConfigMapRef: &v1alpha1.CABundleReference{Name: "corp-ca"}})},
		{"caBundle ConfigMap, named key", caBundle(&v1alpha1.CABundleConfig{ConfigMapRef: &v1alpha1.CABundleReference{Name: "corp-ca", Key: "corp.pem"}})},
		{"largest Agent", largestAgent},
	}
}

// largestAgent fills every bounded list to its maximum with the longest paths, so that the CEL
// rules run at their worst case; it must stay within the API server's runtime cost budget.
func largestAgent(a *v1alpha1.Agent) {
	a.Spec.WorkspaceDir = longPath(1024, "w")
	for i := 0; i < 32; i++ {
		a.Spec.Credentials = append(a.Spec.Credentials, keyFile(fmt.Sprintf("c%d", i), longPath(1024, fmt.Sprintf("c%02d", i))))
	}
	for i := 0; i < 16; i++ {
		a.Spec.Contexts = append(a.Spec.Contexts, v1alpha1.ContextItem{Name: fmt.Sprintf("x%d", i), Type: v1alpha1.ContextTypeText, Text: strings.Repeat("t", 32768), MountPath: v1alpha1.ContextPath(longPath(1024, fmt.Sprintf("x%02d", i)))})
	}
	a.Spec.AllowedNamespaces = many(64, func(i int) string { return fmt.Sprintf("%02d", i) + strings.Repeat("?", 61) })
}

func TestAgentAccepted(t *testing.T) {
	ctx := context.Background()
	for _, tc := range validAgentCases() {
		t.Run(tc.name, func(t *testing.T) {
			ns := env.Namespace(ctx, t)
			a := validAgent()
			a.Name, a.Namespace = "agent", ns
			tc.mutate(a)
			sent := toUnstructured(t, a)
			if err := env.Client.Create(ctx, sent.DeepCopy()); err != nil {
				t.Fatalf("refused: %v", err)
			}
			got := &unstructured.Unstructured{}
			got.SetGroupVersionKind(sent.GroupVersionKind())
			if err := env.Client.Get(ctx, client.ObjectKeyFromObject(a), got); err != nil {
				t.Fatalf("reading back: %v", err)
			}
			assertContains(t, "spec", got.Object["spec"], sent.Object["spec"])
		})
	}
}

func TestAgentDefaults(t *testing.T) {
	ctx := context.Background()
	ns := env.Namespace(ctx, t)
	a := validAgent()
	a.Name, a.Namespace = "agent", ns
	egress(v1alpha1.EgressRule{CIDRs: []string{"10.0.0.0/8"}, Ports: []v1alpha1.EgressPort{{Port: 443}}})(a)
	if err := env.Client.Create(ctx, a); err != nil {
		t.Fatalf("create: %v", err)
	}
	if got := a.Spec.AutomountServiceAccountToken; got == nil || *got {
		t.Errorf("automountServiceAccountToken = %v, want the server default false", got)
	}
	if got := a.Spec.NetworkPolicy.Egress[0].Ports[0].Protocol; got != v1alpha1.ProtocolTCP {
		t.Errorf("egress port protocol = %q, want the server default TCP", got)
	}
}
