package credentials

import (
	"strings"
	"testing"

	"github.com/kubeopencode/kubeopencode/api/contract"
)

func FuzzEnvName(f *testing.F) {
	for _, s := range []string{"GITHUB_TOKEN", "HOME", "TASK_", "_", "1A", "A-B", "OPENCODE", "KUBEOPENCODE_X", "Path", "", "OPEN", "AGENT", "OPENCODE_API_KEY"} {
		f.Add(s, s)
	}
	f.Fuzz(func(t *testing.T, name, prefix string) {
		if IsEnvName(name) {
			if name == "" || name[0] >= '0' && name[0] <= '9' || strings.IndexFunc(name, func(r rune) bool {
				return !(r == '_' || r >= 'A' && r <= 'Z' || r >= 'a' && r <= 'z' || r >= '0' && r <= '9')
			}) >= 0 {
				t.Fatalf("IsEnvName accepted %q", name)
			}
		}
		// The prefix rule: whatever the key, a prefix Project accepts never forms a reserved name.
		_, err := Project([]Credential{{Name: "c", SecretName: "s", EnvPrefix: prefix}}, Options{})
		if err == nil && (IsReservedEnvName(prefix+name) || strings.HasPrefix(prefix+name, "OPENCODE_")) {
			t.Fatalf("prefix %q + key %q = reserved %q", prefix, name, prefix+name)
		}
	})
}

// TestDerivedNamesAreTheContracts: the Secret volume and staging directory names come from
// contract.DNSLabel, so podspec and credentials derive names the same way.
func TestDerivedNamesAreTheContracts(t *testing.T) {
	p, err := Project([]Credential{{Name: "GitHub_Token", SecretName: "gh", Key: "k", MountPath: "/home/agent/.token"}}, stagingOpts)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := p.volumes[1].Name, contract.DNSLabel("secret-GitHub_Token", "secret", "GitHub_Token"); got != want {
		t.Errorf("secret volume = %q, want %q", got, want)
	}
	if got, want := p.mounts[0].SubPath, contract.DNSLabel("GitHub_Token", "dir", "GitHub_Token")+"/k"; got != want {
		t.Errorf("subPath = %q, want %q", got, want)
	}
}
