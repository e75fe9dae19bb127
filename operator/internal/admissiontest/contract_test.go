package admissiontest

import (
	"testing"

	"github.com/kubeopencode/kubeopencode/operator/internal/controller"
	"github.com/kubeopencode/kubeopencode/operator/internal/testenv"
	kocpolicy "github.com/kubeopencode/kubeopencode/policy/kubeopencode"
	kocrbac "github.com/kubeopencode/kubeopencode/rbac/kubeopencode"
)

// TestPolicyContract pins the values the policy module duplicates from the api, rbac and operator
// modules (libraries may not import each other): a drift would silently leave list indexes
// unchecked, exempt the wrong user, or name a role that does not exist.
func TestPolicyContract(t *testing.T) {
	eq := func(what string, got, want any) {
		t.Helper()
		if got != want {
			t.Errorf("%s: policy has %v, want %v", what, got, want)
		}
	}
	eq("finalizer", kocpolicy.CleanupFinalizer, controller.Finalizer)
	eq("escape-hatch role", kocpolicy.DefaultFinalizerRemoverRoleName, kocrbac.FinalizerRemoverRoleName)
	eq("escape-hatch verb", kocpolicy.VerbRemoveFinalizer, kocrbac.VerbRemoveFinalizer)
	eq("operator user", kocpolicy.DefaultOperatorUsername, "system:serviceaccount:"+kocrbac.DefaultOperatorNamespace+":"+kocrbac.DefaultOperatorServiceAccount)
	eq("agent-user role", kocpolicy.DefaultAgentUserRoleName, kocrbac.AgentUserRoleName)

	crds, err := testenv.KubeOpenCodeCRDs()
	if err != nil {
		t.Fatal(err)
	}
	maxItems := func(kind string, path ...string) int64 {
		for _, c := range crds {
			if c.Spec.Names.Kind != kind {
				continue
			}
			s := c.Spec.Versions[0].Schema.OpenAPIV3Schema
			for _, p := range path {
				next, ok := s.Properties[p]
				if !ok {
					t.Fatalf("%s: no property %v", kind, path)
				}
				s = &next
			}
			if s.MaxItems == nil {
				t.Fatalf("%s %v has no maxItems", kind, path)
			}
			return *s.MaxItems
		}
		t.Fatalf("no CRD of kind %s", kind)
		return 0
	}
	eq("Task spec.contexts maxItems", int64(kocpolicy.MaxTaskContexts), maxItems("Task", "spec", "contexts"))
	eq("Agent spec.contexts maxItems", int64(kocpolicy.MaxAgentContexts), maxItems("Agent", "spec", "contexts"))
	eq("Agent spec.credentials maxItems", int64(kocpolicy.MaxAgentCredentials), maxItems("Agent", "spec", "credentials"))
}
