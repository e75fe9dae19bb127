// Package v1alpha1 contains the kubeopencode.io/v1alpha1 API: Agent (how an AI coding agent runs),
// Task (what it should do) and the cluster-scoped KubeOpenCodeConfig.
//
// The CustomResourceDefinitions are generated from these types by controller-gen (`make
// generate`); never edit them by hand. This module depends only on k8s.io/api and
// k8s.io/apimachinery, so any controller can import it.
//
// +kubebuilder:object:generate=true
// +groupName=kubeopencode.io
package v1alpha1

// Generate zz_generated.deepcopy.go here and the CRDs in ../crds with controller-gen from PATH
// (`make generate` puts the pinned bin/controller-gen there).
//go:generate controller-gen object paths=. crd:crdVersions=v1 output:crd:artifacts:config=../crds
