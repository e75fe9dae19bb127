package examples

import (
	"context"
	"fmt"
	"os"
	"slices"
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/kubeopencode/kubeopencode/api/crds"
	"github.com/kubeopencode/kubeopencode/hack/controlplane"
)

var (
	// docs are every example document, loaded once.
	docs []document
	// env is the package's control plane, with every example applied.
	env *controlplane.Env
	// applyErrs holds the error of each document that the API server did not accept, by
	// document (CRDs are installed by the control plane instead).
	applyErrs = map[string]error{}
)

// TestMain starts one control plane with the kubeopencode.io CRDs and the examples' own CRDs
// installed, then applies every other example document, the way a user would with kubectl,
// with strict field validation. TestEveryManifestIsAccepted reports the outcome per document.
func TestMain(m *testing.M) {
	var err error
	if docs, err = loadManifests("."); err != nil {
		fmt.Fprintln(os.Stderr, "loading the examples:", err)
		os.Exit(1)
	}
	crdDocs, err := crds.Documents()
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	for _, d := range byKind(docs, "CustomResourceDefinition") {
		crdDocs = append(crdDocs, d.raw)
	}
	crds, err := controlplane.DecodeCRDs(crdDocs...)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	os.Exit(controlplane.Run(m, controlplane.Options{CRDs: crds}, &env, func(e *controlplane.Env) (func(), error) {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		for _, d := range applyOrder(docs) {
			if d.obj.GetKind() == "CustomResourceDefinition" {
				continue
			}
			if err := e.Client.Create(ctx, d.obj.DeepCopy(), client.FieldValidation("Strict")); err != nil {
				applyErrs[d.String()] = err
			}
		}
		return nil, nil
	}))
}

// applyOrder sorts documents so that what others live in or refer to comes first: namespaces,
// then identities and roles, then Secrets, then everything else, then the Tasks and Sandboxes.
func applyOrder(in []document) []document {
	rank := map[string]int{"Namespace": 0, "ServiceAccount": 1, "ClusterRole": 1, "Role": 1, "Secret": 2,
		"Task": 4, "Sandbox": 4}
	out := slices.Clone(in)
	slices.SortStableFunc(out, func(a, b document) int {
		ra, ok := rank[a.obj.GetKind()]
		if !ok {
			ra = 3
		}
		rb, ok := rank[b.obj.GetKind()]
		if !ok {
			rb = 3
		}
		return ra - rb
	})
	return out
}

// TestEveryManifestIsAccepted: the API server accepted every example document, with strict field
// validation (an unknown or misspelt field is an error, not silently dropped), and stores it.
func TestEveryManifestIsAccepted(t *testing.T) {
	ctx := context.Background()
	for _, d := range docs {
		t.Run(d.String(), func(t *testing.T) {
			if err := applyErrs[d.String()]; err != nil {
				t.Fatalf("%s was refused: %v", d.key(), err)
			}
			got := &unstructured.Unstructured{}
			got.SetGroupVersionKind(d.obj.GroupVersionKind())
			if err := env.Client.Get(ctx, client.ObjectKeyFromObject(d.obj), got); err != nil {
				t.Fatalf("reading %s back: %v", d.key(), err)
			}
		})
	}
}
