package admissiontest

import (
	"context"
	"os"
	"testing"
	"time"

	"github.com/kubeopencode/kubeopencode/operator/internal/testenv"
	kocpolicy "github.com/kubeopencode/kubeopencode/policy/kubeopencode"
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

// installAdmissionPolicy applies the YAML that policy.RenderYAML emits for every generated policy
// (the artefact platform teams apply) and the ClusterRole granting "use", and waits until the API
// server enforces the agent-use policy.
func installAdmissionPolicy(ctx context.Context) error {
	if err := env.Client.Create(ctx, kocpolicy.AgentUserClusterRole(kocpolicy.AgentUserRoleOptions{})); err != nil {
		return err
	}
	if err := installPersonasAndOperator(ctx); err != nil {
		return err
	}
	if err := testenv.InstallAdmissionPolicies(ctx, env.Client, 0); err != nil {
		return err
	}
	return waitForPolicyEnforced(ctx)
}
