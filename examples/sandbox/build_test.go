package sandbox_test

import (
	"errors"
	"testing"

	"github.com/google/go-cmp/cmp"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/kubeopencode/kubeopencode/credentials"
	"github.com/kubeopencode/kubeopencode/examples/sandbox"
	"github.com/kubeopencode/kubeopencode/examples/sandbox/v1alpha1"
	"github.com/kubeopencode/kubeopencode/podspec"
	"github.com/kubeopencode/kubeopencode/policy"
)

func template(creds ...v1alpha1.Credential) *v1alpha1.SandboxTemplate {
	return &v1alpha1.SandboxTemplate{
		ObjectMeta: metav1.ObjectMeta{Namespace: "sandbox-platform", Name: "python"},
		Spec: v1alpha1.SandboxTemplateSpec{ToolsImage: "example.com/tools:v1", Image: "example.com/python:3",
			AllowedNamespaces: []string{"team-*"}, Credentials: creds},
	}
}

func teamSandbox() *v1alpha1.Sandbox {
	return &v1alpha1.Sandbox{
		ObjectMeta: metav1.ObjectMeta{Namespace: "team-a", Name: "hello", UID: "7e57a1b2-0000-4000-8000-000000000001"},
		Spec: v1alpha1.SandboxSpec{TemplateRef: v1alpha1.TemplateReference{Name: "python", Namespace: "sandbox-platform"},
			Command: []string{"python3"}},
	}
}

// TestBuildPod: what the libraries refuse in a template, BuildPod refuses, naming the field; what
// they accept passes Pod Security "restricted".
func TestBuildPod(t *testing.T) {
	judge, err := policy.NewPodSecurityJudge("restricted", "latest")
	if err != nil {
		t.Fatal(err)
	}
	mode := int32(0o400)
	writable := int32(0o660)
	cases := []struct {
		name    string
		creds   []v1alpha1.Credential
		opts    sandbox.Options
		wantErr error
	}{
		{"no credentials", nil, sandbox.Options{}, nil},
		{"env and 0400 file", []v1alpha1.Credential{
			{Name: "token", SecretName: "s", Key: "token", Env: "TOKEN"},
			{Name: "key", SecretName: "k", Key: "key.pem", MountPath: "/home/agent/key.pem", FileMode: &mode},
		}, sandbox.Options{StagingImage: "example.com/stage:v1"}, nil},
		{"file without a staging image", []v1alpha1.Credential{
			{Name: "key", SecretName: "k", Key: "key.pem", MountPath: "/home/agent/key.pem"},
		}, sandbox.Options{}, credentials.ErrInvalid},
		{"reserved env name", []v1alpha1.Credential{{Name: "p", SecretName: "s", Key: "k", Env: "PATH"}}, sandbox.Options{}, credentials.ErrReserved},
		{"group-writable file", []v1alpha1.Credential{
			{Name: "key", SecretName: "k", Key: "key.pem", MountPath: "/home/agent/key.pem", FileMode: &writable},
		}, sandbox.Options{StagingImage: "example.com/stage:v1"}, credentials.ErrInvalid},
		{"file under /tools", []v1alpha1.Credential{
			{Name: "key", SecretName: "k", Key: "key.pem", MountPath: "/tools/key.pem"},
		}, sandbox.Options{StagingImage: "example.com/stage:v1"}, credentials.ErrReserved},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			pod, err := sandbox.BuildPod(teamSandbox(), template(c.creds...), c.opts)
			if !errors.Is(err, c.wantErr) {
				t.Fatalf("error %v, want %v", err, c.wantErr)
			}
			if err != nil {
				return
			}
			if v := judge.Judge(pod); !v.Allowed {
				t.Error(v.Message())
			}
			keys := sandbox.Labels().Keys()
			got := map[string]string{"namespace": pod.Namespace, "sandbox-namespace": pod.Labels[keys.OwnerNamespace],
				"template": pod.Labels[keys.Group], "uid": pod.Labels[keys.OwnerUID], "managed-by": pod.Labels[podspec.LabelManagedBy]}
			want := map[string]string{"namespace": "sandbox-platform", "sandbox-namespace": "team-a", "template": "python",
				"uid": "7e57a1b2-0000-4000-8000-000000000001", "managed-by": "sandbox-controller"}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("placement (-want +got):\n%s", diff)
			}
		})
	}
}
