package migrate

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"os"
	"path/filepath"
	"testing"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
)

// decodeYAML decodes "---"-separated manifests into unstructured objects, skipping empty
// documents.
func decodeYAML(t testing.TB, data string) []*unstructured.Unstructured {
	t.Helper()
	var out []*unstructured.Unstructured
	dec := utilyaml.NewYAMLOrJSONDecoder(bytes.NewReader([]byte(data)), 4096)
	for {
		var raw json.RawMessage
		err := dec.Decode(&raw)
		if errors.Is(err, io.EOF) {
			return out
		}
		if err != nil {
			t.Fatalf("decoding: %v", err)
		}
		if len(raw) == 0 || string(raw) == "null" {
			continue
		}
		// As the dynamic client decodes: integers stay int64.
		u := &unstructured.Unstructured{}
		if err := u.UnmarshalJSON(raw); err != nil {
			t.Fatalf("decoding %s: %v", raw, err)
		}
		out = append(out, u)
	}
}

// fixture reads testdata/upstream-v0.0.3/<name>.yaml.
func fixture(t testing.TB, name string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", "upstream-v0.0.3", name+".yaml"))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func newChecker(t testing.TB) *Checker {
	t.Helper()
	c, err := NewChecker()
	if err != nil {
		t.Fatal(err)
	}
	return c
}
