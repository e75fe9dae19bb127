package testenv

import (
	"context"
	"os"
	"testing"

	"github.com/google/go-cmp/cmp"

	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/kubeopencode/kubeopencode/api/v1alpha1"
)

var env *Env

func TestMain(m *testing.M) { os.Exit(Run(m, Options{KubeOpenCodeAPI: true}, &env, nil)) }

// TestKubeOpenCodeAPI: with KubeOpenCodeAPI the control plane serves every kubeopencode.io kind
// and the client's scheme knows them.
func TestKubeOpenCodeAPI(t *testing.T) {
	ctx := context.Background()
	ns := env.Namespace(ctx, t)
	for _, list := range []client.ObjectList{&v1alpha1.AgentList{}, &v1alpha1.TaskList{}, &v1alpha1.KubeOpenCodeConfigList{}} {
		if err := env.Client.List(ctx, list, client.InNamespace(ns)); err != nil {
			t.Errorf("listing %T: %v", list, err)
		}
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
