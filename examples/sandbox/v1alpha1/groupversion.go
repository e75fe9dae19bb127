package v1alpha1

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

// GroupVersion is the API group and version of Sandbox and SandboxTemplate.
var GroupVersion = schema.GroupVersion{Group: "sandbox.example.com", Version: "v1alpha1"}

// AddToScheme adds Sandbox and SandboxTemplate (and their lists) to a scheme.
func AddToScheme(s *runtime.Scheme) error {
	s.AddKnownTypes(GroupVersion, &Sandbox{}, &SandboxList{}, &SandboxTemplate{}, &SandboxTemplateList{})
	metav1.AddToGroupVersion(s, GroupVersion)
	return nil
}
