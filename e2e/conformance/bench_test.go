package conformance

import (
	"testing"

	corev1 "k8s.io/api/core/v1"

	"github.com/kubeopencode/kubeopencode/credentials"
	"github.com/kubeopencode/kubeopencode/podspec"
)

func podspecContainer(name string) corev1.Container {
	return corev1.Container{Name: name, Image: "example.com/" + name + ":v1"}
}

// BenchmarkTypicalAgentPod measures what a controller does per Task: project three credentials
// (env, 0400 key file, whole-Secret directory) and build the Pod with four context files.
func BenchmarkTypicalAgentPod(b *testing.B) {
	key := int32(0o400)
	creds := []credentials.Credential{
		{Name: "github", SecretName: "gh-token", Key: "token", Env: "GITHUB_TOKEN"},
		{Name: "ssh", SecretName: "git-ssh", Key: "id_ed25519", MountPath: "/home/agent/.ssh/id_ed25519", FileMode: &key},
		{Name: "gh-config", SecretName: "gh-config", MountPath: "/home/agent/.config/gh"},
	}
	opts := credentials.Options{StagingImage: "example.com/stage:v1", StagingCommand: []string{"/stage-credentials"}}
	spec := podspec.Spec{
		Identity:      podspec.Identity{OwnerUID: "0f6c3a52-6a0e-4d3c-9d5e-2b7f1e9a4c11", OwnerName: "fix-login-bug", OwnerNamespace: "team-a", GroupName: "opencode"},
		Namespace:     "team-a",
		Labels:        map[string]string{"team": "a"},
		AgentImage:    "example.com/agent-opencode:v1",
		ExecutorImage: "example.com/devbox:v1",
		Command:       []string{"/tools/opencode", "run"},
		Env:           []corev1.EnvVar{{Name: "OPENCODE_PERMISSION", Value: `{"*":"allow"}`}},
		Files: []podspec.File{
			{Path: "/workspace/task.md", ConfigMap: "ctx", Key: "task.md"},
			{Path: "/workspace/.kubeopencode/context.md", ConfigMap: "ctx", Key: "context.md"},
			{Path: "/home/agent/.config/opencode/opencode.json", ConfigMap: "cfg", Key: "opencode.json"},
			{Path: "/workspace/docs/design.md", ConfigMap: "ctx", Key: "design.md"},
		},
	}
	b.ReportAllocs()
	for b.Loop() {
		p, err := credentials.Project(creds, opts)
		if err != nil {
			b.Fatal(err)
		}
		s := spec
		s.Projections = []podspec.Projection{p}
		if _, err := podspec.Build(s); err != nil {
			b.Fatal(err)
		}
	}
}
