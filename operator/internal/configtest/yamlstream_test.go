package configtest

import (
	"bytes"
	"errors"
	"io"
	"testing"

	"github.com/google/go-cmp/cmp"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"

	"github.com/kubeopencode/kubeopencode/policy"
	kocpolicy "github.com/kubeopencode/kubeopencode/policy/kubeopencode"
	"github.com/kubeopencode/kubeopencode/rbac"
	kocrbac "github.com/kubeopencode/kubeopencode/rbac/kubeopencode"
)

// TestConcatenatedYAMLKeepsEveryObject: the rbac and policy modules write YAML through the one
// shared writer (api/contract), so their outputs, concatenated in either order as a platform
// engineer would (`cat roles.yaml policies.yaml | kubectl apply -f -`), parse back into every
// object of both. (Before, rbac started each document with "---" and policy only separated them:
// rbac's output followed by policy's merged two documents into one.)
func TestConcatenatedYAMLKeepsEveryObject(t *testing.T) {
	roles, err := kocrbac.Manifest(kocrbac.ManifestOptions{Personas: kocrbac.Personas(), AgentNamespaces: []string{"team-a"}})
	if err != nil {
		t.Fatal(err)
	}
	var rb bytes.Buffer
	if err := rbac.WriteYAML(&rb, roles); err != nil {
		t.Fatal(err)
	}
	pols := kocpolicy.PolicyObjects(kocpolicy.PoliciesOptions{})
	pb, err := policy.RenderYAML(pols...)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]int{}
	for _, o := range roles {
		want[o.GetObjectKind().GroupVersionKind().Kind]++
	}
	for _, o := range pols {
		want[o.GetObjectKind().GroupVersionKind().Kind]++
	}
	for name, stream := range map[string][]byte{
		"rbac then policy": append(append([]byte{}, rb.Bytes()...), pb...),
		"policy then rbac": append(append([]byte{}, pb...), rb.Bytes()...),
	} {
		got := map[string]int{}
		dec := utilyaml.NewYAMLOrJSONDecoder(bytes.NewReader(stream), 4096)
		for {
			u := &unstructured.Unstructured{}
			err := dec.Decode(&u.Object)
			if errors.Is(err, io.EOF) {
				break
			}
			if err != nil {
				t.Fatalf("%s: %v", name, err)
			}
			if len(u.Object) > 0 {
				got[u.GetKind()]++
			}
		}
		if d := cmp.Diff(want, got); d != "" {
			t.Errorf("%s: objects by kind (-want +got):\n%s", name, d)
		}
	}
}
