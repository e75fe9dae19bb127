package admissiontest

import (
	"context"
	"fmt"
	"os"
	"testing"
	"time"

	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/kubeopencode/kubeopencode/operator/internal/testenv"
	"github.com/kubeopencode/kubeopencode/policy"
)

var env *testenv.Env

func TestMain(m *testing.M) {
	os.Exit(run(m))
}

func run(m *testing.M) int {
	var err error
	if env, err = testenv.Start(testenv.Options{CRDs: standInCRDs()}); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer func() {
		if err := env.Stop(); err != nil {
			fmt.Fprintln(os.Stderr, "stopping envtest:", err)
		}
	}()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	if err := installAdmissionPolicy(ctx); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	return m.Run()
}

// installAdmissionPolicy creates exactly what policy generates (the objects RenderYAML would
// emit) and waits until the API server enforces the policy.
func installAdmissionPolicy(ctx context.Context) error {
	opts := policy.AdmissionPolicyOptions{}
	for _, obj := range []client.Object{
		policy.AgentUsePolicy(opts),
		policy.AgentUsePolicyBinding(opts),
		policy.AgentUserClusterRole(policy.AgentUserRoleOptions{}),
	} {
		if err := env.Client.Create(ctx, obj); err != nil {
			return fmt.Errorf("creating %s %s: %w", obj.GetObjectKind().GroupVersionKind().Kind, obj.GetName(), err)
		}
	}
	return waitForPolicyEnforced(ctx)
}

// standInCRDs are minimal stand-ins for the kubeopencode.io/v1alpha1 Task and Agent CRDs: same
// group, version, names and scope, but a schema that preserves every field. They make this test
// depend only on the admission policy's behaviour (which reads spec.agentRef), not on the api
// module's validation rules, which have their own tests there.
func standInCRDs() []*apiextensionsv1.CustomResourceDefinition {
	crd := func(kind, plural string) *apiextensionsv1.CustomResourceDefinition {
		preserve := true
		return &apiextensionsv1.CustomResourceDefinition{
			ObjectMeta: metav1.ObjectMeta{Name: plural + "." + policy.APIGroup},
			Spec: apiextensionsv1.CustomResourceDefinitionSpec{
				Group: policy.APIGroup,
				Names: apiextensionsv1.CustomResourceDefinitionNames{Kind: kind, ListKind: kind + "List", Plural: plural, Singular: kind},
				Scope: apiextensionsv1.NamespaceScoped,
				Versions: []apiextensionsv1.CustomResourceDefinitionVersion{{
					Name: "v1alpha1", Served: true, Storage: true,
					Schema: &apiextensionsv1.CustomResourceValidation{OpenAPIV3Schema: &apiextensionsv1.JSONSchemaProps{
						Type: "object", XPreserveUnknownFields: &preserve,
					}},
				}},
			},
		}
	}
	tasks, agents := crd("Task", "tasks"), crd("Agent", "agents")
	tasks.Spec.Names.Singular, agents.Spec.Names.Singular = "task", "agent"
	return []*apiextensionsv1.CustomResourceDefinition{tasks, agents}
}
