package apivalidation

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"testing"

	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/kubeopencode/kubeopencode/operator/internal/testenv"
)

var env *testenv.Env

func TestMain(m *testing.M) {
	os.Exit(testenv.Run(m, testenv.Options{
		KubeOpenCodeAPI: true,
		AddToScheme:     []func(*runtime.Scheme) error{apiextensionsv1.AddToScheme},
	}, &env, nil))
}

// toUnstructured converts a typed object (with its kind set from the scheme) to the map the API
// server receives, so that tests can also send what a typed Go client cannot (e.g. "").
func toUnstructured(t *testing.T, obj client.Object) *unstructured.Unstructured {
	t.Helper()
	gvks, _, err := env.Scheme.ObjectKinds(obj)
	if err != nil || len(gvks) != 1 {
		t.Fatalf("kind of %T: %v %v", obj, gvks, err)
	}
	m, err := runtime.DefaultUnstructuredConverter.ToUnstructured(obj)
	if err != nil {
		t.Fatalf("converting %T: %v", obj, err)
	}
	u := &unstructured.Unstructured{Object: m}
	u.SetGroupVersionKind(gvks[0])
	return u
}

// set writes value at the dotted path in u (creating maps on the way); a path element "name[i]"
// indexes a list, which must already be long enough.
func set(t *testing.T, u *unstructured.Unstructured, path string, value any) {
	t.Helper()
	cur := u.Object
	parts := strings.Split(path, ".")
	for i, p := range parts {
		name, idx, isIndex := strings.Cut(p, "[")
		last := i == len(parts)-1
		if !isIndex {
			if last {
				cur[name] = value
				return
			}
			next, ok := cur[name].(map[string]any)
			if !ok {
				next = map[string]any{}
				cur[name] = next
			}
			cur = next
			continue
		}
		var n int
		if _, err := fmt.Sscanf(strings.TrimSuffix(idx, "]"), "%d", &n); err != nil {
			t.Fatalf("bad index in %q", path)
		}
		list, ok := cur[name].([]any)
		if !ok || n >= len(list) {
			t.Fatalf("set %q: %s has no element %d", path, name, n)
		}
		if last {
			list[n] = value
			return
		}
		cur = list[n].(map[string]any)
	}
}

// refusal is what a test expects the API server to say.
type refusal struct {
	// field is the exact path of a StatusCause, e.g. spec.credentials[0].env. Empty means a
	// rule on the object's root, which the API server reports without a path (as "<nil>");
	// such rules must then name the field in their message.
	field string
	// message must occur in that cause's message (empty: anything).
	message string
}

// expectRefused asserts err is an Invalid StatusError with a cause naming want.field whose message
// contains want.message.
func expectRefused(t *testing.T, err error, want refusal) {
	t.Helper()
	if err == nil {
		t.Fatalf("accepted; want refused at %s", want.field)
	}
	var status apierrors.APIStatus
	if !errors.As(err, &status) || !apierrors.IsInvalid(err) {
		t.Fatalf("got %v; want an Invalid StatusError at %s", err, want.field)
	}
	details := status.Status().Details
	if details == nil {
		t.Fatalf("no details in %v", err)
	}
	for _, c := range details.Causes {
		field := c.Field
		if field == "<nil>" {
			field = ""
		}
		if field == want.field && strings.Contains(c.Message, want.message) {
			t.Logf("refused: %s: %s", c.Field, c.Message)
			return
		}
	}
	t.Fatalf("refused, but no cause at field %q with message containing %q; causes:\n%s", want.field, want.message, formatCauses(details.Causes))
}

func formatCauses(causes []metav1.StatusCause) string {
	var b strings.Builder
	for _, c := range causes {
		fmt.Fprintf(&b, "  %s [%s]: %s\n", c.Field, c.Type, c.Message)
	}
	return b.String()
}

// create submits obj (after the optional raw edit) and returns the API server's answer.
func create(ctx context.Context, t *testing.T, obj client.Object, raw func(*unstructured.Unstructured)) error {
	t.Helper()
	u := toUnstructured(t, obj)
	if raw != nil {
		raw(u)
	}
	return env.Client.Create(ctx, u)
}

// del returns a raw edit that removes the field at a dotted path of maps.
func del(path string) func(*testing.T, *unstructured.Unstructured) {
	return func(t *testing.T, u *unstructured.Unstructured) {
		t.Helper()
		parts := strings.Split(path, ".")
		if _, found, err := unstructured.NestedFieldNoCopy(u.Object, parts...); !found || err != nil {
			t.Fatalf("del %s: not in the request (%v)", path, err)
		}
		unstructured.RemoveNestedField(u.Object, parts...)
	}
}
