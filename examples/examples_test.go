package examples

import (
	"cmp"
	"maps"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"

	"github.com/kubeopencode/kubeopencode/api/v1alpha1"
	"github.com/kubeopencode/kubeopencode/examples/sandbox"
	sandboxv1alpha1 "github.com/kubeopencode/kubeopencode/examples/sandbox/v1alpha1"
	"github.com/kubeopencode/kubeopencode/policy"
)

// clusterScoped are the kinds of the examples that have no namespace.
var clusterScoped = map[string]bool{"Namespace": true, "ClusterRole": true, "ClusterRoleBinding": true,
	"KubeOpenCodeConfig": true, "ValidatingAdmissionPolicy": true, "ValidatingAdmissionPolicyBinding": true,
	"RuntimeClass": true, "CustomResourceDefinition": true}

// TestManifestsAreWellFormed checks that every example document names its kind, version, name and
// namespace (cluster-scoped kinds excepted), so a copy-paste never applies somewhere unexpected.
func TestManifestsAreWellFormed(t *testing.T) {
	if len(docs) < 20 {
		t.Fatalf("found %d example documents; want every example directory's", len(docs))
	}
	for _, d := range docs {
		u := d.obj
		if u.GetAPIVersion() == "" || u.GetKind() == "" || u.GetName() == "" {
			t.Errorf("%s: apiVersion, kind and metadata.name are required, got %q %q %q", d, u.GetAPIVersion(), u.GetKind(), u.GetName())
		}
		if got := u.GetNamespace() != ""; got == clusterScoped[u.GetKind()] {
			t.Errorf("%s: %s %q: namespace %q, want one exactly when the kind is namespaced", d, u.GetKind(), u.GetName(), u.GetNamespace())
		}
	}
}

// TestManifestsAreUnique: no two documents declare the same object, so applying every example
// directory never silently overwrites one with another.
func TestManifestsAreUnique(t *testing.T) {
	seen := map[string]document{}
	for _, d := range docs {
		if first, dup := seen[d.key()]; dup {
			t.Errorf("%s declares %s again (first in %s)", d, d.key(), first)
		}
		seen[d.key()] = d
	}
}

// TestEveryExampleHasAReadme: each example directory says what it shows, what to change and
// which threat it closes; the index links them all.
func TestEveryExampleHasAReadme(t *testing.T) {
	index, err := os.ReadFile("README.md")
	if err != nil {
		t.Fatal(err)
	}
	dirs := map[string]bool{}
	for _, d := range docs {
		dirs[strings.Split(d.file, "/")[0]] = true
	}
	threat := regexp.MustCompile(`\bT[0-9]+\b`)
	for _, dir := range slices.Sorted(maps.Keys(dirs)) {
		readme, err := os.ReadFile(filepath.Join(dir, "README.md"))
		if err != nil {
			t.Errorf("%s: %v", dir, err)
			continue
		}
		if !threat.Match(readme) {
			t.Errorf("%s/README.md names no threat (T1–T17 of the threat model)", dir)
		}
		if !strings.Contains(string(index), "("+dir+"/)") {
			t.Errorf("README.md does not link %s/", dir)
		}
	}
}

// TestSecretsHoldOnlyPlaceholders: example Secrets must never look like real credentials. Every
// value says PLACEHOLDER (user names excepted), in stringData, never base64 data.
func TestSecretsHoldOnlyPlaceholders(t *testing.T) {
	for _, d := range byKind(docs, "Secret") {
		s := &corev1.Secret{}
		if err := d.decode(s); err != nil {
			t.Fatal(err)
		}
		if len(s.Data) > 0 {
			t.Errorf("%s: use stringData with visible placeholders, not data", d)
		}
		for k, v := range s.StringData {
			if k != corev1.BasicAuthUsernameKey && !strings.Contains(v, "PLACEHOLDER") {
				t.Errorf("%s: key %q does not hold a PLACEHOLDER value", d, k)
			}
		}
	}
}

