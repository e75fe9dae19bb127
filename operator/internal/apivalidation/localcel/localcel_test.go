package localcel

import (
	"context"
	"path"
	"strings"
	"testing"

	"k8s.io/apimachinery/pkg/util/validation/field"

	"github.com/kubeopencode/kubeopencode/api/crds"
	"github.com/kubeopencode/kubeopencode/operator/internal/testenv"
)

func agentRules(t testing.TB) *Rules {
	t.Helper()
	docs, err := crds.Documents()
	if err != nil {
		t.Fatal(err)
	}
	defs, err := testenv.DecodeCRDs(docs...)
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range defs {
		if d.Spec.Names.Kind == "Agent" {
			r, err := Compile(d)
			if err != nil {
				t.Fatal(err)
			}
			return r
		}
	}
	t.Fatal("no Agent CRD")
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
// characters, not HOME/PATH/SHELL/USER/WORKSPACE_DIR and not starting with TASK_,
// KUBEOPENCODE_ or OPENCODE_.
func referenceEnv(s string) bool {
	if len(s) < 1 || len(s) > 128 {
		return false
	}
	for i, r := range s {
		letter := r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r == '_'
		if !letter && (i == 0 || r < '0' || r > '9') {
			return false
		}
	}
	switch s {
	case "HOME", "PATH", "SHELL", "USER", "WORKSPACE_DIR":
		return false
	}
	return !strings.HasPrefix(s, "TASK_") && !strings.HasPrefix(s, "KUBEOPENCODE_") && !strings.HasPrefix(s, "OPENCODE_")
}

func celEnv(r *Rules, s string) (bool, field.ErrorList) {
	cred := map[string]any{"name": "c", "secretRef": map[string]any{"name": "s", "key": "k"}, "env": s}
	errs := errorsAt(r.Validate(context.Background(), agent(map[string]any{"credentials": []any{cred}})), "spec.credentials[0].env")
	n := len([]rune(s))
	return len(errs) == 0 && n >= 1 && n <= 128, errs
}

var envSeeds = []string{"API_KEY", "_", "a", "A1", "1A", "HOME", "home", "PATH", "PATHS", "TASK_", "TASK", "MY_TASK_X",
	"KUBEOPENCODE_X", "OPENCODE_CONFIG", "OPENCODEX", "WORKSPACE_DIR", "API-KEY", "API KEY", "", "É"}

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
