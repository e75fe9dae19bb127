package apivalidation

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// TestUpstreamManifestsApply: the Agents and Tasks that upstream KubeOpenCode v0.0.3 documents in
// its README, getting-started guide and features guide (testdata/upstream-v0.0.3, copied
// unchanged), and the contexts of its API reference (relative mountPath "src"), are accepted by our CRDs and stored as sent. Among them: a credential with env
// OPENCODE_API_KEY (allowed: only the OPENCODE_* names the operator or OpenCode set are reserved),
// cross-namespace references, podSpec scheduling and an inline OpenCode config. A document
// without a namespace goes to a fresh one; objects are deleted after each file, because the
// guides reuse names (two Agents called default in kubeopencode-system).
//
// One document is refused, on purpose: the getting-started Task has no agentRef. Upstream's own
// CRD accepted it and its controller then failed the Task ("agentRef is required"); ours says so
// at admission, with the field path, which is where bad input belongs.
func TestUpstreamManifestsApply(t *testing.T) {
	refusedOnPurpose := map[string]refusal{
		"Task update-service-a": {"spec.agentRef", "Required value"},
	}
	ctx := context.Background()
	files, err := filepath.Glob(filepath.Join("testdata", "upstream-v0.0.3", "*.yaml"))
	if err != nil || len(files) != 4 {
		t.Fatalf("fixtures %v (%v), want readme, getting-started, features and api-reference", files, err)
	}
	for _, ns := range []string{"kubeopencode-system", "platform-agents", "dev-team-a"} {
		if err := env.Client.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}); err != nil && !apierrors.IsAlreadyExists(err) {
			t.Fatalf("creating namespace %s: %v", ns, err)
		}
	}
	for _, file := range files {
		t.Run(filepath.Base(file), func(t *testing.T) {
			data, err := os.ReadFile(file)
			if err != nil {
				t.Fatal(err)
			}
			objs := decodeAll(t, string(data))
			if len(objs) == 0 {
				t.Fatal("no documents")
			}
			for _, u := range objs {
				if u.GetNamespace() == "" {
					u.SetNamespace(env.Namespace(ctx, t))
				}
				want := u.DeepCopy()
				if r, ok := refusedOnPurpose[u.GetKind()+" "+u.GetName()]; ok {
					expectRefused(t, env.Client.Create(ctx, u), r)
					continue
				}
				if err := env.Client.Create(ctx, u); err != nil {
					t.Errorf("creating %s %s/%s: %v", u.GetKind(), u.GetNamespace(), u.GetName(), err)
					continue
				}
				t.Cleanup(func() {
					if err := env.Client.Delete(context.Background(), want.DeepCopy()); err != nil && !apierrors.IsNotFound(err) {
						t.Errorf("deleting %s %s: %v", want.GetKind(), want.GetName(), err)
					}
				})
				got := &unstructured.Unstructured{}
				got.SetGroupVersionKind(want.GroupVersionKind())
				if err := env.Client.Get(ctx, client.ObjectKeyFromObject(want), got); err != nil {
					t.Fatalf("reading back: %v", err)
				}
				assertContains(t, want.GetKind()+" "+want.GetName()+" spec", got.Object["spec"], want.Object["spec"])
			}
		})
	}
}
