package controller_test

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/rest"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/kubeopencode/kubeopencode/api/v1alpha1"
	"github.com/kubeopencode/kubeopencode/operator/internal/setup"
)

func configMap(ns, name string, data map[string]string) *corev1.ConfigMap {
	return &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name}, Data: data}
}

// mountOf returns the agent container's mount at path, and its volume.
func mountOf(t *testing.T, pod *corev1.Pod, path string) (corev1.VolumeMount, corev1.Volume) {
	t.Helper()
	for _, m := range pod.Spec.Containers[0].VolumeMounts {
		if m.MountPath == path {
			for _, v := range pod.Spec.Volumes {
				if v.Name == m.Name {
					return m, v
				}
			}
			t.Fatalf("mount %s: no volume %s", path, m.Name)
		}
	}
	t.Fatalf("the agent container has no mount at %s; mounts: %+v", path, pod.Spec.Containers[0].VolumeMounts)
	return corev1.VolumeMount{}, corev1.Volume{}
}

// contextConfigMap returns the Task's context ConfigMap (named like its Pod), or nil.
func contextConfigMap(t *testing.T, pod *corev1.Pod) *corev1.ConfigMap {
	t.Helper()
	cm := &corev1.ConfigMap{}
	if !exists(t, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Namespace: pod.Namespace, Name: pod.Name}}) {
		return nil
	}
	if err := env.Client.Get(context.Background(), client.ObjectKey{Namespace: pod.Namespace, Name: pod.Name}, cm); err != nil {
		t.Fatal(err)
	}
	return cm
}

