package rbac

import (
	"cmp"
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"strings"

	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/runtime"
	"sigs.k8s.io/yaml"

	"github.com/kubeopencode/kubeopencode/api/contract"
)

// SortObjects orders objects by kind, then namespace, then name, the order [WriteYAML] uses.
// It returns an error if an object has no kind in its TypeMeta (the builders always set it) or
// if two objects share kind, namespace and name.
func SortObjects(objs []runtime.Object) ([]runtime.Object, error) {
	type entry struct {
		kind, namespace, name string
		obj                   runtime.Object
	}
	entries := make([]entry, 0, len(objs))
	for i, o := range objs {
		if o == nil {
			return nil, fmt.Errorf("objects[%d]: nil object", i)
		}
		kind := o.GetObjectKind().GroupVersionKind().Kind
		if kind == "" {
			return nil, fmt.Errorf("objects[%d]: kind is not set", i)
		}
		m, err := meta.Accessor(o)
		if err != nil {
			return nil, fmt.Errorf("objects[%d] (%s): %w", i, kind, err)
		}
		entries = append(entries, entry{kind, m.GetNamespace(), m.GetName(), o})
	}
	slices.SortStableFunc(entries, func(a, b entry) int {
		return cmp.Or(strings.Compare(a.kind, b.kind), strings.Compare(a.namespace, b.namespace), strings.Compare(a.name, b.name))
	})
	out := make([]runtime.Object, 0, len(entries))
	for i, e := range entries {
		if i > 0 && entries[i-1].kind == e.kind && entries[i-1].namespace == e.namespace && entries[i-1].name == e.name {
			return nil, fmt.Errorf("duplicate %s %s/%s", e.kind, e.namespace, e.name)
		}
		out = append(out, e.obj)
	}
	return out, nil
}

// WriteYAML writes objs as a multi-document YAML stream, each document starting with "---", in
// [SortObjects] order, with keys sorted and without metadata.creationTimestamp, like
// controller-gen. The same objects always produce the same bytes.
func WriteYAML(w io.Writer, objs []runtime.Object) error {
	sorted, err := SortObjects(objs)
	if err != nil {
		return err
	}
	docs := make([][]byte, 0, len(sorted))
	for _, o := range sorted {
		doc, err := marshalDocument(o)
		if err != nil {
			return err
		}
		docs = append(docs, doc)
	}
	// The one stream writer every KubeOpenCode generator shares: streams concatenate safely.
	return contract.WriteYAMLDocuments(w, docs...)
}

// marshalDocument renders one object as YAML, dropping metadata.creationTimestamp (older
// apimachinery versions render a zero timestamp as null).
func marshalDocument(o runtime.Object) ([]byte, error) {
	kind := o.GetObjectKind().GroupVersionKind().Kind
	raw, err := json.Marshal(o)
	if err != nil {
		return nil, fmt.Errorf("encoding %s: %w", kind, err)
	}
	var doc map[string]any
	if err := json.Unmarshal(raw, &doc); err != nil {
		return nil, fmt.Errorf("decoding %s: %w", kind, err)
	}
	if md, ok := doc["metadata"].(map[string]any); ok {
		delete(md, "creationTimestamp")
	}
	out, err := yaml.Marshal(doc)
	if err != nil {
		return nil, fmt.Errorf("rendering %s as YAML: %w", kind, err)
	}
	return out, nil
}
