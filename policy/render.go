package policy

import (
	"bytes"
	"fmt"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"sigs.k8s.io/yaml"

	"github.com/kubeopencode/kubeopencode/api/contract"
)

// RenderYAML renders objects as a multi-document YAML stream, in argument order, with map keys
// sorted so the output is byte-for-byte deterministic. Server-populated fields (status,
// metadata.creationTimestamp) are dropped, so the output is fit for `kubectl apply` and for golden
// files. Every object must carry its apiVersion and kind (the builders of this package set them).
// Every document starts with "---" (contract.WriteYAMLDocuments, shared with the rbac module), so
// streams from both modules concatenate without losing a document.
func RenderYAML(objs ...runtime.Object) ([]byte, error) {
	docs := make([][]byte, 0, len(objs))
	for i, obj := range objs {
		if obj == nil {
			return nil, fmt.Errorf("object %d: nil", i)
		}
		gvk := obj.GetObjectKind().GroupVersionKind()
		if gvk.Version == "" || gvk.Kind == "" {
			return nil, fmt.Errorf("object %d (%T): apiVersion and kind must be set", i, obj)
		}
		content, err := runtime.DefaultUnstructuredConverter.ToUnstructured(obj)
		if err != nil {
			return nil, fmt.Errorf("object %d (%s): converting: %w", i, gvk.Kind, err)
		}
		delete(content, "status")
		unstructured.RemoveNestedField(content, "metadata", "creationTimestamp")
		out, err := yaml.Marshal(content)
		if err != nil {
			return nil, fmt.Errorf("object %d (%s): marshalling: %w", i, gvk.Kind, err)
		}
		docs = append(docs, out)
	}
	var buf bytes.Buffer
	if err := contract.WriteYAMLDocuments(&buf, docs...); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}
