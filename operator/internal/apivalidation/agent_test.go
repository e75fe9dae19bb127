package apivalidation

import (
	"context"
	"fmt"
	"k8s.io/apimachinery/pkg/api/resource"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/kubeopencode/kubeopencode/api/v1alpha1"
)

// validAgent is the smallest Agent the API server accepts; every case below breaks one rule.
func validAgent() *v1alpha1.Agent {
	return &v1alpha1.Agent{
		Spec: v1alpha1.AgentSpec{WorkspaceDir: "/workspace", ServiceAccountName: "kubeopencode-agent"},
	}
}

func mode(m int32) *v1alpha1.FileMode { return ptr.To(v1alpha1.FileMode(m)) }

// keyEnv, keyFile, wholeEnv and wholeDir are the four allowed credential shapes.
func keyEnv(name, env string) v1alpha1.Credential {
	return v1alpha1.Credential{Name: name, SecretRef: v1alpha1.SecretReference{Name: "s", Key: "k"}, Env: env}
}

func keyFile(name string, path v1alpha1.AbsolutePath) v1alpha1.Credential {
	return v1alpha1.Credential{Name: name, SecretRef: v1alpha1.SecretReference{Name: "s", Key: "k"}, MountPath: path}
}

func wholeEnv(name string) v1alpha1.Credential {
	return v1alpha1.Credential{Name: name, SecretRef: v1alpha1.SecretReference{Name: "s"}}
}

func wholeDir(name string, path v1alpha1.AbsolutePath) v1alpha1.Credential {
	return v1alpha1.Credential{Name: name, SecretRef: v1alpha1.SecretReference{Name: "s"}, MountPath: path}
}

func textAt(path v1alpha1.ContextPath) v1alpha1.ContextItem {
	return v1alpha1.ContextItem{Type: v1alpha1.ContextTypeText, Text: "hello", MountPath: path}
}

type agentCase struct {
	name   string
	mutate func(*v1alpha1.Agent)
	// raw edits the request body after mutate, for what a typed client cannot send.
	raw  func(*testing.T, *unstructured.Unstructured)
	want refusal
}

func workspace(p string) func(*v1alpha1.Agent) {
	return func(a *v1alpha1.Agent) { a.Spec.WorkspaceDir = v1alpha1.AbsolutePath(p) }
}

func allowed(patterns ...string) func(*v1alpha1.Agent) {
	return func(a *v1alpha1.Agent) { a.Spec.AllowedNamespaces = patterns }
}

func creds(cs ...v1alpha1.Credential) func(*v1alpha1.Agent) {
	return func(a *v1alpha1.Agent) { a.Spec.Credentials = cs }
}

func contexts(cs ...v1alpha1.ContextItem) func(*v1alpha1.Agent) {
	return func(a *v1alpha1.Agent) { a.Spec.Contexts = cs }
}

func labels(kv ...string) func(*v1alpha1.Agent) {
	return func(a *v1alpha1.Agent) {
		m := map[string]v1alpha1.LabelValue{}
		for i := 0; i < len(kv); i += 2 {
			m[kv[i]] = v1alpha1.LabelValue(kv[i+1])
		}
		a.Spec.PodSpec = &v1alpha1.AgentPodSpec{Labels: m}
	}
}

func annotations(kv ...string) func(*v1alpha1.Agent) {
	return func(a *v1alpha1.Agent) {
		m := map[string]string{}
		for i := 0; i < len(kv); i += 2 {
			m[kv[i]] = kv[i+1]
		}
		a.Spec.PodSpec = &v1alpha1.AgentPodSpec{Annotations: m}
	}
}

func egress(rules ...v1alpha1.EgressRule) func(*v1alpha1.Agent) {
	return func(a *v1alpha1.Agent) { a.Spec.NetworkPolicy = &v1alpha1.AgentNetworkPolicy{Egress: rules} }
}

func cidrs(cs ...string) v1alpha1.EgressRule { return v1alpha1.EgressRule{CIDRs: cs} }

// Messages of the AbsolutePath rules, shared by workspaceDir and every mountPath.
const (
	msgAbsolute   = "must be an absolute path"
	msgRoot       = "must not be the root directory"
	msgTrailing   = "must not end with /"
	msgEmptySeg   = "must not contain an empty segment"
	msgNormalized = "must be normalized"
	msgChars      = "may contain only letters, digits"
	msgReserved   = "operator-reserved path"
	msgOperator   = "must not be /home/agent or /tmp"
	msgGrammar    = "must be a namespace name or glob"
	msgPattern    = "should match"
	msgReservedKV = "reserved for the operator"
)

func many[T any](n int, f func(i int) T) []T {
	out := make([]T, n)
	for i := range out {
		out[i] = f(i)
	}
	return out
}

