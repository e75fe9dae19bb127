package v1alpha1

import (
	"fmt"
	"testing"
)

// The shared contract of CONTRIBUTING.md; the same values are pinned in the other libraries.
func TestSharedContract(t *testing.T) {
	for _, c := range []struct{ name, got, want string }{
		{"agent UID", fmt.Sprint(DefaultAgentUID), "65532"},
		{"agent GID", fmt.Sprint(DefaultAgentGID), "65532"},
		{"credential file mode", fmt.Sprintf("%04o", DefaultCredentialFileMode), "0600"},
		{"reserved env names", fmt.Sprint(ReservedEnvNames()), "[HOME PATH SHELL USER WORKSPACE_DIR OPENCODE_CONFIG_CONTENT AGENT OPENCODE OPENCODE_PID]"},
		{"reserved env prefixes", fmt.Sprint(ReservedEnvPrefixes()), "[TASK_ KUBEOPENCODE_]"},
		{"reserved env prefix prefixes", fmt.Sprint(ReservedEnvPrefixPrefixes()), "[TASK_ KUBEOPENCODE_ OPENCODE_]"},
		{"OpenCode config names", fmt.Sprint(OpenCodeConfigNames()), "[opencode.json opencode.jsonc .opencode]"},
		{"reserved paths", fmt.Sprint(ReservedPaths()), "[/dev /kubeopencode /proc /run/secrets/kubernetes.io /sys /tools /var/run/secrets/kubernetes.io]"},
		{"home", HomeDir, "/home/agent"},
		{"tmp", TmpDir, "/tmp"},
		{"task file", TaskFileName, "task.md"},
		{"internal workspace dir", InternalWorkspaceDir, ".kubeopencode"},
		{"reserved key domain", ReservedKeyDomain, "kubeopencode.io"},
		{"managed-by", ManagedByLabel + "=" + ManagedByValue, "app.kubernetes.io/managed-by=kubeopencode"},
		{"operator labels", fmt.Sprint([]string{TaskUIDLabel, TaskNameLabel, TaskNamespaceLabel, AgentLabel, AgentUIDLabel}),
			"[kubeopencode.io/task-uid kubeopencode.io/task-name kubeopencode.io/task-namespace kubeopencode.io/agent kubeopencode.io/agent-uid]"},
		{"stop annotation", StopAnnotation + "=" + StopAnnotationValue, "kubeopencode.io/stop=true"},
		{"config name", ConfigName, "cluster"},
		{"max task timeout", MaxTaskTimeout, "24h"},
	} {
		if c.got != c.want {
			t.Errorf("%s = %s, want %s", c.name, c.got, c.want)
		}
	}
}

func TestReservedListsAreFreshCopies(t *testing.T) {
	ReservedPaths()[0] = "/changed"
	ReservedEnvNames()[0] = "CHANGED"
	ReservedEnvPrefixes()[0] = "CHANGED_"
	if ReservedPaths()[0] != "/dev" || ReservedEnvNames()[0] != "HOME" || ReservedEnvPrefixes()[0] != "TASK_" {
		t.Error("a caller changed the reserved lists for everyone")
	}
}
