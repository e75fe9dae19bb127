package apivalidation

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// issueExamples are the two documents from the api issue, verbatim: they must apply unchanged.
const issueExamples = `apiVersion: kubeopencode.io/v1alpha1
kind: Agent
metadata: {name: secure-agent, namespace: platform-agents}
spec:
  agentImage: quay.io/kubeopencode/kubeopencode-agent-opencode:latest
  executorImage: quay.io/kubeopencode/kubeopencode-agent-devbox:latest
  workspaceDir: /workspace
  serviceAccountName: kubeopencode-agent
  allowedNamespaces: ["prod-*", "staging"]
  credentials:
    - {name: api-key, secretRef: {name: my-secrets, key: api-key}, env: API_KEY}
    - {name: ssh-key, secretRef: {name: ssh-keys, key: id_rsa}, mountPath: /home/agent/.ssh/id_rsa, fileMode: 0400}
  podSpec:
    runtimeClassName: gvisor
    labels: {network-policy: agent-restricted}
---
apiVersion: kubeopencode.io/v1alpha1
kind: Task
metadata: {name: fix-bug, namespace: prod-web}
spec:
  agentRef: {name: secure-agent, namespace: platform-agents}
  description: "Fix the failing test in ./pkg/foo"
`

func decodeAll(t *testing.T, manifest string) []*unstructured.Unstructured {
	t.Helper()
	dec := utilyaml.NewYAMLOrJSONDecoder(bytes.NewReader([]byte(manifest)), 4096)
	var objs []*unstructured.Unstructured
	for {
		u := &unstructured.Unstructured{}
		err := dec.Decode(&u.Object)
		if errors.Is(err, io.EOF) {
			return objs
		}
		if err != nil {
			t.Fatalf("decoding: %v", err)
		}
		objs = append(objs, u)
	}
}

func TestIssueExamplesApplyUnchanged(t *testing.T) {
	ctx := context.Background()
	objs := decodeAll(t, issueExamples)
	if len(objs) != 2 {
		t.Fatalf("decoded %d documents, want 2", len(objs))
	}
	for _, ns := range []string{"platform-agents", "prod-web"} {
		if err := env.Client.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}); err != nil {
			t.Fatalf("creating namespace %s: %v", ns, err)
		}
	}
	for _, u := range objs {
		want := u.DeepCopy()
		if err := env.Client.Create(ctx, u); err != nil {
			t.Fatalf("creating %s %s/%s: %v", u.GetKind(), u.GetNamespace(), u.GetName(), err)
		}
		// What was stored is what was sent (plus server-side defaults, which only add fields).
		got := &unstructured.Unstructured{}
		got.SetGroupVersionKind(want.GroupVersionKind())
		if err := env.Client.Get(ctx, client.ObjectKeyFromObject(want), got); err != nil {
			t.Fatalf("reading back: %v", err)
		}
		assertContains(t, "spec", got.Object["spec"], want.Object["spec"])
	}
}

// assertContains fails unless every field of want is present, equal, in got.
func assertContains(t *testing.T, path string, got, want any) {
	t.Helper()
	switch w := want.(type) {
	case map[string]any:
		g, ok := got.(map[string]any)
		if !ok {
			t.Errorf("%s: got %T, want an object", path, got)
			return
		}
		for k, v := range w {
			assertContains(t, path+"."+k, g[k], v)
		}
	case []any:
		g, ok := got.([]any)
		if !ok || len(g) != len(w) {
			t.Errorf("%s: got %v, want %v", path, got, want)
			return
		}
		for i := range w {
			assertContains(t, fmt.Sprintf("%s[%d]", path, i), g[i], w[i])
		}
	default:
		if fmt.Sprint(got) != fmt.Sprint(want) {
			t.Errorf("%s: got %v (%T), want %v (%T)", path, got, got, want, want)
		}
	}
}
