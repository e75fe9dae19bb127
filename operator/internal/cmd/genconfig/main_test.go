package main

import (
	"io/fs"
	"os"
	"path/filepath"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/kubeopencode/kubeopencode/api/crds"
)

// TestCommittedConfigIsCurrent regenerates the config into a temporary directory and compares it
// with operator/config, so a stale manifest fails `go test` as well as `make verify`.
func TestCommittedConfigIsCurrent(t *testing.T) {
	tmp := t.TempDir()
	if err := run(tmp); err != nil {
		t.Fatal(err)
	}
	n := 0
	err := filepath.WalkDir(tmp, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, _ := filepath.Rel(tmp, path)
		want, _ := os.ReadFile(path)
		got, err := os.ReadFile(filepath.Join("..", "..", "..", "config", rel))
		if err != nil {
			t.Errorf("config/%s: %v (run make generate)", rel, err)
			return nil
		}
		if d := cmp.Diff(string(want), string(got)); d != "" {
			t.Errorf("config/%s is stale; run make generate (-want +got):\n%s", rel, d)
		}
		n++
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	crdFiles, _ := fs.Glob(crds.FS, "*.yaml")
	if want := len(crdFiles) + 1; n != want {
		t.Errorf("generated %d files, want %d (every CRD and the admission policies)", n, want)
	}
}
