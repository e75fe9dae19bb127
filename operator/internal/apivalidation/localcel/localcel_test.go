package localcel

import (
	"context"
	"path"
	"strings"
	"testing"

	"k8s.io/apimachinery/pkg/util/validation/field"

	"github.com/kubeopencode/kubeopencode/api/crds"
	"github.com/kubeopencode/kubeopencode/hack/controlplane"
)

func agentRules(t testing.TB) *Rules { return crdRules(t, "Agent") }

func taskRules(t testing.TB) *Rules { return crdRules(t, "Task") }

func crdRules(t testing.TB, kind string) *Rules {
	t.Helper()
	docs, err := crds.Documents()
	if err != nil {
		t.Fatal(err)
	}
	defs, err := controlplane.DecodeCRDs(docs...)
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range defs {
		if d.Spec.Names.Kind == kind {
			r, err := Compile(d)
			if err != nil {
				t.Fatal(err)
			}
			return r
		}
	}
	t.Fatalf("no %s CRD", kind)
	return nil
}

func agent(spec map[string]any) map[string]any {
	full := map[string]any{"workspaceDir": "/workspace", "serviceAccountName": "sa"}
	for k, v := range spec {
		full[k] = v
	}
	return map[string]any{
		"apiVersion": "kubeopencode.io/v1alpha1", "kind": "Agent",
		"metadata": map[string]any{"name": "a", "namespace": "ns"},
		"spec":     full,
	}
}

// errorsAt keeps the errors whose field is exactly at.
func errorsAt(errs field.ErrorList, at string) field.ErrorList {
	var out field.ErrorList
	for _, e := range errs {
		if e.Field == at {
			out = append(out, e)
		}
	}
	return out
}

// referencePath is the AbsolutePath contract written without CEL: an absolute, normalized path
// (path.Clean leaves it unchanged), not "/", 1–1024 characters from [A-Za-z0-9/._+@-], that is
// not, does not contain and is not under a reserved path, and is not /home/agent or /tmp.
func referencePath(p string) bool {
	if len(p) < 1 || len(p) > 1024 || !strings.HasPrefix(p, "/") || p == "/" || path.Clean(p) != p {
		return false
	}
	for _, r := range p {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || strings.ContainsRune("/._+@-", r)) {
			return false
		}
	}
	for _, r := range []string{"/tools", "/kubeopencode", "/proc", "/sys", "/dev", "/var/run/secrets/kubernetes.io", "/run/secrets/kubernetes.io"} {
		if p == r || strings.HasPrefix(p, r+"/") || strings.HasPrefix(r, p+"/") {
			return false
		}
	}
	return p != "/home/agent" && p != "/tmp"
}

// celPath says whether the CRD accepts p as workspaceDir: its CEL rules pass and it is within
// the schema's length bounds (1–1024, checked by OpenAPI, not CEL).
func celPath(t testing.TB, r *Rules, p string) (bool, field.ErrorList) {
	errs := errorsAt(r.Validate(context.Background(), agent(map[string]any{"workspaceDir": p})), "spec.workspaceDir")
	n := len([]rune(p))
	return len(errs) == 0 && n >= 1 && n <= 1024, errs
}

var pathSeeds = []string{
	"/workspace", "/", "", "workspace", "/workspace/", "//workspace", "/a//b", "/a/./b", "/a/../b", "/a/..",
	"/.", "/..", "/...", "/a/.b", "/a/b.", "/tools", "/toolsx", "/tools/x", "/var", "/var/run", "/var/run/secrets",
	"/var/run/secrets/kubernetes.io", "/var/run/secrets/kubernetes.iox", "/run", "/home/agent", "/home/agent/x",
	"/home", "/tmp", "/tmp/x", "/dev", "/devx", "/w s", "/w;x", "/w$x", "/w`x`", "/ä", "/a\n", "/a\x00",
}

func TestAbsolutePathRulesMatchTheContract(t *testing.T) {
	r := agentRules(t)
	for _, p := range pathSeeds {
		got, errs := celPath(t, r, p)
		if want := referencePath(p); got != want {
			t.Errorf("workspaceDir %q: CRD accepts %v, contract %v (%v)", p, got, want, errs)
		}
	}
}

func FuzzAbsolutePathRules(f *testing.F) {
	r := agentRules(f)
	for _, p := range pathSeeds {
		f.Add(p)
	}
	f.Fuzz(func(t *testing.T, p string) {
		if len(p) > 1100 {
			return
		}
		if got, errs := celPath(t, r, p); got != referencePath(p) {
			t.Errorf("workspaceDir %q: CRD accepts %v, contract %v (%v)", p, got, !got, errs)
		}
	})
}

