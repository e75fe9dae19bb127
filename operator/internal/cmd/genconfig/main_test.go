package main

import (
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/kubeopencode/kubeopencode/api/crds"
)

// TestCommittedConfigIsCurrent regenerates the config and the chart into temporary directories
// and compares them with operator/config and charts/kubeopencode, so a stale manifest fails
// `go test` as well as `make verify`.
func TestCommittedConfigIsCurrent(t *testing.T) {
	tmp, chart := t.TempDir(), t.TempDir()
	if err := run(layout{config: "../../../config", configOut: tmp, chart: chart, version: "../../../../VERSION"}); err != nil {
		t.Fatal(err)
	}
	n := compareTree(t, tmp, "../../../config")
	crdFiles, _ := fs.Glob(crds.FS, "*.yaml")
	if want := len(crdFiles) + 1; n != want {
		t.Errorf("generated %d files, want %d (every CRD and the admission policies)", n, want)
	}
	if n := compareTree(t, chart, "../../../../charts/kubeopencode"); n < 10 {
		t.Errorf("generated %d chart files, want at least 10", n)
	}
}

// compareTree compares every file under generated with the committed one under committed and
// returns how many it compared.
func compareTree(t *testing.T, generated, committed string) int {
	t.Helper()
	n := 0
	err := filepath.WalkDir(generated, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, _ := filepath.Rel(generated, path)
		want, _ := os.ReadFile(path)
		got, err := os.ReadFile(filepath.Join(committed, rel))
		if err != nil {
			t.Errorf("%s: %v (run make generate)", rel, err)
			return nil
		}
		if d := cmp.Diff(string(want), string(got)); d != "" {
			t.Errorf("%s/%s is stale; run make generate (-want +got):\n%s", committed, rel, d)
		}
		n++
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// TestDeploymentTemplateRefusesDrift: a change to manager.yaml that one of the chart's
// substitutions no longer matches fails generation, naming it, instead of shipping a chart whose
// value is silently ignored.
func TestDeploymentTemplateRefusesDrift(t *testing.T) {
	b, err := os.ReadFile("../../../config/manager/manager.yaml")
	if err != nil {
		t.Fatal(err)
	}
	doc := strings.Split(string(b), "\n---\n")[0]
	if _, _, err := deploymentTemplate(doc, "v0.1.0"); err != nil {
		t.Fatalf("the committed manager.yaml: %v", err)
	}
	for _, tc := range []struct {
		name, old, new, wantErr string
	}{
		{"image tag is not VERSION", ":v0.1.0\n", ":v0.2.0\n", "want tag v0.1.0"},
		{"metrics port moved", "--metrics-bind-address=:8443", "--metrics-bind-address=:9443", "--metrics-bind-address: 0 matches"},
		{"GOMEMLIMIT rewritten", "{name: GOMEMLIMIT, value: 200MiB}", "{value: 200MiB, name: GOMEMLIMIT}", "GOMEMLIMIT: 0 matches"},
		{"second system image", "- --leader-elect=true", "- --leader-elect=true\n        - --system-image=x:v1", "--system-image: 2 matches"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			changed := strings.Replace(doc, tc.old, tc.new, 1)
			if changed == doc {
				t.Fatalf("manager.yaml has no %q", tc.old)
			}
			_, _, err := deploymentTemplate(changed, "v0.1.0")
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Errorf("error %v, want one containing %q", err, tc.wantErr)
			}
		})
	}
}