func invalidAgentCases() []agentCase {
	long := func(n int) string { return strings.Repeat("a", n) }
	return []agentCase{
		// workspaceDir (T11, T16)
		{name: "workspaceDir missing", raw: del("spec.workspaceDir"), want: refusal{"spec.workspaceDir", "Required value"}},
		{name: "workspaceDir empty", mutate: workspace(""), want: refusal{"spec.workspaceDir", "at least 1 chars long"}},
		{name: "workspaceDir relative", mutate: workspace("workspace"), want: refusal{"spec.workspaceDir", msgAbsolute}},
		{name: "workspaceDir root", mutate: workspace("/"), want: refusal{"spec.workspaceDir", msgRoot}},
		{name: "workspaceDir trailing slash", mutate: workspace("/workspace/"), want: refusal{"spec.workspaceDir", msgTrailing}},
		{name: "workspaceDir empty segment", mutate: workspace("/work//space"), want: refusal{"spec.workspaceDir", msgEmptySeg}},
		{name: "workspaceDir dot-dot segment", mutate: workspace("/workspace/../etc"), want: refusal{"spec.workspaceDir", msgNormalized}},
		{name: "workspaceDir trailing dot-dot", mutate: workspace("/workspace/.."), want: refusal{"spec.workspaceDir", msgNormalized}},
		{name: "workspaceDir dot segment", mutate: workspace("/./workspace"), want: refusal{"spec.workspaceDir", msgNormalized}},
		{name: "workspaceDir shell metacharacters", mutate: workspace("/work;rm -rf $HOME"), want: refusal{"spec.workspaceDir", msgChars}},
		{name: "workspaceDir command substitution", mutate: workspace("/work$(id)"), want: refusal{"spec.workspaceDir", msgChars}},
		{name: "workspaceDir reserved /tools", mutate: workspace("/tools"), want: refusal{"spec.workspaceDir", msgReserved}},
		{name: "workspaceDir under /kubeopencode", mutate: workspace("/kubeopencode/ws"), want: refusal{"spec.workspaceDir", msgReserved}},
		{name: "workspaceDir contains the token path", mutate: workspace("/var/run"), want: refusal{"spec.workspaceDir", msgReserved}},
		{name: "workspaceDir is /tmp", mutate: workspace("/tmp"), want: refusal{"spec.workspaceDir", msgOperator}},
		{name: "workspaceDir too long", mutate: workspace("/" + long(1024)), want: refusal{"spec.workspaceDir", "Too long"}},

		// serviceAccountName
		{name: "serviceAccountName missing", raw: del("spec.serviceAccountName"), want: refusal{"spec.serviceAccountName", "Required value"}},
		{name: "serviceAccountName not a DNS subdomain", mutate: func(a *v1alpha1.Agent) { a.Spec.ServiceAccountName = "Agent_SA" }, want: refusal{"spec.serviceAccountName", msgPattern}},
		{name: "serviceAccountName too long", mutate: func(a *v1alpha1.Agent) { a.Spec.ServiceAccountName = long(254) }, want: refusal{"spec.serviceAccountName", "Too long"}},

		// allowedNamespaces (T1, T16)
		{name: "allowedNamespaces upper case", mutate: allowed("Prod-*"), want: refusal{"spec.allowedNamespaces[0]", msgGrammar}},
		{name: "allowedNamespaces brackets", mutate: allowed("staging", "prod-[ab]"), want: refusal{"spec.allowedNamespaces[1]", msgGrammar}},
		{name: "allowedNamespaces empty entry", mutate: allowed(""), want: refusal{"spec.allowedNamespaces[0]", "at least 1 chars long"}},
		{name: "allowedNamespaces 64 characters", mutate: allowed(long(64)), want: refusal{"spec.allowedNamespaces[0]", "Too long"}},
		{name: "allowedNamespaces leading dash", mutate: allowed("-prod"), want: refusal{"spec.allowedNamespaces[0]", msgGrammar}},
		{name: "allowedNamespaces trailing dash", mutate: allowed("prod-"), want: refusal{"spec.allowedNamespaces[0]", msgGrammar}},
		{name: "allowedNamespaces regex syntax", mutate: allowed("prod.*"), want: refusal{"spec.allowedNamespaces[0]", msgGrammar}},
		{name: "allowedNamespaces duplicate", mutate: allowed("staging", "staging"), want: refusal{"spec.allowedNamespaces[1]", "Duplicate value"}},
		{name: "allowedNamespaces too many", mutate: allowed(many(65, func(i int) string { return fmt.Sprintf("ns-%d", i) })...), want: refusal{"spec.allowedNamespaces", "Too many"}},

		// credentials: the matrix (T10, T16)
		{name: "credential env and mountPath", mutate: creds(v1alpha1.Credential{Name: "c", SecretRef: v1alpha1.SecretReference{Name: "s", Key: "k"}, Env: "TOKEN", MountPath: "/etc/token"}), want: refusal{"spec.credentials[0].mountPath", "mutually exclusive"}},
		{name: "credential env without key", mutate: creds(v1alpha1.Credential{Name: "c", SecretRef: v1alpha1.SecretReference{Name: "s"}, Env: "TOKEN"}), want: refusal{"spec.credentials[0].env", "env requires secretRef.key"}},
		{name: "credential key without env or mountPath", mutate: creds(v1alpha1.Credential{Name: "c", SecretRef: v1alpha1.SecretReference{Name: "s", Key: "k"}}), want: refusal{"spec.credentials[0].secretRef.key", "requires env or mountPath"}},
		{name: "credential fileMode without mountPath", mutate: creds(func() v1alpha1.Credential { c := keyEnv("c", "TOKEN"); c.FileMode = mode(0o400); return c }()), want: refusal{"spec.credentials[0].fileMode", "fileMode requires mountPath"}},
		{name: "credential fileMode on whole-Secret env", mutate: creds(func() v1alpha1.Credential { c := wholeEnv("c"); c.FileMode = mode(0o400); return c }()), want: refusal{"spec.credentials[0].fileMode", "fileMode requires mountPath"}},
		{name: "credential empty env", mutate: creds(keyEnv("c", "TOKEN")), raw: func(t *testing.T, u *unstructured.Unstructured) { set(t, u, "spec.credentials[0].env", "") }, want: refusal{"spec.credentials[0].env", "at least 1 chars long"}},

		// credentials: env names (T10)
		{name: "credential env not an identifier", mutate: creds(keyEnv("c", "API-KEY")), want: refusal{"spec.credentials[0].env", "must be a C identifier"}},
		{name: "credential env starts with a digit", mutate: creds(keyEnv("c", "1TOKEN")), want: refusal{"spec.credentials[0].env", "must be a C identifier"}},
		{name: "credential env HOME", mutate: creds(keyEnv("c", "HOME")), want: refusal{"spec.credentials[0].env", "is reserved"}},
		{name: "credential env PATH", mutate: creds(keyEnv("c", "PATH")), want: refusal{"spec.credentials[0].env", "is reserved"}},
		{name: "credential env SHELL", mutate: creds(keyEnv("c", "SHELL")), want: refusal{"spec.credentials[0].env", "is reserved"}},
		{name: "credential env USER", mutate: creds(keyEnv("c", "USER")), want: refusal{"spec.credentials[0].env", "is reserved"}},
		{name: "credential env WORKSPACE_DIR", mutate: creds(keyEnv("c", "WORKSPACE_DIR")), want: refusal{"spec.credentials[0].env", "is reserved"}},
		{name: "credential env TASK_ prefix", mutate: creds(keyEnv("c", "TASK_NAME")), want: refusal{"spec.credentials[0].env", "is reserved"}},
		{name: "credential env KUBEOPENCODE_ prefix", mutate: creds(keyEnv("c", "KUBEOPENCODE_TOKEN")), want: refusal{"spec.credentials[0].env", "is reserved"}},
		{name: "credential env OPENCODE_CONFIG_CONTENT", mutate: creds(keyEnv("a", "A"), keyEnv("c", "OPENCODE_CONFIG_CONTENT")), want: refusal{"spec.credentials[1].env", "is reserved"}},
		{name: "credential env OPENCODE", mutate: creds(keyEnv("c", "OPENCODE")), want: refusal{"spec.credentials[0].env", "is reserved"}},
		{name: "credential env OPENCODE_PID", mutate: creds(keyEnv("c", "OPENCODE_PID")), want: refusal{"spec.credentials[0].env", "is reserved"}},
		{name: "credential env AGENT", mutate: creds(keyEnv("c", "AGENT")), want: refusal{"spec.credentials[0].env", "is reserved"}},
		{name: "credential env TASK_DESCRIPTION", mutate: creds(keyEnv("c", "TASK_DESCRIPTION")), want: refusal{"spec.credentials[0].env", "is reserved"}},
		{name: "credential envPrefix forms OPENCODE_", mutate: creds(func() v1alpha1.Credential { c := wholeEnv("c"); c.EnvPrefix = "OPEN"; return c }()), want: refusal{"spec.credentials[0].envPrefix", "could form a reserved name"}},
		{name: "credential envPrefix inside OPENCODE_", mutate: creds(func() v1alpha1.Credential { c := wholeEnv("c"); c.EnvPrefix = "OPENCODE_X_"; return c }()), want: refusal{"spec.credentials[0].envPrefix", "could form a reserved name"}},
		{name: "credential envPrefix forms AGENT", mutate: creds(func() v1alpha1.Credential { c := wholeEnv("c"); c.EnvPrefix = "AG"; return c }()), want: refusal{"spec.credentials[0].envPrefix", "could form a reserved name"}},
		{name: "credential env too long", mutate: creds(keyEnv("c", "A"+strings.Repeat("B", 128))), want: refusal{"spec.credentials[0].env", "Too long"}},
		{name: "credential env duplicate", mutate: creds(keyEnv("a", "TOKEN"), keyEnv("b", "TOKEN")), want: refusal{"spec.credentials", "env must be unique"}},

		// credentials: file modes (T9)
		{name: "credential fileMode above 0777", mutate: creds(func() v1alpha1.Credential { c := keyFile("c", "/etc/c"); c.FileMode = mode(0o1000); return c }()), want: refusal{"spec.credentials[0].fileMode", "less than or equal to 511"}},
		{name: "credential fileMode negative", mutate: creds(func() v1alpha1.Credential { c := keyFile("c", "/etc/c"); c.FileMode = mode(-1); return c }()), want: refusal{"spec.credentials[0].fileMode", "greater than or equal to 0"}},
		{name: "credential fileMode group write", mutate: creds(func() v1alpha1.Credential { c := keyFile("c", "/etc/c"); c.FileMode = mode(0o620); return c }()), want: refusal{"spec.credentials[0].fileMode", "group or other write"}},
		{name: "credential fileMode other write", mutate: creds(func() v1alpha1.Credential { c := wholeDir("c", "/etc/c"); c.FileMode = mode(0o602); return c }()), want: refusal{"spec.credentials[0].fileMode", "group or other write"}},
		{name: "credential fileMode 0777", mutate: creds(func() v1alpha1.Credential { c := wholeDir("c", "/etc/c"); c.FileMode = mode(0o777); return c }()), want: refusal{"spec.credentials[0].fileMode", "group or other write"}},

		// credentials: mount paths (T11)
		{name: "credential mountPath relative", mutate: creds(keyFile("c", "home/agent/key")), want: refusal{"spec.credentials[0].mountPath", msgAbsolute}},
		{name: "credential mountPath traversal", mutate: creds(keyFile("c", "/home/agent/../../etc/passwd")), want: refusal{"spec.credentials[0].mountPath", msgNormalized}},
		{name: "credential mountPath over the SA token", mutate: creds(keyFile("c", "/var/run/secrets/kubernetes.io/serviceaccount/token")), want: refusal{"spec.credentials[0].mountPath", msgReserved}},
		{name: "credential mountPath over the tools dir", mutate: creds(keyFile("c", "/tools/opencode")), want: refusal{"spec.credentials[0].mountPath", msgReserved}},
		{name: "credential mountPath /proc", mutate: creds(wholeDir("c", "/proc")), want: refusal{"spec.credentials[0].mountPath", msgReserved}},
		{name: "credential mountPath is HOME", mutate: creds(wholeDir("c", "/home/agent")), want: refusal{"spec.credentials[0].mountPath", msgOperator}},
		{name: "credential mountPath is workspaceDir", mutate: creds(wholeDir("c", "/workspace")), want: refusal{"spec.credentials", "must not be workspaceDir"}},
		{name: "credential mountPath contains workspaceDir", mutate: func(a *v1alpha1.Agent) {
			a.Spec.WorkspaceDir = "/data/workspace"
			a.Spec.Credentials = []v1alpha1.Credential{wholeDir("c", "/data")}
		}, want: refusal{"spec.credentials", "must not be workspaceDir, contain it"}},
		{name: "credential mountPath is task.md", mutate: creds(keyFile("c", "/workspace/task.md")), want: refusal{"spec.credentials", "<workspaceDir>/task.md"}},
		{name: "credential mountPath under .kubeopencode", mutate: creds(keyFile("c", "/workspace/.kubeopencode/context.md")), want: refusal{"spec.credentials", "<workspaceDir>/.kubeopencode"}},
		{name: "credential mountPath duplicate", mutate: creds(keyFile("a", "/etc/c"), wholeDir("b", "/etc/c")), want: refusal{"spec.credentials", "mountPath must be unique within credentials"}},
		{name: "credential mountPath nested", mutate: creds(wholeDir("a", "/etc/creds"), keyFile("b", "/etc/creds/extra")), want: refusal{"spec.credentials", "must not lie under another credential"}},

		// credentials: names and references (T16)
		{name: "credential name duplicate", mutate: creds(keyEnv("c", "A"), keyEnv("c", "B")), want: refusal{"spec.credentials[1]", "Duplicate value"}},
		{name: "credential name not a DNS label", mutate: creds(keyEnv("Api_Key", "A")), want: refusal{"spec.credentials[0].name", msgPattern}},
		{name: "credential secretRef.name not a DNS subdomain", mutate: creds(v1alpha1.Credential{Name: "c", SecretRef: v1alpha1.SecretReference{Name: "My_Secrets", Key: "k"}, Env: "A"}), want: refusal{"spec.credentials[0].secretRef.name", msgPattern}},
		{name: "credential secretRef.name missing", mutate: creds(keyEnv("c", "A")), raw: func(t *testing.T, u *unstructured.Unstructured) {
			set(t, u, "spec.credentials[0].secretRef", map[string]any{"key": "k"})
		}, want: refusal{"spec.credentials[0].secretRef.name", "Required value"}},
		{name: "credential secretRef.key with a slash", mutate: creds(v1alpha1.Credential{Name: "c", SecretRef: v1alpha1.SecretReference{Name: "s", Key: "a/b"}, Env: "A"}), want: refusal{"spec.credentials[0].secretRef.key", msgPattern}},
		{name: "credential secretRef.key dot-dot", mutate: creds(v1alpha1.Credential{Name: "c", SecretRef: v1alpha1.SecretReference{Name: "s", Key: "..data"}, Env: "A"}), want: refusal{"spec.credentials[0].secretRef.key", "must not be . or start with .."}},
		{name: "credentials too many", mutate: creds(many(33, func(i int) v1alpha1.Credential { return keyEnv(fmt.Sprintf("c%d", i), fmt.Sprintf("V%d", i)) })...), want: refusal{"spec.credentials", "Too many"}},

		// podSpec labels and annotations (T12)
		{name: "label kubeopencode.io prefix", mutate: labels("kubeopencode.io/task-uid", "x"), want: refusal{"spec.podSpec.labels", msgReservedKV}},
		{name: "label kubeopencode.io subdomain", mutate: labels("evil.kubeopencode.io/agent", "x"), want: refusal{"spec.podSpec.labels", msgReservedKV}},
		{name: "label managed-by", mutate: labels("app.kubernetes.io/managed-by", "someone-else"), want: refusal{"spec.podSpec.labels", msgReservedKV}},
		{name: "annotation kubeopencode.io prefix", mutate: annotations("kubeopencode.io/stop", "true"), want: refusal{"spec.podSpec.annotations", msgReservedKV}},
		{name: "annotation managed-by", mutate: annotations("app.kubernetes.io/managed-by", "x"), want: refusal{"spec.podSpec.annotations", msgReservedKV}},
		{name: "label key with a space", mutate: labels("team name", "x"), want: refusal{"spec.podSpec.labels", "keys must be valid label keys"}},
		{name: "label key name too long", mutate: labels("example.com/"+long(64), "x"), want: refusal{"spec.podSpec.labels", "keys must be valid label keys"}},
		{name: "label key upper-case prefix", mutate: labels("Example.com/team", "x"), want: refusal{"spec.podSpec.labels", "keys must be valid label keys"}},
		{name: "annotation key empty name", mutate: annotations("example.com/", "x"), want: refusal{"spec.podSpec.annotations", "keys must be valid annotation keys"}},
		{name: "label value with a space", mutate: labels("team", "a b"), want: refusal{"spec.podSpec.labels.team", msgPattern}},
		{name: "label value too long", mutate: labels("team", long(64)), want: refusal{"spec.podSpec.labels.team", "Too long"}},
		{name: "labels too many", mutate: labels(many(66, func(i int) string { return fmt.Sprintf("k%d", i/2) })...), want: refusal{"spec.podSpec.labels", "Too many"}},
		{name: "annotation value too long", mutate: annotations("example.com/note", long(4097)), want: refusal{"spec.podSpec.annotations", "at most 4096 characters"}},
		{name: "runtimeClassName invalid", mutate: func(a *v1alpha1.Agent) { a.Spec.PodSpec = &v1alpha1.AgentPodSpec{RuntimeClassName: "gVisor"} }, want: refusal{"spec.podSpec.runtimeClassName", msgPattern}},

		// limits (T7, T16)
		{name: "maxConcurrentTasks zero", mutate: func(a *v1alpha1.Agent) { a.Spec.MaxConcurrentTasks = ptr.To[int32](0) }, want: refusal{"spec.maxConcurrentTasks", "greater than or equal to 1"}},
		{name: "quota maxTaskStarts zero", mutate: func(a *v1alpha1.Agent) { a.Spec.Quota = &v1alpha1.QuotaConfig{MaxTaskStarts: 0, WindowSeconds: 60} }, want: refusal{"spec.quota.maxTaskStarts", "greater than or equal to 1"}},
		{name: "quota windowSeconds negative", mutate: func(a *v1alpha1.Agent) { a.Spec.Quota = &v1alpha1.QuotaConfig{MaxTaskStarts: 5, WindowSeconds: -60} }, want: refusal{"spec.quota.windowSeconds", "greater than or equal to 1"}},

		// caBundle: upstream's shape, ConfigMap only
		{name: "caBundle with secretRef", mutate: caBundle(&v1alpha1.CABundleConfig{ConfigMapRef: &v1alpha1.CABundleReference{Name: "ca"}, SecretRef: &v1alpha1.CABundleReference{Name: "ca"}}), want: refusal{"spec.caBundle.secretRef", "secretRef is not supported"}},
		{name: "caBundle with only secretRef", mutate: caBundle(&v1alpha1.CABundleConfig{SecretRef: &v1alpha1.CABundleReference{Name: "ca"}}), want: refusal{"spec.caBundle", "configMapRef is required"}},
		{name: "caBundle empty", mutate: caBundle(&v1alpha1.CABundleConfig{}), want: refusal{"spec.caBundle", "configMapRef is required"}},
		{name: "caBundle key with a slash", mutate: caBundle(&v1alpha1.CABundleConfig{ConfigMapRef: &v1alpha1.CABundleReference{Name: "ca", Key: "../ca.crt"}}), want: refusal{"spec.caBundle.configMapRef.key", msgPattern}},
		// networkPolicy (T17)
		{name: "egress CIDR prefix too long", mutate: egress(cidrs("10.0.0.0/33")), want: refusal{"spec.networkPolicy.egress[0].cidrs[0]", "must be a valid CIDR"}},
		{name: "egress CIDR not a CIDR", mutate: egress(cidrs("10.0.0.0/8", "metadata.google.internal")), want: refusal{"spec.networkPolicy.egress[0].cidrs[1]", "must be a valid CIDR"}},
		{name: "egress CIDR host bits set", mutate: egress(cidrs("10.1.2.3/8")), want: refusal{"spec.networkPolicy.egress[0].cidrs[0]", "canonical form"}},
		{name: "egress CIDR inside link-local", mutate: egress(cidrs("10.0.0.0/8", "169.254.0.0/24")), want: refusal{"spec.networkPolicy.egress[0].cidrs[1]", "never allowed"}},
		{name: "egress CIDR the metadata address", mutate: egress(cidrs("169.254.169.254/32")), want: refusal{"spec.networkPolicy.egress[0].cidrs[0]", "never allowed"}},
		{name: "egress CIDR Alibaba metadata", mutate: egress(cidrs("100.100.100.200/32")), want: refusal{"spec.networkPolicy.egress[0].cidrs[0]", "never allowed"}},
		{name: "egress CIDR IPv6 link-local", mutate: egress(cidrs("fe80::/64")), want: refusal{"spec.networkPolicy.egress[0].cidrs[0]", "never allowed"}},
		{name: "egress rule without CIDRs", mutate: egress(v1alpha1.EgressRule{Ports: []v1alpha1.EgressPort{{Port: 443}}}), want: refusal{"spec.networkPolicy.egress[0].cidrs", "Required value"}},
		{name: "egress port zero", mutate: egress(v1alpha1.EgressRule{CIDRs: []string{"0.0.0.0/0"}, Ports: []v1alpha1.EgressPort{{Port: 0}}}), want: refusal{"spec.networkPolicy.egress[0].ports[0].port", "greater than or equal to 1"}},
		{name: "egress port above 65535", mutate: egress(v1alpha1.EgressRule{CIDRs: []string{"0.0.0.0/0"}, Ports: []v1alpha1.EgressPort{{Port: 65536}}}), want: refusal{"spec.networkPolicy.egress[0].ports[0].port", "less than or equal to 65535"}},
		{name: "egress protocol ICMP", mutate: egress(v1alpha1.EgressRule{CIDRs: []string{"0.0.0.0/0"}, Ports: []v1alpha1.EgressPort{{Port: 53, Protocol: "ICMP"}}}), want: refusal{"spec.networkPolicy.egress[0].ports[0].protocol", "Unsupported value"}},

		// Agent contexts (T11, T16)
		{name: "context type not implemented", mutate: contexts(v1alpha1.ContextItem{Type: "URL", Text: "x"}), want: refusal{"spec.contexts[0].type", "Unsupported value"}},
		{name: "context Text without text", mutate: contexts(v1alpha1.ContextItem{Type: v1alpha1.ContextTypeText}), want: refusal{"spec.contexts[0].text", "text is required when type is Text"}},
		{name: "context Text with configMap", mutate: contexts(v1alpha1.ContextItem{Type: v1alpha1.ContextTypeText, Text: "x", ConfigMap: &v1alpha1.ConfigMapContext{Name: "cm"}}), want: refusal{"spec.contexts[0].configMap", "configMap is required when type is ConfigMap"}},
		{name: "context ConfigMap without configMap", mutate: contexts(v1alpha1.ContextItem{Type: v1alpha1.ContextTypeConfigMap}), want: refusal{"spec.contexts[0].configMap", "configMap is required when type is ConfigMap"}},
		{name: "context Git without git", mutate: contexts(v1alpha1.ContextItem{Type: v1alpha1.ContextTypeGit, Text: "x"}), want: refusal{"spec.contexts[0].git", "git is required when type is Git"}},
		{name: "context Git with text", mutate: contexts(v1alpha1.ContextItem{Type: v1alpha1.ContextTypeGit, Text: "x", Git: &v1alpha1.GitContext{Repository: "https://example.com/r.git"}}), want: refusal{"spec.contexts[0].text", "must not be set otherwise"}},
		{name: "context runtime on a Text context", mutate: contexts(v1alpha1.ContextItem{Type: v1alpha1.ContextTypeText, Text: "x", Runtime: &v1alpha1.RuntimeContext{}}), want: refusal{"spec.contexts[0].runtime", "only when type is Runtime"}},
		{name: "context Runtime with mountPath", mutate: contexts(v1alpha1.ContextItem{Type: v1alpha1.ContextTypeRuntime, MountPath: "/workspace/runtime.md"}), want: refusal{"spec.contexts[0].mountPath", "cannot be mounted"}},
		{name: "context fileMode without mountPath", mutate: contexts(v1alpha1.ContextItem{Type: v1alpha1.ContextTypeText, Text: "x", FileMode: mode(0o644)}), want: refusal{"spec.contexts[0].fileMode", "fileMode requires mountPath"}},
		{name: "context fileMode world-writable", mutate: contexts(func() v1alpha1.ContextItem { c := textAt("/workspace/a.md"); c.FileMode = mode(0o666); return c }()), want: refusal{"spec.contexts[0].fileMode", "group or other write"}},
		{name: "context mountPath under /dev", mutate: contexts(textAt("/dev/shm/x")), want: refusal{"spec.contexts[0].mountPath", msgReserved}},
		{name: "context mountPath duplicate", mutate: contexts(textAt("/workspace/a.md"), textAt("/workspace/a.md")), want: refusal{"spec.contexts", "mountPath must be unique within contexts"}},
		{name: "context mountPath nested", mutate: contexts(textAt("/workspace/docs"), textAt("/workspace/docs/a.md")), want: refusal{"spec.contexts", "must not lie under another context"}},
		{name: "context mountPath is task.md", mutate: contexts(textAt("/workspace/task.md")), want: refusal{"spec.contexts", "<workspaceDir>/task.md"}},
		{name: "context mountPath under .kubeopencode", mutate: contexts(textAt("/workspace/.kubeopencode/context.md")), want: refusal{"spec.contexts", "<workspaceDir>/.kubeopencode"}},
		{name: "context relative mountPath is task.md", mutate: contexts(textAt("task.md")), want: refusal{"spec.contexts", "<workspaceDir>/task.md"}},
		{name: "context relative mountPath under .kubeopencode", mutate: contexts(textAt(".kubeopencode/context.md")), want: refusal{"spec.contexts", "<workspaceDir>/.kubeopencode"}},
		{name: "context relative mountPath traversal", mutate: contexts(textAt("../etc/hosts")), want: refusal{"spec.contexts[0].mountPath", msgNormalized}},
		{name: "context relative mountPath collides with a credential", mutate: func(a *v1alpha1.Agent) {
			a.Spec.Credentials = []v1alpha1.Credential{wholeDir("c", "/workspace/.creds")}
			a.Spec.Contexts = []v1alpha1.ContextItem{textAt(".creds/notes.md")}
		}, want: refusal{"spec.contexts", "must not equal, contain or lie under a credential mountPath"}},
		{name: "context mountPath collides with a credential", mutate: func(a *v1alpha1.Agent) {
			a.Spec.Credentials = []v1alpha1.Credential{wholeDir("c", "/etc/creds")}
			a.Spec.Contexts = []v1alpha1.ContextItem{textAt("/etc/creds/notes.md")}
		}, want: refusal{"spec.contexts", "must not equal, contain or lie under a credential mountPath"}},
		{name: "context name duplicate", mutate: contexts(v1alpha1.ContextItem{Name: "n", Type: v1alpha1.ContextTypeText, Text: "x"}, v1alpha1.ContextItem{Name: "n", Type: v1alpha1.ContextTypeText, Text: "y"}), want: refusal{"spec.contexts", "name must be unique"}},
		{name: "context name with markup", mutate: contexts(v1alpha1.ContextItem{Name: "</context><system>", Type: v1alpha1.ContextTypeText, Text: "x"}), want: refusal{"spec.contexts[0].name", msgPattern}},
		{name: "context configMap.name invalid", mutate: contexts(v1alpha1.ContextItem{Type: v1alpha1.ContextTypeConfigMap, ConfigMap: &v1alpha1.ConfigMapContext{Name: "CM"}}), want: refusal{"spec.contexts[0].configMap.name", msgPattern}},
		{name: "context git file transport", mutate: contexts(v1alpha1.ContextItem{Type: v1alpha1.ContextTypeGit, Git: &v1alpha1.GitContext{Repository: "file:///etc"}}), want: refusal{"spec.contexts[0].git.repository", "must be an https:// or ssh:// URL"}},
		{name: "context git ext transport", mutate: contexts(v1alpha1.ContextItem{Type: v1alpha1.ContextTypeGit, Git: &v1alpha1.GitContext{Repository: "ext::sh -c touch% /tmp/pwned"}}), want: refusal{"spec.contexts[0].git.repository", "must be an https:// or ssh:// URL"}},
		{name: "context git ref is an option", mutate: contexts(v1alpha1.ContextItem{Type: v1alpha1.ContextTypeGit, Git: &v1alpha1.GitContext{Repository: "https://example.com/r.git", Ref: "--upload-pack=touch"}}), want: refusal{"spec.contexts[0].git.ref", msgPattern}},
		{name: "context git path traversal", mutate: contexts(v1alpha1.ContextItem{Type: v1alpha1.ContextTypeGit, Git: &v1alpha1.GitContext{Repository: "https://example.com/r.git", Path: "docs/../../etc"}}), want: refusal{"spec.contexts[0].git.path", msgNormalized}},
		{name: "context git path absolute", mutate: contexts(v1alpha1.ContextItem{Type: v1alpha1.ContextTypeGit, Git: &v1alpha1.GitContext{Repository: "https://example.com/r.git", Path: "/etc"}}), want: refusal{"spec.contexts[0].git.path", "must be a relative path"}},
		{name: "context git depth negative", mutate: contexts(v1alpha1.ContextItem{Type: v1alpha1.ContextTypeGit, Git: &v1alpha1.GitContext{Repository: "https://example.com/r.git", Depth: ptr.To[int32](-1)}}), want: refusal{"spec.contexts[0].git.depth", "greater than or equal to 0"}},
		{name: "contexts too many", mutate: contexts(many(17, func(int) v1alpha1.ContextItem { return v1alpha1.ContextItem{Type: v1alpha1.ContextTypeRuntime} })...), want: refusal{"spec.contexts", "Too many"}},

		// sizes and images (T16)
		{name: "command too many arguments", mutate: func(a *v1alpha1.Agent) { a.Spec.Command = many(33, func(int) string { return "x" }) }, want: refusal{"spec.command", "Too many"}},
		{name: "volume size limit zero", mutate: func(a *v1alpha1.Agent) {
			zero := resource.MustParse("0")
			a.Spec.PodSpec = &v1alpha1.AgentPodSpec{VolumeSizeLimits: &v1alpha1.VolumeSizeLimits{Workspace: &zero}}
		}, want: refusal{"spec.podSpec.volumeSizeLimits.workspace", "must be greater than zero"}},
		{name: "command empty program", mutate: func(a *v1alpha1.Agent) { a.Spec.Command = []string{""} }, want: refusal{"spec.command", "must not be empty or only whitespace"}},
		{name: "command blank program", mutate: func(a *v1alpha1.Agent) { a.Spec.Command = []string{" \t", "run"} }, want: refusal{"spec.command", "must not be empty or only whitespace"}},
		{name: "command argument too long", mutate: func(a *v1alpha1.Agent) { a.Spec.Command = []string{long(4097)} }, want: refusal{"spec.command[0]", "Too long"}},
		{name: "config too long", mutate: func(a *v1alpha1.Agent) { a.Spec.Config = long(65537) }, want: refusal{"spec.config", "Too long"}},
		{name: "profile too long", mutate: func(a *v1alpha1.Agent) { a.Spec.Profile = long(1025) }, want: refusal{"spec.profile", "Too long"}},
		{name: "agentImage with whitespace", mutate: func(a *v1alpha1.Agent) { a.Spec.AgentImage = "busybox; rm -rf /" }, want: refusal{"spec.agentImage", msgPattern}},
		{name: "executorImage starting with a dash", mutate: func(a *v1alpha1.Agent) { a.Spec.ExecutorImage = "-image" }, want: refusal{"spec.executorImage", msgPattern}},
		{name: "tolerations too many", mutate: func(a *v1alpha1.Agent) {
			a.Spec.PodSpec = &v1alpha1.AgentPodSpec{Scheduling: &v1alpha1.PodScheduling{}}
			for i := 0; i < 33; i++ {
				a.Spec.PodSpec.Scheduling.Tolerations = append(a.Spec.PodSpec.Scheduling.Tolerations, tol(fmt.Sprintf("k%d", i)))
			}
		}, want: refusal{"spec.podSpec.scheduling.tolerations", "Too many"}},
	}
}