// referenceEnv is the contract for credential env names: a C identifier, at most 128
// characters, not one of the names the operator or the agent runtime sets (HOME, PATH, SHELL,
// USER, WORKSPACE_DIR, OPENCODE_CONFIG_CONTENT, AGENT, OPENCODE, OPENCODE_PID) and not starting
// with TASK_ or KUBEOPENCODE_. Other OPENCODE_* names are allowed.
func referenceEnv(s string) bool {
	if len(s) < 1 || len(s) > 128 || !isCIdentifier(s) {
		return false
	}
	for _, n := range reservedEnvNames {
		if s == n {
			return false
		}
	}
	return !strings.HasPrefix(s, "TASK_") && !strings.HasPrefix(s, "KUBEOPENCODE_")
}

var reservedEnvNames = []string{"HOME", "PATH", "SHELL", "USER", "WORKSPACE_DIR", "OPENCODE_CONFIG_CONTENT", "AGENT", "OPENCODE", "OPENCODE_PID"}

func isCIdentifier(s string) bool {
	for i, r := range s {
		letter := r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r == '_'
		if !letter && (i == 0 || r < '0' || r > '9') {
			return false
		}
	}
	return s != ""
}

// referenceEnvPrefix is the contract for envPrefix, written as what it protects: a C identifier
// of 1–64 characters such that no name prefix+key (key a non-empty Secret key that keeps the
// name a C identifier) is reserved for env, or starts with OPENCODE_. It checks every way the
// prefix could be completed into a reserved name, rather than restating the CEL rule.
func referenceEnvPrefix(p string) bool {
	if len(p) < 1 || len(p) > 64 || !isCIdentifier(p) {
		return false
	}
	// A reserved name or prefix that begins with p can be completed from p (the rule is
	// conservative and also refuses p equal to a reserved name).
	for _, n := range append(append([]string{}, reservedEnvNames...), "TASK_", "KUBEOPENCODE_", "OPENCODE_") {
		if strings.HasPrefix(n, p) {
			return false
		}
	}
	for _, pre := range []string{"TASK_", "KUBEOPENCODE_", "OPENCODE_"} {
		if strings.HasPrefix(p, pre) {
			return false
		}
	}
	return true
}

func celEnvPrefix(r *Rules, s string) (bool, field.ErrorList) {
	cred := map[string]any{"name": "c", "secretRef": map[string]any{"name": "s"}, "envPrefix": s}
	errs := errorsAt(r.Validate(context.Background(), agent(map[string]any{"credentials": []any{cred}})), "spec.credentials[0].envPrefix")
	n := len([]rune(s))
	return len(errs) == 0 && n >= 1 && n <= 64, errs
}

var envPrefixSeeds = []string{"GITHUB_", "G", "A", "AG", "AGENT", "AGENT_", "AGENTS", "O", "OPEN", "OPENCODE", "OPENCODE_",
	"OPENCODE_X", "OPENCODEX", "OPENCODE_P", "T", "TASK", "TASK_X", "TASKS", "KUBE", "HOMEX", "HOM", "PATH_", "_", "1A", "", "É"}

func TestEnvPrefixRulesMatchTheContract(t *testing.T) {
	r := agentRules(t)
	for _, s := range envPrefixSeeds {
		if got, errs := celEnvPrefix(r, s); got != referenceEnvPrefix(s) {
			t.Errorf("envPrefix %q: CRD accepts %v, contract %v (%v)", s, got, !got, errs)
		}
	}
}

func FuzzEnvPrefixRules(f *testing.F) {
	r := agentRules(f)
	for _, s := range envPrefixSeeds {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if len(s) > 100 {
			return
		}
		if got, errs := celEnvPrefix(r, s); got != referenceEnvPrefix(s) {
			t.Errorf("envPrefix %q: CRD accepts %v, contract %v (%v)", s, got, !got, errs)
		}
	})
}

func celEnv(r *Rules, s string) (bool, field.ErrorList) {
	cred := map[string]any{"name": "c", "secretRef": map[string]any{"name": "s", "key": "k"}, "env": s}
	errs := errorsAt(r.Validate(context.Background(), agent(map[string]any{"credentials": []any{cred}})), "spec.credentials[0].env")
	n := len([]rune(s))
	return len(errs) == 0 && n >= 1 && n <= 128, errs
}

var envSeeds = []string{"API_KEY", "_", "a", "A1", "1A", "HOME", "home", "PATH", "PATHS", "TASK_", "TASK", "MY_TASK_X",
	"KUBEOPENCODE_X", "OPENCODE_CONFIG", "OPENCODEX", "WORKSPACE_DIR", "API-KEY", "API KEY", "", "É",
	"OPENCODE_API_KEY", "OPENCODE_CONFIG_CONTENT", "OPENCODE_CONFIG_CONTENTS", "OPENCODE", "OPENCODE_PID", "AGENT", "AGENTS", "TASK_NAME"}

func TestEnvRulesMatchTheContract(t *testing.T) {
	r := agentRules(t)
	for _, s := range envSeeds {
		if got, errs := celEnv(r, s); got != referenceEnv(s) {
			t.Errorf("env %q: CRD accepts %v, contract %v (%v)", s, got, !got, errs)
		}
	}
}

