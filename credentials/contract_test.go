package credentials

import "testing"

// TestSharedContract pins the values CONTRIBUTING.md duplicates across the libraries.
func TestSharedContract(t *testing.T) {
	if DefaultUID != 65532 || DefaultGID != 65532 {
		t.Errorf("agent UID/GID default = %d/%d, contract says 65532", DefaultUID, DefaultGID)
	}
	if DefaultFileMode != 0o600 {
		t.Errorf("default file mode = %#o, contract says 0600", DefaultFileMode)
	}
	if reservedEnvNames != [...]string{"HOME", "PATH", "SHELL", "USER", "WORKSPACE_DIR", "OPENCODE_CONFIG_CONTENT", "AGENT", "OPENCODE", "OPENCODE_PID"} ||
		reservedEnvPrefixes != [...]string{"TASK_", "KUBEOPENCODE_"} ||
		prefixReservedPrefixes != [...]string{"TASK_", "KUBEOPENCODE_", "OPENCODE_"} {
		t.Errorf("reserved environment variables changed: %v %v %v", reservedEnvNames, reservedEnvPrefixes, prefixReservedPrefixes)
	}
	if reservedPaths != [...]string{"/dev", "/kubeopencode", "/proc", "/run/secrets/kubernetes.io", "/sys", "/tools", "/var/run/secrets/kubernetes.io"} {
		t.Errorf("reserved paths changed: %v", reservedPaths)
	}
	for m := int32(0); m <= 0o777; m++ {
		_, err := Project([]Credential{{Name: "c", SecretName: "s", Key: "k", MountPath: "/home/agent/k", FileMode: &m}}, stagingOpts)
		if allowed := m&0o022 == 0; allowed != (err == nil) {
			t.Fatalf("mode %#o: allowed by contract = %v, Project error = %v", m, allowed, err)
		}
	}
}