func caBundle(c *v1alpha1.CABundleConfig) func(*v1alpha1.Agent) {
	return func(a *v1alpha1.Agent) { a.Spec.CABundle = c }
}

func tol(key string) corev1.Toleration {
	return corev1.Toleration{Key: key, Operator: corev1.TolerationOpExists, Effect: corev1.TaintEffectNoSchedule}
}

func TestAgentRefused(t *testing.T) {
	ctx := context.Background()
	cases := invalidAgentCases()
	seen := map[string]bool{}
	for _, tc := range cases {
		if seen[tc.name] {
			t.Fatalf("duplicate case name %q", tc.name)
		}
		seen[tc.name] = true
		t.Run(tc.name, func(t *testing.T) {
			ns := env.Namespace(ctx, t)
			a := validAgent()
			a.Name, a.Namespace = "agent", ns
			if tc.mutate != nil {
				tc.mutate(a)
			}
			var raw func(*unstructured.Unstructured)
			if tc.raw != nil {
				raw = func(u *unstructured.Unstructured) { tc.raw(t, u) }
			}
			err := create(ctx, t, a, raw)
			expectRefused(t, err, tc.want)
			assertAbsent(ctx, t, a)
		})
	}
}

// assertAbsent proves a refused object was not stored.
func assertAbsent(ctx context.Context, t *testing.T, obj client.Object) {
	t.Helper()
	u := toUnstructured(t, obj)
	if err := env.Client.Get(ctx, client.ObjectKeyFromObject(obj), u); !apierrors.IsNotFound(err) {
		t.Errorf("after refusal, get %s/%s: %v; want NotFound", obj.GetNamespace(), obj.GetName(), err)
	}
}