// TestContexts: Text, ConfigMap, Git and Runtime contexts of the Agent, then of the Task, for a
// workspace that is not the default (/src): mounted ones become files with their fileMode,
// the others are gathered, in order, into /src/.kubeopencode/context.md; the description is
// /src/task.md. Writes: one more than without contexts (the context ConfigMap, created before
// the Pod, owned by the Task).
func TestContexts(t *testing.T) {
	ctx := context.Background()
	ns := env.Namespace(ctx, t)
	log := &writeLog{}
	startOperator(t, []string{ns}, func(o *setup.Options) {
		o.NewClient = func(cfg *rest.Config, opts client.Options) (client.Client, error) {
			c, err := client.New(cfg, opts)
			return &countingClient{Client: c, log: log}, err
		}
	})
	create(t,
		configMap(ns, "agent-guide", map[string]string{"guide.md": "agent guide"}),
		configMap(ns, "agent-inline", map[string]string{"b": "agent inline b", "a": "agent inline a"}),
		configMap(ns, "task-files", map[string]string{"one.txt": "1", "two.txt": "2"}),
		configMap(ns, "task-inline", map[string]string{"notes": "task inline notes", "other": "not selected"}),
	)
	ag := agent(ns, "agent", func(a *v1alpha1.Agent) {
		a.Spec.WorkspaceDir = "/src"
		a.Spec.Contexts = []v1alpha1.ContextItem{
			{Name: "rules", Type: v1alpha1.ContextTypeText, Text: "agent rules"},
			{Name: "runtime", Type: v1alpha1.ContextTypeRuntime},
			{Name: "guide", Type: v1alpha1.ContextTypeConfigMap, ConfigMap: &v1alpha1.ConfigMapContext{Name: "agent-guide", Key: "guide.md"},
				MountPath: "/src/docs/guide.md", FileMode: ptr.To[v1alpha1.FileMode](0o440)},
			{Name: "inline", Type: v1alpha1.ContextTypeConfigMap, ConfigMap: &v1alpha1.ConfigMapContext{Name: "agent-inline"}},
			{Name: "app", Type: v1alpha1.ContextTypeGit, Git: &v1alpha1.GitContext{Repository: "https://git.example.com/web/app.git", Ref: "v1.2.0", Depth: ptr.To[int32](5)},
				MountPath: "/src/app"},
		}
	})
	create(t, ag)
	tk := task(ns, "ctx", ns, ag.Name, func(tk *v1alpha1.Task) {
		tk.Spec.Contexts = []v1alpha1.ContextItem{
			{Name: "notes", Type: v1alpha1.ContextTypeText, Text: "task notes", MountPath: "/src/notes.md", FileMode: ptr.To[v1alpha1.FileMode](0o600)},
			{Name: "files", Type: v1alpha1.ContextTypeConfigMap, ConfigMap: &v1alpha1.ConfigMapContext{Name: "task-files"}, MountPath: "/src/files"},
			{Name: "task-inline", Type: v1alpha1.ContextTypeConfigMap, ConfigMap: &v1alpha1.ConfigMapContext{Name: "task-inline", Key: "notes"}},
			{Name: "missing", Type: v1alpha1.ContextTypeConfigMap, ConfigMap: &v1alpha1.ConfigMapContext{Name: "nowhere", Optional: ptr.To(true)}},
			{Name: "lib", Type: v1alpha1.ContextTypeGit, Git: &v1alpha1.GitContext{Repository: "https://git.example.com/pub/lib.git", Path: "pkg"}},
		}
	})
	create(t, tk)
	pod := waitPod(t, waitPhase(t, tk, v1alpha1.TaskPhaseRunning))
	cm := contextConfigMap(t, pod)
	if cm == nil {
		t.Fatal("no context ConfigMap")
	}

	// task.md and context.md in the non-default workspace.
	if m, v := mountOf(t, pod, "/src/task.md"); v.DownwardAPI == nil || !m.ReadOnly {
		t.Errorf("task.md: %+v %+v, want a read-only downward API file", m, v)
	}
	_, v := mountOf(t, pod, "/src/.kubeopencode/context.md")
	if v.ConfigMap == nil || v.ConfigMap.Name != cm.Name || v.ConfigMap.Items[0].Key != "context.md" {
		t.Errorf("context.md volume %+v, want key context.md of %s", v, cm.Name)
	}
	md := cm.Data["context.md"]
	order := []string{"## rules", "agent rules", "## runtime", "Task: " + ns + "/ctx", "Workspace: /src", "## inline", "### a", "agent inline a", "### b", "agent inline b",
		"## task-inline", "task inline notes", "## lib", "https://git.example.com/pub/lib.git, path pkg, is checked out at /src/lib."}
	last := -1
	for _, want := range order {
		i := strings.Index(md, want)
		if i < 0 || i < last {
			t.Errorf("context.md does not have %q after the previous item:\n%s", want, md)
		}
		last = i
	}
	for _, absent := range []string{"not selected", "task notes", "agent guide", "## missing"} {
		if strings.Contains(md, absent) {
			t.Errorf("context.md contains %q:\n%s", absent, md)
		}
	}

	// Mounted contexts: files with their modes.
	if m, v := mountOf(t, pod, "/src/docs/guide.md"); v.ConfigMap == nil || v.ConfigMap.Name != "agent-guide" || m.SubPath != "guide.md" || *v.ConfigMap.DefaultMode != 0o440 {
		t.Errorf("Agent ConfigMap mount %+v %+v, want agent-guide/guide.md mode 0440 (the Agent's own namespace)", m, v)
	}
	if _, v := mountOf(t, pod, "/src/notes.md"); v.ConfigMap == nil || v.ConfigMap.Name != cm.Name || *v.ConfigMap.Items[0].Mode != 0o600 ||
		cm.Data[v.ConfigMap.Items[0].Key] != "task notes" {
		t.Errorf("Text mount %+v, want mode 0600 from the context ConfigMap", v)
	}
	_, v = mountOf(t, pod, "/src/files")
	var items []string
	for _, it := range v.ConfigMap.Items {
		items = append(items, it.Path+"="+cm.Data[it.Key])
	}
	if v.ConfigMap.Name != cm.Name || !slices.Equal(items, []string{"one.txt=1", "two.txt=2"}) {
		t.Errorf("Task ConfigMap directory: %s %v, want the copied keys", v.ConfigMap.Name, items)
	}
	if m, v := mountOf(t, pod, "/src/app"); v.EmptyDir == nil || m.SubPath != "repo" || m.ReadOnly {
		t.Errorf("Git mount %+v %+v, want the writable checkout", m, v)
	}
	if m, _ := mountOf(t, pod, "/src/lib"); m.SubPath != "repo/pkg" {
		t.Errorf("Git mount without mountPath %+v, want <workspace>/lib from repo/pkg", m)
	}
	var inits []string
	for _, c := range pod.Spec.InitContainers {
		inits = append(inits, c.Name)
	}
	if diff := cmp.Diff([]string{"agent-init", "git-clone-4", "git-clone-9"}, inits); diff != "" {
		t.Errorf("init containers (-want +got):\n%s", diff)
	}
	clone := pod.Spec.InitContainers[1]
	wantCmd := []string{"/usr/local/bin/kubeopencode", "git-clone", "--repository=https://git.example.com/web/app.git", "--depth=5",
		"--dest=/kubeopencode/git/repo", "--ref=v1.2.0"}
	if diff := cmp.Diff(wantCmd, clone.Command); diff != "" {
		t.Errorf("git-clone command (-want +got):\n%s", diff)
	}

	// The ConfigMap belongs to the Task: UID label, owner reference.
	if cm.Labels[v1alpha1.TaskUIDLabel] != string(tk.UID) || len(cm.OwnerReferences) != 1 || cm.OwnerReferences[0].UID != tk.UID {
		t.Errorf("context ConfigMap metadata %+v, want the Task's UID label and owner reference", cm.ObjectMeta)
	}

	// Writes: ConfigMap, Pod, Running, Completed (same namespace: no finalizer).
	setPodStatus(t, pod, phase(corev1.PodSucceeded))
	waitPhase(t, tk, v1alpha1.TaskPhaseCompleted)
	want := []string{"create *v1.ConfigMap " + ns + "/" + pod.Name, "create Pod " + ns + "/" + pod.Name,
		"update Task/status " + ns + "/ctx", "update Task/status " + ns + "/ctx"}
	got := settle(t, len(want), func() []string {
		log.mu.Lock()
		defer log.mu.Unlock()
		var got []string
		for _, w := range log.writes {
			if w.err == nil && (strings.HasSuffix(w.what, ns+"/ctx") || strings.HasSuffix(w.what, ns+"/"+pod.Name)) {
				got = append(got, w.what)
			}
		}
		return got
	})
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("writes (-want +got):\n%s", diff)
	}
}

