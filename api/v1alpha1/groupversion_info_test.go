package v1alpha1

import (
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
