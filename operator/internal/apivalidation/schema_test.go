package apivalidation

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/discovery"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// contractGrammar is the allowedNamespaces grammar exactly as CONTRIBUTING.md's shared contract
// states it; `kubectl explain agent.spec.allowedNamespaces` must say the same.
const contractGrammar = "1–63 characters from `[a-z0-9-*?]`, first and last character from `[a-z0-9*?]`; " +
	"`*` matches any run of characters (including none), `?` exactly one; a pattern matches the whole " +
	"namespace name, case-sensitively. An empty list means the Agent's own namespace only; `\"*\"` means every namespace."

func oneLine(s string) string { return strings.Join(strings.Fields(s), " ") }

// TestExplainStatesGrammar reads the OpenAPI v3 document that kubectl explain uses, as published
// by the API server for the installed CRD.
func TestExplainStatesGrammar(t *testing.T) {
	ctx := context.Background()
	dc, err := discovery.NewDiscoveryClientForConfig(env.Config)
	if err != nil {
		t.Fatal(err)
	}
	var desc string
	// The OpenAPI controller publishes a CRD's schema shortly after it is established.
	err = wait.PollUntilContextTimeout(ctx, 100*time.Millisecond, 30*time.Second, true, func(context.Context) (bool, error) {
		paths, err := dc.OpenAPIV3().Paths()
		if err != nil {
			return false, err
		}
		gv, ok := paths["apis/kubeopencode.io/v1alpha1"]
		if !ok {
			return false, nil
		}
		raw, err := gv.Schema("application/json")
		if err != nil {
			return false, err
		}
		var doc struct {
			Components struct {
				Schemas map[string]schemaNode `json:"schemas"`
			} `json:"components"`
		}
		if err := json.Unmarshal(raw, &doc); err != nil {
			return false, err
		}
		agent, ok := doc.Components.Schemas["io.kubeopencode.v1alpha1.Agent"]
		if !ok {
			return false, nil
		}
		desc = agent.Properties["spec"].Properties["allowedNamespaces"].Description
		return desc != "", nil
	})
	if err != nil {
		t.Fatalf("reading the published OpenAPI schema of Agent: %v", err)
	}
	if !strings.Contains(oneLine(desc), contractGrammar) {
		t.Errorf("explain agent.spec.allowedNamespaces:\n%s\nwant it to contain the contract grammar:\n%s", desc, contractGrammar)
	}
}

type schemaNode struct {
	Description string                `json:"description"`
	Properties  map[string]schemaNode `json:"properties"`
}

// TestInstalledCRDs checks what the API server made of the embedded CRDs: kinds, scopes, short
// names, the status subresource and the Task printer columns.
func TestInstalledCRDs(t *testing.T) {
	ctx := context.Background()
	want := map[string]struct {
		kind      string
		scope     apiextensionsv1.ResourceScope
		shortName string
		columns   []string
	}{
		"agents.kubeopencode.io":              {"Agent", apiextensionsv1.NamespaceScoped, "ag", []string{"Service Account", "Max Tasks", "Ready", "Age"}},
		"tasks.kubeopencode.io":               {"Task", apiextensionsv1.NamespaceScoped, "tk", []string{"Phase", "Reason", "Agent", "Agent Namespace", "Pod", "Started", "Completed", "Exit Code", "Result", "Age"}},
		"kubeopencodeconfigs.kubeopencode.io": {"KubeOpenCodeConfig", apiextensionsv1.ClusterScoped, "koc", []string{"Age"}},
	}
	list := &apiextensionsv1.CustomResourceDefinitionList{}
	if err := env.Client.List(ctx, list); err != nil {
		t.Fatal(err)
	}
	found := 0
	for _, crd := range list.Items {
		w, ok := want[crd.Name]
		if !ok {
			continue
		}
		found++
		if crd.Spec.Names.Kind != w.kind || crd.Spec.Scope != w.scope || strings.Join(crd.Spec.Names.ShortNames, ",") != w.shortName {
			t.Errorf("%s: kind %s scope %s shortNames %v; want %s %s %s", crd.Name, crd.Spec.Names.Kind, crd.Spec.Scope, crd.Spec.Names.ShortNames, w.kind, w.scope, w.shortName)
		}
		if len(crd.Spec.Versions) != 1 || crd.Spec.Versions[0].Name != "v1alpha1" || !crd.Spec.Versions[0].Served || !crd.Spec.Versions[0].Storage {
			t.Errorf("%s: versions %+v; want only v1alpha1, served and stored", crd.Name, crd.Spec.Versions)
			continue
		}
		v := crd.Spec.Versions[0]
		if v.Subresources == nil || v.Subresources.Status == nil {
			t.Errorf("%s: no status subresource", crd.Name)
		}
		var cols []string
		for _, c := range v.AdditionalPrinterColumns {
			cols = append(cols, c.Name)
		}
		if fmt.Sprint(cols) != fmt.Sprint(w.columns) {
			t.Errorf("%s: printer columns %v; want %v", crd.Name, cols, w.columns)
		}
		established := false
		for _, c := range crd.Status.Conditions {
			established = established || (c.Type == apiextensionsv1.Established && c.Status == apiextensionsv1.ConditionTrue)
		}
		if !established {
			t.Errorf("%s: not Established: %+v", crd.Name, crd.Status.Conditions)
		}
	}
	if found != len(want) {
		t.Errorf("found %d of the %d kubeopencode.io CRDs", found, len(want))
	}
}

// TestUnknownFieldsNeverStored: a field the types do not define is refused when the client asks
// for strict validation (kubectl does) and pruned otherwise — never stored.
func TestUnknownFieldsNeverStored(t *testing.T) {
	ctx := context.Background()
	ns := env.Namespace(ctx, t)
	a := validAgent()
	a.Name, a.Namespace = "agent", ns
	u := toUnstructured(t, a)
	set(t, u, "spec.podSpec.securityContext", map[string]any{"privileged": true})

	err := env.Client.Create(ctx, u.DeepCopy(), client.FieldValidation(metav1.FieldValidationStrict))
	if err == nil || !strings.Contains(err.Error(), `unknown field "spec.podSpec.securityContext"`) {
		t.Fatalf("strict create: %v; want an unknown-field error naming spec.podSpec.securityContext", err)
	}
	if err := env.Client.Create(ctx, u.DeepCopy(), client.FieldValidation(metav1.FieldValidationIgnore)); err != nil {
		t.Fatalf("create: %v", err)
	}
	got := &unstructured.Unstructured{}
	got.SetGroupVersionKind(u.GroupVersionKind())
	if err := env.Client.Get(ctx, client.ObjectKeyFromObject(a), got); err != nil {
		t.Fatal(err)
	}
	if _, found, _ := unstructured.NestedFieldNoCopy(got.Object, "spec", "podSpec", "securityContext"); found {
		t.Errorf("unknown field stored: %v", got.Object["spec"])
	}
}
