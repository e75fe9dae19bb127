package taskpod

import (
	"errors"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/kubeopencode/kubeopencode/api/v1alpha1"
	"github.com/kubeopencode/kubeopencode/policy"
)

// TestBuildPodRefusesWhatTheSchemaShouldHaveStopped: objects that bypassed the CRD's validation
// (an older CRD, a direct etcd write) are refused with a reason, never turned into a weaker Pod
// or one with overwritten labels (T12, T16).
func TestBuildPodRefusesWhatTheSchemaShouldHaveStopped(t *testing.T) {
	base := func() *v1alpha1.Agent {
		return &v1alpha1.Agent{ObjectMeta: metav1.ObjectMeta{Namespace: "agents", Name: "a"},
			Spec: v1alpha1.AgentSpec{WorkspaceDir: "/workspace", ServiceAccountName: "sa"}}
	}
	cases := []struct {
		name   string
		change func(*v1alpha1.Agent)
		reason string
		detail string
	}{
		{name: "reserved label", reason: v1alpha1.ReasonInvalidConfiguration, detail: "kubeopencode.io/task-uid",
			change: func(a *v1alpha1.Agent) {
				a.Spec.PodSpec = &v1alpha1.AgentPodSpec{Labels: map[string]v1alpha1.LabelValue{v1alpha1.TaskUIDLabel: "x"}}
			}},
		{name: "reserved env name", reason: v1alpha1.ReasonInvalidConfiguration, detail: "PATH",
			change: func(a *v1alpha1.Agent) {
				a.Spec.Credentials = []v1alpha1.Credential{{Name: "c", SecretRef: v1alpha1.SecretReference{Name: "s", Key: "k"}, Env: "PATH"}}
			}},
		{name: "credential under a reserved path", reason: v1alpha1.ReasonInvalidConfiguration, detail: "/tools/x",
			change: func(a *v1alpha1.Agent) {
				a.Spec.Credentials = []v1alpha1.Credential{{Name: "c", SecretRef: v1alpha1.SecretReference{Name: "s", Key: "k"}, MountPath: "/tools/x"}}
			}},
		{name: "whole Secret as unprefixed environment", reason: v1alpha1.ReasonInvalidConfiguration, detail: "envPrefix",
			change: func(a *v1alpha1.Agent) {
				a.Spec.Credentials = []v1alpha1.Credential{{Name: "c", SecretRef: v1alpha1.SecretReference{Name: "s"}}}
			}},
		{name: "config that is not JSON", reason: v1alpha1.ReasonInvalidConfiguration, detail: "spec.config",
			change: func(a *v1alpha1.Agent) { a.Spec.Config = "{not json" }},
		{name: "credential at the workspace", reason: v1alpha1.ReasonPathConflict, detail: "/workspace",
			change: func(a *v1alpha1.Agent) {
				a.Spec.Credentials = []v1alpha1.Credential{{Name: "c", SecretRef: v1alpha1.SecretReference{Name: "s", Key: "k"}, MountPath: "/workspace"}}
			}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			a := base()
			tc.change(a)
			task := ValidationTask(a)
			pod, _, err := build(task, a, nil, nil)
			var te *Error
			if !errors.As(err, &te) {
				t.Fatalf("buildPod = %v, %v; want an *Error", pod, err)
			}
			if te.Reason != tc.reason || !strings.Contains(te.Error(), tc.detail) {
				t.Errorf("got %s %q, want %s mentioning %q", te.Reason, te.Error(), tc.reason, tc.detail)
			}
			// A Task from another namespace learns only that the Agent is misconfigured.
			task.Namespace = "elsewhere"
			_, _, err = build(task, a, nil, nil)
			if !errors.As(err, &te) || strings.Contains(te.Error(), tc.detail) {
				t.Errorf("a cross-namespace Task is told the Agent's details: %v", err)
			}
		})
	}
}

