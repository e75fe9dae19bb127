package taskpod

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"

	"github.com/kubeopencode/kubeopencode/api/v1alpha1"
)

// mountAt returns the agent container's mount at path and its volume, or nils.
func mountAt(pod *corev1.Pod, path string) (*corev1.VolumeMount, *corev1.Volume) {
	for i, m := range pod.Spec.Containers[0].VolumeMounts {
		if m.MountPath != path {
			continue
		}
		for j := range pod.Spec.Volumes {
			if pod.Spec.Volumes[j].Name == m.Name {
				return &pod.Spec.Containers[0].VolumeMounts[i], &pod.Spec.Volumes[j]
			}
		}
	}
	return nil, nil
}

// TestContexts: the golden "contexts" translation, asserted by meaning: context.md gathers, in
// order, the Agent's then the Task's inline contexts (a selected key only; an optional missing
// ConfigMap adds nothing); mounted contexts are files with their modes, a Task's ConfigMap is
// copied (T3), Git contexts are writable checkouts with one init container each.
func TestContexts(t *testing.T) {
	in := goldenCases()[1].in
	res, err := Build(in)
	if err != nil {
		t.Fatal(err)
	}
	pod, cm := res.Pod, res.ContextConfigMap
	if cm == nil || cm.Name != pod.Name || cm.Namespace != pod.Namespace || !ptr.Deref(cm.Immutable, false) {
		t.Fatalf("context ConfigMap %+v, want an immutable one named like the Pod", cm)
	}
	if cm.Labels[v1alpha1.TaskUIDLabel] != string(in.Task.UID) || cm.Labels[v1alpha1.CreatedByLabel] != v1alpha1.CreatedByOperator {
		t.Errorf("context ConfigMap labels %v, want the Task's UID and the operator's mark", cm.Labels)
	}
	md := cm.Data[ContextFileKey]
	order := []string{"## rules", "agent rules", "## runtime", "Task: team-web/ctx", "Workspace: /src", "## inline", "### a", "agent inline a", "### b", "agent inline b",
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
	if m, v := mountAt(pod, "/src/.kubeopencode/context.md"); m == nil || v.ConfigMap == nil || v.ConfigMap.Name != cm.Name {
		t.Errorf("context.md mount %+v %+v, want a file of %s", m, v, cm.Name)
	}
	if m, v := mountAt(pod, "/src/docs/guide.md"); m == nil || v.ConfigMap == nil || v.ConfigMap.Name != "agent-guide" || m.SubPath != "guide.md" || *v.ConfigMap.DefaultMode != 0o440 {
		t.Errorf("Agent ConfigMap mount %+v %+v, want agent-guide/guide.md mode 0440 (the Agent's own namespace)", m, v)
	}
	if m, v := mountAt(pod, "/src/notes.md"); m == nil || v.ConfigMap == nil || v.ConfigMap.Name != cm.Name || *v.ConfigMap.Items[0].Mode != 0o600 ||
		cm.Data[v.ConfigMap.Items[0].Key] != "task notes" {
		t.Errorf("Text mount %+v, want mode 0600 from the context ConfigMap", v)
	}
	m, v := mountAt(pod, "/src/files")
	if m == nil {
		t.Fatal("no mount at /src/files")
	}
	var items []string
	for _, it := range v.ConfigMap.Items {
		items = append(items, it.Path+"="+cm.Data[it.Key])
	}
	if v.ConfigMap.Name != cm.Name || !slices.Equal(items, []string{"one.txt=1", "two.txt=2"}) {
		t.Errorf("Task ConfigMap directory: %s %v, want the copied keys", v.ConfigMap.Name, items)
	}
	if m, v := mountAt(pod, "/src/app"); m == nil || v.EmptyDir == nil || m.SubPath != "repo" || m.ReadOnly {
		t.Errorf("Git mount %+v %+v, want the writable checkout", m, v)
	}
	if m, _ := mountAt(pod, "/src/lib"); m == nil || m.SubPath != "repo/pkg" {
		t.Errorf("Git mount without mountPath %+v, want <workspace>/lib from repo/pkg", m)
	}
	var inits []string
	for _, c := range pod.Spec.InitContainers {
		inits = append(inits, c.Name)
	}
	if diff := cmp.Diff([]string{"stage-credentials", "agent-init", "git-clone-4", "git-clone-9"}, inits); diff != "" {
		t.Errorf("init containers (-want +got):\n%s", diff)
	}
}

// TestT3TaskConfigMapsResolveInTheTaskNamespace: Build takes a Task's ConfigMaps only from
// ConfigMaps.Task (the caller reads them in the Task's namespace) and an Agent's only from
// ConfigMaps.Agent: a ConfigMap of the Agent's namespace with the name a Task gives is never
// used for the Task, and one missing from the Task's namespace fails it, naming that namespace.
func TestT3TaskConfigMapsResolveInTheTaskNamespace(t *testing.T) {
	a := &v1alpha1.Agent{ObjectMeta: metav1.ObjectMeta{Namespace: "platform", Name: "a"}, Spec: v1alpha1.AgentSpec{ServiceAccountName: "sa"}}
	tk := &v1alpha1.Task{ObjectMeta: metav1.ObjectMeta{Namespace: "team", Name: "t", UID: "u"},
		Spec: v1alpha1.TaskSpec{AgentRef: v1alpha1.AgentReference{Name: "a", Namespace: "platform"}, Contexts: []v1alpha1.ContextItem{
			{Type: v1alpha1.ContextTypeConfigMap, ConfigMap: &v1alpha1.ConfigMapContext{Name: "shared"}, MountPath: "shared"},
			{Type: v1alpha1.ContextTypeConfigMap, ConfigMap: &v1alpha1.ConfigMapContext{Name: "shared"}},
		}}}
	platform := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Namespace: "platform", Name: "shared"}, Data: map[string]string{"k": "PLATFORM"}}
	team := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Namespace: "team", Name: "shared"}, Data: map[string]string{"k": "team content"}}

	inTask, inAgent := ConfigMapsToRead(tk, a)
	if diff := cmp.Diff([]string{"shared"}, inTask); diff != "" || len(inAgent) != 0 {
		t.Errorf("ConfigMapsToRead = %v, %v; want [shared] in the Task's namespace only (-want +got):\n%s", inTask, inAgent, diff)
	}
	res, err := Build(Input{Task: tk, Agent: a, Defaults: testDefaults,
		ConfigMaps: &ConfigMaps{Task: map[string]*corev1.ConfigMap{"shared": team}, Agent: map[string]*corev1.ConfigMap{"shared": platform}}})
	if err != nil {
		t.Fatal(err)
	}
	var all []string
	for _, v := range res.ContextConfigMap.Data {
		all = append(all, v)
	}
	if s := strings.Join(all, "\n"); !strings.Contains(s, "team content") || strings.Contains(s, "PLATFORM") {
		t.Errorf("the copy holds %v, want the Task namespace's content only", res.ContextConfigMap.Data)
	}
	for _, v := range res.Pod.Spec.Volumes {
		if v.ConfigMap != nil && v.ConfigMap.Name == "shared" {
			t.Errorf("the Pod mounts the Agent namespace's ConfigMap %q", v.ConfigMap.Name)
		}
	}

	_, err = Build(Input{Task: tk, Agent: a, Defaults: testDefaults,
		ConfigMaps: &ConfigMaps{Task: map[string]*corev1.ConfigMap{"shared": nil}, Agent: map[string]*corev1.ConfigMap{"shared": platform}}})
	var te *Error
	if !errors.As(err, &te) || te.Reason != v1alpha1.ReasonInvalidConfiguration || !strings.Contains(err.Error(), "ConfigMap team/shared does not exist") ||
		strings.Contains(err.Error(), "PLATFORM") {
		t.Errorf("missing in the Task's namespace: %v, want InvalidConfiguration naming team/shared", err)
	}
	if te != nil && len(te.Task) != 2 {
		t.Errorf("problems %v, want both contexts reported", te.Task)
	}
}

