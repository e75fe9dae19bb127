package podspec

import (
	"strings"
	"testing"

	"github.com/kubeopencode/kubeopencode/api/contract"
)

// TestSharedContract pins podspec's own names and that its shared values are the contract's.
func TestSharedContract(t *testing.T) {
	if DefaultUID != contract.DefaultUID || DefaultGID != contract.DefaultGID {
		t.Errorf("agent UID/GID default = %d/%d, contract says %d", DefaultUID, DefaultGID, contract.DefaultUID)
	}
	if ToolsDir != "/tools" || InternalDir != "/kubeopencode" || HomeDir != "/home/agent" || TmpDir != "/tmp" {
		t.Errorf("reserved paths changed: %s %s %s %s", ToolsDir, InternalDir, HomeDir, TmpDir)
	}
	if TaskFile != "task.md" || ContextFile != ".kubeopencode/context.md" || !strings.HasPrefix(ContextFile, contextDir+"/") {
		t.Errorf("workspace files changed: %s %s", TaskFile, ContextFile)
	}
	if LabelManagedBy != "app.kubernetes.io/managed-by" || ManagedByValue != "kubeopencode" ||
		LabelTaskUID != "kubeopencode.io/task-uid" || LabelTaskName != "kubeopencode.io/task-name" ||
		LabelTaskNamespace != "kubeopencode.io/task-namespace" || LabelAgent != "kubeopencode.io/agent" ||
		LabelAgentUID != "kubeopencode.io/agent-uid" {
		t.Error("operator label keys changed")
	}
	for key, want := range map[string]bool{
		"kubeopencode.io/x": true, "a.kubeopencode.io/x": true, "a.b.kubeopencode.io/x": true,
		"app.kubernetes.io/managed-by": true, "KUBEOPENCODE.IO/x": true,
		"kubeopencode.io": false, "notkubeopencode.io/x": false, "kubeopencode.io.evil.com/x": false,
		"app.kubernetes.io/name": false, "x/kubeopencode.io": false,
	} {
		if got := IsReservedKey(key); got != want {
			t.Errorf("IsReservedKey(%q) = %v, want %v", key, got, want)
		}
	}
	for name, want := range map[string]bool{"A": true, "_x9": true, "GITHUB_TOKEN": true, "9A": false, "A-B": false, "": false, "É": false} {
		if got := IsEnvName(name); got != want {
			t.Errorf("IsEnvName(%q) = %v, want %v", name, got, want)
		}
	}
}