// TestBuildPodDefaults pins what the operator adds to the podspec Pod.
func TestBuildPodDefaults(t *testing.T) {
	judge, err := policy.NewPodSecurityJudge("restricted", "latest")
	if err != nil {
		t.Fatal(err)
	}
	a := &v1alpha1.Agent{ObjectMeta: metav1.ObjectMeta{Namespace: "agents", Name: "a"},
		Spec: v1alpha1.AgentSpec{WorkspaceDir: "/workspace", ServiceAccountName: "sa", Config: `{"model":"x"}`}}
	task := ValidationTask(a)
	task.Spec.Timeout = nil
	pod, _, err := build(task, a, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	agent := pod.Spec.Containers[0]
	if diff := cmp.Diff(DefaultCommand(), agent.Command); diff != "" {
		t.Errorf("command (-want +got):\n%s", diff)
	}
	env := map[string]string{}
	for _, e := range agent.Env {
		env[e.Name] = e.Value
		if e.ValueFrom != nil && e.ValueFrom.FieldRef != nil {
			env[e.Name] = "fieldRef:" + e.ValueFrom.FieldRef.FieldPath
		}
	}
	want := map[string]string{
		"HOME": "/home/agent", "WORKSPACE_DIR": "/workspace",
		EnvTaskName: task.Name, EnvTaskNamespace: task.Namespace, EnvTaskUID: string(task.UID),
		EnvTaskDescription: "fieldRef:metadata.annotations['" + DescriptionAnnotation + "']",
		EnvAgentName:       "a", EnvAgentNamespace: "agents", EnvOpenCodeConfig: `{"model":"x"}`,
	}
	if diff := cmp.Diff(want, env); diff != "" {
		t.Errorf("agent environment (-want +got):\n%s", diff)
	}
	taskMD := corev1.VolumeMount{}
	for _, m := range agent.VolumeMounts {
		if m.MountPath == "/workspace/task.md" {
			taskMD = m
		}
	}
	for _, v := range pod.Spec.Volumes {
		if v.Name == taskMD.Name && (v.DownwardAPI == nil || v.DownwardAPI.Items[0].FieldRef.FieldPath != "metadata.annotations['"+DescriptionAnnotation+"']") {
			t.Errorf("task.md comes from %+v, want the description annotation", v.VolumeSource)
		}
	}
	if taskMD.Name == "" || !taskMD.ReadOnly {
		t.Errorf("task.md mount %+v, want a read-only mount at /workspace/task.md", taskMD)
	}
	if got := pod.Annotations[DescriptionAnnotation]; got != task.Spec.Description {
		t.Errorf("description annotation %q, want %q", got, task.Spec.Description)
	}
	if d := pod.Spec.ActiveDeadlineSeconds; d == nil || *d != int64(NoTimeoutDeadline.Seconds()) {
		t.Errorf("activeDeadlineSeconds %v without a timeout, want %v", d, NoTimeoutDeadline.Seconds())
	}
	if len(pod.OwnerReferences) != 1 || pod.OwnerReferences[0].UID != task.UID {
		t.Errorf("owner references %v, want the same-namespace Task", pod.OwnerReferences)
	}
	if v := judge.Judge(pod); !v.Allowed {
		t.Error(v.Message())
	}
}

// TestGitSecretRefRefusedAcrossNamespaces: defense in depth behind the API's rule, a Task that
// runs on another namespace's Agent may not name a Git Secret.
func TestGitSecretRefRefusedAcrossNamespaces(t *testing.T) {
	a := &v1alpha1.Agent{ObjectMeta: metav1.ObjectMeta{Namespace: "platform", Name: "a"},
		Spec: v1alpha1.AgentSpec{WorkspaceDir: "/workspace", ServiceAccountName: "sa", AllowedNamespaces: []string{"team"}}}
	tk := &v1alpha1.Task{ObjectMeta: metav1.ObjectMeta{Namespace: "team", Name: "t", UID: "u"},
		Spec: v1alpha1.TaskSpec{Description: "d", AgentRef: v1alpha1.AgentReference{Name: "a", Namespace: "platform"},
			Contexts: []v1alpha1.ContextItem{{Type: v1alpha1.ContextTypeGit, Git: &v1alpha1.GitContext{
				Repository: "https://git.example.com/r.git", SecretRef: &v1alpha1.LocalSecretReference{Name: "s"}}}}}}
	_, _, err := build(tk, a, nil, &ConfigMaps{})
	var te *Error
	if !errors.As(err, &te) || te.Reason != v1alpha1.ReasonInvalidConfiguration || !strings.Contains(te.Error(), "git.secretRef") {
		t.Fatalf("error %v, want InvalidConfiguration about git.secretRef", err)
	}
	tk.Spec.AgentRef.Namespace, tk.Namespace = "", "platform"
	if _, _, err := build(tk, a, nil, &ConfigMaps{}); err != nil {
		t.Fatalf("same namespace: %v", err)
	}
}

// taskWithContext is the validation Task of a with one Text context at mountPath.
func taskWithContext(a *v1alpha1.Agent, mountPath string) *v1alpha1.Task {
	tk := ValidationTask(a)
	tk.Spec.Contexts = []v1alpha1.ContextItem{{Name: "mine", Type: v1alpha1.ContextTypeText, Text: "x", MountPath: v1alpha1.ContextPath(mountPath)}}
	return tk
}

// TestT20TaskPathsThatBypassedTheSchema: a Task context path the CRD would refuse (an older
// CRD, a direct etcd write) still never leaves the workspace nor takes OpenCode's configuration
// (T20): the Task fails with PathConflict naming the path; an empty command fails the Agent.
func TestT20TaskPathsThatBypassedTheSchema(t *testing.T) {
	a := &v1alpha1.Agent{ObjectMeta: metav1.ObjectMeta{Namespace: "agents", Name: "a"},
		Spec: v1alpha1.AgentSpec{WorkspaceDir: "/workspace", ServiceAccountName: "sa"}}
	for _, p := range []string{"../etc/hosts", "a/../../etc/hosts", "..", "opencode.json", "/workspace/opencode.jsonc",
		".opencode/plugin/x.ts", "src/.opencode", "/etc/hosts", "/workspace", "/workspace/"} {
		_, _, err := build(taskWithContext(a, p), a, nil, nil)
		var te *Error
		if !errors.As(err, &te) || te.Reason != v1alpha1.ReasonPathConflict {
			t.Errorf("%q: Build error %v, want PathConflict", p, err)
			continue
		}
		if !strings.Contains(te.Error(), "/workspace") {
			t.Errorf("%q: message %q does not name the path", p, te.Error())
		}
	}
	empty := a.DeepCopy()
	empty.Spec.Command = []string{""}
	_, _, err := build(ValidationTask(empty), empty, nil, nil)
	var te *Error
	if !errors.As(err, &te) || te.Reason != v1alpha1.ReasonInvalidConfiguration || !strings.Contains(te.Error(), "Command") {
		t.Errorf("empty command: Build error %v, want InvalidConfiguration naming Command", err)
	}
}

// TestTaskContextContainmentExhaustive: for every mountPath of up to three segments drawn from the
// names that matter (the schema bypassed: "..", ".", empty segments, OpenCode's names, HOME's
// name, the Agent's own paths), relative or absolute, a Pod that Build makes mounts the Task's
// context strictly inside the workspace, outside HOME and the Agent's own paths, and never at an
// OpenCode configuration name. FuzzTaskContextPath checks the same promise on arbitrary paths.
func TestTaskContextContainmentExhaustive(t *testing.T) {
	// workspaceDir /home contains HOME: the hardest case for containment.
	a := &v1alpha1.Agent{ObjectMeta: metav1.ObjectMeta{Namespace: "agents", Name: "a"},
		Spec: v1alpha1.AgentSpec{WorkspaceDir: "/home", ServiceAccountName: "sa", Command: []string{"/home/bin/agent"},
			Contexts: []v1alpha1.ContextItem{{Name: "guides", Type: v1alpha1.ContextTypeText, Text: "g", MountPath: "/home/guides"}}}}
	segments := []string{"home", "agent", "bin", "guides", "x", "..", ".", "", "opencode.json", ".opencode", "task.md", ".kubeopencode", "etc"}
	var paths []string
	var grow func(prefix string, depth int)
	grow = func(prefix string, depth int) {
		if depth == 0 {
			return
		}
		for _, s := range segments {
			p := s
			if prefix != "" {
				p = prefix + "/" + s
			}
			paths = append(paths, p, "/"+p)
			grow(p, depth-1)
		}
	}
	grow("", 3)
	accepted := 0
	for _, p := range paths {
		if p == "" {
			continue
		}
		pod, _, err := build(taskWithContext(a, p), a, nil, nil)
		if err != nil {
			continue
		}
		accepted++
		var got string
		for _, m := range pod.Spec.Containers[0].VolumeMounts {
			switch m.MountPath {
			case "/tools", "/home", "/home/agent", "/tmp", "/home/task.md", "/home/.kubeopencode/context.md", "/home/guides":
			default:
				got = m.MountPath
			}
		}
		if got == "" {
			t.Fatalf("%q accepted but its mount is missing", p)
		}
		if !strings.HasPrefix(got, "/home/") {
			t.Errorf("%q mounted at %q, outside the workspace", p, got)
		}
		for _, bad := range []string{"/home/agent", "/home/guides", "/home/bin/agent", "/home/task.md", "/home/.kubeopencode"} {
			if got == bad || strings.HasPrefix(got, bad+"/") || strings.HasPrefix(bad, got+"/") {
				t.Errorf("%q mounted at %q, which touches %q", p, got, bad)
			}
		}
		for _, seg := range strings.Split(got[1:], "/") {
			if seg == "opencode.json" || seg == "opencode.jsonc" || seg == ".opencode" || seg == ".." || seg == "." || seg == "" {
				t.Errorf("%q mounted at %q", p, got)
			}
		}
	}
	if accepted == 0 {
		t.Fatal("no path accepted: the test proves nothing")
	}
	t.Logf("%d of %d paths accepted", accepted, len(paths))
}

// TestResourceBoundsPrecedence: each volume's sizeLimit is the Agent's, else KubeOpenCodeConfig's
// agentPodDefaults, else the built-in default; init containers get agentPodDefaults'
// initContainerResources, else the built-in ones.
func TestResourceBoundsPrecedence(t *testing.T) {
	q := func(s string) *resource.Quantity { v := resource.MustParse(s); return &v }
	a := &v1alpha1.Agent{ObjectMeta: metav1.ObjectMeta{Namespace: "agents", Name: "a"},
		Spec: v1alpha1.AgentSpec{WorkspaceDir: "/workspace", ServiceAccountName: "sa",
			PodSpec: &v1alpha1.AgentPodSpec{VolumeSizeLimits: &v1alpha1.VolumeSizeLimits{Home: q("4Gi")}}}}
	initRes := corev1.ResourceRequirements{Limits: corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("2"), corev1.ResourceMemory: resource.MustParse("1Gi")}}
	cfg := &v1alpha1.KubeOpenCodeConfig{Spec: v1alpha1.KubeOpenCodeConfigSpec{AgentPodDefaults: &v1alpha1.AgentPodDefaults{
		InitContainerResources: &initRes,
		VolumeSizeLimits:       &v1alpha1.VolumeSizeLimits{Workspace: q("50Gi"), Home: q("3Gi")},
	}}}
	for _, tc := range []struct {
		name   string
		config *v1alpha1.KubeOpenCodeConfig
		sizes  map[string]string
		init   corev1.ResourceRequirements
	}{
		{"built-in defaults", nil, map[string]string{"workspace": "10Gi", "home": "4Gi", "tmp": "2Gi"}, DefaultInitContainerResources()},
		{"cluster defaults", cfg, map[string]string{"workspace": "50Gi", "home": "4Gi", "tmp": "2Gi"}, initRes},
	} {
		pod, _, err := build(ValidationTask(a), a, tc.config, nil)
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		got := map[string]string{}
		for _, v := range pod.Spec.Volumes {
			if v.EmptyDir != nil && v.EmptyDir.SizeLimit != nil {
				got[v.Name] = v.EmptyDir.SizeLimit.String()
			}
		}
		if diff := cmp.Diff(tc.sizes, got); diff != "" {
			t.Errorf("%s: sizeLimits (-want +got):\n%s", tc.name, diff)
		}
		for _, c := range pod.Spec.InitContainers {
			if diff := cmp.Diff(tc.init, c.Resources); diff != "" {
				t.Errorf("%s: init container %s resources (-want +got):\n%s", tc.name, c.Name, diff)
			}
		}
	}
}

