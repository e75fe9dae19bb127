package migrate

import (
	"context"
	"fmt"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/dynamic"
)

// Resources are the kinds Check reads, in the order it reads them.
var Resources = []schema.GroupVersionResource{
	{Group: Group, Version: Version, Resource: "agents"},
	{Group: Group, Version: Version, Resource: "tasks"},
	{Group: Group, Version: Version, Resource: "kubeopencodeconfigs"},
}

// pageSize bounds one list response, so a cluster with many Tasks is read in pages.
const pageSize = 500

// ReadAll lists every stored Agent, Task and KubeOpenCodeConfig in all namespaces as
// unstructured objects, as the installed CRDs serve them. A kind whose CRD is not installed is
// skipped and named in missing. Run it while upstream's CRDs are installed: once ours replace
// them, the API server prunes upstream-only fields on every read and they can no longer be seen.
func ReadAll(ctx context.Context, c dynamic.Interface) (objs []*unstructured.Unstructured, missing []string, err error) {
	for _, gvr := range Resources {
		opts := metav1.ListOptions{Limit: pageSize}
		for {
			l, err := c.Resource(gvr).List(ctx, opts)
			if apierrors.IsNotFound(err) {
				missing = append(missing, gvr.GroupResource().String())
				break
			}
			if err != nil {
				return nil, nil, fmt.Errorf("listing %s: %w", gvr.GroupResource(), err)
			}
			for i := range l.Items {
				objs = append(objs, &l.Items[i])
			}
			if l.GetContinue() == "" {
				break
			}
			opts.Continue = l.GetContinue()
		}
	}
	return objs, missing, nil
}

// crdResource is where the installed CRDs are read from, to tell upstream's from ours.
var crdResource = schema.GroupVersionResource{Group: "apiextensions.k8s.io", Version: "v1", Resource: "customresourcedefinitions"}

// oursInstalled reports whether the installed Agent CRD is ours rather than upstream's: only ours
// has spec.automountServiceAccountToken. It answers false when the CRD cannot be read (the
// check needs no access to CRDs).
func oursInstalled(ctx context.Context, dc dynamic.Interface) bool {
	crd, err := dc.Resource(crdResource).Get(ctx, "agents."+Group, metav1.GetOptions{})
	if err != nil {
		return false
	}
	versions, _, _ := unstructured.NestedSlice(crd.Object, "spec", "versions")
	for _, v := range versions {
		vm, _ := v.(map[string]any)
		if _, found, _ := unstructured.NestedMap(vm, "schema", "openAPIV3Schema", "properties", "spec", "properties", "automountServiceAccountToken"); found {
			return true
		}
	}
	return false
}

// Check reads the cluster with ReadAll and checks what it read. notes say what the findings
// cannot cover: kinds that are not installed, and our CRDs being installed already (the API
// server then prunes upstream-only fields on every read, so they cannot be reported).
func (c *Checker) Check(ctx context.Context, dc dynamic.Interface) (findings []Finding, notes []string, err error) {
	objs, missing, err := ReadAll(ctx, dc)
	if err != nil {
		return nil, nil, err
	}
	for _, m := range missing {
		notes = append(notes, fmt.Sprintf("%s is not installed; nothing of that kind to check", m))
	}
	if oursInstalled(ctx, dc) {
		notes = append(notes, "our CRDs are installed already: the API server drops upstream-only fields whenever it reads an object, so they cannot be reported; "+
			"run the check before replacing upstream's CRDs, or on a scratch cluster with upstream's CRDs and a backup restored")
	}
	return c.CheckObjects(ctx, objs), notes, nil
}
