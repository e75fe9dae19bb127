package kubeopencode

import (
	"github.com/kubeopencode/kubeopencode/rbac"

	"bytes"
	"flag"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	rbacv1 "k8s.io/api/rbac/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/component-helpers/auth/rbac/validation"
)

var update = flag.Bool("update", false, "rewrite the golden files under testdata/")

// golden compares YAML rendered from objs with testdata/name, or rewrites it with -update.
func golden(t *testing.T, name string, objs ...runtime.Object) {
	t.Helper()
	render := func() []byte {
		var buf bytes.Buffer
		if err := rbac.WriteYAML(&buf, objs); err != nil {
			t.Fatal(err)
		}
		return buf.Bytes()
	}
	got := render()
	for range 2 { // determinism: three renders, one output
		if again := render(); !bytes.Equal(got, again) {
			t.Fatalf("rendering %s twice gave different bytes:\n%s", name, cmp.Diff(string(got), string(again)))
		}
	}
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if diff := cmp.Diff(string(want), string(got)); diff != "" {
		t.Errorf("%s differs from the golden file (-want +got); run go test -update if intended:\n%s", path, diff)
	}
}

func must[T any](t *testing.T) func(T, error) T {
	return func(v T, err error) T {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
}

func TestGoldenPredefinedRoles(t *testing.T) {
	cr := must[*rbacv1.ClusterRole](t)
	role := must[*rbacv1.Role](t)
	objs := must[[]runtime.Object](t)
	t.Run("operator", func(t *testing.T) {
		golden(t, "operator-clusterrole.yaml", cr(OperatorClusterRole(OperatorOptions{})))
	})
	t.Run("operator without network policies", func(t *testing.T) {
		golden(t, "operator-clusterrole-without-networkpolicies.yaml", cr(OperatorClusterRole(OperatorOptions{WithoutNetworkPolicies: true})))
	})
	t.Run("leader election", func(t *testing.T) {
		golden(t, "leader-election-role.yaml", role(LeaderElectionRole(OperatorOptions{})))
	})
	t.Run("operator objects with custom namespace and service account", func(t *testing.T) {
		golden(t, "operator-objects-custom.yaml", objs(OperatorObjects(OperatorOptions{Namespace: "ops", ServiceAccount: "koc"}))...)
	})
	t.Run("agent", func(t *testing.T) {
		golden(t, "agent-objects.yaml", objs(AgentObjects(AgentOptions{Namespace: "team-a"}))...)
	})
	t.Run("log reader", func(t *testing.T) {
		golden(t, "log-reader-objects.yaml", objs(LogReaderObjects(LogReaderOptions{AgentNamespaces: []string{"platform-agents", "team-a"}}))...)
	})
	for _, p := range Personas() {
		t.Run("persona "+string(p), func(t *testing.T) {
			golden(t, "persona-"+string(p)+".yaml", cr(PersonaClusterRole(p)))
		})
	}
}

// predefinedRules lists the rules of every predefined role, by role name.
func predefinedRules(t *testing.T) map[string][]rbacv1.PolicyRule {
	t.Helper()
	out := map[string][]rbacv1.PolicyRule{}
	for _, o := range must[[]runtime.Object](t)(Manifest(ManifestOptions{AgentNamespaces: []string{"team-a"}, Personas: Personas()})) {
		switch r := o.(type) {
		case *rbacv1.ClusterRole:
			out["ClusterRole "+r.Name] = r.Rules
		case *rbacv1.Role:
			out["Role "+r.Name] = r.Rules
		}
	}
	if len(out) != 8 {
		t.Fatalf("want 8 predefined roles, got %d: %v", len(out), out)
	}
	return out
}

// TestPredefinedRolesHaveNoDangerousGrant is the negative test of threat T14 for the operator, and
// the same promise for the agent and every persona.
//
// The operator's ClusterRole holds exactly the accepted grants (pods:create and pods:patch, with
// their reasons):
// FindDangerous flags them, and only they are subtracted.
func TestPredefinedRolesHaveNoDangerousGrant(t *testing.T) {
	for name, rules := range predefinedRules(t) {
		found := rbac.FindDangerous(rules)
		if name == "ClusterRole "+OperatorRoleName {
			if want := []string{"pods:create", "pods:patch"}; !cmp.Equal(found, want) {
				t.Errorf("%s: FindDangerous = %v, want exactly the accepted %v", name, found, want)
			}
			found = WithoutAccepted(found, AcceptedOperatorGrants())
		}
		if len(found) > 0 {
			t.Errorf("%s contains dangerous grants %v", name, found)
		}
		// Belt and braces: not a single rule may name these resources, whatever the verb.
		for _, r := range rules {
			for _, res := range r.Resources {
				base, _, _ := strings.Cut(res, "/")
				if slices.Contains(r.APIGroups, "") && slices.Contains([]string{"secrets", "serviceaccounts", "nodes"}, base) {
					t.Errorf("%s has a rule on %s: %+v", name, res, r)
				}
				if strings.Contains(res, "/") && base == "pods" {
					t.Errorf("%s has a rule on a pods subresource: %+v", name, r)
				}
			}
		}
	}
}

// TestOperatorNamespacesOption: with the operator's watched namespaces, "create" on pods leaves
// the ClusterRole for a Role in each namespace, bound to the operator's ServiceAccount.
func TestOperatorNamespacesOption(t *testing.T) {
	objs := must[[]runtime.Object](t)(OperatorObjects(OperatorOptions{Namespaces: []string{"team-b", "team-a", "team-b"}}))
	createPods := rbacv1.PolicyRule{APIGroups: []string{""}, Resources: []string{"pods"}, Verbs: []string{"create", "patch"}}
	var roles []string
	for _, o := range objs {
		switch r := o.(type) {
		case *rbacv1.ClusterRole:
			if ok, _ := validation.Covers(r.Rules, []rbacv1.PolicyRule{createPods}); ok {
				t.Errorf("ClusterRole %s still grants pods create cluster-wide", r.Name)
			}
			if found := rbac.FindDangerous(r.Rules); len(found) > 0 {
				t.Errorf("ClusterRole %s: dangerous %v", r.Name, found)
			}
		case *rbacv1.Role:
			if r.Name != OperatorPodsRoleName {
				continue
			}
			roles = append(roles, r.Namespace)
			if diff := cmp.Diff([]rbacv1.PolicyRule{createPods}, r.Rules); diff != "" {
				t.Errorf("Role %s/%s rules (-want +got):\n%s", r.Namespace, r.Name, diff)
			}
		case *rbacv1.RoleBinding:
			if r.Name == OperatorPodsRoleName && (r.RoleRef.Name != OperatorPodsRoleName || len(r.Subjects) != 1 ||
				r.Subjects[0].Name != DefaultOperatorServiceAccount || r.Subjects[0].Namespace != DefaultOperatorNamespace) {
				t.Errorf("RoleBinding %s/%s = %+v", r.Namespace, r.Name, r)
			}
		}
	}
	if !cmp.Equal(roles, []string{"team-a", "team-b"}) {
		t.Errorf("pods Roles in %v, want team-a and team-b once each", roles)
	}
	// Without namespaces the ClusterRole keeps it (and FindDangerous says so).
	cr := must[*rbacv1.ClusterRole](t)(OperatorClusterRole(OperatorOptions{}))
	if found := rbac.FindDangerous(cr.Rules); !slices.Contains(found, "pods:create") {
		t.Errorf("the cluster-wide operator role is not flagged for pods:create: %v", found)
	}
	if _, ok := AcceptedOperatorGrants()["pods:create"]; !ok {
		t.Error("pods:create has no accepted reason")
	}
}

func TestOperatorNetworkPolicyOption(t *testing.T) {
	covers := func(rules []rbacv1.PolicyRule, r rbacv1.PolicyRule) bool {
		ok, _ := validation.Covers(rules, []rbacv1.PolicyRule{r})
		return ok
	}
	netpol := rbacv1.PolicyRule{APIGroups: []string{"networking.k8s.io"}, Resources: []string{"networkpolicies"}, Verbs: []string{"create"}}
	agentFinalizers := rbacv1.PolicyRule{APIGroups: []string{APIGroup}, Resources: []string{"agents/finalizers"}, Verbs: []string{"update"}}
	with := must[*rbacv1.ClusterRole](t)(OperatorClusterRole(OperatorOptions{}))
	without := must[*rbacv1.ClusterRole](t)(OperatorClusterRole(OperatorOptions{WithoutNetworkPolicies: true}))
	if !covers(with.Rules, netpol) || !covers(with.Rules, agentFinalizers) {
		t.Errorf("default operator role cannot manage Agent NetworkPolicies: %+v", with.Rules)
	}
	if covers(without.Rules, netpol) || covers(without.Rules, agentFinalizers) {
		t.Errorf("WithoutNetworkPolicies still grants NetworkPolicies or agents/finalizers: %+v", without.Rules)
	}
}

// TestAgentRoleIsReadOnlyByName pins what the agent must not do even though it is harmless by
// the dangerous list: write Tasks or their status, or enumerate Tasks.
func TestAgentRoleIsReadOnlyByName(t *testing.T) {
	rules := predefinedRules(t)["Role "+AgentRoleName]
	for _, r := range []rbacv1.PolicyRule{
		{APIGroups: []string{APIGroup}, Resources: []string{"tasks"}, Verbs: []string{"update"}},
		{APIGroups: []string{APIGroup}, Resources: []string{"tasks"}, Verbs: []string{"patch"}},
		{APIGroups: []string{APIGroup}, Resources: []string{"tasks"}, Verbs: []string{"list"}},
		{APIGroups: []string{APIGroup}, Resources: []string{"tasks"}, Verbs: []string{"create"}},
		{APIGroups: []string{APIGroup}, Resources: []string{"tasks/status"}, Verbs: []string{"update"}},
		{APIGroups: []string{APIGroup}, Resources: []string{"tasks/status"}, Verbs: []string{"patch"}},
		{APIGroups: []string{APIGroup}, Resources: []string{"agents"}, Verbs: []string{"use"}},
		{APIGroups: []string{""}, Resources: []string{"configmaps"}, Verbs: []string{"get"}},
		{APIGroups: []string{""}, Resources: []string{"pods/log"}, Verbs: []string{"get"}},
	} {
		if ok, _ := validation.Covers(rules, []rbacv1.PolicyRule{r}); ok {
			t.Errorf("agent Role allows %v %v", r.Verbs, r.Resources)
		}
	}
	want := []rbacv1.PolicyRule{{APIGroups: []string{APIGroup}, Resources: []string{"agents", "tasks"}, Verbs: []string{"get"}}}
	if diff := cmp.Diff(want, rules); diff != "" {
		t.Errorf("agent Role rules (-want +got):\n%s", diff)
	}
}

// TestAgentUserMatchesPolicyModule pins the shared contract with the policy module, which emits
// the same ClusterRole for the admission policy of T2 (policy/kubeopencode.AgentUserClusterRole).
func TestAgentUserMatchesPolicyModule(t *testing.T) {
	role := must[*rbacv1.ClusterRole](t)(PersonaClusterRole(PersonaAgentUser))
	if role.Name != "kubeopencode-agent-user" {
		t.Errorf("name = %q", role.Name)
	}
	want := []rbacv1.PolicyRule{{APIGroups: []string{"kubeopencode.io"}, Resources: []string{"agents"}, Verbs: []string{"use"}}}
	if diff := cmp.Diff(want, role.Rules); diff != "" {
		t.Errorf("agent-user rules (-want +got):\n%s", diff)
	}
}

func TestParsePersonas(t *testing.T) {
	tests := []struct {
		in      string
		want    []Persona
		wantErr string
	}{
		{in: "", want: nil},
		{in: "  ", want: nil},
		{in: "viewer", want: []Persona{PersonaViewer}},
		{in: "viewer, task-author", want: []Persona{PersonaTaskAuthor, PersonaViewer}},
		{in: "task-author,agent-user,viewer,finalizer-remover", want: Personas()},
		{in: "admin", wantErr: `unknown persona "admin"`},
		{in: "viewer,", wantErr: `unknown persona ""`},
		{in: "viewer,viewer", wantErr: "listed twice"},
		{in: "Viewer", wantErr: "unknown persona"},
	}
	for _, tt := range tests {
		got, err := ParsePersonas(tt.in)
		checkErr(t, "ParsePersonas("+tt.in+")", err, tt.wantErr)
		if diff := cmp.Diff(tt.want, got); diff != "" {
			t.Errorf("ParsePersonas(%q) (-want +got):\n%s", tt.in, diff)
		}
	}
}

func FuzzParsePersonas(f *testing.F) {
	for _, s := range []string{"", "viewer", "task-author,agent-user,viewer", "viewer,,", " agent-user ", "x,viewer"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got, err := ParsePersonas(s)
		if err != nil {
			return
		}
		for _, p := range got {
			if p.RoleName() == "" || len(p.Rules()) == 0 {
				t.Errorf("ParsePersonas(%q) returned unknown persona %q", s, p)
			}
		}
		var names []string
		for _, p := range got {
			names = append(names, string(p))
		}
		again, err := ParsePersonas(strings.Join(names, ","))
		if err != nil || !slices.Equal(got, again) {
			t.Errorf("round trip of %q: %v, %v", s, again, err)
		}
	})
}