func FuzzEnvRules(f *testing.F) {
	r := agentRules(f)
	for _, s := range envSeeds {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if len(s) > 200 {
			return
		}
		if got, errs := celEnv(r, s); got != referenceEnv(s) {
			t.Errorf("env %q: CRD accepts %v, contract %v (%v)", s, got, !got, errs)
		}
	})
}

// TestFileModeRuleExhaustive checks every mode around the valid range: the CEL rule plus the
// schema's 0–511 bounds accept exactly the modes without group/other write.
func TestFileModeRuleExhaustive(t *testing.T) {
	r := agentRules(t)
	accepted := 0
	for m := -8; m <= 0o1000+8; m++ {
		cred := map[string]any{"name": "c", "secretRef": map[string]any{"name": "s", "key": "k"}, "mountPath": "/etc/c", "fileMode": int64(m)}
		errs := errorsAt(r.Validate(context.Background(), agent(map[string]any{"credentials": []any{cred}})), "spec.credentials[0].fileMode")
		got := len(errs) == 0 && m >= 0 && m <= 0o777
		want := m >= 0 && m <= 0o777 && m&0o022 == 0
		if got != want {
			t.Errorf("fileMode %#o: CRD accepts %v, contract %v (%v)", m, got, want, errs)
		}
		if got {
			accepted++
		}
	}
	// 512 modes, a quarter of them without either write bit.
	if accepted != 128 {
		t.Errorf("accepted %d modes, want 128", accepted)
	}
}

// referenceTaskContextPath is the schema's contract for a Task context's mountPath, written
// without CEL: 1–1024 characters from [A-Za-z0-9/._+@-]; relative (resolved under the Agent's
// workspaceDir) or absolute; no empty, "." or ".." segment, so a relative path never leaves the
// workspace; an absolute one follows the AbsolutePath contract; and no segment is OpenCode's
// configuration (opencode.json, opencode.jsonc, .opencode). Whether an absolute path lies in
// the workspace depends on the Agent and is the operator's check (T20).
func referenceTaskContextPath(p string) bool {
	if len(p) < 1 || len(p) > 1024 || p == "/" {
		return false
	}
	for _, r := range p {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || strings.ContainsRune("/._+@-", r)) {
			return false
		}
	}
	if strings.HasPrefix(p, "/") && !referencePath(p) {
		return false
	}
	for i, seg := range strings.Split(p, "/") {
		if i == 0 && seg == "" && strings.HasPrefix(p, "/") {
			continue
		}
		switch seg {
		case "", ".", "..", "opencode.json", "opencode.jsonc", ".opencode":
			return false
		}
	}
	return true
}

func celTaskPath(r *Rules, p string) (bool, field.ErrorList) {
	tk := map[string]any{
		"apiVersion": "kubeopencode.io/v1alpha1", "kind": "Task",
		"metadata": map[string]any{"name": "t", "namespace": "ns"},
		"spec": map[string]any{"agentRef": map[string]any{"name": "a"},
			"contexts": []any{map[string]any{"type": "Text", "text": "x", "mountPath": p}}},
	}
	var errs field.ErrorList
	for _, e := range r.Validate(context.Background(), tk) {
		if e.Field == "spec.contexts" || e.Field == "spec.contexts[0].mountPath" {
			errs = append(errs, e)
		}
	}
	n := len([]rune(p))
	return len(errs) == 0 && n >= 1 && n <= 1024, errs
}

var taskPathSeeds = []string{
	"src", "notes.md", "a/b", "/workspace/guide.md", "/etc/hosts", "..", "../x", "a/../b", "a/..", ".", "./a", "a/.",
	"a//b", "a/", "/", "", "opencode.json", "opencode.jsonc", ".opencode", ".opencode/agent/x.md", "a/opencode.json",
	"/workspace/opencode.json", "/workspace/.opencode", "opencode.jsonx", "xopencode.json", ".opencodex", "a/.opencode/b",
	"/tools/opencode", "/home/agent", "/tmp", "tools", "w s", "$HOME", ".kubeopencode", "task.md", "...", ".a",
}

func TestTaskContextPathRulesMatchTheContract(t *testing.T) {
	r := taskRules(t)
	for _, p := range taskPathSeeds {
		if got, errs := celTaskPath(r, p); got != referenceTaskContextPath(p) {
			t.Errorf("Task context mountPath %q: CRD accepts %v, contract %v (%v)", p, got, !got, errs)
		}
	}
}

func FuzzTaskContextPathRules(f *testing.F) {
	r := taskRules(f)
	for _, p := range taskPathSeeds {
		f.Add(p)
	}
	f.Fuzz(func(t *testing.T, p string) {
		if len(p) > 1100 {
			return
		}
		if got, errs := celTaskPath(r, p); got != referenceTaskContextPath(p) {
			t.Errorf("Task context mountPath %q: CRD accepts %v, contract %v (%v)", p, got, !got, errs)
		}
	})
}
