package controller_test

import (
	"context"
	"fmt"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"

	"github.com/kubeopencode/kubeopencode/api/v1alpha1"
)

// TestT20TaskFilesStayInTheWorkspace: a task author tries to shadow files the agent trusts with
// a Task context the API server accepts (an absolute path is only checked against the Agent by
// the operator): the hosts file and the CA bundle (to redirect the agent's TLS and capture its
// provider key), the Agent's command, HOME (global OpenCode config, shell rc files), the Agent's
// own contexts and credential files. Each Task fails with PathConflict naming the path, with an
// Event, and no Pod. Relative paths (upstream KubeOpenCode's meaning: under workspaceDir) and
// absolute paths inside the workspace run, mounted where they resolve.
func TestT20TaskFilesStayInTheWorkspace(t *testing.T) {
	ctx := context.Background()
	ns := env.Namespace(ctx, t)
	startOperator(t, []string{ns})
	ag := agent(ns, "agent", func(a *v1alpha1.Agent) {
		a.Spec.Command = []string{"/usr/local/bin/agent", "run"}
		a.Spec.Credentials = []v1alpha1.Credential{
			{Name: "key", SecretRef: v1alpha1.SecretReference{Name: "s", Key: "k"}, MountPath: "/workspace/.secrets/key"},
		}
		a.Spec.Contexts = []v1alpha1.ContextItem{{Name: "guides", Type: v1alpha1.ContextTypeText, Text: "x", MountPath: "/workspace/guides"}}
	})
	// workspaceDir /home contains HOME (/home/agent): a relative path can reach it.
	home := agent(ns, "home-agent", func(a *v1alpha1.Agent) { a.Spec.WorkspaceDir = "/home" })
	create(t, ag, home)

	// End to end for two kinds (outside the workspace, HOME inside the workspace); taskpod's
	// TestContextPathConflicts covers every kind.
	refused := []struct {
		agent     *v1alpha1.Agent
		mountPath v1alpha1.ContextPath
		names     []string // quoted in the message
	}{
		{ag, "/etc/hosts", []string{"/etc/hosts", "/workspace"}},
		{home, "agent/.config/git/config", []string{"/home/agent/.config/git/config", "/home/agent"}},
	}
	for i, tc := range refused {
		tk := task(ns, fmt.Sprintf("shadow-%d", i), ns, tc.agent.Name, func(tk *v1alpha1.Task) {
			tk.Spec.Contexts = []v1alpha1.ContextItem{{Name: "mine", Type: v1alpha1.ContextTypeText, Text: "127.0.0.1 api.provider.example", MountPath: tc.mountPath}}
		})
		create(t, tk)
		got := waitPhase(t, tk, v1alpha1.TaskPhaseFailed)
		c := succeeded(got)
		if c.Reason != v1alpha1.ReasonPathConflict {
			t.Errorf("%s: reason %s (%q), want %s", tc.mountPath, c.Reason, c.Message, v1alpha1.ReasonPathConflict)
		}
		for _, n := range tc.names {
			if !strings.Contains(c.Message, `"`+n+`"`) {
				t.Errorf("%s: message %q does not name %q", tc.mountPath, c.Message, n)
			}
		}
		if e := waitEvent(t, got, v1alpha1.ReasonPathConflict); !strings.Contains(e.Note, string(tc.mountPath)) {
			t.Errorf("%s: Event %q does not name the path", tc.mountPath, e.Note)
		}
		if pods := podsOf(t, got); len(pods) != 0 {
			t.Errorf("%s: a Pod was created", tc.mountPath)
		}
	}

	accepted := []struct {
		mountPath v1alpha1.ContextPath
		resolved  string
	}{
		{"docs/design.md", "/workspace/docs/design.md"},
	}
	for i, tc := range accepted {
		tk := task(ns, fmt.Sprintf("inside-%d", i), ns, ag.Name, func(tk *v1alpha1.Task) {
			tk.Spec.Contexts = []v1alpha1.ContextItem{{Name: "mine", Type: v1alpha1.ContextTypeText, Text: "notes", MountPath: tc.mountPath}}
		})
		create(t, tk)
		pod := waitPod(t, tk)
		if m := mountAt(pod, "agent", tc.resolved); m == nil {
			t.Errorf("%s: no mount at %s in the agent container", tc.mountPath, tc.resolved)
		}
	}
}

// mountAt returns the mount of the named container at path, or nil.
func mountAt(pod *corev1.Pod, container, path string) *corev1.VolumeMount {
	for _, c := range pod.Spec.Containers {
		if c.Name != container {
			continue
		}
		for i := range c.VolumeMounts {
			if c.VolumeMounts[i].MountPath == path {
				return &c.VolumeMounts[i]
			}
		}
	}
	return nil
}
