package testenv

import (
	"context"
	"fmt"
	"os"
	"testing"

	"github.com/google/go-cmp/cmp"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

var env *Env

func TestMain(m *testing.M) {
	var err error
	if env, err = Start(Options{}); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	code := m.Run()
	if err := env.Stop(); err != nil {
		fmt.Fprintln(os.Stderr, "stopping envtest:", err)
	}
	os.Exit(code)
}

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
	for in, want := range map[string]string{
		"TestT1/allowed_prefix":                           "testt1-allowed-prefix-",
		"Test_" + string(make([]byte, 0)) + "x":           "test-x-",
		"TestAVeryLongNameThatGoesOnAndOnBeyondForty/sub": "testaverylongnamethatgoesonandonbeyondfo-",
	} {
		if got := nsPrefix(in); got != want {
			t.Errorf("nsPrefix(%q) = %q, want %q", in, got, want)
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
	if fmt.Sprint(names) != "[a.example.com b.example.com c.example.com]" {
		t.Errorf("decoded %v", names)
	}
	if _, err := DecodeCRDs([]byte("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: x\n")); err == nil {
		t.Error("a ConfigMap decoded as a CRD")
	}
	if _, err := DecodeCRDs([]byte("kind: [")); err == nil {
		t.Error("malformed YAML decoded")
	}
}

func TestKubeOpenCodeCRDs(t *testing.T) {
	defs, err := KubeOpenCodeCRDs()
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, d := range defs {
		got = append(got, d.Name)
	}
	want := []string{"agents.kubeopencode.io", "kubeopencodeconfigs.kubeopencode.io", "tasks.kubeopencode.io"}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("embedded CRDs (-want +got):\n%s", d)
	}
}
