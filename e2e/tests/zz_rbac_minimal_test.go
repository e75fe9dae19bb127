//go:build e2e

package tests

// This file sorts last on purpose: `go test` runs a package's tests in source order, files by
// name, so the RBAC proof reads the audit log after every scenario has run.

import (
	"context"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	rbacv1 "k8s.io/api/rbac/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"sigs.k8s.io/e2e-framework/pkg/envconf"
	"sigs.k8s.io/e2e-framework/pkg/features"

	"github.com/kubeopencode/kubeopencode/e2e/audit"
	"github.com/kubeopencode/kubeopencode/e2e/framework"
	"github.com/kubeopencode/kubeopencode/hack/testbed"
)

// knownUnused are the generated grants the whole suite does not use, each with the reason. They
// are gaps in the minimality proof, not proofs: the test fails when any other grant goes unused,
// and says so when one of these starts being used, so the list can only shrink.
var knownUnused = map[string]string{
	"update kubeopencode.io/tasks/finalizers":  "checked by the OwnerReferencesPermissionEnforcement admission plugin when a Pod gets a blockOwnerDeletion reference to its Task: an authorizer call, never a request in the audit log (and the plugin is off in the test bed)",
	"update kubeopencode.io/agents/finalizers": "the same check for the NetworkPolicy's blockOwnerDeletion reference to its Agent: never a request in the audit log",
	"patch events.k8s.io/events":               "client-go patches an Event only for a series (the same event about the same object version again); none occurred",
	"patch core/events":                        "leader election records one core Event per acquisition; a patch would need the same one twice from one process",
}

// operatorBindings renders operator/config/rbac as the suite installed it and returns the roles
// bound to the operator's ServiceAccount, namespaced Roles first.
func operatorBindings(ctx context.Context, t *testing.T) []framework.Binding {
	t.Helper()
	objs, err := framework.Kustomize(ctx, suite.kubectl, filepath.Join(suite.repoRoot, "operator/config/rbac"))
	if err != nil {
		t.Fatal(err)
	}
	roles := map[string][]rbacv1.PolicyRule{} // "Kind ns/name" -> rules
	type ref struct{ key, ns string }
	var bound []ref
	for _, o := range objs {
		switch o.GetKind() {
		case "Role", "ClusterRole":
			r := &rbacv1.ClusterRole{}
			if err := runtime.DefaultUnstructuredConverter.FromUnstructured(o.Object, r); err != nil {
				t.Fatal(err)
			}
			roles[o.GetKind()+" "+o.GetNamespace()+"/"+o.GetName()] = r.Rules
		case "RoleBinding", "ClusterRoleBinding":
			b := &rbacv1.RoleBinding{}
			if err := runtime.DefaultUnstructuredConverter.FromUnstructured(o.Object, b); err != nil {
				t.Fatal(err)
			}
			if !slices.ContainsFunc(b.Subjects, func(s rbacv1.Subject) bool {
				return s.Kind == rbacv1.ServiceAccountKind && s.Namespace == operatorNamespace && s.Name == operatorServiceAccount
			}) {
				continue
			}
			roleNS := ""
			if b.RoleRef.Kind == "Role" {
				roleNS = b.Namespace
			}
			bound = append(bound, ref{key: b.RoleRef.Kind + " " + roleNS + "/" + b.RoleRef.Name, ns: b.Namespace})
		}
	}
	var out []framework.Binding
	for _, b := range bound {
		rules, ok := roles[b.key]
		if !ok {
			t.Fatalf("operator/config/rbac binds the operator to %s, which it does not define", b.key)
		}
		out = append(out, framework.Binding{Name: strings.Replace(b.key, " /", " ", 1), Namespace: b.ns, Rules: rules})
	}
	slices.SortStableFunc(out, func(a, b framework.Binding) int { return strings.Compare(b.Namespace, a.Namespace) })
	if len(out) == 0 {
		t.Fatal("operator/config/rbac binds nothing to the operator's ServiceAccount")
	}
	return out
}

