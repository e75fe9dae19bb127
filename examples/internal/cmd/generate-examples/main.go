// Command generate-examples writes the generated example files (see package generate). It runs
// from `go generate` in the examples directory:
//
//	go run ./internal/cmd/generate-examples
package main

import (
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"

	"github.com/kubeopencode/kubeopencode/examples/internal/generate"
)

func main() {
	files, err := generate.Files(".")
	if err != nil {
		fmt.Fprintln(os.Stderr, "generate-examples:", err)
		os.Exit(1)
	}
	for _, path := range slices.Sorted(maps.Keys(files)) {
		if err := os.WriteFile(filepath.FromSlash(path), files[path], 0o644); err != nil {
			fmt.Fprintln(os.Stderr, "generate-examples:", err)
			os.Exit(1)
		}
	}
}
