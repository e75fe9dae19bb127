package admissiontest

import (
	"context"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/yaml"

	"github.com/kubeopencode/kubeopencode/operator/internal/testenv"
	"github.com/kubeopencode/kubeopencode/policy"
)

var env *testenv.Env

func TestMain(m *testing.M) {
	// The real CRDs, so that the policy's expressions meet the Task schema the cluster will have
	// (e.g. agentRef.namespace, a CEL reserved word that CRD validation rules must escape, is read
	// unescaped by admission policies).
	os.Exit(testenv.Run(m, testenv.Options{KubeOpenCodeAPI: true}, &env, func(*testenv.Env) error {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
		defer cancel()
		return installAdmissionPolicy(ctx)
	}))
}

// installAdmissionPolicy applies the YAML that policy.RenderYAML emits (the artefact platform
// teams apply), decoded document by document, and waits until the API server enforces it.
func installAdmissionPolicy(ctx context.Context) error {
	opts := policy.AdmissionPolicyOptions{}
	manifest, err := policy.RenderYAML(
		policy.AgentUsePolicy(opts),
		policy.AgentUsePolicyBinding(opts),
		policy.AgentUserClusterRole(policy.AgentUserRoleOptions{}),
	)
	if err != nil {
		return err
	}
	for i, doc := range strings.Split(string(manifest), "---\n") {
		obj := &unstructured.Unstructured{}
		if err := yaml.UnmarshalStrict([]byte(doc), &obj.Object); err != nil {
			return fmt.Errorf("decoding document %d: %w", i, err)
		}
		if err := env.Client.Create(ctx, obj); err != nil {
			return fmt.Errorf("creating %s %s: %w", obj.GetKind(), obj.GetName(), err)
		}
	}
	return waitForPolicyEnforced(ctx)
}
