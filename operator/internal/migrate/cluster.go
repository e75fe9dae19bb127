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

// Check reads the cluster with ReadAll and checks what it read.
func (c *Checker) Check(ctx context.Context, dc dynamic.Interface) (findings []Finding, missing []string, err error) {
	objs, missing, err := ReadAll(ctx, dc)
	if err != nil {
		return nil, nil, err
	}
	return c.CheckObjects(ctx, objs), missing, nil
}
