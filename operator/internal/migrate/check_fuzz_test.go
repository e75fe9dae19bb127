package migrate

import (
	"context"
	"testing"

	"github.com/google/go-cmp/cmp"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

// FuzzCheckObjects: any JSON object stored as an Agent, Task or KubeOpenCodeConfig (a
// schema-less CRD stores anything) is checked without a panic, and twice gives the same
// findings.
func FuzzCheckObjects(f *testing.F) {
	f.Add(uint8(0), []byte(`{"spec":{"workspaceDir":"w","credentials":[{"name":1,"env":"PATH"}],"contexts":[{"type":"URL","url":{}}]}}`))
	f.Add(uint8(1), []byte(`{"spec":{"contexts":[{"type":"Git","git":{"depth":"x"}},null],"agentRef":[]},"status":{"phase":7}}`))
	f.Add(uint8(2), []byte(`{"metadata":{"name":"x","finalizers":"y"},"spec":null}`))
	c := newChecker(f)
	f.Fuzz(func(t *testing.T, kind uint8, data []byte) {
		u := &unstructured.Unstructured{}
		if err := u.UnmarshalJSON(append([]byte(`{"apiVersion":"kubeopencode.io/v1alpha1","kind":"Agent","x":`), append(data, '}')...)); err != nil {
			return
		}
		spec, hasSpec := u.Object["x"].(map[string]any)
		if !hasSpec {
			return
		}
		obj := map[string]any{"apiVersion": "kubeopencode.io/v1alpha1", "kind": []string{KindAgent, KindTask, KindConfig}[int(kind)%3]}
		for k, v := range spec {
			if k != "apiVersion" && k != "kind" {
				obj[k] = v
			}
		}
		in := []*unstructured.Unstructured{{Object: obj}}
		first := c.CheckObjects(context.Background(), in)
		if diff := cmp.Diff(first, c.CheckObjects(context.Background(), in)); diff != "" {
			t.Errorf("not deterministic:\n%s", diff)
		}
	})
}