// TestT3TaskConfigMapsResolveInTheTaskNamespace: a Task's ConfigMap context is read in the
// Task's namespace and copied into the operator's ConfigMap in the Agent's namespace, even when a
// ConfigMap of the same name exists there; one that exists only in the Agent's namespace gives
// the Task nothing (Failed, no Pod, no copy). Across namespaces the finalizer deletes the copy.
func TestT3TaskConfigMapsResolveInTheTaskNamespace(t *testing.T) {
	ctx := context.Background()
	agentNS := env.Namespace(ctx, t)
	teamNS := env.Namespace(ctx, t)
	startOperator(t, []string{agentNS, teamNS})
	create(t,
		configMap(agentNS, "shared", map[string]string{"k": "PLATFORM SECRET CONTENT"}),
		configMap(teamNS, "shared", map[string]string{"k": "team content"}),
		configMap(agentNS, "agent-only", map[string]string{"k": "PLATFORM ONLY"}),
	)
	ag := agent(agentNS, "agent", func(a *v1alpha1.Agent) { a.Spec.AllowedNamespaces = []string{teamNS} })
	create(t, ag)
	withCM := func(name, mountPath string) func(*v1alpha1.Task) {
		return func(tk *v1alpha1.Task) {
			tk.Spec.Contexts = []v1alpha1.ContextItem{{Type: v1alpha1.ContextTypeConfigMap,
				ConfigMap: &v1alpha1.ConfigMapContext{Name: name, Key: "k"}, MountPath: v1alpha1.ContextPath(mountPath)}}
		}
	}

	for _, mountPath := range []string{"/workspace/shared.txt", ""} {
		tk := task(teamNS, "shared"+fmt.Sprint(len(mountPath)), agentNS, ag.Name, withCM("shared", mountPath))
		create(t, tk)
		pod := waitPod(t, waitPhase(t, tk, v1alpha1.TaskPhaseRunning))
		for _, v := range pod.Spec.Volumes {
			if v.ConfigMap != nil && v.ConfigMap.Name != pod.Name {
				t.Errorf("the Pod mounts ConfigMap %s of the Agent's namespace; only its own copy %s is allowed", v.ConfigMap.Name, pod.Name)
			}
		}
		cm := contextConfigMap(t, pod)
		all := fmt.Sprint(cm.Data)
		if !strings.Contains(all, "team content") || strings.Contains(all, "PLATFORM") {
			t.Errorf("mountPath %q: the copy holds %v, want the Task namespace's content only", mountPath, cm.Data)
		}
		if len(cm.OwnerReferences) != 0 {
			t.Errorf("a cross-namespace copy has owner references %+v", cm.OwnerReferences)
		}
		// Deleting the Task deletes the copy in the Agent's namespace (finalizer, by UID label).
		if err := env.Client.Delete(ctx, tk); err != nil {
			t.Fatal(err)
		}
		waitGone(t, cm)
		waitGone(t, tk)
	}

	tk := task(teamNS, "agent-only", agentNS, ag.Name, withCM("agent-only", "/workspace/x.txt"))
	create(t, tk)
	got := waitPhase(t, tk, v1alpha1.TaskPhaseFailed)
	c := succeeded(got)
	if c.Reason != v1alpha1.ReasonInvalidConfiguration || !strings.Contains(c.Message, "ConfigMap "+teamNS+"/agent-only does not exist") {
		t.Errorf("condition %+v, want InvalidConfiguration naming %s/agent-only", c, teamNS)
	}
	if strings.Contains(c.Message, "PLATFORM") {
		t.Errorf("the refusal discloses the Agent namespace's content: %s", c.Message)
	}
	if pods := podsOf(t, got); len(pods) != 0 {
		t.Errorf("a refused Task has Pods: %v", pods)
	}
	list := &corev1.ConfigMapList{}
	if err := env.Client.List(ctx, list, client.MatchingLabels{v1alpha1.TaskUIDLabel: string(got.UID)}); err != nil {
		t.Fatal(err)
	}
	if len(list.Items) != 0 {
		t.Errorf("a refused Task has a context ConfigMap: %v", list.Items)
	}
}

