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
	"strings"
	"testing"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
)

// manifests returns every YAML document under this directory, keyed by file and index.
func manifests(t *testing.T) map[string]*unstructured.Unstructured {
	t.Helper()
	docs := map[string]*unstructured.Unstructured{}
	err := filepath.WalkDir(".", func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.HasSuffix(path, ".yaml") {
			return err
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		r := utilyaml.NewYAMLReader(bufio.NewReader(bytes.NewReader(b)))
		for i := 0; ; i++ {
			raw, err := r.Read()
			if errors.Is(err, io.EOF) {
				break
			}
			if err != nil {
				return err
			}
			if len(bytes.TrimSpace(raw)) == 0 {
				continue
			}
			u := &unstructured.Unstructured{}
			if err := utilyaml.Unmarshal(raw, &u.Object); err != nil {
				t.Errorf("%s document %d: %v", path, i, err)
				continue
			}
			docs[fmt.Sprintf("%s#%d", path, i)] = u
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return docs
}

// TestManifestsAreWellFormed checks that every example document names its kind, version, name and
// namespace (cluster-scoped kinds excepted), so a copy-paste never applies somewhere unexpected.
func TestManifestsAreWellFormed(t *testing.T) {
	docs := manifests(t)
	if len(docs) == 0 {
		t.Fatal("no example manifests found")
	}
	clusterScoped := map[string]bool{"Namespace": true, "ClusterRole": true, "ClusterRoleBinding": true,
		"KubeOpenCodeConfig": true, "ValidatingAdmissionPolicy": true, "ValidatingAdmissionPolicyBinding": true,
		"RuntimeClass": true}
	for where, u := range docs {
		if u.GetAPIVersion() == "" || u.GetKind() == "" || u.GetName() == "" {
			t.Errorf("%s: apiVersion, kind and metadata.name are required, got %q %q %q", where, u.GetAPIVersion(), u.GetKind(), u.GetName())
		}
		if !clusterScoped[u.GetKind()] && u.GetNamespace() == "" {
			t.Errorf("%s: %s %q has no namespace", where, u.GetKind(), u.GetName())
		}
	}
}
