package migrate

import (
	"context"
	"errors"
	"sort"
	"strings"
	"testing"
	"time"

	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/dynamic"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/kubeopencode/kubeopencode/operator/internal/testenv"
)

// installCRDs replaces the spec of each installed CRD of the same name with want's, as
// "kubectl apply" of our CRDs over upstream's does, then waits until probe says the API server
// serves the new schema.
func installCRDs(ctx context.Context, t *testing.T, c client.Client, want []*apiextensionsv1.CustomResourceDefinition, probe func() bool) {
	t.Helper()
	for _, w := range want {
		have := &apiextensionsv1.CustomResourceDefinition{}
		if err := c.Get(ctx, client.ObjectKey{Name: w.Name}, have); err != nil {
			t.Fatalf("reading CRD %s: %v", w.Name, err)
		}
		have.Spec = *w.Spec.DeepCopy()
		if err := c.Update(ctx, have); err != nil {
			t.Fatalf("replacing CRD %s: %v", w.Name, err)
		}
	}
	deadline := time.Now().Add(30 * time.Second)
	for !probe() {
		if time.Now().After(deadline) {
			t.Fatal("the API server did not serve the replaced CRDs within 30s")
		}
		time.Sleep(200 * time.Millisecond)
	}
}

func resource(dc dynamic.Interface, u *unstructured.Unstructured) dynamic.ResourceInterface {
	r := dc.Resource(schema.GroupVersionResource{Group: Group, Version: Version, Resource: gvrOf(u.GetKind())})
	if u.GetNamespace() != "" {
		return r.Namespace(u.GetNamespace())
	}
	return r
}

func dryRunCreate(ctx context.Context, dc dynamic.Interface, u *unstructured.Unstructured) error {
	_, err := resource(dc, u).Create(ctx, u.DeepCopy(), metav1.CreateOptions{DryRun: []string{metav1.DryRunAll}})
	return err
}

// causes returns the field paths an Invalid error from the API server names.
func causes(err error) []string {
	var se *apierrors.StatusError
	if !errors.As(err, &se) || se.ErrStatus.Details == nil {
		return nil
	}
	var out []string
	for _, c := range se.ErrStatus.Details.Causes {
		out = append(out, c.Field)
	}
	sort.Strings(out)
	return out
}

