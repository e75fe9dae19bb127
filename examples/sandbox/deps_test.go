package sandbox_test

import (
	"os/exec"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// TestImportsOnlyTheLibraries: the controller, its API and its command depend on KubeOpenCode's
// libraries podspec, credentials, policy and rbac (and, through them, the shared contract
// api/contract, standard library only), and on nothing else of KubeOpenCode: not the
// kubeopencode.io API types, not the operator, not the KubeOpenCode-only packages
// policy/kubeopencode and rbac/kubeopencode. That is what makes it a third-party controller.
func TestImportsOnlyTheLibraries(t *testing.T) {
	out, err := exec.Command("go", "list", "-deps", "./...").Output()
	if err != nil {
		t.Fatalf("go list -deps ./...: %v", err)
	}
	const repo = "github.com/kubeopencode/kubeopencode/"
	used := map[string]bool{}
	for _, pkg := range strings.Fields(string(out)) {
		rest, ok := strings.CutPrefix(pkg, repo)
		if !ok {
			continue
		}
		if strings.HasPrefix(rest, "examples/sandbox") || rest == "api/contract" {
			continue
		}
		module, _, _ := strings.Cut(rest, "/")
		used[module] = true
		if rest == "policy/kubeopencode" || rest == "rbac/kubeopencode" {
			t.Errorf("the Sandbox controller imports %s, which holds KubeOpenCode's own artefacts", pkg)
		}
		if module != "podspec" && module != "credentials" && module != "policy" && module != "rbac" {
			t.Errorf("the Sandbox controller imports %s", pkg)
		}
	}
	var got []string
	for m := range used {
		got = append(got, m)
	}
	slices.Sort(got)
	if diff := cmp.Diff([]string{"credentials", "podspec", "policy", "rbac"}, got); diff != "" {
		t.Errorf("KubeOpenCode modules used (-want +got):\n%s", diff)
	}
}
