package admissiontest

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/kubeopencode/kubeopencode/api/v1alpha1"
	kocpolicy "github.com/kubeopencode/kubeopencode/policy/kubeopencode"
	kocrbac "github.com/kubeopencode/kubeopencode/rbac/kubeopencode"
)

// finalizedTask creates, as the cluster admin, a Task carrying the operator's cleanup finalizer
// (as the operator leaves a cross-namespace Task).
func finalizedTask(ctx context.Context, t *testing.T, ns, name string) *v1alpha1.Task {
	t.Helper()
	tk := refTask(ns, name)
	tk.Finalizers = []string{"example.com/other", kocpolicy.CleanupFinalizer}
	mustCreate(ctx, t, tk)
	return tk
}

// TestT18TaskAuthorCannotStripTheCleanupFinalizer is escape 1 of issue 14: the task-author persona
// may patch Tasks; removing kubeopencode.io/cleanup (before or after asking for deletion) would
// let the Task vanish while its Pod runs on. Admission refuses; other edits (the stop annotation)
// still pass.
func TestT18TaskAuthorCannotStripTheCleanupFinalizer(t *testing.T) {
	ctx := context.Background()
	ns := env.Namespace(ctx, t)
	const user = "mallory"
	bindPersona(ctx, t, ns, user, kocrbac.PersonaTaskAuthor)
	c := impersonate(t, user)
	tk := finalizedTask(ctx, t, ns, "long-runner")

	want := fmt.Sprintf(`metadata.finalizers: user %q may not remove %s`, user, kocpolicy.CleanupFinalizer)
	err := pastRBAC(ctx, func(ctx context.Context) error { return patchTask(ctx, c, tk, `{"metadata":{"finalizers":null}}`) })
	if got := refusedBy(t, err, kocpolicy.DefaultFinalizerGuardPolicyName); !strings.Contains(got, want) || !strings.Contains(got, kocrbac.FinalizerRemoverRoleName) {
		t.Errorf("refusal %q, want it to contain %q and name the escape hatch", got, want)
	}
	// A JSON patch removing just that entry, after the delete, is refused too.
	if err := c.Delete(ctx, tk.DeepCopy()); err != nil {
		t.Fatalf("delete: %v", err)
	}
	err = c.Patch(ctx, tk.DeepCopy(), client.RawPatch(types.JSONPatchType, []byte(`[{"op":"remove","path":"/metadata/finalizers/1"}]`)))
	refusedBy(t, err, kocpolicy.DefaultFinalizerGuardPolicyName)
	got := &v1alpha1.Task{}
	if err := env.Client.Get(ctx, client.ObjectKeyFromObject(tk), got); err != nil {
		t.Fatalf("the Task must still exist (being deleted): %v", err)
	}
	if got.DeletionTimestamp == nil || !contains(got.Finalizers, kocpolicy.CleanupFinalizer) {
		t.Errorf("Task deletionTimestamp %v finalizers %v, want deleting with %s", got.DeletionTimestamp, got.Finalizers, kocpolicy.CleanupFinalizer)
	}
	// Removing another finalizer, and setting the stop annotation, are not the guard's business.
	if err := patchTask(ctx, c, tk, `{"metadata":{"annotations":{"kubeopencode.io/stop":"true"}}}`); err != nil {
		t.Errorf("stop annotation: %v", err)
	}
	if err := c.Patch(ctx, tk.DeepCopy(), client.RawPatch(types.JSONPatchType, []byte(`[{"op":"remove","path":"/metadata/finalizers/0"}]`))); err != nil {
		t.Errorf("removing another finalizer: %v", err)
	}
}

// TestT18OperatorAndEscapeHatchMayRemoveIt: the operator's ServiceAccount (generated roles) removes
// the finalizer, and so does a user bound to the generated escape-hatch ClusterRole.
func TestT18OperatorAndEscapeHatchMayRemoveIt(t *testing.T) {
	ctx := context.Background()
	ns := env.Namespace(ctx, t)

	op := impersonate(t, operatorUser)
	byOperator := finalizedTask(ctx, t, ns, "by-operator")
	err := untilAdmitted(ctx, func(ctx context.Context) error {
		cur := &v1alpha1.Task{}
		if err := env.Client.Get(ctx, client.ObjectKeyFromObject(byOperator), cur); err != nil {
			return err
		}
		cur.Finalizers = nil
		return op.Update(ctx, cur)
	})
	if err != nil {
		t.Fatalf("operator removing the finalizer: %v", err)
	}

	const admin = "namespace-janitor"
	bindPersona(ctx, t, ns, admin, kocrbac.PersonaFinalizerRemover)
	byAdmin := finalizedTask(ctx, t, ns, "by-janitor")
	janitor := impersonate(t, admin)
	if err := untilAdmitted(ctx, func(ctx context.Context) error {
		return patchTask(ctx, janitor, byAdmin, `{"metadata":{"finalizers":null}}`)
	}); err != nil {
		t.Fatalf("escape hatch: %v", err)
	}
	// The cluster admin (system:masters holds every verb) needs no binding.
	byMaster := finalizedTask(ctx, t, ns, "by-master")
	if err := patchTask(ctx, env.Client, byMaster, `{"metadata":{"finalizers":null}}`); err != nil {
		t.Fatalf("cluster admin: %v", err)
	}
}

func patchTask(ctx context.Context, c client.Client, tk *v1alpha1.Task, merge string) error {
	return c.Patch(ctx, tk.DeepCopy(), client.RawPatch(types.MergePatchType, []byte(merge)))
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}
