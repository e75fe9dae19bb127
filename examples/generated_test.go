package examples

import (
	"flag"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/kubeopencode/kubeopencode/examples/internal/generate"
)

var update = flag.Bool("update", false, "rewrite the generated example files")

// TestGeneratedFilesAreCurrent: the files rendered from the libraries are byte-identical to what
// the libraries render today. -update rewrites them (as `go generate` does).
func TestGeneratedFilesAreCurrent(t *testing.T) {
	files, err := generate.Files(".")
	if err != nil {
		t.Fatal(err)
	}
	for _, path := range slices.Sorted(maps.Keys(files)) {
		if *update {
			if err := os.WriteFile(filepath.FromSlash(path), files[path], 0o644); err != nil {
				t.Fatal(err)
			}
			continue
		}
		got, err := os.ReadFile(filepath.FromSlash(path))
		if err != nil {
			t.Errorf("%v (run: go generate ./... or go test -run Generated -update)", err)
			continue
		}
		if diff := cmp.Diff(string(files[path]), string(got)); diff != "" {
			t.Errorf("%s is not what the libraries render (-want +got; run go generate ./...):\n%s", path, diff)
		}
	}
}