// testDefaults are the reference operator's defaults.
var testDefaults = Defaults{
	AgentImage: "kubeopencode.local/agent-opencode:v0.1.0", ExecutorImage: "kubeopencode.local/executor:v0.1.0",
	SystemImage: "kubeopencode.local/operator:v0.1.0",
}

// build is Build with testDefaults, returning the Pod and the context ConfigMap.
func build(task *v1alpha1.Task, agent *v1alpha1.Agent, cfg *v1alpha1.KubeOpenCodeConfig, cms *ConfigMaps) (*corev1.Pod, *corev1.ConfigMap, error) {
	res, err := Build(Input{Task: task, Agent: agent, Config: cfg, Defaults: testDefaults, ConfigMaps: cms})
	if err != nil {
		return nil, nil, err
	}
	return res.Pod, res.ContextConfigMap, nil
}

// TestNoImageNoPod: with neither the Agent nor Defaults naming the images, Build refuses (an
// *Error under the Agent's spec) instead of making a Pod with an empty image.
func TestNoImageNoPod(t *testing.T) {
	a := &v1alpha1.Agent{ObjectMeta: metav1.ObjectMeta{Namespace: "agents", Name: "a"}, Spec: v1alpha1.AgentSpec{ServiceAccountName: "sa"}}
	res, err := Build(Input{Task: ValidationTask(a), Agent: a})
	var te *Error
	if !errors.As(err, &te) || len(te.Agent) == 0 || te.Reason != v1alpha1.ReasonInvalidConfiguration {
		t.Fatalf("Build = %v, %v; want an *Error of the Agent", res, err)
	}
	a.Spec.AgentImage, a.Spec.ExecutorImage = "example.com/agent:v1", "example.com/executor:v1"
	if _, err := Build(Input{Task: ValidationTask(a), Agent: a}); err != nil {
		t.Errorf("with the Agent's images: %v", err)
	}
}