// TestContextPathConflicts is T11 and T20 without a control plane: a Task context whose path
// collides with the workspace, task.md, .kubeopencode, a credential, an Agent context, HOME, the
// Agent's command, or lies outside the workspace is a PathConflict naming both paths; paths
// inside the workspace are mounted where they resolve.
func TestContextPathConflicts(t *testing.T) {
	src := &v1alpha1.Agent{ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: "src"},
		Spec: v1alpha1.AgentSpec{WorkspaceDir: "/src", ServiceAccountName: "sa",
			Credentials: []v1alpha1.Credential{{Name: "key", SecretRef: v1alpha1.SecretReference{Name: "s", Key: "k"}, MountPath: "/home/agent/.ssh/id"}},
			Contexts:    []v1alpha1.ContextItem{{Name: "app", Type: v1alpha1.ContextTypeText, Text: "x", MountPath: "/src/app"}}}}
	ws := &v1alpha1.Agent{ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: "ws"},
		Spec: v1alpha1.AgentSpec{ServiceAccountName: "sa", Command: []string{"/usr/local/bin/agent", "run"},
			Credentials: []v1alpha1.Credential{{Name: "key", SecretRef: v1alpha1.SecretReference{Name: "s", Key: "k"}, MountPath: "/workspace/.secrets/key"}},
			Contexts:    []v1alpha1.ContextItem{{Name: "guides", Type: v1alpha1.ContextTypeText, Text: "x", MountPath: "/workspace/guides"}}}}
	home := &v1alpha1.Agent{ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: "home"}, Spec: v1alpha1.AgentSpec{WorkspaceDir: "/home", ServiceAccountName: "sa"}}
	refused := []struct {
		agent     *v1alpha1.Agent
		mountPath string
		names     []string // quoted in the message
	}{
		// T11
		{src, "/src", []string{"/src"}},
		{src, "/src/task.md", []string{"/src/task.md"}},
		{src, "/src/.kubeopencode/context.md", []string{"/src/.kubeopencode/context.md", "/src/.kubeopencode"}},
		{src, "/home/agent/.ssh/id", []string{"/home/agent/.ssh/id"}},
		{src, "/home/agent/.ssh", []string{"/home/agent/.ssh", "/home/agent/.ssh/id"}},
		{src, "/src/app", []string{"/src/app"}},
		{src, "/src/app/sub", []string{"/src/app/sub", "/src/app"}},
		// T20
		{ws, "/etc/hosts", []string{"/etc/hosts", "/workspace"}},
		{ws, "/etc/ssl/certs/ca-certificates.crt", []string{"/etc/ssl/certs/ca-certificates.crt", "/workspace"}},
		{ws, "/usr/local/bin/agent", []string{"/usr/local/bin/agent"}},
		{ws, "/home/agent/.bashrc", []string{"/home/agent/.bashrc"}},
		{ws, "/workspace/guides", []string{"/workspace/guides"}},
		{ws, "guides/extra.md", []string{"/workspace/guides/extra.md", "/workspace/guides"}},
		{ws, "/workspace/.secrets", []string{"/workspace/.secrets", "/workspace/.secrets/key"}},
		{ws, ".secrets/key", []string{"/workspace/.secrets/key"}},
		{home, "agent/.config/git/config", []string{"/home/agent/.config/git/config", "/home/agent"}},
	}
	for _, tc := range refused {
		t.Run(tc.agent.Name+":"+tc.mountPath, func(t *testing.T) {
			_, _, err := build(taskWithContext(tc.agent, tc.mountPath), tc.agent, nil, nil)
			var te *Error
			if !errors.As(err, &te) || te.Reason != v1alpha1.ReasonPathConflict {
				t.Fatalf("Build error %v, want PathConflict", err)
			}
			if len(te.Task) != 1 || te.Task[0].Field != "spec.contexts[0].mountPath" || len(te.Agent) != 0 {
				t.Errorf("problems: Agent %v, Task %v; want one, at the Task's spec.contexts[0].mountPath", te.Agent, te.Task)
			}
			for _, n := range tc.names {
				if !strings.Contains(err.Error(), `"`+n+`"`) {
					t.Errorf("message %q does not name %q", err, n)
				}
			}
		})
	}
	for _, tc := range []struct{ mountPath, resolved string }{
		{"notes.md", "/workspace/notes.md"}, {"docs/design.md", "/workspace/docs/design.md"}, {"/workspace/guide.md", "/workspace/guide.md"},
	} {
		pod, _, err := build(taskWithContext(ws, tc.mountPath), ws, nil, nil)
		if err != nil {
			t.Errorf("%s: %v", tc.mountPath, err)
			continue
		}
		if m, _ := mountAt(pod, tc.resolved); m == nil {
			t.Errorf("%s: no mount at %s in the agent container", tc.mountPath, tc.resolved)
		}
	}
}

