package controlplane

import (
	"context"
	"os"
	"testing"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

var env *Env

func TestMain(m *testing.M) { os.Exit(Run(m, Options{}, &env, nil)) }

// TestRoundTrip proves the self-built kube-apiserver and etcd store and serve objects.
func TestRoundTrip(t *testing.T) {
	ctx := context.Background()
	ns := env.Namespace(ctx, t)
	want := &corev1.ConfigMap{
		ObjectMeta: metav1.ObjectMeta{Name: "hello", Namespace: ns},
		Data:       map[string]string{"greeting": "from a real API server"},
	}
	if err := env.Client.Create(ctx, want); err != nil {
		t.Fatalf("create: %v", err)
	}
	got := &corev1.ConfigMap{}
	if err := env.Client.Get(ctx, client.ObjectKeyFromObject(want), got); err != nil {
		t.Fatalf("get: %v", err)
	}
	if got.Data["greeting"] != want.Data["greeting"] || got.UID == "" || got.ResourceVersion == "" {
		t.Errorf("read back %+v; want the stored object with a UID and resourceVersion", got)
	}
}

func TestNamespacePrefix(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"TestT1/allowed_prefix", "testt1-allowed-prefix-"},
		{"Test_x", "test-x-"},
		{"TestAVeryLongNameThatGoesOnAndOnBeyondForty/sub", "testaverylongnamethatgoesonandonbeyondfo-"},
		{"Test__________________________________________x", "test-"},
		{"----", "test-"},
		{"", "test-"},
	} {
		if got := NamespacePrefix(tc.in); got != tc.want {
			t.Errorf("NamespacePrefix(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

func TestDecodeCRDs(t *testing.T) {
	crd := func(name string) string {
		return "apiVersion: apiextensions.k8s.io/v1\nkind: CustomResourceDefinition\nmetadata:\n  name: " + name + "\n"
	}
	got, err := DecodeCRDs([]byte("---\n"+crd("a.example.com")+"---\n"+crd("b.example.com")), []byte(crd("c.example.com")))
	if err != nil {
		t.Fatalf("DecodeCRDs: %v", err)
	}
	var names []string
	for _, c := range got {
		names = append(names, c.Name)
	}
	if d := cmp.Diff([]string{"a.example.com", "b.example.com", "c.example.com"}, names); d != "" {
		t.Errorf("decoded names (-want +got):\n%s", d)
	}
	for name, manifest := range map[string]string{
		"a ConfigMap":    "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: x\n",
		"malformed YAML": "kind: [",
	} {
		if _, err := DecodeCRDs([]byte(manifest)); err == nil {
			t.Errorf("%s decoded as a CRD", name)
		}
	}
}

// FuzzNamespacePrefix: whatever a test is called, the prefix plus the API server's five random
// characters is a valid namespace name (a DNS label).
func FuzzNamespacePrefix(f *testing.F) {
	for _, s := range []string{"TestA", "Test/Ä/ö", "", "----", "Test" + string(make([]byte, 80))} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, name string) {
		p := NamespacePrefix(name) + "abcde"
		if len(p) > 63 {
			t.Fatalf("%q: %d characters", p, len(p))
		}
		for i, r := range p {
			ok := r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '-' && i > 0
			if !ok {
				t.Fatalf("%q: character %d (%q) is not allowed in a DNS label", p, i, r)
			}
		}
	})
}
