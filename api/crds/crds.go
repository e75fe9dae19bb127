package crds

import (
	"embed"
	"fmt"
	"io/fs"
	"sort"
)

// FS holds the generated CRD manifests, one YAML document per file (kubeopencode.io_*.yaml) at
// its root. Treat it as read-only.
//
//go:embed *.yaml
var FS embed.FS

// Documents returns the raw YAML of every CRD, one document per element, in file-name order
// (agents, kubeopencodeconfigs, tasks). Each call returns fresh copies.
func Documents() ([][]byte, error) {
	names, err := fs.Glob(FS, "*.yaml")
	if err != nil {
		return nil, fmt.Errorf("listing embedded CRDs: %w", err)
	}
	sort.Strings(names)
	docs := make([][]byte, 0, len(names))
	for _, name := range names {
		b, err := FS.ReadFile(name)
		if err != nil {
			return nil, fmt.Errorf("reading embedded CRD %s: %w", name, err)
		}
		docs = append(docs, b)
	}
	return docs, nil
}
