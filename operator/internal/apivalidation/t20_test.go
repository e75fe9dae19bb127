package apivalidation

import (
	"context"
	"fmt"
	"testing"
	"time"

	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/kubeopencode/kubeopencode/api/v1alpha1"
	kocrbac "github.com/kubeopencode/kubeopencode/rbac/kubeopencode"
)

// taskAuthor returns a client for a user bound, in ns only, to the generated task-author
// persona (kocrbac.PersonaTaskAuthor): the least-privileged writer of Tasks.
func taskAuthor(ctx context.Context, t *testing.T, ns string) client.Client {
	t.Helper()
	role, err := kocrbac.PersonaClusterRole(kocrbac.PersonaTaskAuthor)
	if err != nil {
		t.Fatal(err)
	}
	if err := env.Client.Create(ctx, role); err != nil && !apierrors.IsAlreadyExists(err) {
		t.Fatalf("creating the task-author ClusterRole: %v", err)
	}
	user := "task-author@" + ns
	binding := &rbacv1.RoleBinding{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "task-author"},
		RoleRef:    rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: role.Name},
		Subjects:   []rbacv1.Subject{{Kind: rbacv1.UserKind, APIGroup: rbacv1.GroupName, Name: user}},
	}
	if err := env.Client.Create(ctx, binding); err != nil {
		t.Fatalf("binding the task author: %v", err)
	}
	cfg := rest.CopyConfig(env.Config)
	cfg.Impersonate = rest.ImpersonationConfig{UserName: user, Groups: []string{"system:authenticated"}}
	c, err := client.New(cfg, client.Options{Scheme: env.Scheme})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// createAs creates obj as c once RBAC lets the request through (a fresh RoleBinding reaches the
// authorizer's cache asynchronously), and returns the API server's answer.
func createAs(ctx context.Context, t *testing.T, c client.Client, obj client.Object) error {
	t.Helper()
	var last error
	err := wait.PollUntilContextTimeout(ctx, 50*time.Millisecond, 30*time.Second, true, func(ctx context.Context) (bool, error) {
		last = c.Create(ctx, obj.DeepCopyObject().(client.Object))
		return !apierrors.IsForbidden(last), nil
	})
	if err != nil {
		t.Fatalf("RBAC still refuses the create: %v", last)
	}
	return last
}

// TestT20TaskAuthorCannotTakeOpenCodeConfig: a task author (the generated persona, impersonated)
// tries to give the agent its own OpenCode configuration — the project config that sets the
// model, the permissions and the plugins — or to leave the workspace with "..". The API server
// refuses each Task, naming the field; nothing is stored. Relative paths (upstream's "src",
// "notes.md") are accepted from the same user, so the refusals are the schema's, not RBAC's.
func TestT20TaskAuthorCannotTakeOpenCodeConfig(t *testing.T) {
	ctx := context.Background()
	ns := env.Namespace(ctx, t)
	author := taskAuthor(ctx, t, ns)
	text := func(p v1alpha1.ContextPath) v1alpha1.ContextItem {
		return v1alpha1.ContextItem{Type: v1alpha1.ContextTypeText, Text: `{"permission": {"bash": "allow"}}`, MountPath: p}
	}
	refused := []struct {
		name    string
		context v1alpha1.ContextItem
		want    refusal
	}{
		{"opencode.json", text("opencode.json"), refusal{"spec.contexts", "OpenCode's configuration"}},
		{"opencode.jsonc", text("opencode.jsonc"), refusal{"spec.contexts", "OpenCode's configuration"}},
		{"absolute opencode.json", text("/workspace/opencode.json"), refusal{"spec.contexts", "OpenCode's configuration"}},
		{".opencode directory", text(".opencode"), refusal{"spec.contexts", "OpenCode's configuration"}},
		{"agent in .opencode", text(".opencode/agent/build.md"), refusal{"spec.contexts", "OpenCode's configuration"}},
		{"plugin in .opencode", text("/workspace/.opencode/plugin/x.ts"), refusal{"spec.contexts", "OpenCode's configuration"}},
		{"nested opencode.json", text("src/opencode.json"), refusal{"spec.contexts", "OpenCode's configuration"}},
		{"Git checkout named opencode.json", v1alpha1.ContextItem{Name: "opencode.json", Type: v1alpha1.ContextTypeGit,
			Git: &v1alpha1.GitContext{Repository: "https://git.example.com/attacker/config.git"}}, refusal{"spec.contexts", "may not be named opencode.json"}},
		{"relative traversal", text("../etc/hosts"), refusal{"spec.contexts[0].mountPath", "must be normalized"}},
		{"traversal inside", text("a/../../etc/hosts"), refusal{"spec.contexts[0].mountPath", "must be normalized"}},
		{"absolute traversal", text("/workspace/../etc/hosts"), refusal{"spec.contexts[0].mountPath", "must be normalized"}},
		{"dot", text("."), refusal{"spec.contexts[0].mountPath", "must be normalized"}},
		{"tools binary", text("/tools/opencode"), refusal{"spec.contexts[0].mountPath", msgReserved}},
	}
	for i, tc := range refused {
		t.Run(tc.name, func(t *testing.T) {
			tk := validTask()
			tk.Name, tk.Namespace = fmt.Sprintf("refused-%d", i), ns
			tk.Spec.Contexts = []v1alpha1.ContextItem{tc.context}
			expectRefused(t, createAs(ctx, t, author, toUnstructured(t, tk)), tc.want)
			assertAbsent(ctx, t, tk)
		})
	}
	for i, p := range []v1alpha1.ContextPath{"src", "notes.md", "docs/design.md", "/workspace/guide.md", "opencode.jsonx", ".opencodex"} {
		tk := validTask()
		tk.Name, tk.Namespace = fmt.Sprintf("accepted-%d", i), ns
		tk.Spec.Contexts = []v1alpha1.ContextItem{text(p)}
		if err := createAs(ctx, t, author, toUnstructured(t, tk)); err != nil {
			t.Errorf("mountPath %q refused: %v", p, err)
		}
	}
}