// TestRBACMinimal is the RBAC proof. Sufficient: the suite above passed with the operator under
// exactly the generated roles, and no request of its ServiceAccount was denied or needed a rule
// the roles do not have. Minimal: every generated grant was used at least once, apart from the
// documented gaps in knownUnused. The API server's audit log (make test-e2e starts it with
// hack/testbed/cfg/audit-policy.yaml) records every request of the operator's ServiceAccount,
// from the out-of-cluster process and from the Deployment of scenario 7.
func TestRBACMinimal(t *testing.T) {
	fullSuite := flag.Lookup("test.run").Value.String() == ""
	var proof framework.Proof
	f := features.New("RBAC proof from the API server's audit log").
		Setup(func(ctx context.Context, t *testing.T, cfg *envconf.Config) context.Context {
			// Stop the operator so that its open watches end and reach the log too.
			if err := suite.operator.Stop(20 * time.Second); err != nil {
				t.Fatal(err)
			}
			path, err := testbed.AuditLog()
			if err != nil {
				t.Fatal(err)
			}
			logf, err := os.Open(path)
			if err != nil {
				t.Fatal(err)
			}
			defer logf.Close()
			reqs, err := audit.Parse(logf, operatorUser)
			if err != nil {
				t.Fatal(err)
			}
			if len(reqs) == 0 {
				t.Fatalf("the audit log has no request of %s: the operator did not run as its ServiceAccount", operatorUser)
			}
			proof = framework.Prove(operatorBindings(ctx, t), reqs)
			t.Logf("%d requests of %s; grants used (binding: verb group/resource, requests cluster-wide / in one namespace):\n%s",
				len(reqs), operatorUser, proof.Table())
			t.Logf("non-resource requests (discovery, allowed to every authenticated user): %v", proof.NonResource)
			return ctx
		}).
		Assess("no request of the operator was denied by authorization", func(ctx context.Context, t *testing.T, cfg *envconf.Config) context.Context {
			for _, r := range proof.Denied {
				t.Errorf("denied: %s %s %s in %q (%s), code %d", r.Verb, r.Group, r.Resource, r.Namespace, r.Name, r.Code)
			}
			for _, r := range proof.Refused {
				t.Logf("allowed by RBAC but refused (403) by admission: %s %s %s in %q (%s)", r.Verb, r.Group, r.Resource, r.Namespace, r.Name)
			}
			return ctx
		}).
		Assess("every request is covered by the generated roles (sufficient)", func(ctx context.Context, t *testing.T, cfg *envconf.Config) context.Context {
			for _, r := range proof.Outside {
				t.Errorf("allowed by a role outside operator/config/rbac: %s %s %s in %q", r.Verb, r.Group, r.Resource, r.Namespace)
			}
			return ctx
		}).
		Assess("every generated grant was used (minimal), apart from the documented gaps", func(ctx context.Context, t *testing.T, cfg *envconf.Config) context.Context {
			var gaps []string
			for _, g := range proof.Unused() {
				reason, known := knownUnused[g.Grant.String()]
				switch {
				case known:
					gaps = append(gaps, fmt.Sprintf("  %s: %s — %s", g.Binding, g.Grant, reason))
				case fullSuite:
					t.Errorf("unused grant %s: %s (the suite never needed it; remove it from the rbac module or cover it)", g.Binding, g.Grant)
				default:
					t.Logf("unused grant %s: %s (not judged: -run selects part of the suite)", g.Binding, g.Grant)
				}
			}
			for _, u := range proof.Uses {
				if _, known := knownUnused[u.Grant.Grant.String()]; known && u.Total() > 0 {
					t.Logf("knownUnused lists %s, which was used %d times in this run: remove it from the list if that holds", u.Grant.Grant, u.Total())
				}
			}
			t.Logf("%d grants are not proven minimal:\n%s", len(gaps), strings.Join(gaps, "\n"))
			return ctx
		}).Feature()
	testenv.Test(t, f)
}
