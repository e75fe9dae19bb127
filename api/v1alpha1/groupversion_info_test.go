package v1alpha1

import (
	"reflect"
	"testing"

	"k8s.io/apimachinery/pkg/runtime"
)

func TestAddToSchemeRegistersGroupVersion(t *testing.T) {
	s := runtime.NewScheme()
	if s.IsVersionRegistered(GroupVersion) {
		t.Fatal("fresh scheme already knows kubeopencode.io/v1alpha1")
	}
	if err := AddToScheme(s); err != nil {
		t.Fatalf("AddToScheme: %v", err)
	}
	if !s.IsVersionRegistered(GroupVersion) {
		t.Errorf("AddToScheme did not register %s", GroupVersion)
	}
}

func TestAddToSchemeRegistersKinds(t *testing.T) {
	s := runtime.NewScheme()
	if err := AddToScheme(s); err != nil {
		t.Fatalf("AddToScheme: %v", err)
	}
	for kind, obj := range map[string]runtime.Object{
		"Agent": &Agent{}, "AgentList": &AgentList{},
		"Task": &Task{}, "TaskList": &TaskList{},
		"KubeOpenCodeConfig": &KubeOpenCodeConfig{}, "KubeOpenCodeConfigList": &KubeOpenCodeConfigList{},
	} {
		gvks, _, err := s.ObjectKinds(obj)
		if err != nil || len(gvks) != 1 || gvks[0] != GroupVersion.WithKind(kind) {
			t.Errorf("%T: kinds %v (%v); want %s", obj, gvks, err, GroupVersion.WithKind(kind))
		}
		created, err := s.New(GroupVersion.WithKind(kind))
		if err != nil {
			t.Errorf("New(%s): %v", kind, err)
			continue
		}
		if reflect.TypeOf(created) != reflect.TypeOf(obj) {
			t.Errorf("New(%s) = %T, want %T", kind, created, obj)
		}
	}
}
