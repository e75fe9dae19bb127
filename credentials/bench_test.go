package credentials

import "testing"

// BenchmarkProjectApply projects three credentials (env, 0400 file, whole-Secret directory) and
// applies them to a typical agent PodSpec.
func BenchmarkProjectApply(b *testing.B) {
	creds := []Credential{
		{Name: "github", SecretName: "gh-token", Key: "token", Env: "GITHUB_TOKEN"},
		{Name: "ssh", SecretName: "git-ssh", Key: "id_ed25519", MountPath: "/home/agent/.ssh/id_ed25519", FileMode: mode(0o400)},
		{Name: "gh-config", SecretName: "gh-config", MountPath: "/home/agent/.config/gh"},
	}
	base := basePod(DefaultUID, DefaultGID)
	b.ReportAllocs()
	for b.Loop() {
		p, err := Project(creds, stagingOpts)
		if err != nil {
			b.Fatal(err)
		}
		spec := base.Spec.DeepCopy()
		if err := p.Apply(spec, "agent"); err != nil {
			b.Fatal(err)
		}
	}
}