// TestReferencesResolve: every example is complete. Each namespace it uses is declared; each
// ServiceAccount, Secret (and key), Agent, template and role it names is in the examples; and
// every Task and Sandbox is in a namespace its Agent or template invites (threat T1), so the
// operator would run it rather than fail it.
func TestReferencesResolve(t *testing.T) {
	need := func(d document, kind, namespace, name string) {
		t.Helper()
		if _, ok := find(docs, kind, namespace, name); !ok {
			t.Errorf("%s refers to %s %s/%s, which no example declares", d, kind, namespace, name)
		}
	}
	needKey := func(d document, namespace, secret, key string) {
		t.Helper()
		sd, ok := find(docs, "Secret", namespace, secret)
		if !ok {
			t.Errorf("%s refers to Secret %s/%s, which no example declares", d, namespace, secret)
			return
		}
		s := &corev1.Secret{}
		if err := sd.decode(s); err != nil {
			t.Fatal(err)
		}
		if _, ok := s.StringData[key]; key != "" && !ok {
			t.Errorf("%s refers to key %q of Secret %s/%s, which has no such key", d, key, namespace, secret)
		}
	}
	for _, d := range docs {
		if ns := d.obj.GetNamespace(); ns != "" {
			need(d, "Namespace", "", ns)
		}
	}
	for _, d := range byKind(docs, "Agent") {
		a := &v1alpha1.Agent{}
		if err := d.decode(a); err != nil {
			t.Fatal(err)
		}
		need(d, "ServiceAccount", a.Namespace, a.Spec.ServiceAccountName)
		for _, c := range a.Spec.Credentials {
			needKey(d, a.Namespace, c.SecretRef.Name, c.SecretRef.Key)
		}
		for _, c := range a.Spec.Contexts {
			if c.Git != nil && c.Git.SecretRef != nil {
				needKey(d, a.Namespace, c.Git.SecretRef.Name, "")
			}
		}
	}
	for _, d := range byKind(docs, "Task") {
		task := &v1alpha1.Task{}
		if err := d.decode(task); err != nil {
			t.Fatal(err)
		}
		agentNS := cmp.Or(task.Spec.AgentRef.Namespace, task.Namespace)
		ad, ok := find(docs, "Agent", agentNS, task.Spec.AgentRef.Name)
		if !ok {
			t.Errorf("%s refers to Agent %s/%s, which no example declares", d, agentNS, task.Spec.AgentRef.Name)
			continue
		}
		a := &v1alpha1.Agent{}
		if err := ad.decode(a); err != nil {
			t.Fatal(err)
		}
		if dec := policy.NewNamespacePolicy(a.Namespace, a.Name, a.Spec.AllowedNamespaces).Decide(task.Namespace); !dec.Allowed {
			t.Errorf("%s: the operator would refuse it: %s", d, dec.Message)
		}
	}
	for _, kind := range []string{"RoleBinding", "ClusterRoleBinding"} {
		for _, d := range byKind(docs, kind) {
			rb := &rbacv1.RoleBinding{}
			if err := d.decode(rb); err != nil {
				t.Fatal(err)
			}
			roleNS := ""
			if rb.RoleRef.Kind == "Role" {
				roleNS = rb.Namespace
			}
			need(d, rb.RoleRef.Kind, roleNS, rb.RoleRef.Name)
			for _, s := range rb.Subjects {
				if s.Kind == rbacv1.ServiceAccountKind {
					need(d, "ServiceAccount", s.Namespace, s.Name)
				}
			}
		}
	}
	for _, d := range byKind(docs, "Sandbox") {
		sb := &sandboxv1alpha1.Sandbox{}
		if err := d.decode(sb); err != nil {
			t.Fatal(err)
		}
		td, ok := find(docs, "SandboxTemplate", sandbox.PodNamespace(sb), sb.Spec.TemplateRef.Name)
		if !ok {
			t.Errorf("%s refers to a SandboxTemplate no example declares", d)
			continue
		}
		tmpl := &sandboxv1alpha1.SandboxTemplate{}
		if err := td.decode(tmpl); err != nil {
			t.Fatal(err)
		}
		if dec := sandbox.Decide(sb, tmpl); !dec.Allowed {
			t.Errorf("%s: the Sandbox controller would refuse it: %s", d, dec.Message)
		}
		need(td, "ServiceAccount", tmpl.Namespace, tmpl.Spec.ServiceAccountName)
		for _, c := range tmpl.Spec.Credentials {
			needKey(td, tmpl.Namespace, c.SecretName, c.Key)
		}
	}
}