// TestReplaceCRDs installs our CRDs over upstream-shaped ones that hold upstream objects, as an
// upgrade does, and shows (1) that Check's "Refused" verdicts are the API server's own: every
// documented and edge-case object is refused by the real API server with our CRDs exactly when
// Check predicts a refusal, on fields Check named; and (2) what happens to stored objects: served
// without revalidation, upstream-only fields pruned and our defaults applied on every read, so
// Check must run before the switch.
func TestReplaceCRDs(t *testing.T) {
	ctx := context.Background()
	e, dc := upstreamEnv(t)
	checker := newChecker(t)
	waitEmpty(t, dc)

	ours, err := testenv.KubeOpenCodeCRDs()
	if err != nil {
		t.Fatal(err)
	}
	probe := decodeYAML(t, `
apiVersion: kubeopencode.io/v1alpha1
kind: Agent
metadata: {name: probe, namespace: default}
spec: {workspaceDir: /workspace, serviceAccountName: a, allowedNamespaces: ["*"], credentials: [{name: p, secretRef: {name: s, key: k}, env: PATH}]}
---
apiVersion: kubeopencode.io/v1alpha1
kind: Task
metadata: {name: probe, namespace: default}
spec: {description: no agentRef}
---
apiVersion: kubeopencode.io/v1alpha1
kind: KubeOpenCodeConfig
metadata: {name: not-cluster}
spec: {}
`)
	refusesAll := func() bool {
		for _, p := range probe {
			if err := dryRunCreate(ctx, dc, p); !apierrors.IsInvalid(err) {
				return false
			}
		}
		return true
	}
	acceptsAll := func() bool {
		for _, p := range probe {
			if err := dryRunCreate(ctx, dc, p); err != nil {
				return false
			}
		}
		return true
	}
	// Registered first, so it runs last: the other tests of this package expect upstream's CRDs.
	t.Cleanup(func() { installCRDs(context.Background(), t, e.Client, upstreamCRDs(), acceptsAll) })

	stored := decodeYAML(t, fixture(t, "readme")+"\n---\n"+fixture(t, "local-dev")+"\n---\n"+fixture(t, "getting-started"))
	stored = stored[:len(stored)-2] // the getting-started Agent has the README Agent's name
	stored = append(stored, decodeYAML(t, fixture(t, "getting-started"))[1])
	// The README Agent's credential gets an env name that every version of our CRDs refuses.
	creds, _, _ := unstructured.NestedSlice(stored[0].Object, "spec", "credentials")
	creds[0].(map[string]any)["env"] = "PATH"
	if err := unstructured.SetNestedSlice(stored[0].Object, creds, "spec", "credentials"); err != nil {
		t.Fatal(err)
	}
	// A twin of server-agent, written once after the switch (server-agent never is).
	twin := decodeYAML(t, fixture(t, "local-dev"))[1]
	twin.SetName("server-agent-written")
	stored = append(stored, twin)
	store(ctx, t, e, dc, stored, nil)
	before, _, err := checker.Check(ctx, dc)
	if err != nil {
		t.Fatal(err)
	}

	installCRDs(ctx, t, e.Client, ours, refusesAll)

	t.Run("Refused verdicts match the API server", func(t *testing.T) {
		for _, tc := range checkCases(t) {
			for _, u := range decodeYAML(t, tc.docs) {
				if u.GetNamespace() != "" {
					u.SetNamespace("default") // dry runs: no clash with the stored objects
				}
				var predicted []string
				for _, f := range checker.CheckObjects(ctx, []*unstructured.Unstructured{u}) {
					if f.Verdict == Refused {
						predicted = append(predicted, f.Path)
					}
				}
				err := dryRunCreate(ctx, dc, u)
				switch {
				case len(predicted) == 0 && err != nil:
					t.Errorf("%s: %s %s: Check predicts acceptance, the API server says %v", tc.name, u.GetKind(), u.GetName(), err)
				case len(predicted) > 0 && !apierrors.IsInvalid(err):
					t.Errorf("%s: %s %s: Check predicts refusal of %v, the API server says %v", tc.name, u.GetKind(), u.GetName(), predicted, err)
				case err != nil:
					for _, c := range causes(err) {
						// "<nil>": the API server's note that it skipped the CEL rules after
						// a schema error; Check evaluates them anyway.
						if c != "<nil>" && !contains(predicted, c) {
							t.Errorf("%s: %s %s: the API server refuses %s, which Check does not name (it names %v): %v", tc.name, u.GetKind(), u.GetName(), c, predicted, err)
						}
					}
				}
			}
		}
	})

	t.Run("stored objects after the switch", func(t *testing.T) {
		get := func(kind, ns, name string) *unstructured.Unstructured {
			u := &unstructured.Unstructured{}
			u.SetKind(kind)
			u.SetNamespace(ns)
			got, err := resource(dc, u).Get(ctx, name, metav1.GetOptions{})
			if err != nil {
				t.Fatalf("reading %s %s/%s after the switch: %v", kind, ns, name, err)
			}
			return got
		}
		server := get(KindAgent, "kubeopencode-system", "server-agent")
		if _, found, _ := unstructured.NestedFieldNoCopy(server.Object, "spec", "serverConfig"); found {
			t.Error("spec.serverConfig is still served: want it pruned on read")
		}
		if v, found, _ := unstructured.NestedBool(server.Object, "spec", "automountServiceAccountToken"); !found || v {
			t.Errorf("spec.automountServiceAccountToken = %v (found %v): want our default false applied on read", v, found)
		}
		readme := get(KindAgent, "kubeopencode-system", "default")
		if env, _, _ := unstructured.NestedSlice(readme.Object, "spec", "credentials"); len(env) != 1 || env[0].(map[string]any)["env"] != "PATH" {
			t.Errorf("spec.credentials = %v: want the stored object served unchanged, without revalidation", env)
		}
		task := get(KindTask, "kubeopencode-system", "update-service-a")
		if _, found, _ := unstructured.NestedFieldNoCopy(task.Object, "spec", "agentRef"); found {
			t.Error("the stored Task without agentRef gained one")
		}

		// Check after the switch no longer sees what the pruning removed: it must run before,
		// and says so.
		after, notes, err := checker.Check(ctx, dc)
		if err != nil {
			t.Fatal(err)
		}
		if len(notes) != 1 || !strings.Contains(notes[0], "our CRDs are installed already") {
			t.Errorf("notes after the switch %q, want the warning that upstream-only fields cannot be seen", notes)
		}
		if !hasFinding(before, "server-agent", "spec.serverConfig") || hasFinding(after, "server-agent", "spec.serverConfig") {
			t.Errorf("spec.serverConfig: found before the switch %v, after %v; want true, false",
				hasFinding(before, "server-agent", "spec.serverConfig"), hasFinding(after, "server-agent", "spec.serverConfig"))
		}

		// Writes after the switch: validation ratcheting (on by default) lets an update through
		// when the fields our CRD refuses are unchanged, whatever else changes; changing a
		// refused field, or creating the object anew, is refused.
		update := func(u *unstructured.Unstructured, status bool) error {
			var err error
			if status {
				_, err = resource(dc, u).UpdateStatus(ctx, u, metav1.UpdateOptions{})
			} else {
				_, err = resource(dc, u).Update(ctx, u, metav1.UpdateOptions{})
			}
			return err
		}
		readme.SetLabels(map[string]string{"touched": "true"})
		if err := update(readme, false); err != nil {
			t.Errorf("label update of the Agent with a reserved env name: %v, want accepted (ratcheting)", err)
		}
		readme = get(KindAgent, "kubeopencode-system", "default")
		_ = unstructured.SetNestedField(readme.Object, "changed", "spec", "profile")
		if err := update(readme, false); err != nil {
			t.Errorf("changing spec.profile of the Agent with a reserved env name: %v, want accepted (ratcheting)", err)
		}
		readme = get(KindAgent, "kubeopencode-system", "default")
		_ = unstructured.SetNestedSlice(readme.Object, []any{map[string]any{
			"name": "api-key", "secretRef": map[string]any{"name": "ai-credentials", "key": "api-key"}, "env": "TASK_NAME"}}, "spec", "credentials")
		if err := update(readme, false); !apierrors.IsInvalid(err) || !contains(causes(err), "spec.credentials[0].env") {
			t.Errorf("changing the reserved env name to another reserved one: %v, want refused on spec.credentials[0].env", err)
		}
		_ = unstructured.SetNestedField(task.Object, "Failed", "status", "phase")
		if err := update(task, true); err != nil {
			t.Errorf("status update of the Task without agentRef: %v, want accepted (ratcheting)", err)
		}
		task = get(KindTask, "kubeopencode-system", "update-service-a")
		task.SetLabels(map[string]string{"touched": "true"})
		if err := update(task, false); err != nil {
			t.Errorf("label update of the Task without agentRef: %v, want accepted (ratcheting)", err)
		}
		written := get(KindAgent, "kubeopencode-system", "server-agent-written")
		written.SetLabels(map[string]string{"touched": "true"})
		if err := update(written, false); err != nil {
			t.Errorf("label update of server-agent-written: %v", err)
		}
		recreated := decodeYAML(t, fixture(t, "getting-started"))[1]
		recreated.SetName("update-service-b")
		if _, err := resource(dc, recreated).Create(ctx, recreated, metav1.CreateOptions{}); !apierrors.IsInvalid(err) {
			t.Errorf("creating the same Task anew: %v, want refused", err)
		}
	})

	// Back to upstream-shaped CRDs: what the pruning removed on read is still in etcd, unless
	// the object was written in between.
	installCRDs(ctx, t, e.Client, upstreamCRDs(), acceptsAll)
	for _, tc := range []struct {
		name string
		want bool
	}{{"server-agent", true}, {"server-agent-written", false}} {
		u, err := dc.Resource(Resources[0]).Namespace("kubeopencode-system").Get(ctx, tc.name, metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if _, found, _ := unstructured.NestedFieldNoCopy(u.Object, "spec", "serverConfig"); found != tc.want {
			t.Errorf("%s: spec.serverConfig in etcd after switching back: %v, want %v", tc.name, found, tc.want)
		}
	}
}

func contains(l []string, s string) bool {
	for _, x := range l {
		if x == s {
			return true
		}
	}
	return false
}

func hasFinding(fs []Finding, name, path string) bool {
	for _, f := range fs {
		if f.Name == name && f.Path == path {
			return true
		}
	}
	return false
}