// TestEveryProblemAtOnce: Build reports every problem of the Agent and of the Task in one
// error, each at its field path, instead of the first; one conflict makes it a PathConflict; a
// Task of another namespace sees its own problems and only that the Agent has some.
func TestEveryProblemAtOnce(t *testing.T) {
	a := &v1alpha1.Agent{ObjectMeta: metav1.ObjectMeta{Namespace: "platform", Name: "a"},
		Spec: v1alpha1.AgentSpec{ServiceAccountName: "sa", Config: "{not json", AllowedNamespaces: []string{"team"},
			Credentials: []v1alpha1.Credential{{Name: "all", SecretRef: v1alpha1.SecretReference{Name: "secret-of-platform"}}},
			Contexts: []v1alpha1.ContextItem{
				{Name: "one", Type: v1alpha1.ContextTypeText, Text: "1", MountPath: "/opt/guides"},
				{Name: "two", Type: v1alpha1.ContextTypeText, Text: "2", MountPath: "/opt/guides/two"},
				{Name: "repo", Type: v1alpha1.ContextTypeGit, Git: &v1alpha1.GitContext{Repository: "http://insecure.example.com/r.git"}, MountPath: "/opt/repo"},
			}}}
	tk := &v1alpha1.Task{ObjectMeta: metav1.ObjectMeta{Namespace: "team", Name: "t", UID: "u"},
		Spec: v1alpha1.TaskSpec{AgentRef: v1alpha1.AgentReference{Name: "a", Namespace: "platform"}, Contexts: []v1alpha1.ContextItem{
			{Name: "up", Type: v1alpha1.ContextTypeText, Text: "x", MountPath: "../etc/passwd"},
			{Name: "gone", Type: v1alpha1.ContextTypeConfigMap, ConfigMap: &v1alpha1.ConfigMapContext{Name: "gone"}},
			{Name: "theirs", Type: v1alpha1.ContextTypeGit, Git: &v1alpha1.GitContext{Repository: "https://git.example.com/r.git", SecretRef: &v1alpha1.LocalSecretReference{Name: "s"}}},
		}}}
	_, err := Build(Input{Task: tk, Agent: a, Defaults: testDefaults, ConfigMaps: &ConfigMaps{}})
	var te *Error
	if !errors.As(err, &te) {
		t.Fatalf("Build error %v, want an *Error", err)
	}
	var agentFields, taskFields []string
	for _, e := range te.Agent {
		agentFields = append(agentFields, e.Field)
	}
	for _, e := range te.Task {
		taskFields = append(taskFields, e.Field)
	}
	wantAgent := []string{"spec.config", "spec.credentials[0].envPrefix", "spec.contexts[1].mountPath", "spec.contexts[2].git.repository"}
	wantTask := []string{"spec.contexts[0].mountPath", "spec.contexts[1].configMap.name", "spec.contexts[2].git.secretRef"}
	if diff := cmp.Diff(wantAgent, agentFields); diff != "" {
		t.Errorf("Agent problems (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(wantTask, taskFields); diff != "" {
		t.Errorf("Task problems (-want +got):\n%s", diff)
	}
	if te.Reason != v1alpha1.ReasonPathConflict {
		t.Errorf("reason %s, want %s", te.Reason, v1alpha1.ReasonPathConflict)
	}
	msg := err.Error()
	t.Logf("the Task's author reads: %s\nthe platform team reads: %s", msg, te.AgentMessage())
	for _, secret := range []string{"secret-of-platform", "/opt/guides", "insecure.example.com", "valid JSON"} {
		if strings.Contains(msg, secret) {
			t.Errorf("the Task's author reads the Agent's detail %q: %s", secret, msg)
		}
	}
	for _, own := range []string{"../etc/passwd", "ConfigMap team/gone does not exist", "git.secretRef", "Ready condition"} {
		if !strings.Contains(msg, own) {
			t.Errorf("message does not say %q: %s", own, msg)
		}
	}
	if am := te.AgentMessage(); !strings.Contains(am, "/opt/guides/two") || !strings.Contains(am, "envPrefix") {
		t.Errorf("AgentMessage %q, want the Agent's details for its Ready condition", am)
	}
}

// TestT13GitCredentialsBoundToTheRepositoryHost: each Git context is cloned by its own
// git-clone init container from the system image; its Secret (only the keys the transport
// needs) is mounted into that container and no other, and the credentials may go only to the
// repository's own host (--allowed-host); SSH always gets known_hosts. A public repository gets
// no Secret and no host.
func TestT13GitCredentialsBoundToTheRepositoryHost(t *testing.T) {
	a := &v1alpha1.Agent{ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: "a"}, Spec: v1alpha1.AgentSpec{ServiceAccountName: "sa",
		Credentials: []v1alpha1.Credential{{Name: "gh", SecretRef: v1alpha1.SecretReference{Name: "gh", Key: "token"}, MountPath: "/home/agent/.token"}},
		Contexts: []v1alpha1.ContextItem{
			{Name: "https", Type: v1alpha1.ContextTypeGit, MountPath: "/workspace/app",
				Git: &v1alpha1.GitContext{Repository: "https://git.example.com:8443/web/app.git", SecretRef: &v1alpha1.LocalSecretReference{Name: "git-https"}}},
			{Name: "ssh", Type: v1alpha1.ContextTypeGit, MountPath: "/workspace/infra",
				Git: &v1alpha1.GitContext{Repository: "git@ssh.example.com:platform/infra.git", Ref: "0123456789abcdef0123456789abcdef01234567", Depth: ptr.To[int32](0),
					SecretRef: &v1alpha1.LocalSecretReference{Name: "git-ssh"}}},
		}}}
	tk := ValidationTask(a)
	tk.Spec.Contexts = []v1alpha1.ContextItem{{Name: "public", Type: v1alpha1.ContextTypeGit, MountPath: "/workspace/public",
		Git: &v1alpha1.GitContext{Repository: "https://elsewhere.example.org/pub.git"}}}
	pod, _, err := build(tk, a, nil, &ConfigMaps{})
	if err != nil {
		t.Fatal(err)
	}
	secretOf := map[string]string{}
	keysOf := map[string][]string{}
	for _, v := range pod.Spec.Volumes {
		if v.Secret != nil {
			secretOf[v.Name] = v.Secret.SecretName
			for _, it := range v.Secret.Items {
				keysOf[v.Secret.SecretName] = append(keysOf[v.Secret.SecretName], it.Key)
			}
		}
	}
	type clone struct {
		Command []string
		Secrets []string
		Keys    [][]string
	}
	got := map[string]clone{}
	for _, c := range pod.Spec.InitContainers {
		var cl clone
		cl.Command = c.Command
		for _, m := range c.VolumeMounts {
			if s, ok := secretOf[m.Name]; ok {
				cl.Secrets = append(cl.Secrets, s)
				cl.Keys = append(cl.Keys, keysOf[s])
			}
		}
		if !strings.HasPrefix(c.Name, "git-clone-") {
			if slices.Contains(cl.Secrets, "git-https") || slices.Contains(cl.Secrets, "git-ssh") {
				t.Errorf("%s sees a Git Secret: %v", c.Name, cl.Secrets)
			}
			continue
		}
		if c.Image != testDefaults.SystemImage || len(c.Args) > 0 || len(c.EnvFrom) > 0 {
			t.Errorf("%s: image %s, args %v, envFrom %v; want the system image and the command only", c.Name, c.Image, c.Args, c.EnvFrom)
		}
		for _, e := range c.Env {
			if e.ValueFrom != nil {
				t.Errorf("%s has environment from a source: %+v", c.Name, e)
			}
		}
		got[c.Name] = cl
	}
	bin := []string{SystemBinary, "git-clone"}
	want := map[string]clone{
		"git-clone-0": {append(bin, "--repository=https://git.example.com:8443/web/app.git", "--depth=1", "--dest=/kubeopencode/git/repo",
			"--username-file=/kubeopencode/git-secret/username", "--token-file=/kubeopencode/git-secret/password", "--allowed-host=git.example.com:8443"),
			[]string{"git-https"}, [][]string{{"username", "password"}}},
		"git-clone-1": {append(bin, "--repository=git@ssh.example.com:platform/infra.git", "--depth=0", "--dest=/kubeopencode/git/repo",
			"--ref=0123456789abcdef0123456789abcdef01234567",
			"--ssh-key-file=/kubeopencode/git-secret/ssh-privatekey", "--known-hosts-file=/kubeopencode/git-secret/known_hosts", "--allowed-host=ssh.example.com"),
			[]string{"git-ssh"}, [][]string{{"ssh-privatekey", "known_hosts"}}},
		"git-clone-2": {Command: append(bin, "--repository=https://elsewhere.example.org/pub.git", "--depth=1", "--dest=/kubeopencode/git/repo")},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("git-clone containers (-want +got):\n%s", diff)
	}
	for _, m := range pod.Spec.Containers[0].VolumeMounts {
		if s := secretOf[m.Name]; s == "git-https" || s == "git-ssh" {
			t.Errorf("the agent container mounts the Git Secret %s at %s", s, m.MountPath)
		}
	}
}

