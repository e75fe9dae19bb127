package contract

import (
	"bytes"
	"fmt"
	"io"
)

// DocumentSeparator starts every document of a stream written by [WriteYAMLDocuments].
const DocumentSeparator = "---\n"

// WriteYAMLDocuments writes docs (each one YAML document, e.g. from sigs.k8s.io/yaml.Marshal) as
// one multi-document stream in which every document starts with "---" on its own line and ends
// with exactly one newline. Documents that are empty or only whitespace are skipped, and a
// document may not contain a separator line of its own.
//
// Because every document carries its own separator, two streams written this way can be
// concatenated in any order into a stream that holds every document of both: no document's end
// runs into the next one's beginning.
func WriteYAMLDocuments(w io.Writer, docs ...[]byte) error {
	for i, d := range docs {
		d = bytes.TrimRight(d, " \t\r\n")
		if len(bytes.TrimSpace(d)) == 0 {
			continue
		}
		if bytes.HasPrefix(d, []byte("---\n")) || bytes.Equal(d, []byte("---")) || bytes.Contains(d, []byte("\n---\n")) || bytes.HasSuffix(d, []byte("\n---")) {
			return fmt.Errorf("document %d contains a document separator", i)
		}
		if _, err := io.WriteString(w, DocumentSeparator); err != nil {
			return fmt.Errorf("writing YAML: %w", err)
		}
		if _, err := w.Write(d); err != nil {
			return fmt.Errorf("writing YAML: %w", err)
		}
		if _, err := io.WriteString(w, "\n"); err != nil {
			return fmt.Errorf("writing YAML: %w", err)
		}
	}
	return nil
}
