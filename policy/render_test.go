package policy

import (
	"bytes"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"sigs.k8s.io/yaml"
)

func TestRenderYAML(t *testing.T) {
	np, err := AgentEgressNetworkPolicy(AgentEgress{Namespace: "agents", Name: "coder-egress", PodSelector: map[string]string{"example.com/agent": "coder"}})
	if err != nil {
		t.Fatal(err)
	}
	objs := []runtime.Object{PolicyBinding("some-policy", map[string]string{"team": "a"}), np}
	first, err := RenderYAML(objs...)
	if err != nil {
		t.Fatal(err)
	}
	again, _ := RenderYAML(objs...)
	if !bytes.Equal(first, again) {
		t.Error("RenderYAML is not deterministic")
	}
	for _, forbidden := range []string{"creationTimestamp", "status:"} {
		if bytes.Contains(first, []byte(forbidden)) {
			t.Errorf("output contains %q:\n%s", forbidden, first)
		}
	}
	// Every document starts with the separator (contract.WriteYAMLDocuments).
	if !bytes.HasPrefix(first, []byte("---\n")) {
		t.Errorf("the stream does not start with a separator:\n%s", first)
	}
	docs := strings.Split(strings.TrimPrefix(string(first), "---\n"), "---\n")
	if len(docs) != 2 {
		t.Fatalf("got %d documents, want 2", len(docs))
	}
	var back admissionregistrationv1.ValidatingAdmissionPolicyBinding
	if err := yaml.UnmarshalStrict([]byte(docs[0]), &back); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(objs[0], &back); diff != "" {
		t.Errorf("round trip (-want +got):\n%s", diff)
	}

	if _, err := RenderYAML(&corev1.Pod{}); err == nil || !strings.Contains(err.Error(), "object 0 (*v1.Pod): apiVersion and kind must be set") {
		t.Errorf("RenderYAML without TypeMeta: %v", err)
	}
	if _, err := RenderYAML(objs[0], nil); err == nil || err.Error() != "object 1: nil" {
		t.Errorf("RenderYAML(nil): %v", err)
	}
}