// TestT11ContextPathConflicts: a Task context whose mountPath collides with the workspace,
// task.md, context.md, a credential file or an Agent context (equal or nested) fails the Task
// with PathConflict, a message naming both paths and an Event; no Pod is created.
func TestT11ContextPathConflicts(t *testing.T) {
	ctx := context.Background()
	ns := env.Namespace(ctx, t)
	startOperator(t, []string{ns})
	ag := agent(ns, "agent", func(a *v1alpha1.Agent) {
		a.Spec.WorkspaceDir = "/src"
		a.Spec.Credentials = []v1alpha1.Credential{{Name: "key", SecretRef: v1alpha1.SecretReference{Name: "s", Key: "k"}, MountPath: "/home/agent/.ssh/id"}}
		a.Spec.Contexts = []v1alpha1.ContextItem{{Name: "app", Type: v1alpha1.ContextTypeText, Text: "x", MountPath: "/src/app"}}
	})
	create(t, ag)
	// End to end for two kinds (a credential, an Agent context); taskpod's
	// TestContextPathConflicts covers every kind of collision.
	cases := []struct{ mountPath, other string }{
		{"/home/agent/.ssh", "/home/agent/.ssh/id"},
		{"/src/app/sub", "/src/app"},
	}
	for i, tc := range cases {
		tk := task(ns, fmt.Sprintf("conflict-%d", i), ns, ag.Name, func(tk *v1alpha1.Task) {
			tk.Spec.Contexts = []v1alpha1.ContextItem{{Name: "mine", Type: v1alpha1.ContextTypeText, Text: "y", MountPath: v1alpha1.ContextPath(tc.mountPath)}}
		})
		create(t, tk)
		got := waitPhase(t, tk, v1alpha1.TaskPhaseFailed)
		c := succeeded(got)
		if c.Reason != v1alpha1.ReasonPathConflict || !strings.Contains(c.Message, `"`+tc.mountPath+`"`) || !strings.Contains(c.Message, `"`+tc.other+`"`) {
			t.Errorf("%s: condition %s %q, want PathConflict naming %q and %q", tc.mountPath, c.Reason, c.Message, tc.mountPath, tc.other)
		}
		if e := waitEvent(t, got, v1alpha1.ReasonPathConflict); !strings.Contains(e.Note, tc.mountPath) {
			t.Errorf("%s: Event %q does not name the path", tc.mountPath, e.Note)
		}
		if pods := podsOf(t, got); len(pods) != 0 {
			t.Errorf("%s: Pods were created", tc.mountPath)
		}
	}
}
