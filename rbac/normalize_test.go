package rbac

import (
	"bytes"
	"os"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	rbacv1 "k8s.io/api/rbac/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/component-helpers/auth/rbac/validation"
)

// TestMatchesControllerGen renders the rules of these kubebuilder markers and compares the bytes
// with what controller-gen v0.23.0 (`controller-gen rbac:roleName=manager-role`) wrote for them
// into testdata/controller-gen-v0.23.0.yaml:
//
//	+kubebuilder:rbac:groups="",resources=pods,verbs=get;list;watch;create;delete
//	+kubebuilder:rbac:groups=core,resources=configmaps,verbs=get;list;watch;create;update;delete
//	+kubebuilder:rbac:groups=kubeopencode.io,resources=tasks,verbs=get;list;watch;update;patch
//	+kubebuilder:rbac:groups=kubeopencode.io,resources=agents,verbs=get;list;watch
//	+kubebuilder:rbac:groups=kubeopencode.io,resources=tasks/status;agents/status,verbs=update;patch
//	+kubebuilder:rbac:groups=kubeopencode.io,resources=tasks,verbs=get
//	+kubebuilder:rbac:groups=events.k8s.io,resources=events,verbs=create;patch
//	+kubebuilder:rbac:groups=apps,resources=deployments,verbs=get;list;watch
//	+kubebuilder:rbac:groups=extensions,resources=deployments,verbs=watch;list;get
//	+kubebuilder:rbac:groups="",resources=configmaps,resourceNames=b;a,verbs=get;update
//	+kubebuilder:rbac:groups="",resources=secrets,resourceNames=a;b,verbs=update;get
//	+kubebuilder:rbac:urls=/metrics;/healthz,verbs=get
//	+kubebuilder:rbac:urls=/readyz,verbs=get
//	+kubebuilder:rbac:groups=batch,resources=jobs;cronjobs,verbs=get;*
//	+kubebuilder:rbac:groups=coordination.k8s.io,resources=leases,verbs=get;create;update
//
// The non-resource URL rules are not expressible as a Rule, so they are added as PolicyRules.
func TestMatchesControllerGen(t *testing.T) {
	rules, err := PolicyRules([]Rule{
		{Group: "", Resources: []string{"pods"}, Verbs: []string{"get", "list", "watch", "create", "delete"}},
		{Group: "core", Resources: []string{"configmaps"}, Verbs: []string{"get", "list", "watch", "create", "update", "delete"}},
		{Group: "kubeopencode.io", Resources: []string{"tasks"}, Verbs: []string{"get", "list", "watch", "update", "patch"}},
		{Group: "kubeopencode.io", Resources: []string{"agents"}, Verbs: []string{"get", "list", "watch"}},
		{Group: "kubeopencode.io", Resources: []string{"tasks/status", "agents/status"}, Verbs: []string{"update", "patch"}},
		{Group: "kubeopencode.io", Resources: []string{"tasks"}, Verbs: []string{"get"}},
		{Group: "events.k8s.io", Resources: []string{"events"}, Verbs: []string{"create", "patch"}},
		{Group: "apps", Resources: []string{"deployments"}, Verbs: []string{"get", "list", "watch"}},
		{Group: "extensions", Resources: []string{"deployments"}, Verbs: []string{"watch", "list", "get"}},
		{Group: "", Resources: []string{"configmaps"}, ResourceNames: []string{"b", "a"}, Verbs: []string{"get", "update"}},
		{Group: "", Resources: []string{"secrets"}, ResourceNames: []string{"a", "b"}, Verbs: []string{"update", "get"}},
		{Group: "batch", Resources: []string{"jobs", "cronjobs"}, Verbs: []string{"get", "*"}},
		{Group: "coordination.k8s.io", Resources: []string{"leases"}, Verbs: []string{"get", "create", "update"}},
	}, BuildOptions{AllowWildcards: true})
	if err != nil {
		t.Fatal(err)
	}
	rules = Normalize(append(rules,
		rbacv1.PolicyRule{NonResourceURLs: []string{"/metrics", "/healthz"}, Verbs: []string{"get"}},
		rbacv1.PolicyRule{NonResourceURLs: []string{"/readyz"}, Verbs: []string{"get"}},
	))
	role := &rbacv1.ClusterRole{Rules: rules}
	role.APIVersion, role.Kind, role.Name = rbacv1.SchemeGroupVersion.String(), "ClusterRole", "manager-role"
	var got bytes.Buffer
	if err := WriteYAML(&got, []runtime.Object{role}); err != nil {
		t.Fatal(err)
	}
	want, err := os.ReadFile("testdata/controller-gen-v0.23.0.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(string(want), got.String()); diff != "" {
		t.Errorf("output differs from controller-gen's (-controller-gen +ours):\n%s", diff)
	}
}