func TestPersonaClusterRoleUnknown(t *testing.T) {
	if _, err := PersonaClusterRole("root"); err == nil || !strings.Contains(err.Error(), "unknown persona") {
		t.Errorf("err = %v", err)
	}
}

func TestManifest(t *testing.T) {
	tests := []struct {
		name      string
		opts      ManifestOptions
		wantKinds []string
		wantErr   string
	}{
		{name: "zero value is the operator only", opts: ManifestOptions{},
			wantKinds: []string{"ClusterRole", "ClusterRole", "ClusterRoleBinding", "Role", "RoleBinding"}},
		{name: "nothing chosen renders nothing", opts: ManifestOptions{SkipOperator: true}, wantKinds: nil},
		{name: "everything", opts: ManifestOptions{AgentNamespaces: []string{"a", "b"}, Personas: Personas()},
			wantKinds: []string{"ClusterRole", "ClusterRole", "ClusterRole", "ClusterRole", "ClusterRole", "ClusterRole", "ClusterRoleBinding", "Role", "Role", "Role", "RoleBinding", "RoleBinding", "RoleBinding"}},
		{name: "log reader", opts: ManifestOptions{SkipOperator: true, LogReader: true, AgentNamespaces: []string{"a"}},
			wantKinds: []string{"ClusterRole", "ClusterRole", "ClusterRoleBinding", "Role", "RoleBinding", "RoleBinding"}},
		{name: "agent namespace twice", opts: ManifestOptions{AgentNamespaces: []string{"a", "a"}}, wantErr: "duplicate Role a/kubeopencode-agent"},
		{name: "bad agent namespace", opts: ManifestOptions{AgentNamespaces: []string{"A"}}, wantErr: `agent Role in namespace "A"`},
		{name: "empty agent namespace", opts: ManifestOptions{AgentNamespaces: []string{""}}, wantErr: "metadata.namespace: Required value"},
		{name: "bad operator namespace", opts: ManifestOptions{Operator: OperatorOptions{Namespace: "no_way"}}, wantErr: "subjects[0].namespace"},
		{name: "bad agent service account", opts: ManifestOptions{AgentNamespaces: []string{"a"}, AgentServiceAccount: "Nope"}, wantErr: "subjects[0].name"},
		{name: "unknown persona", opts: ManifestOptions{Personas: []Persona{"root"}}, wantErr: "unknown persona"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			objs, err := Manifest(tt.opts)
			checkErr(t, "Manifest", err, tt.wantErr)
			var kinds []string
			for _, o := range objs {
				kinds = append(kinds, o.GetObjectKind().GroupVersionKind().Kind)
			}
			if diff := cmp.Diff(tt.wantKinds, kinds); diff != "" {
				t.Errorf("kinds (-want +got):\n%s", diff)
			}
		})
	}
}