// TestConfigMapsToRead: the Task's ConfigMap contexts (mounted or not) in the Task's namespace,
// the Agent's inline ones in the Agent's, each name once; the Agent's mounted ones are not read.
func TestConfigMapsToRead(t *testing.T) {
	ref := func(name string, mountPath v1alpha1.ContextPath) v1alpha1.ContextItem {
		return v1alpha1.ContextItem{Type: v1alpha1.ContextTypeConfigMap, ConfigMap: &v1alpha1.ConfigMapContext{Name: name}, MountPath: mountPath}
	}
	a := &v1alpha1.Agent{Spec: v1alpha1.AgentSpec{Contexts: []v1alpha1.ContextItem{ref("mounted", "/opt/m"), ref("inline", ""), ref("inline", ""),
		{Type: v1alpha1.ContextTypeText, Text: "x"}}}}
	tk := &v1alpha1.Task{Spec: v1alpha1.TaskSpec{Contexts: []v1alpha1.ContextItem{ref("b", "b"), ref("a", ""), ref("b", "")}}}
	inTask, inAgent := ConfigMapsToRead(tk, a)
	if diff := cmp.Diff([][]string{{"b", "a"}, {"inline"}}, [][]string{inTask, inAgent}); diff != "" {
		t.Errorf("ConfigMapsToRead (-want +got):\n%s", diff)
	}
}

func ExampleConfigMapsToRead() {
	agent := &v1alpha1.Agent{Spec: v1alpha1.AgentSpec{Contexts: []v1alpha1.ContextItem{
		{Type: v1alpha1.ContextTypeConfigMap, ConfigMap: &v1alpha1.ConfigMapContext{Name: "team-guide"}},
	}}}
	task := &v1alpha1.Task{Spec: v1alpha1.TaskSpec{Contexts: []v1alpha1.ContextItem{
		{Type: v1alpha1.ContextTypeConfigMap, ConfigMap: &v1alpha1.ConfigMapContext{Name: "design-notes"}, MountPath: "docs"},
	}}}
	inTask, inAgent := ConfigMapsToRead(task, agent)
	fmt.Println("read in the Task's namespace:", inTask)
	fmt.Println("read in the Agent's namespace:", inAgent)
	// Output:
	// read in the Task's namespace: [design-notes]
	// read in the Agent's namespace: [team-guide]
}
