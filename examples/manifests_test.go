package examples

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"sigs.k8s.io/yaml"
)

// document is one YAML document of an example file.
type document struct {
	file  string // slash-separated, relative to the examples directory
	index int    // position among the file's non-empty documents
	raw   []byte
	obj   *unstructured.Unstructured
}

func (d document) String() string { return fmt.Sprintf("%s#%d", d.file, d.index) }

func (d document) key() string {
	return d.obj.GetKind() + " " + d.obj.GetNamespace() + "/" + d.obj.GetName()
}

// decode decodes the document strictly (unknown or duplicate fields are errors) into out.
func (d document) decode(out any) error {
	if err := yaml.UnmarshalStrict(d.raw, out); err != nil {
		return fmt.Errorf("%s: %w", d, err)
	}
	return nil
}

// loadManifests returns every YAML document of every .yaml file under root, in path order.
// Documents that hold only comments are skipped; a document that does not parse is an error.
func loadManifests(root string) ([]document, error) {
	var docs []document
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.HasSuffix(path, ".yaml") {
			return err
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(root, path)
		if err != nil {
			return err
		}
		r := utilyaml.NewYAMLReader(bufio.NewReader(bytes.NewReader(b)))
		for i := 0; ; {
			raw, err := r.Read()
			if errors.Is(err, io.EOF) {
				break
			}
			if err != nil {
				return fmt.Errorf("%s: %w", rel, err)
			}
			u := &unstructured.Unstructured{}
			if err := yaml.UnmarshalStrict(raw, &u.Object); err != nil {
				return fmt.Errorf("%s document %d: %w", rel, i, err)
			}
			if u.Object == nil {
				continue
			}
			docs = append(docs, document{file: filepath.ToSlash(rel), index: i, raw: slices.Clone(raw), obj: u})
			i++
		}
		return nil
	})
	return docs, err
}

// byKind returns the documents of one kind.
func byKind(docs []document, kind string) []document {
	var out []document
	for _, d := range docs {
		if d.obj.GetKind() == kind {
			out = append(out, d)
		}
	}
	return out
}

// find returns the document of that kind, namespace and name.
func find(docs []document, kind, namespace, name string) (document, bool) {
	for _, d := range docs {
		if d.obj.GetKind() == kind && d.obj.GetNamespace() == namespace && d.obj.GetName() == name {
			return d, true
		}
	}
	return document{}, false
}