func TestRuleListsAreFreshCopies(t *testing.T) {
	a := OperatorRules(OperatorOptions{})
	a[0].Verbs[0] = "tampered"
	if b := OperatorRules(OperatorOptions{}); b[0].Verbs[0] == "tampered" {
		t.Errorf("OperatorRules shares state between calls")
	}
	v := PersonaViewer.Rules()
	v[0].Verbs[0] = "tampered"
	if PersonaViewer.Rules()[0].Verbs[0] == "tampered" {
		t.Errorf("Persona.Rules shares state between calls")
	}
}

// TestLogReaderHoldsOnlyWhatLogsNeed (T23): the log server's identity can read the log of a Pod
// in an Agent namespace and find it by label, and nothing else on Pods: no get, watch or write,
// no other subresource, nothing outside the Agent namespaces, no dangerous grant.
func TestLogReaderHoldsOnlyWhatLogsNeed(t *testing.T) {
	objs := must[[]runtime.Object](t)(LogReaderObjects(LogReaderOptions{AgentNamespaces: []string{"platform-agents"}}))
	var cluster, pods []rbacv1.PolicyRule
	bound := map[string]bool{}
	for _, o := range objs {
		switch o := o.(type) {
		case *rbacv1.ClusterRole:
			if o.Name == LogReaderPodsRoleName {
				pods = o.Rules
			} else {
				cluster = o.Rules
			}
		case *rbacv1.RoleBinding:
			bound[o.Namespace] = o.RoleRef.Name == LogReaderPodsRoleName
		case *rbacv1.ClusterRoleBinding:
			if o.RoleRef.Name != LogReaderRoleName {
				t.Errorf("ClusterRoleBinding %s binds %s; only %s may be bound cluster-wide", o.Name, o.RoleRef.Name, LogReaderRoleName)
			}
		}
	}
	if diff := cmp.Diff(map[string]bool{"platform-agents": true}, bound); diff != "" {
		t.Errorf("pods role bound in (-want +got):\n%s", diff)
	}
	covers := func(rules []rbacv1.PolicyRule, group, res, verb string) bool {
		ok, _ := validation.Covers(rules, []rbacv1.PolicyRule{{APIGroups: []string{group}, Resources: []string{res}, Verbs: []string{verb}}})
		return ok
	}
	for _, c := range []struct {
		rules            []rbacv1.PolicyRule
		group, res, verb string
		want             bool
	}{
		{pods, "", "pods/log", "get", true},
		{pods, "", "pods", "list", true},
		{pods, "", "pods", "get", false},
		{pods, "", "pods", "watch", false},
		{pods, "", "pods", "delete", false},
		{pods, "", "pods/exec", "create", false},
		{pods, "", "pods/attach", "get", false},
		{pods, "", "secrets", "get", false},
		{cluster, "", "pods/log", "get", false},
		{cluster, "", "pods", "list", false},
		{cluster, APIGroup, "tasks", "get", true},
		{cluster, APIGroup, "tasks", "list", false},
		{cluster, APIGroup, "tasks/status", "update", false},
		{cluster, "authorization.k8s.io", "subjectaccessreviews", "create", true},
		{cluster, "authentication.k8s.io", "tokenreviews", "create", true},
	} {
		if got := covers(c.rules, c.group, c.res, c.verb); got != c.want {
			t.Errorf("%s %s/%s: covered %v, want %v", c.verb, c.group, c.res, got, c.want)
		}
	}
	if found := rbac.FindDangerous(append(cluster, pods...)); len(found) > 0 {
		t.Errorf("log reader has dangerous grants %v", found)
	}
}

func checkErr(t *testing.T, what string, err error, want string) {
	t.Helper()
	switch {
	case want == "" && err != nil:
		t.Errorf("%s: unexpected error %v", what, err)
	case want != "" && err == nil:
		t.Errorf("%s succeeded; want an error mentioning %q", what, want)
	case want != "" && !strings.Contains(err.Error(), want):
		t.Errorf("%s: error %q does not mention %q", what, err, want)
	}
}
