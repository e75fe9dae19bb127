package migrate

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestDocsMatch: docs/migrating-from-upstream.md names every field the check explains, the
// exit codes Main returns and the tests it cites, so the page and the code cannot drift apart
// silently.
func TestDocsMatch(t *testing.T) {
	b, err := os.ReadFile(filepath.Join("..", "..", "..", "docs", "migrating-from-upstream.md"))
	if err != nil {
		t.Fatal(err)
	}
	doc := string(b)
	var want []string
	for _, kp := range append(mapKeys(droppedReasons), "Agent spec.allowedNamespaces", "Agent spec.automountServiceAccountToken",
		"Agent spec.config", "Agent spec.command", "Agent spec.maxConcurrentTasks", "Task status.phase") {
		_, path, _ := strings.Cut(kp, " ")
		want = append(want, path[strings.LastIndex(path, ".")+1:]+"`") // the field, as the tables quote it
	}
	for _, h := range refusalHints {
		want = append(want, h.path[strings.LastIndex(h.path, ".")+1:]+"`")
	}
	want = append(want, "`envPrefix`", "`OPENCODE_PERMISSION", "0 means nothing to do", "1 means there are findings",
		"2 means a usage error", "3 means the check could not run", "AdmissionPoliciesMissing", "PodMissing", "PathConflict", "`"+UpstreamTaskFinalizer+"`",
		"TestCheckUpstreamShaped", "TestReplaceCRDs", "TestMainAgainstCluster")
	for _, w := range want {
		if !strings.Contains(doc, w) {
			t.Errorf("docs/migrating-from-upstream.md does not mention %q", w)
		}
	}
	if ExitClean != 0 || ExitFindings != 1 || ExitUsage != 2 || ExitError != 3 {
		t.Errorf("exit codes %d %d %d %d differ from the documented 0 1 2 3", ExitClean, ExitFindings, ExitUsage, ExitError)
	}
}

func mapKeys(m map[string]string) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	return out
}
