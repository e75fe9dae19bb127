package migrate

import (
	"context"
	"fmt"
	"os"
	"sync"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/dynamic"
	"k8s.io/utils/ptr"

	"github.com/kubeopencode/kubeopencode/operator/internal/testenv"
)

// The envtest control plane is started by the first test that needs one, so the unit and fuzz
// tests of this package run without it.
var (
	envOnce   sync.Once
	sharedEnv *testenv.Env
	envErr    error
)

func TestMain(m *testing.M) {
	code := m.Run()
	if sharedEnv != nil {
		if err := sharedEnv.Stop(); err != nil {
			fmt.Fprintln(os.Stderr, "stopping envtest:", err)
		}
	}
	os.Exit(code)
}

// upstreamEnv returns the control plane, with upstream-shaped CRDs installed: the group,
// version, kinds, scopes and status subresources of upstream v0.0.3, and no schema at all
// (x-kubernetes-preserve-unknown-fields), so it stores whatever upstream's CRDs stored.
func upstreamEnv(t *testing.T) (*testenv.Env, dynamic.Interface) {
	t.Helper()
	envOnce.Do(func() {
		sharedEnv, envErr = testenv.Start(testenv.Options{
			CRDs:        upstreamCRDs(),
			AddToScheme: []func(*runtime.Scheme) error{apiextensionsv1.AddToScheme},
		})
	})
	if envErr != nil {
		t.Fatalf("starting envtest: %v", envErr)
	}
	dc, err := dynamic.NewForConfig(sharedEnv.Config)
	if err != nil {
		t.Fatal(err)
	}
	return sharedEnv, dc
}

func upstreamCRDs() []*apiextensionsv1.CustomResourceDefinition {
	crd := func(kind, plural string, scope apiextensionsv1.ResourceScope, status bool) *apiextensionsv1.CustomResourceDefinition {
		v := apiextensionsv1.CustomResourceDefinitionVersion{
			Name: Version, Served: true, Storage: true,
			Schema: &apiextensionsv1.CustomResourceValidation{OpenAPIV3Schema: &apiextensionsv1.JSONSchemaProps{
				Type: "object", XPreserveUnknownFields: ptr.To(true),
			}},
		}
		if status {
			v.Subresources = &apiextensionsv1.CustomResourceSubresources{Status: &apiextensionsv1.CustomResourceSubresourceStatus{}}
		}
		return &apiextensionsv1.CustomResourceDefinition{
			ObjectMeta: metav1.ObjectMeta{Name: plural + "." + Group},
			Spec: apiextensionsv1.CustomResourceDefinitionSpec{
				Group: Group, Scope: scope, Versions: []apiextensionsv1.CustomResourceDefinitionVersion{v},
				Names: apiextensionsv1.CustomResourceDefinitionNames{Kind: kind, ListKind: kind + "List", Plural: plural, Singular: lower(kind)},
			},
		}
	}
	return []*apiextensionsv1.CustomResourceDefinition{
		crd(KindAgent, "agents", apiextensionsv1.NamespaceScoped, true),
		crd(KindTask, "tasks", apiextensionsv1.NamespaceScoped, true),
		crd(KindConfig, "kubeopencodeconfigs", apiextensionsv1.ClusterScoped, false),
	}
}

func lower(s string) string {
	b := []byte(s)
	for i, c := range b {
		if c >= 'A' && c <= 'Z' {
			b[i] = c + 'a' - 'A'
		}
	}
	return string(b)
}

func gvrOf(kind string) (res string) {
	switch kind {
	case KindAgent:
		return "agents"
	case KindTask:
		return "tasks"
	default:
		return "kubeopencodeconfigs"
	}
}

// store creates the objects as upstream's API server stored them: namespaces first, then each
// object; its status, and a Task phase in phases ("namespace/name" -> phase), are written through
// the status subresource, as upstream's controller wrote them. The objects are deleted when the test ends.
func store(ctx context.Context, t *testing.T, e *testenv.Env, dc dynamic.Interface, objs []*unstructured.Unstructured, phases map[string]string) {
	t.Helper()
	for _, u := range objs {
		if ns := u.GetNamespace(); ns != "" {
			if err := e.Client.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}); err != nil && !apierrors.IsAlreadyExists(err) {
				t.Fatalf("creating namespace %s: %v", ns, err)
			}
		}
	}
	for _, u := range objs {
		r := dc.Resource(Resources[0].GroupVersion().WithResource(gvrOf(u.GetKind())))
		var ri dynamic.ResourceInterface = r
		if u.GetNamespace() != "" {
			ri = r.Namespace(u.GetNamespace())
		}
		created, err := ri.Create(ctx, u.DeepCopy(), metav1.CreateOptions{})
		if err != nil {
			t.Fatalf("storing %s %s/%s: %v", u.GetKind(), u.GetNamespace(), u.GetName(), err)
		}
		t.Cleanup(func() {
			if len(u.GetFinalizers()) > 0 { // nothing else would remove them
				_, err := ri.Patch(context.Background(), u.GetName(), types.MergePatchType, []byte(`{"metadata":{"finalizers":null}}`), metav1.PatchOptions{})
				if err != nil && !apierrors.IsNotFound(err) {
					t.Errorf("removing the finalizers of %s %s: %v", u.GetKind(), u.GetName(), err)
				}
			}
			err := ri.Delete(context.Background(), u.GetName(), metav1.DeleteOptions{})
			if err != nil && !apierrors.IsNotFound(err) {
				t.Errorf("deleting %s %s: %v", u.GetKind(), u.GetName(), err)
			}
		})
		status, hasStatus := u.Object["status"].(map[string]any)
		phase, hasPhase := phases[u.GetNamespace()+"/"+u.GetName()]
		if u.GetKind() == KindConfig || (!hasStatus && !hasPhase) {
			continue
		}
		status = runtime.DeepCopyJSONValue(status).(map[string]any)
		if status == nil {
			status = map[string]any{}
		}
		if hasPhase {
			status["phase"] = phase
		}
		created.Object["status"] = status
		if _, err := ri.UpdateStatus(ctx, created, metav1.UpdateOptions{}); err != nil {
			t.Fatalf("writing the status of %s %s: %v", u.GetKind(), u.GetName(), err)
		}
	}
}

// waitEmpty waits until the cluster stores no Agent, Task or KubeOpenCodeConfig, so that the
// next case reads only its own objects.
func waitEmpty(t *testing.T, dc dynamic.Interface) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		objs, _, err := ReadAll(context.Background(), dc)
		if err != nil {
			t.Fatal(err)
		}
		if len(objs) == 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d objects left behind, e.g. %s %s", len(objs), objs[0].GetKind(), objs[0].GetName())
		}
		time.Sleep(100 * time.Millisecond)
	}
}
