package credentials

import (
	"errors"
	"path"
	"testing"

	"github.com/kubeopencode/kubeopencode/api/contract"
)

// TestSharedContract: credentials applies the shared contract (api/contract).
func TestSharedContract(t *testing.T) {
	if DefaultUID != contract.DefaultUID || DefaultGID != contract.DefaultGID {
		t.Errorf("agent UID/GID default = %d/%d, contract says 65532", DefaultUID, DefaultGID)
	}
	if DefaultFileMode != 0o600 {
		t.Errorf("default file mode = %#o, contract says 0600", DefaultFileMode)
	}
	// The reserved names and paths are the contract's (api/contract tests them); these cases
	// prove Project applies them.
	for _, env := range contract.ReservedEnvNames() {
		if _, err := Project([]Credential{{Name: "c", SecretName: "s", Key: "k", Env: env}}, stagingOpts); !errors.Is(err, ErrReserved) {
			t.Errorf("env %s: Project error = %v, want reserved", env, err)
		}
	}
	for _, r := range contract.ReservedPaths() {
		for _, p := range []string{r, r + "/x", path.Dir(r)} {
			if p == "/" {
				continue
			}
			if _, err := Project([]Credential{{Name: "c", SecretName: "s", Key: "k", MountPath: p}}, stagingOpts); !errors.Is(err, ErrReserved) {
				t.Errorf("mountPath %s: Project error = %v, want reserved", p, err)
			}
		}
	}
	for m := int32(0); m <= 0o777; m++ {
		_, err := Project([]Credential{{Name: "c", SecretName: "s", Key: "k", MountPath: "/home/agent/k", FileMode: &m}}, stagingOpts)
		if allowed := m&0o022 == 0; allowed != (err == nil) {
			t.Fatalf("mode %#o: allowed by contract = %v, Project error = %v", m, allowed, err)
		}
	}
}
