package taskpod

import (
	"errors"
	"strings"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/kubeopencode/kubeopencode/api/v1alpha1"
)

// FuzzTaskContextPath (T11, T20): whatever mountPath a Task context has (the schema bypassed),
// Build either refuses it with a PathConflict at that context's mountPath, or mounts the context
// strictly inside the workspace, outside HOME, the Agent's own paths and command, and never at
// an OpenCode configuration name or through a ".", ".." or empty segment. The workspace /home
// contains HOME: the hardest case for containment. (TestTaskContextContainmentExhaustive walks
// every short path of the names that matter; this explores the rest.)
func FuzzTaskContextPath(f *testing.F) {
	for _, seed := range []string{"notes.md", "/home/guides/x", "../etc/hosts", "agent/.bashrc", "a//b", "opencode.json", "x/.opencode/y",
		"/home", "/home/", ".", "bin/agent", "task.md", ".kubeopencode/x", "/home/bin", "\x00", "a/./b"} {
		f.Add(seed)
	}
	a := &v1alpha1.Agent{ObjectMeta: metav1.ObjectMeta{Namespace: "agents", Name: "a"},
		Spec: v1alpha1.AgentSpec{WorkspaceDir: "/home", ServiceAccountName: "sa", Command: []string{"/home/bin/agent"},
			Contexts: []v1alpha1.ContextItem{{Name: "guides", Type: v1alpha1.ContextTypeText, Text: "g", MountPath: "/home/guides"}}}}
	f.Fuzz(func(t *testing.T, p string) {
		if p == "" {
			return // no mountPath: the context goes into context.md
		}
		pod, _, err := build(taskWithContext(a, p), a, nil, nil)
		if err != nil {
			var te *Error
			if !errors.As(err, &te) || len(te.Task) == 0 {
				t.Fatalf("%q: error %v, want an *Error naming the Task's context", p, err)
			}
			return
		}
		var got string
		for _, m := range pod.Spec.Containers[0].VolumeMounts {
			switch m.MountPath {
			case "/tools", "/home", "/home/agent", "/tmp", "/home/task.md", "/home/.kubeopencode/context.md", "/home/guides":
			default:
				got = m.MountPath
			}
		}
		if !strings.HasPrefix(got, "/home/") {
			t.Fatalf("%q mounted at %q, outside the workspace", p, got)
		}
		for _, bad := range []string{"/home/agent", "/home/guides", "/home/bin/agent", "/home/task.md", "/home/.kubeopencode"} {
			if got == bad || strings.HasPrefix(got, bad+"/") || strings.HasPrefix(bad, got+"/") {
				t.Fatalf("%q mounted at %q, which touches %q", p, got, bad)
			}
		}
		for _, seg := range strings.Split(got[1:], "/") {
			if seg == "opencode.json" || seg == "opencode.jsonc" || seg == ".opencode" || seg == ".." || seg == "." || seg == "" {
				t.Fatalf("%q mounted at %q", p, got)
			}
		}
	})
}