func TestNormalize(t *testing.T) {
	tests := []struct {
		name string
		in   []rbacv1.PolicyRule
		want []rbacv1.PolicyRule
	}{
		{name: "nothing", in: nil, want: []rbacv1.PolicyRule{}},
		{
			name: "rules granting nothing are dropped",
			in: []rbacv1.PolicyRule{
				{APIGroups: []string{""}, Resources: []string{"pods"}},                         // no verbs
				{Resources: []string{"pods"}, Verbs: []string{"get"}},                          // no group
				{APIGroups: []string{""}, Verbs: []string{"get"}},                              // no resources
				{APIGroups: []string{""}, Resources: []string{"pods"}, Verbs: []string{"get"}}, // kept
			},
			want: []rbacv1.PolicyRule{{APIGroups: []string{""}, Resources: []string{"pods"}, Verbs: []string{"get"}}},
		},
		{
			name: "verb wildcard absorbs other verbs",
			in:   []rbacv1.PolicyRule{{APIGroups: []string{"a"}, Resources: []string{"x"}, Verbs: []string{"get", "*"}}, {APIGroups: []string{"a"}, Resources: []string{"y"}, Verbs: []string{"*"}}},
			want: []rbacv1.PolicyRule{{APIGroups: []string{"a"}, Resources: []string{"x", "y"}, Verbs: []string{"*"}}},
		},
		{
			// controller-gen keys its merged rules by (groups, resources, names, urls) and, for
			// this input, keeps only one of the two final rules; every grant must survive here.
			name: "overlapping group sets keep every grant",
			in: []rbacv1.PolicyRule{
				{APIGroups: []string{"a"}, Resources: []string{"pods"}, Verbs: []string{"get"}},
				{APIGroups: []string{"b"}, Resources: []string{"pods"}, Verbs: []string{"get"}},
				{APIGroups: []string{"a", "b"}, Resources: []string{"pods"}, Verbs: []string{"list"}},
			},
			want: []rbacv1.PolicyRule{{APIGroups: []string{"a", "b"}, Resources: []string{"pods"}, Verbs: []string{"get", "list"}}},
		},
		{
			name: "resource names are never merged across different name sets",
			in: []rbacv1.PolicyRule{
				{APIGroups: []string{""}, Resources: []string{"configmaps"}, ResourceNames: []string{"x"}, Verbs: []string{"get"}},
				{APIGroups: []string{""}, Resources: []string{"configmaps"}, ResourceNames: []string{"y"}, Verbs: []string{"get"}},
			},
			want: []rbacv1.PolicyRule{
				{APIGroups: []string{""}, Resources: []string{"configmaps"}, ResourceNames: []string{"x"}, Verbs: []string{"get"}},
				{APIGroups: []string{""}, Resources: []string{"configmaps"}, ResourceNames: []string{"y"}, Verbs: []string{"get"}},
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := Normalize(tt.in)
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("Normalize (-want +got):\n%s", diff)
			}
			assertSameGrants(t, tt.in, got)
		})
	}
}

// assertSameGrants checks, with the API server's containment check, that a and b allow exactly
// the same requests.
func assertSameGrants(t testing.TB, a, b []rbacv1.PolicyRule) {
	t.Helper()
	if ok, missing := validation.Covers(b, a); !ok {
		t.Errorf("normalized rules lost grants %v", missing)
	}
	if ok, extra := validation.Covers(a, b); !ok {
		t.Errorf("normalized rules gained grants %v", extra)
	}
}

func TestNormalizeIsIdempotentAndOrderIndependent(t *testing.T) {
	in := []rbacv1.PolicyRule{
		{APIGroups: []string{"kubeopencode.io"}, Resources: []string{"tasks", "agents"}, Verbs: []string{"get", "list"}},
		{APIGroups: []string{""}, Resources: []string{"pods"}, Verbs: []string{"delete", "get"}},
		{APIGroups: []string{"kubeopencode.io"}, Resources: []string{"tasks"}, Verbs: []string{"watch"}},
		{NonResourceURLs: []string{"/metrics"}, Verbs: []string{"get"}},
	}
	first := Normalize(in)
	if diff := cmp.Diff(first, Normalize(first)); diff != "" {
		t.Errorf("Normalize is not idempotent (-once +twice):\n%s", diff)
	}
	reversed := slices.Clone(in)
	slices.Reverse(reversed)
	if diff := cmp.Diff(first, Normalize(reversed)); diff != "" {
		t.Errorf("Normalize depends on input order (-forward +reversed):\n%s", diff)
	}
}

// FuzzNormalize checks that normalization never changes what rules allow, is idempotent, and
// emits no duplicate or unsorted values. Each input line is a rule:
// "groups|resources|resourceNames|urls|verbs", lists comma-separated; a rule with URLs has
// only URLs and verbs, as RBAC requires.
func FuzzNormalize(f *testing.F) {
	f.Add("|pods|||get\n|pods,configmaps||||\napps|deployments|||get,list")
	f.Add("a|x|||get\nb|x|||get\na,b|x|||list")
	f.Add("||||\n|||/metrics,/healthz|get\n*|*|||*")
	f.Add("|configmaps|x||get\n|configmaps|y||get,update\n|configmaps|x,y||get")
	f.Fuzz(func(t *testing.T, spec string) {
		var rules []rbacv1.PolicyRule
		for _, line := range strings.Split(spec, "\n") {
			f := strings.Split(line, "|")
			for len(f) < 5 {
				f = append(f, "")
			}
			list := func(s string) []string {
				if s == "" {
					return nil
				}
				return strings.Split(s, ",")
			}
			if f[3] != "" {
				// RBAC rejects rules mixing URLs with resources; the authorizer ignores names
				// on non-resource requests but Covers does not, so keep URL rules pure.
				f[0], f[1], f[2] = "", "", ""
			}
			rules = append(rules, rbacv1.PolicyRule{APIGroups: list(f[0]), Resources: list(f[1]), ResourceNames: list(f[2]), NonResourceURLs: list(f[3]), Verbs: list(f[4])})
		}
		got := Normalize(rules)
		assertSameGrants(t, rules, got)
		if diff := cmp.Diff(got, Normalize(got)); diff != "" {
			t.Errorf("not idempotent (-once +twice):\n%s", diff)
		}
		for _, r := range got {
			for _, l := range [][]string{r.APIGroups, r.Resources, r.ResourceNames, r.NonResourceURLs, r.Verbs} {
				if !slices.IsSorted(l) || len(slices.Compact(slices.Clone(l))) != len(l) {
					t.Errorf("field %q of %+v is not sorted and distinct", l, r)
				}
			}
		}
	})
}
